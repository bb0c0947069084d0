"""The retina: a multi-scale glimpse sensor (NumPy + Numba; no torch).

Geometry. A fixation is an integer
pixel index ``(row, col)``. With glimpse side ``G`` and scale ``s``, the glimpse covers
the ``G*s x G*s`` square of pixels whose top-left pixel is
``(row - (G*s)//2, col - (G*s)//2)``; it is area-averaged in non-overlapping ``s x s``
blocks down to ``G x G`` (an exact box filter, i.e. anti-aliased), with integer rounding
``out = (block_sum + (s*s)//2) // (s*s)`` stored as uint8. Scale 1 is the fovea (an exact
crop); larger scales are the low-resolution periphery, all centred on the same pixel.

Borders (``padding``):

- ``"zero"``: pixels outside the image are 0 (like ``grid_sample`` zero padding).
- ``"reflect"``: NumPy ``np.pad(mode="reflect")`` semantics (= OpenCV
  ``BORDER_REFLECT_101``: ``... 2 1 | 0 1 2 ... n-1 | n-2 ...``), extended periodically so
  that squares larger than the image are well defined: index ``i`` of an axis of ``n``
  pixels maps to ``m = i mod 2(n-1)``, then ``2(n-1) - m`` if ``m >= n`` (an axis of one
  pixel maps everything to 0). This equals ``np.pad(..., mode="reflect")`` for any width.

Fixations may lie anywhere, even outside the image: the glimpse is then defined by the
padding rule (all zeros far outside with ``"zero"``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from checks import check_int
from saliency.parallel import run_batched

__all__ = ["Retina", "to_channels_first", "mosaic", "grey_periphery", "PADDING_MODES"]

PADDING_MODES = ("zero", "reflect")
_ZERO, _REFLECT = 0, 1


@njit(cache=True, inline="always")
def _map_index(i: int, n: int, mode: int) -> int:
    """Source index for axis index ``i`` of an axis of ``n`` pixels; -1 = zero pixel."""
    if 0 <= i < n:
        return i
    if mode == _ZERO:
        return -1
    if n == 1:
        return 0
    period = 2 * (n - 1)
    m = i % period  # numba follows Python: non-negative for a positive divisor
    if m >= n:
        m = period - m
    return m


@njit(cache=True)
def _glimpse_into(img, c, row, col, g, scales, mode, out, rmap, cmap, hidx, vbuf, hacc):
    """Write the glimpse of ``img [H, W*C]`` (flat rows) at ``(row, col)`` into ``out [S, G, G*C]``.

    Scratch: ``rmap``/``cmap`` int64 ``[>= G*max(scales)]``; ``hidx`` int64
    ``[>= max(scales)*G*C]``; ``hacc`` int64 ``[>= G*C]``; ``vbuf`` int32 ``[W*C + C]`` whose
    last C entries stay 0 (the slot that zero-padded columns read).
    """
    h = img.shape[0]
    wc = img.shape[1]
    w = wc // c
    gc = g * c
    for si in range(scales.shape[0]):
        s = scales[si]
        n = g * s
        top = row - n // 2
        left = col - n // 2
        cmin = w
        cmax = -1
        for j in range(n):
            rmap[j] = _map_index(top + j, h, mode)
            cj = _map_index(left + j, w, mode)
            cmap[j] = cj
            if cj >= 0:
                cmin = min(cmin, cj)
                cmax = max(cmax, cj)
        if s == 1:  # the fovea: an exact crop
            inside = left >= 0 and left + g <= w
            for gi in range(g):
                r = rmap[gi]
                dst = out[si, gi]
                if r < 0:
                    dst[:] = 0
                elif inside:
                    dst[:] = img[r, left * c : left * c + gc]
                else:
                    src = img[r]
                    for gj in range(g):
                        cj = cmap[gj]
                        for ch in range(c):
                            dst[gj * c + ch] = 0 if cj < 0 else src[cj * c + ch]
            continue
        k0 = cmin * c
        span = max(0, (cmax + 1) * c - k0)  # 0 when no column is inside (zero padding)
        # hidx[dj*G*C + gj*C + ch]: vbuf offset of channel ch of column gj*s + dj
        for dj in range(s):
            for gj in range(g):
                cj = cmap[gj * s + dj]
                off = wc if cj < 0 else cj * c - k0
                for ch in range(c):
                    hidx[dj * gc + gj * c + ch] = off + ch
        half = (s * s) // 2
        inv = 1.0 / (s * s)
        vb = vbuf[:span]
        for gi in range(g):
            # vertical pass (contiguous, vectorised): sum this block row's s source rows
            vb[:] = 0
            for di in range(s):
                r = rmap[gi * s + di]
                if r >= 0:
                    src = img[r, k0 : k0 + span]
                    for k in range(span):
                        vb[k] += src[k]
            # horizontal pass: gather-add the s columns of each block
            hacc[:gc] = half
            for dj in range(s):
                for k in range(gc):
                    hacc[k] += vbuf[hidx[dj * gc + k]]
            # exact floor((sum + half) / (s*s)): the float margin 0.5/(s*s) dwarfs rounding error
            dst = out[si, gi]
            for k in range(gc):
                dst[k] = np.int64((hacc[k] + 0.5) * inv)


@njit(cache=True)
def _scratch(w, c, g, s_max):
    """Scratch buffers for :func:`_glimpse_into` (rmap, cmap, hidx, vbuf, hacc)."""
    return (
        np.empty(g * s_max, np.int64),
        np.empty(g * s_max, np.int64),
        np.empty(s_max * g * c, np.int64),
        np.zeros(w * c + c, np.int32),
        np.empty(g * c, np.int64),
    )


@njit(cache=True)
def _glimpse_kernel(img, row, col, g, scales, mode, out):
    """``img uint8 [H, W, C]`` (C-contiguous), ``(row, col)`` -> ``out uint8 [S, G, G, C]``."""
    h, w, c = img.shape
    rmap, cmap, hidx, vbuf, hacc = _scratch(w, c, g, scales[-1])
    flat_out = out.reshape((out.shape[0], g, g * c))
    _glimpse_into(img.reshape((h, w * c)), c, row, col, g, scales, mode, flat_out, rmap, cmap, hidx, vbuf, hacc)


@njit(cache=True)
def _glimpses_kernel(img, fix, g, scales, mode, out):
    """``img uint8 [H, W, C]``, ``fix int64 [T, 2]`` -> ``out uint8 [T, S, G, G, C]`` (serial)."""
    h, w, c = img.shape
    rmap, cmap, hidx, vbuf, hacc = _scratch(w, c, g, scales[-1])
    flat_img = img.reshape((h, w * c))
    flat_out = out.reshape((out.shape[0], out.shape[1], g, g * c))
    for t in range(fix.shape[0]):
        _glimpse_into(flat_img, c, fix[t, 0], fix[t, 1], g, scales, mode, flat_out[t], rmap, cmap, hidx, vbuf, hacc)


@njit(cache=True, parallel=True)
def _batch_kernel(imgs, fix, g, scales, mode, out):
    """``imgs uint8 [B, H, W, C]``, ``fix int64 [B, T, 2]`` -> ``out [B, T, S, G, G, C]`` (prange over B*T)."""
    n_b, h, w, c = imgs.shape
    n_t = fix.shape[1]
    flat_imgs = imgs.reshape((n_b, h, w * c))
    flat_out = out.reshape((n_b, n_t, out.shape[2], g, g * c))
    for k in prange(n_b * n_t):
        b = k // n_t
        t = k - b * n_t
        rmap, cmap, hidx, vbuf, hacc = _scratch(w, c, g, scales[-1])
        _glimpse_into(
            flat_imgs[b], c, fix[b, t, 0], fix[b, t, 1], g, scales, mode, flat_out[b, t], rmap, cmap, hidx, vbuf, hacc
        )


@njit(cache=True, nogil=True)
def _indexed_rows(imgs, index, fix, g, scales, mode, out, start, stop):
    """Rows ``start:stop``: ``imgs uint8 [M, H, W, C]``, ``index int64 [B]``, ``fix int64 [B, 2]`` ->
    ``out [B, S, G, G, C]`` (serial; :meth:`Retina.gather` runs chunks on threads for big batches)."""
    n_m, h, w, c = imgs.shape
    flat_imgs = imgs.reshape((n_m, h, w * c))
    flat_out = out.reshape((out.shape[0], out.shape[1], g, g * c))
    rmap, cmap, hidx, vbuf, hacc = _scratch(w, c, g, scales[-1])
    for b in range(start, stop):
        _glimpse_into(flat_imgs[index[b]], c, fix[b, 0], fix[b, 1], g, scales, mode, flat_out[b], rmap, cmap, hidx,
                      vbuf, hacc)


_PARALLEL_BYTES = 1 << 20  # smaller batches run serially: threads would cost more than they save


def _check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """uint8 ``[H, W]`` or ``[H, W, C]`` -> C-contiguous uint8 ``[H, W, C]``."""
    if not isinstance(image, np.ndarray):
        image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f"{name} must have dtype uint8, got {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    elif image.ndim != 3:
        raise ValueError(f"{name} must have shape [H, W] or [H, W, C], got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1 or image.shape[2] < 1:
        raise ValueError(f"{name} must be non-empty [H, W, C], got {image.shape}")
    return np.ascontiguousarray(image)


def _check_fixation(fixation) -> tuple[int, int]:
    """One fixation ``(row, col)`` (tuple, list or int array of shape (2,)) -> Python ints."""
    if isinstance(fixation, (tuple, list)) and len(fixation) == 2:
        r, c = fixation
        if isinstance(r, (int, np.integer)) and isinstance(c, (int, np.integer)) and not (
            isinstance(r, bool) or isinstance(c, bool)
        ):
            return int(r), int(c)
    arr = _check_fixations(fixation, (2,), "fixation", "(2,) = (row, col)")
    return int(arr[0]), int(arr[1])


def _check_fixations(fixations, shape_tail: tuple[int, ...], name: str, shape_text: str) -> np.ndarray:
    arr = np.asarray(fixations)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer pixel indices (row, col), got dtype {arr.dtype}")
    if arr.ndim != len(shape_tail) or any(e >= 0 and a != e for a, e in zip(arr.shape, shape_tail)):
        raise ValueError(f"{name} must have shape {shape_text}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


MAX_GLIMPSE_SIZE = 1024     # glimpse_size G (pixels)
MAX_RETINA_SIDE = 8192      # G * max(scales): the largest square a glimpse reads (pixels)
MAX_SCALES = 16             # len(scales)


def validate_retina_args(glimpse_size, scales, padding) -> tuple[int, tuple[int, ...], str]:
    """Check and normalise ``(glimpse_size, scales, padding)`` (one check for every retina).

    Ranges: ``glimpse_size`` an int in [1, 1024]; ``scales`` a tuple (not a bare int) of at most
    16 strictly increasing ints starting with 1, with ``glimpse_size * max(scales) <= 8192``.
    """
    check_int("glimpse_size", glimpse_size, 1, MAX_GLIMPSE_SIZE)
    if isinstance(scales, (str, bytes)):
        scales = None
    try:
        sc = tuple(scales)
    except TypeError:
        raise ValueError(f"scales must be a tuple of positive ints starting with 1 (e.g. (1,) or (1, 2, 4)), "
                         f"got {scales!r}") from None
    if (
        not sc
        or any(isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) for s in sc)
        or sc[0] != 1
        or any(b <= a for a, b in zip(sc, sc[1:]))
    ):
        raise ValueError(
            f"scales must be a non-empty tuple of strictly increasing positive ints starting with 1, got {scales!r}"
        )
    if len(sc) > MAX_SCALES or int(glimpse_size) * int(sc[-1]) > MAX_RETINA_SIDE:
        raise ValueError(f"scales must hold at most {MAX_SCALES} scales with glimpse_size * max(scales) <= "
                         f"{MAX_RETINA_SIDE} px, got glimpse_size={glimpse_size}, scales={scales!r}")
    if padding not in PADDING_MODES:
        raise ValueError(f"padding must be one of {PADDING_MODES}, got {padding!r}")
    return int(glimpse_size), tuple(int(s) for s in sc), str(padding)


def to_channels_first(glimpses: np.ndarray) -> np.ndarray:
    """``[..., S, G, G, C]`` -> ``[..., S*C, G, G]`` (scale-major: channel ``s*C + c``), same dtype."""
    x = np.asarray(glimpses)
    if x.ndim < 4 or x.shape[-2] != x.shape[-3]:
        raise ValueError(f"glimpses must have shape [..., S, G, G, C], got {x.shape}")
    *lead, s, g, _, c = x.shape
    return np.ascontiguousarray(np.moveaxis(x, -1, -3).reshape(*lead, s * c, g, g))


def mosaic(glimpse: np.ndarray, zoom: int = 1, gap: int = 2, gap_value: int = 255) -> np.ndarray:
    """Display image of one glimpse ``[S, G, G, C]`` uint8: the scales side by side, left to
    right (fovea first), each a ``G*zoom`` square (nearest-neighbour zoom; every scale shown at
    the same size), separated by ``gap`` columns of ``gap_value``. Ranges: ``zoom`` in [1, 64],
    ``gap`` in [0, 1024], ``gap_value`` an int in [0, 255].

    Returns uint8 ``[G*zoom, S*G*zoom + (S-1)*gap, C]``.
    """
    x = np.asarray(glimpse)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1] != x.shape[2]:
        raise ValueError(f"glimpse must be uint8 [S, G, G, C], got {x.dtype} {x.shape}")
    zoom, gap = check_int("zoom", zoom, 1, 64), check_int("gap", gap, 0, 1024)
    gap_value = check_int("gap_value", gap_value, 0, 255)
    s, g, _, c = x.shape
    side = g * zoom
    out = np.full((side, s * side + (s - 1) * gap, c), int(gap_value), np.uint8)
    for i in range(s):
        tile = np.repeat(np.repeat(x[i], zoom, axis=0), zoom, axis=1)
        out[:, i * (side + gap) : i * (side + gap) + side] = tile
    return out


class RetinaShape:
    """What a retina's ``glimpse_size``, ``scales`` and ``padding`` say."""

    __slots__ = ()
    glimpse_size: int
    scales: tuple[int, ...]
    padding: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}(glimpse_size={self.glimpse_size}, scales={self.scales}, padding={self.padding!r})"

    @property
    def n_scales(self) -> int:
        """Number of scales ``S``."""
        return len(self.scales)

    def channels_out(self, channels: int) -> int:
        """Channels of the channels-first glimpse, ``S * channels``."""
        return self.n_scales * int(channels)


class Retina(RetinaShape):
    """Multi-scale glimpse sensor.

    Args:
        glimpse_size: side ``G`` of every output glimpse, in pixels (int in [1, 1024]).
        scales: distinct increasing positive ints, first entry 1 (the fovea), at most 16 of them,
            ``G * max(scales) <= 8192``; scale ``s`` covers a ``G*s`` square averaged down to ``G``.
        padding: ``"zero"`` or ``"reflect"`` (see the module docstring).
    """

    __slots__ = ("glimpse_size", "scales", "padding", "_scales", "_mode")

    def __init__(self, glimpse_size: int = 32, scales: tuple[int, ...] = (1,), padding: str = "zero") -> None:
        g, sc, pad = validate_retina_args(glimpse_size, scales, padding)
        for name, value in (("glimpse_size", g), ("scales", sc), ("padding", pad),
                            ("_scales", np.asarray(sc, dtype=np.int64)), ("_mode", _ZERO if pad == "zero" else _REFLECT)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Retina is a frozen spec (validated once, passed whole); make a new one "
                             f"instead of setting {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Retina) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def __reduce__(self) -> tuple:
        return (Retina, self.spec)

    @property
    def spec(self) -> tuple[int, tuple[int, ...], str]:
        """``(glimpse_size, scales, padding)``: everything that defines this retina."""
        return (self.glimpse_size, self.scales, self.padding)

    def inside_bounds(self, image_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Inclusive pixel bounds ``(lo [2], hi [2])`` of the fixations whose largest square
        (``G * max(scales)``) lies wholly inside an image of ``image_shape`` (no padding is read).

        Raises ValueError when the largest square is larger than the image.
        """
        n = self.glimpse_size * max(self.scales)
        size = np.asarray(image_shape[:2], dtype=np.int64)
        lo = np.full(2, n // 2, dtype=np.int64)
        hi = size - (n - n // 2)
        if (hi < lo).any():
            raise ValueError(f"the retina's largest square ({n} px = glimpse_size {self.glimpse_size} x "
                             f"scale {max(self.scales)}) does not fit inside a {tuple(size.tolist())} image; "
                             f"use smaller scales or keep_inside=False")
        return lo, hi

    def inside_mask(self, image_shape: tuple[int, ...]) -> np.ndarray:
        """float32 ``[H, W]``: 1 where :meth:`inside_bounds` allows a fixation, else 0."""
        lo, hi = self.inside_bounds(image_shape)
        mask = np.zeros(tuple(int(d) for d in image_shape[:2]), dtype=np.float32)
        mask[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1] = 1.0
        return mask

    def output_shape(self, channels: int) -> tuple[int, int, int, int]:
        """Shape ``(S, G, G, C)`` of one glimpse of a ``channels``-channel image."""
        return (self.n_scales, self.glimpse_size, self.glimpse_size, int(channels))

    def glimpse(self, image: np.ndarray, fixation) -> np.ndarray:
        """One glimpse: ``image`` uint8 ``[H, W(, C)]``, ``fixation`` int ``(row, col)`` -> uint8 ``[S, G, G, C]``."""
        row, col = _check_fixation(fixation)
        img = _check_image(image)
        g = self.glimpse_size
        out = np.empty((self.n_scales, g, g, img.shape[2]), np.uint8)
        _glimpse_kernel(img, row, col, g, self._scales, self._mode, out)
        return out

    def glimpses(self, image: np.ndarray, fixations: np.ndarray) -> np.ndarray:
        """Glimpses of one image: ``fixations`` int ``[T, 2]`` -> uint8 ``[T, S, G, G, C]``."""
        fix = _check_fixations(fixations, (-1, 2), "fixations", "[T, 2] (row, col)")
        img = _check_image(image)
        g = self.glimpse_size
        out = np.empty((fix.shape[0], self.n_scales, g, g, img.shape[2]), np.uint8)
        _glimpses_kernel(img, fix, g, self._scales, self._mode, out)
        return out

    def batch(self, images: np.ndarray, fixations: np.ndarray) -> np.ndarray:
        """Batched glimpses (parallel): ``images`` uint8 ``[B, H, W, C]`` (or ``[B, H, W]``),
        ``fixations`` int ``[B, T, 2]`` -> uint8 ``[B, T, S, G, G, C]``."""
        imgs = np.asarray(images)
        if imgs.dtype != np.uint8:
            raise TypeError(f"images must have dtype uint8, got {imgs.dtype}")
        if imgs.ndim == 3:
            imgs = imgs[..., None]
        if imgs.ndim != 4 or min(imgs.shape) < 1:
            raise ValueError(f"images must have shape [B, H, W, C] or [B, H, W], non-empty, got {imgs.shape}")
        n_b, c = imgs.shape[0], imgs.shape[3]
        fix = _check_fixations(fixations, (n_b, -1, 2), "fixations", f"[B={n_b}, T, 2] (row, col)")
        g = self.glimpse_size
        out = np.empty((n_b, fix.shape[1], self.n_scales, g, g, c), np.uint8)
        if out.size:
            _batch_kernel(np.ascontiguousarray(imgs), fix, g, self._scales, self._mode, out)
        return out

    def gather(self, images: np.ndarray, index: np.ndarray, fixations: np.ndarray) -> np.ndarray:
        """One glimpse per row from a shared stack, without copying images (parallel):
        ``images`` uint8 ``[M, H, W, C]`` (C-contiguous, e.g. a dataset's memory-mapped array),
        ``index`` int ``[B]`` in ``[0, M)``, ``fixations`` int ``[B, 2]`` -> uint8 ``[B, S, G, G, C]``.
        Row ``b`` equals ``glimpse(images[index[b]], fixations[b])``."""
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"images must be a uint8 array [M, H, W, C], got {getattr(images, 'shape', type(images))}")
        idx = np.asarray(index, np.int64)
        if idx.ndim != 1 or (len(idx) and (idx.min() < 0 or idx.max() >= images.shape[0])):
            raise ValueError(f"index must be a 1-D int array in [0, {images.shape[0]})")
        fix = _check_fixations(fixations, (len(idx), 2), "fixations", f"[B={len(idx)}, 2] (row, col)")
        g = self.glimpse_size
        out = np.empty((len(idx), self.n_scales, g, g, images.shape[3]), np.uint8)
        if out.size:
            args = (np.ascontiguousarray(images), idx, fix, g, self._scales, self._mode, out)
            if out.size >= _PARALLEL_BYTES:
                run_batched(lambda a, b: _indexed_rows(*args, a, b), len(idx))
            else:
                _indexed_rows(*args, 0, len(idx))
        return out

    to_channels_first = staticmethod(to_channels_first)
    mosaic = staticmethod(mosaic)


def grey_periphery(glimpses: np.ndarray) -> np.ndarray:
    """uint8 ``[..., S, G, G, 3]`` glimpses with every scale after the fovea (s >= 1) turned grey in
    place (each channel set to the luminance ``0.299 R + 0.587 G + 0.114 B``); returns the array.
    The fovea keeps its colour; a grey periphery still shows where things are, not their colours."""
    if glimpses.shape[-1] != 3 or glimpses.shape[-4] < 2:
        return glimpses
    rest = glimpses[..., 1:, :, :, :].astype(np.float32)
    grey = rest @ np.array([0.299, 0.587, 0.114], np.float32)
    glimpses[..., 1:, :, :, :] = np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None]
    return glimpses
