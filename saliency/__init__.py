"""Weight-free saliency (NumPy + Numba): saliency maps, inhibition of return, scanpaths.

See ``docs/ARCHITECTURE.md`` for the API contract. Plain-NumPy twins of every kernel live in
``tests.saliency.reference`` (for tests and as readable documentation of the maths).
"""

from saliency.batch_sample import argmax_fixations, sample_fixations
from saliency.ior import (
    IOR_MODES,
    argmax_fixation,
    new_inhibition,
    priority_map,
    sample_fixation,
    update_inhibition,
)
from saliency.maps import (
    DEFAULT_METHOD,
    METHODS,
    method_params,
    saliency_map,
    saliency_maps,
)
from saliency.scanpath import SCANPATH_MODES, sample_scanpath, sample_scanpaths

__all__ = [
    "DEFAULT_METHOD",
    "IOR_MODES",
    "METHODS",
    "SCANPATH_MODES",
    "argmax_fixation",
    "argmax_fixations",
    "method_params",
    "new_inhibition",
    "priority_map",
    "sample_fixation",
    "sample_fixations",
    "sample_scanpath",
    "sample_scanpaths",
    "saliency_map",
    "saliency_maps",
    "update_inhibition",
]
