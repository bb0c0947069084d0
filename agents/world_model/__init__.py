"""The world model as a saccade policy (needs torch): :class:`WorldModelAgent` (single env) and
:class:`BatchedWorldModelAgent` (vector env) score K candidate actions with a seq-JEPA checkpoint's own
prediction of the next latent (``score`` = novelty, disagreement or entropy) and move to the best."""

from agents.world_model.agent import (CANDIDATES, MAX_CANDIDATES, BatchedWorldModelAgent, WorldModelAgent,
                                      WorldModelPlan, world_of)
from agents.world_model.compat import check_checkpoint_world, signature_of_id, signature_of_world
from agents.world_model.scores import SCORES

__all__ = ["BatchedWorldModelAgent", "WorldModelAgent", "WorldModelPlan", "CANDIDATES", "SCORES", "MAX_CANDIDATES",
           "check_checkpoint_world", "signature_of_id", "signature_of_world", "world_of"]
