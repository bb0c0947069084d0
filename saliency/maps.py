"""Public entry points for saliency maps: ``saliency_map``, ``saliency_maps`` and ``METHODS``."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from saliency.filters import gaussian_kernel
from saliency.itti import ITTI_DEFAULTS, _itti_koch, gabor_bank
from saliency.parallel import run_batched
from saliency.spectral import SR_BLUR_TRUNCATE, SR_DEFAULTS, _spectral_residual
from saliency.validation import check_choice, check_image, check_images, check_int, check_positive

__all__ = ["METHODS", "DEFAULT_METHOD", "method_params", "saliency_map", "saliency_maps"]

METHODS = ("spectral_residual", "itti_koch")
DEFAULT_METHOD = "spectral_residual"
_DEFAULTS = {"spectral_residual": SR_DEFAULTS, "itti_koch": ITTI_DEFAULTS}


def _int_tuple(value: Any, name: str, minimum: int) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a non-empty tuple of integers >= {minimum}, got {value!r}") from None
    if not items:
        raise ValueError(f"{name} must be a non-empty tuple of integers >= {minimum}, got {value!r}")
    return tuple(sorted({check_int(v, name, minimum) for v in items}))


def method_params(method: str, **params: Any) -> dict[str, Any]:
    """The full, validated parameter set of ``method`` (defaults overridden by ``params``)."""
    check_choice(method, "method", METHODS)
    defaults = _DEFAULTS[method]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for method {method!r}; allowed: {sorted(defaults)}")
    p = {**defaults, **params}
    if method == "spectral_residual":
        p["size"] = check_int(p["size"], "size", 4)
        if p["size"] % 2:
            raise ValueError(f"size must be an even integer >= 4 for spectral_residual, got {p['size']}")
        p["avg_size"] = check_int(p["avg_size"], "avg_size", 1)
        if p["avg_size"] % 2 == 0:
            raise ValueError(f"avg_size must be an odd integer >= 1, got {p['avg_size']}")
        p["blur_sigma"] = check_positive(p["blur_sigma"], "blur_sigma")
    else:
        p["size"] = check_int(p["size"], "size", 8)
        p["centres"] = _int_tuple(p["centres"], "centres", 0)
        p["deltas"] = _int_tuple(p["deltas"], "deltas", 1)
        top = max(p["centres"]) + max(p["deltas"])
        if p["size"] < 2 ** top:
            raise ValueError(f"size must be >= 2 ** (max(centres) + max(deltas)) = {2 ** top} so that every "
                             f"pyramid level exists, got size={p['size']}")
        for key in ("gabor_sigma", "gabor_wavelength"):
            p[key] = check_positive(p[key], key)
    return p


def _build(method: str, params: dict[str, Any]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The Numba kernel of ``method`` and its parameter arguments (filter taps built once)."""
    p = method_params(method, **params)
    if method == "spectral_residual":
        return _spectral_residual, (p["size"], p["avg_size"], gaussian_kernel(p["blur_sigma"], SR_BLUR_TRUNCATE))
    return _itti_koch, (p["size"], np.asarray(p["centres"], np.int64), np.asarray(p["deltas"], np.int64),
                        gabor_bank(p["gabor_sigma"], p["gabor_wavelength"]))


@lru_cache(maxsize=64)
def _build_cached(method: str, items: tuple[tuple[str, Any], ...]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    return _build(method, dict(items))


def _prepare(method: str, params: dict[str, Any]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    check_choice(method, "method", METHODS)
    try:
        return _build_cached(method, tuple(sorted(params.items())))
    except TypeError:  # unhashable parameter values (lists): no caching
        return _build(method, params)


def _run(images: np.ndarray, kernel: Callable[..., Any], args: tuple[Any, ...]) -> np.ndarray:
    """float32 ``[B, H, W, C]`` -> float32 ``[B, H, W]``, on parallel threads when B > 1."""
    out = np.empty(images.shape[:3], np.float32)
    return run_batched(kernel, images.shape[0], (images, *args), out)


def saliency_map(image: np.ndarray, method: str = DEFAULT_METHOD, **params: Any) -> np.ndarray:
    """Saliency of one image as a probability map over fixations.

    Args:
        image: uint8 (0..255) or float ``[H, W]`` (grey), ``[H, W, 1]`` or ``[H, W, 3]`` (RGB); any size.
        method: one of ``METHODS``.
        **params: method parameters; ``spectral_residual``: ``size`` (working resolution, 64),
            ``avg_size`` (spectral box filter, 3), ``blur_sigma`` (working pixels, 2.5);
            ``itti_koch``: ``size`` (128), ``centres`` ((1, 2, 3)), ``deltas`` ((2, 3)),
            ``gabor_sigma`` (1.5), ``gabor_wavelength`` (4.0).

    Returns:
        float32 ``[H, W]``, non-negative, summing to 1 (uniform for a constant image).
    """
    kernel, args = _prepare(method, params)
    return _run(check_image(image), kernel, args)[0]


def saliency_maps(images: np.ndarray, method: str = DEFAULT_METHOD, **params: Any) -> np.ndarray:
    """Saliency of a batch ``[B, H, W]`` (grey) or ``[B, H, W, C]`` (C = 1 or 3), in parallel.

    Same maps as ``saliency_map`` image by image; returns float32 ``[B, H, W]``, each summing to 1.
    """
    kernel, args = _prepare(method, params)
    return _run(check_images(images), kernel, args)
