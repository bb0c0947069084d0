"""Saliency maps for a whole dataset, computed once and cached on disk (memory-mapped).

The paper precomputed its saliency maps offline; we do the same with our weight-free Numba
models. The cache file is keyed by the dataset's fingerprint, the method and its parameters:
``<cache_dir>/saliency/<dataset fingerprint>/<method>-<param hash>.npy`` holding float32
``[N, H, W]`` maps (each summing to 1). It is written to a temporary file and renamed into
place, so a killed computation never leaves a half-written cache behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

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

    With ``cache_dir`` the maps are computed once, stored as a ``.npy`` file and returned
    memory-mapped (read-only) on later calls; without it they are computed in memory.
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
    if path.exists():
        maps = np.load(path, mmap_mode="r")
        if maps.shape != (n, h, w) or maps.dtype != np.float32:
            raise ValueError(
                f"saliency cache {path} holds {maps.dtype} {maps.shape}, expected float32 {(n, h, w)}; "
                "delete the file to recompute it"
            )
        return maps
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, h, w))
        _fill(out, dataset, method, params, chunk_size, progress)
        out.flush()
        del out
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return np.load(path, mmap_mode="r")


def _fill(out: np.ndarray, dataset: Any, method: str, params: dict[str, Any], chunk_size: int, progress: bool) -> None:
    starts = range(0, len(dataset), chunk_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=f"saliency ({method})", unit="chunk", leave=False)
    for start in starts:
        stop = min(start + chunk_size, len(dataset))
        images = np.ascontiguousarray(dataset.images[start:stop])
        out[start:stop] = saliency_maps(images, method=method, **params)
