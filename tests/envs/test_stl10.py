"""STL-10 reader (through tiny files written from the format spec) and the ImageDataset record."""

from __future__ import annotations

import pickle
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.datasets import (
    STL10_SPLITS,
    ConcatImages,
    ImageDataset,
    default_data_root,
    load_stl10,
)
from envs.datasets.stl10 import STL10_CLASSES

from .conftest import stl10_pixel, write_stl10

ROW, COL, CH = np.indices((96, 96, 3))


def expected_image(n: int, offset: int) -> np.ndarray:
    return stl10_pixel(n, ROW, COL, CH, offset).astype(np.uint8)


# --- pixel orientation and labels -------------------------------------------------------------

@pytest.mark.parametrize("split,offset,n", [("train", 0, 7), ("test", 100, 5), ("unlabeled", 200, 4)])
def test_pixels_land_at_row_col_channel(stl10_root: Path, split: str, offset: int, n: int) -> None:
    ds = load_stl10(stl10_root, split)
    assert ds.images.shape == (n, 96, 96, 3) and ds.images.dtype == np.uint8
    for i in range(n):
        np.testing.assert_array_equal(ds.image(i), expected_image(i, offset))


def test_single_marker_pixel_orientation(tmp_path: Path) -> None:
    folder = write_stl10(tmp_path, n_train=2)
    buf = bytearray(2 * 27648)  # all zero, then one byte: image 1, channel 2, row 5, col 70
    buf[27648 + 2 * 9216 + 70 * 96 + 5] = 255
    (folder / "train_X.bin").write_bytes(bytes(buf))
    (folder / "train_y.bin").write_bytes(bytes([3, 10]))
    ds = load_stl10(tmp_path, "train")
    assert ds.image(0).max() == 0
    assert np.argwhere(ds.image(1)).tolist() == [[5, 70, 2]]


def test_labels_are_zero_based_and_class_names_read(stl10_root: Path) -> None:
    train = load_stl10(stl10_root, "train")
    assert train.labels.dtype == np.int64
    np.testing.assert_array_equal(train.labels, np.arange(7) % 10)
    assert [train.label(i) for i in range(7)] == list(range(7))
    assert train.class_names == tuple(f"class{k}" for k in range(10))


def test_default_class_names_without_file(make_stl10) -> None:
    root = make_stl10(class_names=False)
    assert load_stl10(root, "test").class_names == STL10_CLASSES


# --- splits, memory mapping ---------------------------------------------------------------------

def test_unlabeled_and_train_plus_unlabeled(stl10_root: Path) -> None:
    unl = load_stl10(stl10_root, "unlabeled")
    assert len(unl) == 4 and (unl.labels == -1).all()
    both = load_stl10(stl10_root, "train+unlabeled")
    assert isinstance(both.images, ConcatImages) and both.images.shape == (11, 96, 96, 3)
    np.testing.assert_array_equal(both.labels, np.r_[np.arange(7), -np.ones(4, dtype=np.int64)])
    np.testing.assert_array_equal(both.image(7), expected_image(0, 200))
    np.testing.assert_array_equal(both.image(-1), expected_image(3, 200))
    window = both.images[5:9]  # straddles the train/unlabeled boundary
    np.testing.assert_array_equal(window, np.stack([expected_image(5, 0), expected_image(6, 0),
                                                    expected_image(0, 200), expected_image(1, 200)]))


def test_memory_mapped_never_read_whole(stl10_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fromfile(*args, **kwargs):
        raise AssertionError("np.fromfile must not be used: images are memory-mapped")

    monkeypatch.setattr(np, "fromfile", no_fromfile)
    unl = load_stl10(stl10_root, "unlabeled")
    assert isinstance(unl.images, np.memmap)
    assert not unl.images.flags.owndata and not unl.images.flags.c_contiguous  # lazy transposed view
    both = load_stl10(stl10_root, "train+unlabeled")
    assert all(isinstance(p, np.memmap) for p in both.images.parts)


def test_image_is_a_contiguous_copy(stl10_root: Path) -> None:
    ds = load_stl10(stl10_root, "train")
    img = ds.image(2)
    assert img.flags.c_contiguous and img.flags.owndata
    img[:] = 0
    np.testing.assert_array_equal(ds.image(2), expected_image(2, 0))
    with pytest.raises(IndexError, match="out of range"):
        ds.image(7)
    with pytest.raises(TypeError, match="index"):
        ds.label(1.5)  # type: ignore[arg-type]


def test_pickle_reopens_from_disk(stl10_root: Path) -> None:
    ds = load_stl10(stl10_root, "train+unlabeled")
    blob = pickle.dumps(ds)
    assert len(blob) < 2000  # the recipe, not the pixels
    back = pickle.loads(blob)
    assert back.fingerprint == ds.fingerprint and len(back) == len(ds)
    np.testing.assert_array_equal(back.image(8), ds.image(8))


def test_fingerprint_stable_and_content_sensitive(stl10_root: Path, make_stl10) -> None:
    a = load_stl10(stl10_root, "train").fingerprint
    assert a == load_stl10(stl10_root, "train").fingerprint
    assert a != load_stl10(stl10_root, "test").fingerprint
    assert "train" in a and "n7" in a
    other = make_stl10()
    (other / "stl10_binary" / "train_X.bin").write_bytes(bytes(7 * 27648))
    assert load_stl10(other, "train").fingerprint != a


def test_default_root_from_environment(stl10_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SACCADE_DATA", str(stl10_root))
    assert default_data_root() == stl10_root
    assert len(load_stl10(split="test")) == 5
    monkeypatch.delenv("SACCADE_DATA")
    assert default_data_root() == Path.home() / ".cache" / "saccade"


# --- errors -------------------------------------------------------------------------------------

def test_unknown_split_names_allowed_values(stl10_root: Path) -> None:
    with pytest.raises(ValueError, match="split") as err:
        load_stl10(stl10_root, "validation")
    assert all(s in str(err.value) for s in STL10_SPLITS)


def test_missing_files_name_expected_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_stl10(tmp_path / "nowhere", "train")
    msg = str(err.value)
    assert str(tmp_path / "nowhere" / "stl10_binary") in msg and "download=True" in msg


def test_missing_unlabeled_only_matters_for_its_splits(stl10_root: Path) -> None:
    (stl10_root / "stl10_binary" / "unlabeled_X.bin").unlink()
    assert len(load_stl10(stl10_root, "train")) == 7
    with pytest.raises(FileNotFoundError, match="unlabeled_X.bin"):
        load_stl10(stl10_root, "train+unlabeled")


@pytest.mark.parametrize("size", [27648 * 3 - 1, 27648 * 2 + 100, 0])
def test_truncated_image_file(stl10_root: Path, size: int) -> None:
    path = stl10_root / "stl10_binary" / "test_X.bin"
    path.write_bytes(path.read_bytes()[:size] if size <= path.stat().st_size else bytes(size))
    with pytest.raises(ValueError, match="test_X.bin"):
        load_stl10(stl10_root, "test")


def test_label_count_mismatch(stl10_root: Path) -> None:
    (stl10_root / "stl10_binary" / "train_y.bin").write_bytes(bytes([1] * 6))
    with pytest.raises(ValueError, match=r"train_y\.bin.*6 labels.*7 images"):
        load_stl10(stl10_root, "train")


@pytest.mark.parametrize("bad", [0, 11, 255])
def test_labels_outside_1_to_10(stl10_root: Path, bad: int) -> None:
    (stl10_root / "stl10_binary" / "test_y.bin").write_bytes(bytes([1, 2, bad, 4, 5]))
    with pytest.raises(ValueError, match=rf"test_y\.bin.*1\.\.10.*{bad} at index 2"):
        load_stl10(stl10_root, "test")


def test_bad_class_names_file(stl10_root: Path) -> None:
    (stl10_root / "stl10_binary" / "class_names.txt").write_text("a\nb\n")
    with pytest.raises(ValueError, match="class_names.txt"):
        load_stl10(stl10_root, "train")


# --- download wiring (no network: torchvision's downloader is replaced) --------------------------

def test_download_wiring_uses_torchvision_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.datasets import STL10
    from torchvision.datasets import utils as tv_utils

    calls = []

    def fake_download(url, download_root, filename=None, md5=None, **kwargs):
        calls.append((url, Path(download_root), filename, md5))
        write_stl10(Path(download_root), n_train=3)

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", fake_download)
    ds = load_stl10(tmp_path, "train", download=True)
    assert calls == [(STL10.url, tmp_path, STL10.filename, STL10.tgz_md5)]
    assert len(ds) == 3
    load_stl10(tmp_path, "test", download=True)  # files present: no second download
    assert len(calls) == 1


def test_download_failure_explains_manual_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.datasets import utils as tv_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", offline)
    with pytest.raises(RuntimeError) as err:
        load_stl10(tmp_path, "unlabeled", download=True)
    msg = str(err.value)
    assert "name resolution" in msg and str(tmp_path / "stl10_binary") in msg
    assert isinstance(err.value.__cause__, urllib.error.URLError)


# --- ImageDataset and ConcatImages ---------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 4), min_size=1, max_size=4).filter(lambda s: sum(s) > 0),
       data=st.data())
def test_concat_images_matches_numpy_concatenate(sizes: list[int], data: st.DataObject) -> None:
    parts = [np.random.default_rng(k).integers(0, 256, (n, 2, 3, 1), dtype=np.uint8) for k, n in enumerate(sizes)]
    ref = np.concatenate(parts)
    cat = ConcatImages(parts)
    n = len(ref)
    assert len(cat) == n and cat.shape == ref.shape
    i = data.draw(st.integers(-n, n - 1))
    np.testing.assert_array_equal(cat[i], ref[i])
    sl = slice(data.draw(st.integers(-n - 1, n + 1)), data.draw(st.integers(-n - 1, n + 1)),
               data.draw(st.sampled_from([1, 2, -1])))
    np.testing.assert_array_equal(cat[sl], ref[sl])
    idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=6)), dtype=np.int64)
    np.testing.assert_array_equal(cat[idx], ref[idx])
    np.testing.assert_array_equal(cat[idx, 1, ::2], ref[idx, 1, ::2])
    np.testing.assert_array_equal(np.asarray(cat), ref)
    with pytest.raises(IndexError):
        cat[n]


def _tiny(**over):
    kw = dict(name="t", images=np.zeros((2, 4, 4, 3), np.uint8), labels=np.array([0, -1]), class_names=("a",))
    kw.update(over)
    return ImageDataset(**kw)


@pytest.mark.parametrize("over,match", [
    (dict(images=np.zeros((2, 4, 4), np.uint8)), "images must be a uint8"),
    (dict(images=np.zeros((2, 4, 4, 3), np.float32)), "images must be a uint8"),
    (dict(labels=np.array([0, 1, 0])), r"labels must be int64 \[2\]"),
    (dict(labels=np.array([0, 1])), r"labels must lie in \[-1, 0\]"),
    (dict(boxes=np.zeros((2, 1, 4), np.int64)), "boxes must be int32"),
    (dict(boxes=np.zeros((2, 1, 4), np.int32)), "box_labels must be int64"),
    (dict(box_labels=np.zeros((2, 1), np.int64)), "without boxes"),
    (dict(masks=np.zeros((2, 4, 5), np.uint8)), "masks must have shape"),
])
def test_image_dataset_validates(over: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _tiny(**over)


def test_image_dataset_in_memory_pickles_by_value() -> None:
    ds = _tiny(images=np.arange(96, dtype=np.uint8).reshape(2, 4, 4, 3))
    back = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(back.images, ds.images)
    assert back.image_shape == (4, 4, 3) and back.label(1) == -1 and back.num_classes == 1


def test_importing_datasets_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, envs.datasets; sys.exit(int('torch' in sys.modules or 'torchvision' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2]).returncode == 0
