"""A learning active-recognition agent (APPLE-style): a glimpse encoder and a GRU aggregator over
(glimpse, position, time) give class logits trained with the env's ``loss_fn`` on every step
(supervised), while only the movement is learned by SAC on the env's reward. Fixed movements
(``random``, ``still``, ``saliency``, ``world_model``: a seq-JEPA checkpoint's choice) use the same learned head. Speaks ap_gym's protocol
(``envs.wrappers.active_perception`` for our ids; ap_gym's own envs as they are). Needs torch."""

from agents.active.agent import ActiveAgent, AgentConfig, MOVEMENTS, TUNED
from agents.active.observe import observe

__all__ = ["ActiveAgent", "AgentConfig", "MOVEMENTS", "TUNED", "observe"]
