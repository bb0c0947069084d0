"""Input checks for the public saliency API, done in Python before any Numba kernel runs.

Every failure is a ``ValueError`` whose message names the parameter and what is allowed.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
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
    return np.ascontiguousarray(arr)


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
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer (not bool) ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(value: Any, name: str) -> float:
    """A finite real number ``> 0``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_unit_interval(value: Any, name: str) -> float:
    """A real number in ``[0, 1)``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_decay(decay: Any, mode: str) -> float:
    """``decay`` in (0, 1]; hard IoR modes ("square", "disc") accept only 1.0 (they never recover)."""
    if isinstance(decay, (bool, np.bool_)) or not isinstance(decay, numbers.Real) or not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be a number in (0, 1], got {decay!r}")
    if mode != "gaussian" and decay != 1.0:
        raise ValueError(f"decay must be 1.0 for the hard IoR mode {mode!r} (only 'gaussian' recovers), got {decay!r}")
    return float(decay)


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
