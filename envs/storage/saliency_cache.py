"""Saliency maps for a whole dataset, computed once and cached on disk (memory-mapped).

The paper precomputed its saliency maps offline; we do the same with our weight-free Numba
models. The cache file is keyed by the dataset's fingerprint (for STL-10 a digest of every image
byte), the method and its full parameters:
``<cache_dir>/saliency/<dataset fingerprint>/<method>-<param hash>.npy`` holding float32
``[N, H, W]`` maps (each summing to 1), with its manifest ``<...>.npy.json`` (size and SHA-256).
Both go through :mod:`envs.storage.files`: written atomically under a unique temporary name, verified
on every read; a missing, truncated, zeroed or otherwise corrupt file is rebuilt with a warning,
and an unwritable ``cache_dir`` gives maps computed in memory (one warning per process).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from envs.storage.files import CacheError, read_verified_npy, warn_rebuild, warn_unwritable, write_verified_npy
from saliency import DEFAULT_METHOD, METHODS, method_params, saliency_maps

__all__ = ["dataset_saliency", "saliency_cache_path"]


def saliency_cache_path(dataset: Any, method: str, params: dict[str, Any] | None, cache_dir: str | Path) -> Path:
    """The cache file of ``dataset``'s maps for ``method`` with ``params``.

    The key holds the method's *full* parameter set (defaults filled in), so a change of a
    default never serves stale maps.
    """
    full = method_params(method, **dict(params or {}))
    key = json.dumps({"method": method, "params": full}, sort_keys=True, default=str)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    safe_fp = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(dataset.fingerprint))
    return Path(cache_dir) / "saliency" / safe_fp / f"{method}-{digest}.npy"


def dataset_saliency(
    dataset: Any,
    method: str = DEFAULT_METHOD,
    params: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    chunk_size: int = 1024,
    progress: bool = True,
) -> np.ndarray:
    """Saliency maps of every image of ``dataset``: float32 ``[N, H, W]``, each summing to 1.

    With ``cache_dir`` (a cache root, e.g. :func:`envs.datasets.base.resolve_cache_root`) the
    maps are computed once, stored as a verified ``.npy`` file and returned memory-mapped
    (read-only); a bad file is rebuilt with a warning, an unwritable ``cache_dir`` gives maps
    computed in memory with one warning. Without ``cache_dir`` they are computed in memory.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    params = dict(params or {})
    n = len(dataset)
    if n == 0:
        raise ValueError("dataset is empty: no saliency maps to compute")
    h, w = int(dataset.images.shape[1]), int(dataset.images.shape[2])

    if cache_dir is None:
        out = np.empty((n, h, w), dtype=np.float32)
        _fill(out, dataset, method, params, chunk_size, progress)
        return out

    path = saliency_cache_path(dataset, method, params, cache_dir)
    meta = {"method": method, "params": method_params(method, **params), "fingerprint": str(dataset.fingerprint)}
    try:
        return read_verified_npy(path, shape=(n, h, w), dtype=np.float32, meta=meta)
    except FileNotFoundError:
        pass
    except CacheError as exc:
        warn_rebuild(exc, "the saliency")
    try:
        write_verified_npy(path, shape=(n, h, w), dtype=np.float32, meta=meta,
                           fill=lambda out: _fill(out, dataset, method, params, chunk_size, progress,
                                                  where=f"once, cached in {path.parent}"))
        return read_verified_npy(path, shape=(n, h, w), dtype=np.float32, meta=meta, verify=False)
    except OSError as exc:  # read-only or full cache folder: keep the maps in memory
        warn_unwritable(path.parent, exc, "saliency maps")
    out = np.empty((n, h, w), dtype=np.float32)
    _fill(out, dataset, method, params, chunk_size, progress, where="in memory")
    return out


def _fill(out: np.ndarray, dataset: Any, method: str, params: dict[str, Any], chunk_size: int, progress: bool,
          where: str = "in memory") -> None:
    starts = range(0, len(dataset), chunk_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=f"saliency maps of {len(dataset)} images ({method}; computed {where})",
                      unit="chunk", leave=False)
    for start in starts:
        stop = min(start + chunk_size, len(dataset))
        images = np.ascontiguousarray(dataset.images[start:stop])
        out[start:stop] = saliency_maps(images, method=method, **params)
