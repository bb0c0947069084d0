"""envs/storage/files.py: atomic writes under unique names, verified reads, orphan cleanup, warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import envs.storage.files as storage
from envs.datasets.base import resolve_cache_root
from envs.storage.files import (
    CacheError,
    atomic_path,
    atomic_write,
    clean_orphans,
    file_sha256,
    manifest_path,
    read_verified_arrays,
    read_verified_npy,
    temp_path,
    write_verified_arrays,
    write_verified_npy,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_write_round_trip_and_no_temp_left(tmp_path: Path) -> None:
    path = atomic_write(tmp_path / "sub" / "a.bin", lambda fh: fh.write(b"hello"))
    assert path.read_bytes() == b"hello"
    assert [p.name for p in path.parent.iterdir()] == ["a.bin"]


def test_failed_write_keeps_the_previous_file_and_removes_the_temp(tmp_path: Path) -> None:
    path = atomic_write(tmp_path / "a.bin", lambda fh: fh.write(b"old"))

    def broken(fh):
        fh.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_two_writers_with_the_same_pid_get_different_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getpid", lambda: 4242)  # e.g. pid 1 in two containers on one cache
    a, b = temp_path(tmp_path / "x.npy"), temp_path(tmp_path / "x.npy")
    assert a != b and ".4242." in a.name and ".4242." in b.name
    target = tmp_path / "x.bin"
    with atomic_path(target) as first, atomic_path(target) as second:  # interleaved writers
        assert first != second and first.exists() and second.exists()
        first.write_bytes(b"one")
        second.write_bytes(b"two")
    assert target.read_bytes() in (b"one", b"two")
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


@pytest.mark.parametrize("damage", ["truncate", "zero", "flip", "delete_manifest", "other_meta"])
def test_verified_npy_detects_damage_and_names_the_file(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "maps.npy"
    array = np.random.default_rng(0).random((4, 8, 8), dtype=np.float32)
    write_verified_npy(path, array, meta={"method": "m"})
    np.testing.assert_array_equal(read_verified_npy(path, (4, 8, 8), np.float32, meta={"method": "m"}), array)
    meta = {"method": "m"}
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "zero":
        path.write_bytes(bytes(len(data)))
    elif damage == "flip":
        data[-5] ^= 0x10
        path.write_bytes(bytes(data))
    elif damage == "delete_manifest":
        manifest_path(path).unlink()
    else:
        meta = {"method": "other"}
    with pytest.raises(CacheError, match="maps.npy"):
        read_verified_npy(path, (4, 8, 8), np.float32, meta=meta)


def test_verified_npy_written_in_place_through_fill_and_shape_checked(tmp_path: Path) -> None:
    path = tmp_path / "big.npy"

    def fill(out: np.ndarray) -> None:
        out[:] = np.arange(out.size, dtype=np.float32).reshape(out.shape)

    write_verified_npy(path, shape=(3, 5), dtype=np.float32, fill=fill)
    got = read_verified_npy(path, (3, 5), np.float32)
    assert isinstance(got, np.memmap) and got[2, 4] == 14.0
    assert json.loads(manifest_path(path).read_text())["files"]["big.npy"]["sha256"] == file_sha256(path)
    with pytest.raises(CacheError, match=r"shape \(3, 5\), expected \(5, 3\)"):
        read_verified_npy(path, (5, 3), np.float32)
    with pytest.raises(FileNotFoundError):
        read_verified_npy(tmp_path / "absent.npy")


def test_verified_arrays_folder(tmp_path: Path) -> None:
    arrays = {"a": np.arange(6, dtype=np.int64), "b": np.ones((2, 3), np.uint8)}
    write_verified_arrays(tmp_path / "e", arrays, {"n": 6})
    expected = {"a": ((6,), np.int64), "b": ((2, 3), np.uint8)}
    got = read_verified_arrays(tmp_path / "e", {"n": 6}, expected)
    np.testing.assert_array_equal(got["a"], arrays["a"])
    (tmp_path / "e" / "b.npy").write_bytes(b"\0" * (tmp_path / "e" / "b.npy").stat().st_size)
    with pytest.raises(CacheError, match="b.npy is corrupt"):
        read_verified_arrays(tmp_path / "e", {"n": 6}, expected)
    with pytest.raises(ValueError, match="reserved"):
        write_verified_arrays(tmp_path / "f", arrays, {"files": 1})


def test_clean_orphans_removes_only_dead_writers_old_temp_files(tmp_path: Path) -> None:
    dead, old = _dead_pid(), time.time() - 3600
    orphan = tmp_path / f".x.npy.{dead}.0123456789ab.tmp"
    fresh_orphan = tmp_path / f".y.npy.{dead}.0123456789ab.tmp"
    live = tmp_path / f".z.npy.{os.getpid()}.0123456789ab.tmp"
    foreign = tmp_path / "notes.tmp"
    for p in (orphan, fresh_orphan, live, foreign):
        p.write_bytes(b"partial")
    for p in (orphan, live, foreign):
        os.utime(p, (old, old))
    assert clean_orphans(tmp_path) == [orphan]  # fresh files and live writers are kept
    assert clean_orphans(tmp_path, max_age_s=0) == [fresh_orphan]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, foreign.name])


def test_next_successful_write_cleans_old_orphans(tmp_path: Path) -> None:
    orphan = tmp_path / f".maps.npy.{_dead_pid()}.0123456789ab.tmp"
    orphan.write_bytes(b"half a cache")
    os.utime(orphan, (time.time() - 3600,) * 2)
    write_verified_npy(tmp_path / "maps.npy", np.zeros(3, np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.npy", "maps.npy.json"]


def test_unwritable_location_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "_warned", set())
    exc = OSError(30, "Read-only file system")
    with pytest.warns(RuntimeWarning, match=r"cannot write caches under .*EROFS.*SACCADE_CACHE") as record:
        storage.warn_unwritable(tmp_path / "cache" / "saliency" / "fp", exc, "saliency maps")
        storage.warn_unwritable(tmp_path / "cache" / "scenes" / "fp", exc, "the scenes")  # same read-only root
    assert len([w for w in record if issubclass(w.category, RuntimeWarning)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        storage.warn_unwritable(tmp_path / "cache", exc, "again")


def test_cache_root_is_apart_from_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SACCADE_CACHE", raising=False)
    monkeypatch.setenv("SACCADE_DATA", str(tmp_path / "data"))
    assert resolve_cache_root() == tmp_path / "data" / "cache"
    assert resolve_cache_root(tmp_path / "other") == tmp_path / "other" / "cache"
    monkeypatch.setenv("SACCADE_CACHE", str(tmp_path / "c"))
    assert resolve_cache_root(tmp_path / "other") == tmp_path / "c"
