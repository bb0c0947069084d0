"""Caches that can be trusted: damaged entries rebuilt with a warning, content-keyed STL-10 caches,
read-only data roots, and a saliency writer SIGKILLed mid-write."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import envs.storage.files as storage
from envs.datasets import load_scenes, load_stl10
from envs.datasets.base import resolve_cache_root
from envs.storage.saliency_cache import dataset_saliency, saliency_cache_path
from saliency import saliency_maps
from tests.envs.conftest import STL10_BYTES
from tests.envs.helpers import blob_dataset

REPO = Path(__file__).resolve().parents[2]


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[: len(data) - 1000]
    elif how == "zero":
        data = bytearray(len(data))
    else:  # one flipped bit in the middle of the maps
        data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "zero", "flip"])
def test_damaged_saliency_cache_is_rebuilt_with_a_warning(tmp_path: Path, how: str) -> None:
    data = blob_dataset(n=5, size=40)
    dataset_saliency(data, cache_dir=tmp_path, chunk_size=2, progress=False)
    path = saliency_cache_path(data, "itti_koch", None, tmp_path)
    _damage(path, how)
    with pytest.warns(RuntimeWarning, match=r"saliency cache is bad .*itti_koch-"):
        maps = dataset_saliency(data, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(maps, saliency_maps(np.asarray(data.images)))
    with warnings.catch_warnings():  # healed: the next read is silent and memory-mapped
        warnings.simplefilter("error")
        again = dataset_saliency(data, cache_dir=tmp_path, progress=False)
    assert isinstance(again, np.memmap)
    np.testing.assert_array_equal(again, maps)


def test_cache_of_the_wrong_shape_is_rebuilt(tmp_path: Path) -> None:
    data = blob_dataset(n=3, size=40)
    path = saliency_cache_path(data, "itti_koch", None, tmp_path)
    path.parent.mkdir(parents=True)
    np.save(path, np.zeros((2, 40, 40), np.float32))  # e.g. left by an older version
    with pytest.warns(RuntimeWarning, match="no manifest"):
        maps = dataset_saliency(data, cache_dir=tmp_path, progress=False)
    assert maps.shape == (3, 40, 40)


def test_changing_any_stl10_image_changes_the_fingerprint_and_the_maps(make_stl10) -> None:
    root = make_stl10(n_train=7)
    before = load_stl10(root, "train")
    cache = root / "cache"
    dataset_saliency(before, cache_dir=cache, progress=False)
    x_file = root / "stl10_binary" / "train_X.bin"
    data = bytearray(x_file.read_bytes())
    data[3 * STL10_BYTES:4 * STL10_BYTES] = bytes(255 - b for b in data[3 * STL10_BYTES:4 * STL10_BYTES])
    x_file.write_bytes(bytes(data))  # image 3 of 7: neither the first nor the last
    after = load_stl10(root, "train")
    assert after.fingerprint != before.fingerprint
    assert load_stl10(root, "train").fingerprint == after.fingerprint  # stable
    maps = dataset_saliency(after, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(maps, saliency_maps(np.ascontiguousarray(after.images[:])))


SMALL = {"n_train": 6, "n_test": 4, "image_size": 48, "max_objects": 1}


@pytest.mark.parametrize("how", ["flip", "truncate", "manifest"])
def test_damaged_scenes_cache_is_regenerated_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            how: str) -> None:
    monkeypatch.delenv("SACCADE_CACHE", raising=False)
    first = load_scenes("train", root=tmp_path, **SMALL)
    folder = resolve_cache_root(tmp_path) / "scenes" / first.fingerprint
    if how == "manifest":
        (folder / "meta.json").unlink()  # a writer killed before its commit point
    else:
        _damage(folder / "masks.npy", how)
    with pytest.warns(RuntimeWarning, match="scenes cache is bad"):
        again = load_scenes("train", root=tmp_path, **SMALL)
    fresh = load_scenes("train", cache=False, **SMALL)
    for name in ("images", "labels", "boxes", "box_labels", "masks"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fresh, name))
    assert isinstance(again.images, np.memmap)


def _read_only(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``root`` read-only; where permissions do not bind (root user), refuse writes as EROFS."""
    root.chmod(0o555)
    if os.access(root, os.W_OK):
        def refuse(path: Path) -> Path:
            raise OSError(errno.EROFS, "Read-only file system", str(path.parent))

        monkeypatch.setattr(storage, "_reserve", refuse)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


@pytest.mark.parametrize("env_id", ["Saccade-Scenes-v0", "Saccade-STL10-v0"])
def test_read_only_data_root_works_in_memory_with_one_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              env_id: str) -> None:
    from tests.envs.conftest import write_stl10

    monkeypatch.delenv("SACCADE_CACHE", raising=False)
    monkeypatch.setattr(storage, "_warned", set())
    root = tmp_path / "data"
    root.mkdir()
    kwargs = {"root": str(root)}
    if env_id == "Saccade-STL10-v0":
        write_stl10(root)
        kwargs["split"] = "train"
    else:
        kwargs.update(n_train=6, n_test=2)
    before = _files(root)
    _read_only(root, monkeypatch)
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            env = gym.make(env_id, **kwargs)
            obs, info = env.reset(seed=0)
            env.step(env.action_space.sample())
            env.close()
            gym.make(env_id, **kwargs).close()  # a second env in the process: no second warning
        ours = [w for w in record if "cannot write caches" in str(w.message)]
        assert len(ours) == 1, [str(w.message) for w in record]
        assert issubclass(ours[0].category, RuntimeWarning) and "SACCADE_CACHE" in str(ours[0].message)
        assert obs["glimpse"].dtype == np.uint8 and info["priority"].ndim == 2
        assert _files(root) == before  # nothing written into the data folder
    finally:
        root.chmod(0o755)


def _wait_for(marker: Path, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"writer exited early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("writer never reached the marker")
        time.sleep(0.05)


def test_saliency_writer_killed_mid_write_leaves_a_cache_the_next_reader_rebuilds(tmp_path: Path) -> None:
    cache, marker = tmp_path / "cache", tmp_path / "marker"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        import envs.storage.saliency_cache as sc
        from tests.envs.helpers import blob_dataset

        real, calls = sc.saliency_maps, [0]

        def slow(images, **kwargs):  # the second chunk never finishes
            calls[0] += 1
            if calls[0] == 2:
                Path({str(marker)!r}).touch()
                time.sleep(600)
            return real(images, **kwargs)

        sc.saliency_maps = slow
        sc.dataset_saliency(blob_dataset(n=6, size=40), cache_dir={str(cache)!r}, chunk_size=2, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(marker, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    data = blob_dataset(n=6, size=40)
    path = saliency_cache_path(data, "itti_koch", None, cache)
    (partial,) = path.parent.glob(f".{path.name}.{proc.pid}.*.tmp")  # the killed writer's temp file
    assert not path.exists()
    os.utime(partial, (time.time() - 3600,) * 2)  # an orphan from an hour ago
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing committed, so nothing bad to warn about
        maps = dataset_saliency(data, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(maps, saliency_maps(np.asarray(data.images)))
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".json"]  # orphan cleaned
