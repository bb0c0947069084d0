"""Dataset-wide saliency maps: computed once, memory-mapped, keyed by method and parameters."""

from __future__ import annotations

import numpy as np
import pytest

from envs.storage.saliency_cache import dataset_saliency, saliency_cache_path
from saliency import saliency_maps
from tests.envs.helpers import blob_dataset


def test_cached_maps_equal_direct_maps_and_are_reused(tmp_path):
    data = blob_dataset(n=5, size=40)
    first = dataset_saliency(data, cache_dir=tmp_path, chunk_size=2, progress=False)
    assert isinstance(first, np.memmap) and first.shape == (5, 40, 40)
    np.testing.assert_array_equal(first, saliency_maps(np.asarray(data.images)))
    path = saliency_cache_path(data, "itti_koch", None, tmp_path)
    mtime = path.stat().st_mtime_ns
    again = dataset_saliency(data, cache_dir=tmp_path, progress=False)
    assert path.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(again, first)


def test_key_includes_defaults_and_parameters(tmp_path):
    data = blob_dataset(n=2, size=40)
    default = saliency_cache_path(data, "itti_koch", None, tmp_path)
    assert default == saliency_cache_path(data, "itti_koch", {"gamma": 3.0}, tmp_path)  # the default, spelled out
    assert default != saliency_cache_path(data, "itti_koch", {"gamma": 1.0}, tmp_path)
    assert default != saliency_cache_path(data, "spectral_residual", None, tmp_path)


def test_in_memory_without_cache_dir_and_no_temp_files_left(tmp_path):
    data = blob_dataset(n=3, size=40)
    maps = dataset_saliency(data, method="spectral_residual", progress=False)
    assert type(maps) is np.ndarray
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1.0, atol=1e-4)
    dataset_saliency(data, cache_dir=tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.tmp"))


def test_stale_cache_of_the_wrong_shape_is_rebuilt_with_a_warning(tmp_path):
    data = blob_dataset(n=3, size=40)
    path = saliency_cache_path(data, "itti_koch", None, tmp_path)
    path.parent.mkdir(parents=True)
    np.save(path, np.zeros((2, 40, 40), np.float32))
    with pytest.warns(RuntimeWarning, match="saliency cache is bad"):
        maps = dataset_saliency(data, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(maps, saliency_maps(np.asarray(data.images)))


def test_bad_method():
    with pytest.raises(ValueError, match="method must be one of"):
        dataset_saliency(blob_dataset(n=2), method="deepgaze")
