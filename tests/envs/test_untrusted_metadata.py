"""Metadata read from disk is untrusted input: a manifest names only plain, regular files inside
its own folder with well-formed records; anything else is a bad cache (CacheError -> rebuilt with
a warning), never a crash, a read outside the folder or a blocked reader. Same for $SACCADE_CACHE
pointing at a file or a dangling link (one warning, naming it)."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import envs.storage.files as storage
from envs.datasets import load_scenes
from envs.storage.files import CacheError, read_manifest, read_verified_npy, write_verified_npy
from envs.storage.saliency_cache import dataset_saliency, saliency_cache_path
from saliency import saliency_maps
from tests.envs.helpers import blob_dataset


def _entry(folder: Path) -> Path:
    path = folder / "labels.npy"
    write_verified_npy(path, np.arange(5))
    return path


def _edit_manifest(path: Path, edit) -> Path:
    man = storage.manifest_path(path)
    data = json.loads(man.read_text())
    edit(data["files"])
    man.write_text(json.dumps(data))
    return man


@pytest.mark.parametrize("record", [5, None, "x", [], {"bytes": "40"}, {"bytes": -1, "sha256": "0" * 64},
                                    {"bytes": True, "sha256": "0" * 64}, {"bytes": 40, "sha256": "zz"},
                                    {"bytes": 40, "sha256": "0" * 64, "extra": 1}])
def test_a_record_that_is_not_a_file_record_is_a_cache_error(tmp_path: Path, record) -> None:
    path = _entry(tmp_path)
    man = _edit_manifest(path, lambda files: files.update({"labels.npy": record}))
    for verify in (True, False):  # the schema is checked even when the digests are skipped
        with pytest.raises(CacheError, match="labels.npy"):
            read_verified_npy(path, verify=verify)
    with pytest.raises(CacheError, match=str(man.name)):
        read_manifest(man)


@pytest.mark.parametrize("name", ["../../../../etc/hostname", "/etc/hostname", "..", ".", "", "a/b.npy",
                                  "sub\\x.npy", "nul\0.npy"])
def test_a_name_that_is_not_plain_is_refused_before_any_read(tmp_path: Path, name: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = _entry(tmp_path)
    record = storage.file_record(path)
    man = _edit_manifest(path, lambda files: files.update({name: record}))
    opened = []
    monkeypatch.setattr(storage, "file_sha256", lambda p: opened.append(p) or "")
    with pytest.raises(CacheError, match="not a plain file name"):
        read_manifest(man)
    assert opened == []  # nothing hashed, inside or outside the folder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=12), record=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["bytes", "sha256", "x"]), inner,
                                                                max_size=3), max_leaves=6))
def test_any_manifest_record_or_name_is_a_cache_error_or_a_verified_read(tmp_path: Path, name: str, record) -> None:
    folder = tmp_path / f"e{abs(hash((name, repr(record)))) % 10**9}"
    path = _entry(folder)
    man = _edit_manifest(path, lambda files: files.update({name: record}))
    try:
        read_manifest(man)
    except CacheError:
        return  # a bad cache: the caller rebuilds it
    # accepted: then the name was plain and its record well-formed and true for a regular file inside
    assert "/" not in name and name not in ("", ".", "..")
    assert storage.file_record(folder / name) == record


@pytest.mark.parametrize("kind, words", [("fifo", "is a FIFO"), ("symlink", "is a symbolic link")])
def test_a_fifo_or_a_link_out_of_the_folder_is_never_opened(tmp_path: Path, kind: str, words: str) -> None:
    """Named in the manifest, or in place of the entry's file (or of the manifest itself): refused
    without being opened (a FIFO would block the reader forever; a link leads out of the folder)."""
    outside = tmp_path / "outside.npy"
    np.save(outside, np.arange(5))
    folder = tmp_path / "cache"
    path = _entry(folder)

    def put(at: Path) -> None:
        if kind == "fifo":
            os.mkfifo(at)
        else:
            at.symlink_to(outside)

    record = storage.file_record(outside) if kind == "symlink" else {"bytes": 0, "sha256": "0" * 64}
    man = _edit_manifest(path, lambda files: files.update({"special.npy": record}))  # a link's record matches its target
    put(folder / "special.npy")
    with pytest.raises(CacheError, match=f"special.npy {words}"):
        read_manifest(man)
    path.unlink()
    put(path)
    with pytest.raises(CacheError, match=f"labels.npy {words}"):
        read_verified_npy(path, verify=False)
    man.unlink()
    put(man)  # the manifest itself
    with pytest.raises(CacheError, match=f"labels.npy.json {words}"):
        read_verified_npy(path)


def test_a_saliency_manifest_with_a_bad_record_is_rebuilt_with_a_warning(tmp_path: Path) -> None:
    data = blob_dataset(n=3, size=40)
    dataset_saliency(data, cache_dir=tmp_path, progress=False)
    path = saliency_cache_path(data, "itti_koch", None, tmp_path)
    _edit_manifest(path, lambda files: files.update({path.name: None}))
    with pytest.warns(RuntimeWarning, match="saliency cache is bad"):
        maps = dataset_saliency(data, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(maps, saliency_maps(np.asarray(data.images)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # healed
        dataset_saliency(data, cache_dir=tmp_path, progress=False)


def test_a_traversal_name_in_a_scenes_manifest_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SACCADE_CACHE", str(tmp_path))
    load_scenes("test", n_test=2, image_size=32)
    man = next(tmp_path.glob("scenes/*/meta.json"))
    data = json.loads(man.read_text())
    data["files"]["../../../../etc/hostname"] = data["files"].pop("labels.npy")
    man.write_text(json.dumps(data))
    with pytest.warns(RuntimeWarning, match=r"scenes cache is bad .*etc/hostname"):
        again = load_scenes("test", n_test=2, image_size=32)
    assert json.loads(man.read_text())["files"].keys() >= {"labels.npy"}
    assert again.labels.shape == (2,)


@pytest.mark.parametrize("kind", ["file", "dangling"])
def test_a_cache_root_that_cannot_be_a_folder_warns_once_naming_it(tmp_path: Path, kind: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cache"
    if kind == "file":
        root.write_text("")
    else:
        root.symlink_to(tmp_path / "gone" / "x")
    monkeypatch.setenv("SACCADE_CACHE", str(root))
    monkeypatch.setattr(storage, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_scenes("test", n_test=2, image_size=32)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages  # no "bad cache, rebuilt" before the unwritable warning
    assert f"under {root} (" in messages[0]
    assert ("not a folder" if kind == "file" else "dangling symbolic link") in messages[0]
    assert data.images.shape == (2, 32, 32, 3)


# ------------------------------------------------------------------------------------ 3DIEBench folders
def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def _bench(tmp_path: Path) -> Path:
    from tests.envs.helpers import write_3diebench

    write_3diebench(tmp_path, objects=1, views=2, size=16)
    return tmp_path / "03001627" / "obj0"


@pytest.mark.parametrize("entry", ["/../../etc", "/03001627/../../x", "/03001627", "/a/b/c", "/03001627/."])
def test_a_split_list_entry_outside_the_root_is_refused_naming_the_list(tmp_path: Path, entry: str) -> None:
    from envs.datasets.objects3d import load_3diebench

    _bench(tmp_path)
    np.save(tmp_path / "val_images.npy", np.array(["/03001627/obj0", entry]))
    with pytest.raises(ValueError, match="val_images.npy lists") as exc:
        load_3diebench(tmp_path, split="val")
    assert repr(entry.strip("/"))[1:-1] in _one_line(exc)


@pytest.mark.parametrize("split", ["../x", "a/b", "", 3])
def test_a_split_that_is_not_a_plain_name_is_refused(tmp_path: Path, split) -> None:
    from envs.datasets.objects3d import load_3diebench

    _bench(tmp_path)
    with pytest.raises(ValueError, match="split must be None or a plain name"):
        load_3diebench(tmp_path, split=split)


@pytest.mark.parametrize("damage", ["truncated", "empty", "pickled", "text", "strings"])
def test_a_bad_latent_file_is_one_line_naming_it(tmp_path: Path, damage: str) -> None:
    from envs.datasets.objects3d import load_3diebench

    latent = _bench(tmp_path) / "latent_1.npy"
    if damage == "truncated":
        latent.write_bytes(latent.read_bytes()[:-9])
    elif damage == "empty":
        latent.write_bytes(b"")
    elif damage == "pickled":
        np.save(latent, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif damage == "text":
        latent.write_text("0.1 0.2 0.3\n")
    else:
        np.save(latent, np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="latent_1.npy") as exc:
        load_3diebench(tmp_path)
    _one_line(exc)


def test_a_fifo_latent_or_labels_file_is_refused_without_blocking(tmp_path: Path) -> None:
    from envs.datasets.objects3d import load_3diebench

    latent = _bench(tmp_path) / "latent_1.npy"
    latent.unlink()
    os.mkfifo(latent)
    with pytest.raises(ValueError, match="latent_1.npy is a FIFO"):
        load_3diebench(tmp_path)


def test_a_view_file_without_an_integer_index_is_named(tmp_path: Path) -> None:
    from envs.datasets.objects3d import load_3diebench

    folder = _bench(tmp_path)
    (folder / "image_x.jpg").write_bytes((folder / "image_0.jpg").read_bytes())
    with pytest.raises(ValueError, match="image_x.jpg is not named image_<i>.jpg") as exc:
        load_3diebench(tmp_path)
    _one_line(exc)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_corrupt_jpeg_is_found_when_the_folder_is_opened(tmp_path: Path, damage: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from envs.datasets import objects3d
    from envs.datasets.views3d import ViewBank

    image = _bench(tmp_path) / "image_1.jpg"  # not the first image, which is decoded for the shape
    data = image.read_bytes()
    image.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\x00" * len(data), "empty": b""}[damage])
    decoded = []
    monkeypatch.setattr(objects3d.cv2, "imread", lambda *a: decoded.append(a) or None)
    for load in (objects3d.load_3diebench, ViewBank.from_3diebench):
        with pytest.raises(ValueError, match="image_1.jpg is not a complete JPEG") as exc:
            load(tmp_path)
        _one_line(exc)
    assert decoded == []  # found before any decoding


def test_the_split_list_and_labels_must_be_arrays_of_the_right_kind(tmp_path: Path) -> None:
    from envs.datasets.objects3d import load_3diebench

    _bench(tmp_path)
    (tmp_path / "val_images.npy").write_text("/03001627/obj0\n")
    with pytest.raises(ValueError, match="val_images.npy is not a readable .npy file"):
        load_3diebench(tmp_path, split="val")
    np.save(tmp_path / "val_images.npy", np.array(["/03001627/obj0"]))
    np.save(tmp_path / "val_labels.npy", np.array([0.5]))
    with pytest.raises(ValueError, match="val_labels.npy must hold integer class labels"):
        load_3diebench(tmp_path, split="val")

