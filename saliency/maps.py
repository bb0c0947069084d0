"""Public entry points for saliency maps: ``saliency_map``, ``saliency_maps`` and ``METHODS``."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numba import njit

from saliency.filters import gaussian_kernel
from saliency.itti import ITTI_DEFAULTS, _itti_koch, gabor_bank
from saliency.parallel import run_batched
from saliency.spectral import SR_BLUR_TRUNCATE, SR_DEFAULTS, _spectral_residual
from saliency.validation import (
    check_choice,
    check_image,
    check_images,
    check_int,
    check_positive,
)

__all__ = ["METHODS", "DEFAULT_METHOD", "method_params", "saliency_map", "saliency_maps"]

METHODS = ("spectral_residual", "itti_koch")
# Itti-Koch finds the objects of the embedded scenes best (docs/benchmarks.md, "Saliency quality").
DEFAULT_METHOD = "itti_koch"
# ``gamma`` sharpens a map into a fixation density, p ** gamma renormalised (1 = the map as is).
# Both models give flat maps as densities (max ~5x the mean); Itti-Koch's default gamma of 3
# makes scanpaths sampled from it land on objects ~3.6x as often as chance, against 1.9x at 1.
_DEFAULTS = {"spectral_residual": SR_DEFAULTS, "itti_koch": ITTI_DEFAULTS}


@njit(cache=True, nogil=True)
def _sharpen(maps, gamma):
    """In place: each float32 map of ``[B, H, W]`` -> ``map ** gamma`` renormalised to sum 1."""
    for b in range(maps.shape[0]):
        m = maps[b]
        top = 0.0
        for v in m.ravel():
            top = max(top, v)
        if top <= 0.0:
            continue
        total = 0.0
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                v = (m[i, j] / top) ** gamma  # scaled by the max first: no underflow at large gamma
                m[i, j] = v
                total += v
        inv = 1.0 / total
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                m[i, j] = m[i, j] * inv


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
    """The full, validated parameter set of ``method`` (defaults overridden by ``params``).

    Ranges (``saliency.validation.RANGES``): ``gamma`` in [0.001, 100]; ``spectral_residual``:
    ``size`` even in [4, 1024], ``avg_size`` odd in [1, size], ``blur_sigma`` in [0.01, 1024];
    ``itti_koch``: ``size`` in [8, 1024], ``centres`` ints in [0, 10], ``deltas`` ints in [1, 10]
    with ``size >= 2 ** (max(centres) + max(deltas))``, ``gabor_sigma`` in [0.5, 32],
    ``gabor_wavelength`` in [2, 1024]. A bad value raises ValueError naming it and its range.
    """
    check_choice(method, "method", METHODS)
    defaults = _DEFAULTS[method]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for method {method!r}; allowed: {sorted(defaults)}")
    p = {**defaults, **params}
    p["gamma"] = check_positive(p["gamma"], "gamma")
    if method == "spectral_residual":
        p["size"] = check_int(p["size"], "size", 4)
        if p["size"] % 2:
            raise ValueError(f"size must be an even integer >= 4 for spectral_residual, got {p['size']}")
        p["avg_size"] = check_int(p["avg_size"], "avg_size", 1, p["size"])
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


def _build(method: str, params: dict[str, Any]) -> tuple[Callable[..., Any], tuple[Any, ...], float]:
    """The Numba kernel of ``method``, its parameter arguments (filter taps built once) and gamma."""
    p = method_params(method, **params)
    if method == "spectral_residual":
        args = (p["size"], p["avg_size"], gaussian_kernel(p["blur_sigma"], SR_BLUR_TRUNCATE))
        return _spectral_residual, args, p["gamma"]
    args = (p["size"], np.asarray(p["centres"], np.int64), np.asarray(p["deltas"], np.int64),
            gabor_bank(p["gabor_sigma"], p["gabor_wavelength"]))
    return _itti_koch, args, p["gamma"]


@lru_cache(maxsize=64)
def _build_cached(method: str, items: tuple[tuple[str, Any], ...]) -> tuple[Callable[..., Any], tuple[Any, ...], float]:
    return _build(method, dict(items))


def _prepare(method: str, params: dict[str, Any]) -> tuple[Callable[..., Any], tuple[Any, ...], float]:
    check_choice(method, "method", METHODS)
    try:
        return _build_cached(method, tuple(sorted(params.items())))
    except TypeError:  # unhashable parameter values (lists): no caching
        return _build(method, params)


def _run(images: np.ndarray, kernel: Callable[..., Any], args: tuple[Any, ...], gamma: float) -> np.ndarray:
    """Validated ``[B, H, W, C]`` (uint8 or float) -> float32 ``[B, H, W]``, in parallel chunks
    when B > 1; each chunk is cast to float32 in its own thread."""
    out = np.empty(images.shape[:3], np.float32)

    def work(start: int, stop: int) -> None:
        chunk = np.ascontiguousarray(images[start:stop], dtype=np.float32)
        kernel(chunk, *args, 0, stop - start, out[start:stop])
        if gamma != 1.0:
            _sharpen(out[start:stop], gamma)

    if images.shape[0] == 1:  # one image: no thread pool
        work(0, 1)
        return out

    run_batched(work, images.shape[0])
    return out


def saliency_map(image: np.ndarray, method: str = DEFAULT_METHOD, **params: Any) -> np.ndarray:
    """Saliency of one image as a probability map over fixations.

    Args:
        image: uint8 or float (float16/32/64, finite) ``[H, W]`` (grey), ``[H, W, 1]`` or ``[H, W, 3]``
            (RGB); any size. Both models are invariant to a global intensity scale, so uint8 0..255
            and float 0..1 versions of an image give the same map; float images whose largest
            magnitude lies outside [1e-30, 1e30] are divided by it before the float32 cast.
        method: one of ``METHODS``.
        **params: method parameters; ``spectral_residual``: ``size`` (working resolution, 64),
            ``avg_size`` (spectral box filter, 3), ``blur_sigma`` (working pixels, 2.5);
            ``itti_koch``: ``size`` (64), ``centres`` ((1, 2, 3)), ``deltas`` ((2, 3)),
            ``gabor_sigma`` (1.5), ``gabor_wavelength`` (4.0). Every method also takes ``gamma`` > 0,
            the sharpening exponent (``map ** gamma`` renormalised; defaults 1 for spectral residual,
            3 for Itti-Koch, whose working resolution defaults to 64). Ranges: ``method_params``.

    Returns:
        float32 ``[H, W]``, non-negative, summing to 1 (uniform for a constant image).
    """
    kernel, args, gamma = _prepare(method, params)
    return _run(check_image(image), kernel, args, gamma)[0]


def saliency_maps(images: np.ndarray, method: str = DEFAULT_METHOD, **params: Any) -> np.ndarray:
    """Saliency of a batch ``[B, H, W]`` (grey) or ``[B, H, W, C]`` (C = 1 or 3), in parallel.

    Same maps as ``saliency_map`` image by image; returns float32 ``[B, H, W]``, each summing to 1.
    """
    kernel, args, gamma = _prepare(method, params)
    return _run(check_images(images), kernel, args, gamma)
