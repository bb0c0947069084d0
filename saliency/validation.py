"""Input checks for the public saliency API, done in Python before any Numba kernel runs.

Every failure is a ``ValueError`` whose message names the parameter and what is allowed.

Numeric parameters have documented ranges, collected in :data:`RANGES` (one table, used by
:func:`check_positive` and :func:`check_int` when the parameter name is listed there):

=================  ==========================  ===============================================
parameter          range                       why the bound
=================  ==========================  ===============================================
``radius``         [0.01, 65536] pixels        IoR; beyond, integer pixel reach overflows
``gamma``          [0.001, 100]                map sharpening exponent
``blur_sigma``     [0.01, 1024] working px     spectral residual blur (taps: 4 sigma + 1)
``gabor_sigma``    [0.5, 32] working px        below 0.5 the zero-mean Gabor is all zero
``gabor_wavelength`` [2, 1024] working px      below 2 (Nyquist) the cosine aliases
``size``           [4 or 8, 1024]              working resolution of the saliency models
``avg_size``       odd, [1, size]              spectral box filter
``centres``        [0, 10], ``deltas`` [1, 10] pyramid levels (size <= 1024 = 2 ** 10)
``n_fixations``    [1, 100000]                 scanpath length
``shape``          sides >= 1, H * W <= 2**26  inhibition / priority maps
``n``              [1, 65536]                  rows of a ``PriorityBatch``
=================  ==========================  ===============================================

Float images and maps are rescaled by their largest magnitude before the float32 cast when that
magnitude lies outside ``[1e-30, 1e30]`` (the saliency models are invariant to a global intensity
scale, priorities to a global saliency scale): finite float64 inputs far beyond float32's range
give the right map, never a uniform one or NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import checks

__all__ = [
    "MAX_PIXELS",
    "RANGES",
    "check_choice",
    "check_decay",
    "check_fixation",
    "check_image",
    "check_images",
    "check_int",
    "check_map",
    "check_maps",
    "check_positive",
    "check_unit_interval",
    "check_uniforms",
]

_IMAGE_DTYPES = "uint8, float16, float32 or float64"

MAX_PIXELS = 1 << 26  # H * W of an inhibition / priority map made from a shape (256 MiB float32)
# (lowest, highest) allowed value of each named numeric parameter (see the module docstring).
RANGES: dict[str, tuple[float, float]] = {
    "radius": (0.01, 65536.0),
    "gamma": (0.001, 100.0),
    "blur_sigma": (0.01, 1024.0),
    "gabor_sigma": (0.5, 32.0),
    "gabor_wavelength": (2.0, 1024.0),
    "size": (4, 1024),
    "avg_size": (1, 1024),
    "centres": (0, 10),
    "deltas": (1, 10),
    "n_fixations": (1, 100_000),
    "shape[0]": (1, MAX_PIXELS),
    "shape[1]": (1, MAX_PIXELS),
    "n": (1, 65536),
}
# Float inputs whose largest magnitude lies outside this band are rescaled before the float32 cast.
_SAFE_MAGNITUDE = (1e-30, 1e30)


def _as_array(value: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} must be array-like, got {type(value).__name__}: {exc}") from exc


def _check_pixels(arr: np.ndarray, name: str) -> np.ndarray:
    """uint8 or finite float pixels, returned C-contiguous and unscaled (the saliency models are
    invariant to a global intensity scale, so uint8 0..255 and float 0..1 give the same map)."""
    if arr.dtype != np.uint8 and arr.dtype.kind != "f":
        raise ValueError(f"{name} must have dtype {_IMAGE_DTYPES}, got {arr.dtype}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf pixels)")
    if arr.dtype.kind == "f":
        arr = _rescaled(arr)
    return np.ascontiguousarray(arr)


def _rescaled(arr: np.ndarray) -> np.ndarray:
    """Finite float ``arr`` divided by its largest magnitude (in float64) when that lies outside
    ``_SAFE_MAGNITUDE``, so a float32 cast neither overflows to inf nor flushes it to 0."""
    top = float(np.max(np.abs(arr), initial=0.0))
    if top == 0.0 or _SAFE_MAGNITUDE[0] <= top <= _SAFE_MAGNITUDE[1]:
        return arr
    return np.asarray(arr, np.float64) / top


def check_image(image: Any, name: str = "image") -> np.ndarray:
    """One image ``[H, W]``, ``[H, W, 1]`` or ``[H, W, 3]`` -> ``[1, H, W, C]`` (uint8 or float)."""
    arr = _as_array(image, name)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise ValueError(f"{name} must have shape [H, W], [H, W, 1] or [H, W, 3], got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty (H, W >= 1), got shape {arr.shape}")
    return _check_pixels(arr, name)[None]


def check_images(images: Any, name: str = "images") -> np.ndarray:
    """A batch ``[B, H, W]``, ``[B, H, W, 1]`` or ``[B, H, W, 3]`` -> ``[B, H, W, C]`` (uint8 or float)."""
    arr = _as_array(images, name)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[3] not in (1, 3):
        raise ValueError(f"{name} must have shape [B, H, W], [B, H, W, 1] or [B, H, W, 3], got {arr.shape}")
    if min(arr.shape[:3]) == 0:
        raise ValueError(f"{name} must be non-empty (B, H, W >= 1), got shape {arr.shape}")
    return _check_pixels(arr, name)


def _check_float_map(arr: np.ndarray, name: str, shape_text: str) -> np.ndarray:
    if arr.dtype.kind not in "fiu" or arr.dtype == np.bool_:
        raise ValueError(f"{name} must be a real-valued {shape_text} array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty {shape_text}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    if name == "inhibition":  # not scale-free (Gaussian IoR recovers towards 1): its documented range
        if np.any(arr > 1):
            raise ValueError(f"{name} must lie in [0, 1] (1 = not inhibited)")
    elif arr.dtype.kind == "f":
        arr = _rescaled(arr)
    return np.ascontiguousarray(arr, dtype=np.float32)


def check_map(value: Any, name: str) -> np.ndarray:
    """A non-negative finite map ``[H, W]`` -> float32 C-contiguous ``[H, W]``."""
    arr = _as_array(value, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [H, W] array, got shape {arr.shape}")
    return _check_float_map(arr, name, "[H, W]")


def check_maps(value: Any, name: str) -> np.ndarray:
    """A non-negative finite batch of maps ``[B, H, W]`` -> float32 C-contiguous ``[B, H, W]``."""
    arr = _as_array(value, name)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be a 3-D [B, H, W] array, got shape {arr.shape}")
    return _check_float_map(arr, name, "[B, H, W]")


def check_choice(value: Any, name: str, allowed: Sequence[str]) -> str:
    """``value`` must be one of ``allowed``."""
    return checks.check_choice(name, value, allowed)


def check_int(value: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer (not bool) in ``[minimum, maximum]``; ``maximum`` defaults to the upper end of
    ``RANGES[name]`` (unbounded for names not listed)."""
    if maximum is None and name in RANGES:
        maximum = int(RANGES[name][1])
    return checks.check_int(name, value, minimum, maximum)


def check_positive(value: Any, name: str, low: float | None = None, high: float | None = None) -> float:
    """A finite real number ``> 0``, in ``[low, high]`` (defaults: ``RANGES[name]``, else unbounded)."""
    lo, hi = RANGES.get(name, (None, None))
    lo, hi = (lo if low is None else low), (hi if high is None else high)
    if lo is not None and lo > 0:
        return checks.check_real(name, value, lo, hi)
    return checks.check_real(name, value, 0.0, hi, lo_open=True)


def check_unit_interval(value: Any, name: str) -> float:
    """A real number in ``[0, 1)``."""
    return checks.check_real(name, value, 0.0, 1.0, hi_open=True)


def check_decay(decay: Any, mode: str) -> float:
    """``decay`` in (0, 1]; hard IoR modes ("square", "disc") accept only 1.0 (they never recover)."""
    decay = checks.check_real("decay", decay, 0.0, 1.0, lo_open=True)
    if mode != "gaussian" and decay != 1.0:
        raise ValueError(f"decay must be 1.0 for the hard IoR mode {mode!r} (only 'gaussian' recovers), got {decay!r}")
    return decay


def check_fixation(fixation: Any, shape: tuple[int, int], name: str = "fixation") -> tuple[int, int]:
    """An integer pixel ``(row, col)`` inside ``shape``."""
    arr = _as_array(fixation, name)
    if arr.shape != (2,) or arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer pair (row, col), got {fixation!r}")
    row, col = int(arr[0]), int(arr[1])
    if not (0 <= row < shape[0] and 0 <= col < shape[1]):
        raise ValueError(f"{name} must lie in [0, {shape[0]}) x [0, {shape[1]}), got {(row, col)}")
    return row, col


def check_uniforms(value: Any, shape: tuple[int, ...], name: str = "uniforms") -> np.ndarray:
    """Uniform draws of exactly ``shape``, each in [0, 1) -> float64 C-contiguous."""
    arr = _as_array(value, name)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if arr.dtype.kind not in "fiu" or arr.dtype == np.bool_:
        raise ValueError(f"{name} must be real numbers in [0, 1), got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.size and not (np.all(arr >= 0.0) and np.all(arr < 1.0)):
        raise ValueError(f"{name} must lie in [0, 1) (and be finite)")
    return arr
