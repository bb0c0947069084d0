"""Learning-rate schedule as a pure function of the step."""

from __future__ import annotations

import math

from checks import check_int, check_real

__all__ = ["warmup_cosine_lr"]


def warmup_cosine_lr(step: int, total_steps: int, warmup_steps: int, base_lr: float,
                     start_lr: float = 1e-5, final_lr: float = 1e-5) -> float:
    """Linear warm-up from ``start_lr`` to ``base_lr``, then cosine decay to ``final_lr``.

    - ``step < warmup_steps``: ``start_lr + (base_lr - start_lr) * step / warmup_steps``;
    - ``warmup_steps <= step < total_steps``: with ``p = (step - warmup) / (total - warmup)``,
      ``final_lr + (base_lr - final_lr) * (1 + cos(pi * p)) / 2``;
    - ``step >= total_steps``: ``final_lr``.

    One call per optimiser step (or per epoch, with epoch counts). Unlike the public seq-JEPA
    code, the warm-up and the cosine are one schedule (the warm-up never overrides the decay).
    """
    total_steps = check_int("total_steps", total_steps, 1)
    warmup_steps = check_int(f"warmup_steps (total_steps={total_steps})", warmup_steps, 0, total_steps)
    step = check_int("step", step, 0)
    base_lr, start_lr, final_lr = (check_real(name, value, 0.0) for name, value in
                                   (("base_lr", base_lr), ("start_lr", start_lr), ("final_lr", final_lr)))
    if step < warmup_steps:
        return start_lr + (base_lr - start_lr) * step / warmup_steps
    if step >= total_steps:
        return final_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return final_lr + (base_lr - final_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
