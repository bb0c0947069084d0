"""The embedded scenes dataset: formats, determinism, cache, object geometry, errors."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.datasets import SCENE_CLASSES, load_scenes, render_scene
from envs.datasets import scenes as scenes_mod
from envs.datasets.shapes import glyph_alpha, patch_side
from envs.datasets.textures import BACKGROUND_SOURCES, load_backgrounds

SMALL = dict(n_train=24, n_test=10)


@pytest.fixture(scope="module")
def train(tmp_path_factory: pytest.TempPathFactory):
    return load_scenes("train", root=tmp_path_factory.mktemp("scenes"), seed=3, max_objects=3, **SMALL)


def test_shapes_and_dtypes(train) -> None:
    assert train.name == "scenes" and train.split == "train" and train.class_names == SCENE_CLASSES
    assert train.images.shape == (24, 96, 96, 3) and train.images.dtype == np.uint8
    assert train.labels.shape == (24,) and train.labels.dtype == np.int64
    assert train.boxes.shape == (24, 3, 4) and train.boxes.dtype == np.int32
    assert train.box_labels.shape == (24, 3) and train.box_labels.dtype == np.int64
    assert train.masks.shape == (24, 96, 96) and train.masks.dtype == np.uint8
    assert ((train.labels >= 0) & (train.labels < 10)).all()


def test_primary_object_gives_label_and_padding_is_consistent(train) -> None:
    np.testing.assert_array_equal(train.box_labels[:, 0], train.labels)
    valid = train.box_labels >= 0
    counts = valid.sum(1)
    assert counts.min() >= 1 and counts.max() <= 3 and counts.max() > 1
    assert (valid[:, :-1] >= valid[:, 1:]).all()  # objects first, then padding
    assert (train.boxes[~valid] == -1).all() and (train.boxes[valid] >= 0).all()


def test_boxes_are_tight_around_object_masks_and_disjoint(train) -> None:
    for i in range(len(train)):
        boxes = train.boxes[i][train.box_labels[i] >= 0]
        assert set(np.unique(train.masks[i])) == set(range(len(boxes) + 1))
        for k, (r0, c0, r1, c1) in enumerate(boxes):
            assert 0 <= r0 < r1 <= 96 and 0 <= c0 < c1 <= 96
            rows, cols = np.nonzero(train.masks[i] == k + 1)
            assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (r0, c0, r1, c1)
            for b in boxes[k + 1:]:
                assert r1 <= b[0] or b[2] <= r0 or c1 <= b[1] or b[3] <= c0


def test_objects_differ_from_surrounding_background(train) -> None:
    contrasts = []
    for i in range(len(train)):
        img = train.image(i).astype(np.float32)
        for k in range(int((train.box_labels[i] >= 0).sum())):
            obj = train.masks[i] == k + 1
            ring = cv2.dilate(obj.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & (train.masks[i] == 0)
            contrasts.append(np.linalg.norm(img[obj].mean(0) - img[ring].mean(0)))
    contrasts = np.array(contrasts)
    assert np.median(contrasts) > 50 and (contrasts > 15).mean() > 0.9


def test_primary_object_is_larger_than_the_others(train) -> None:
    sizes = [[(train.masks[i] == k + 1).sum() for k in range(int((train.box_labels[i] >= 0).sum()))]
             for i in range(len(train))]
    multi = [s for s in sizes if len(s) > 1]
    assert multi and np.mean([s[0] == max(s) for s in multi]) >= 0.75


def test_same_seed_is_byte_identical_and_seeds_and_splits_differ() -> None:
    a = load_scenes("train", seed=7, n_train=6, cache=False)
    b = load_scenes("train", seed=7, n_train=6, cache=False)
    for field in ("images", "labels", "boxes", "box_labels", "masks"):
        assert np.asarray(getattr(a, field)).tobytes() == np.asarray(getattr(b, field)).tobytes()
    c = load_scenes("train", seed=8, n_train=6, cache=False)
    t = load_scenes("test", seed=7, n_test=6, cache=False)
    for other in (c, t):
        assert all(not np.array_equal(a.images[i], other.images[i]) for i in range(6))
    longer = load_scenes("train", seed=7, n_train=9, cache=False)  # a prefix of a longer run
    np.testing.assert_array_equal(longer.images[:6], a.images)
    assert a.fingerprint == b.fingerprint and len({a.fingerprint, c.fingerprint, t.fingerprint}) == 3


def test_cache_written_atomically_then_read_memory_mapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_scenes("test", root=tmp_path, seed=1, **SMALL)
    folder = tmp_path / "cache" / "scenes" / first.fingerprint
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["images.npy", "labels.npy", "boxes.npy", "box_labels.npy", "masks.npy", "meta.json"])
    assert json.loads((folder / "meta.json").read_text())["n"] == 10

    def boom(*args, **kwargs):
        raise AssertionError("second load must read the cache, not regenerate")

    monkeypatch.setattr(scenes_mod, "generate_scenes", boom)
    second = load_scenes("test", root=tmp_path, seed=1, **SMALL)
    assert isinstance(second.images, np.memmap) and isinstance(second.boxes, np.memmap)
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(np.load(folder / "labels.npy"), first.labels)


def test_incomplete_cache_is_regenerated(tmp_path: Path) -> None:
    first = load_scenes("train", root=tmp_path, n_train=5, n_test=1)
    folder = tmp_path / "cache" / "scenes" / first.fingerprint
    (folder / "meta.json").unlink()  # e.g. a run killed before the last file was written
    np.save(folder / "images.npy", np.zeros(3, np.uint8))
    with pytest.warns(RuntimeWarning, match="scenes cache is bad"):
        again = load_scenes("train", root=tmp_path, n_train=5, n_test=1)
    np.testing.assert_array_equal(again.images, np.asarray(load_scenes("train", n_train=5, cache=False).images))
    assert (folder / "meta.json").exists()


def test_default_root_and_pickle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SACCADE_DATA", str(tmp_path))
    monkeypatch.delenv("SACCADE_CACHE", raising=False)
    ds = load_scenes("train", n_train=4, n_test=1)
    assert (tmp_path / "cache" / "scenes" / ds.fingerprint / "images.npy").exists()
    blob = pickle.dumps(ds)
    assert len(blob) < 2000
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.images, ds.images)


def test_all_classes_appear_in_500_scenes() -> None:
    ds = load_scenes("train", seed=11, n_train=500, cache=False)
    counts = np.bincount(ds.labels, minlength=10)
    assert counts.shape == (10,) and counts.min() >= 20  # ~50 each expected


def test_small_images_and_single_object() -> None:
    ds = load_scenes("test", n_test=8, image_size=32, max_objects=1, cache=False)
    assert ds.images.shape == (8, 32, 32, 3) and ds.boxes.shape == (8, 1, 4)
    assert (ds.box_labels[:, 0] == ds.labels).all()
    assert (ds.boxes[:, 0, 2:] <= 32).all() and (ds.boxes[:, 0, :2] >= 0).all()


def test_render_scene_in_isolation() -> None:
    bgs = load_backgrounds()
    assert [b.name for b in bgs] == list(BACKGROUND_SOURCES)
    for b in bgs:
        assert all(lv.dtype == np.uint8 and lv.shape[2] == 3 for lv in b.levels)
        assert all(min(lv.shape[:2]) >= 64 for lv in b.levels)
        assert b.grey == bool((b.levels[0][..., 0] == b.levels[0][..., 2]).all())
    a = render_scene(np.random.default_rng(5), bgs, image_size=64, max_objects=4)
    b = render_scene(np.random.default_rng(5), bgs, image_size=64, max_objects=4)
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8 and a.mask.shape == (64, 64)
    assert 1 <= len(a.box_labels) <= 4 and a.boxes.shape == (len(a.box_labels), 4)
    assert a.label == a.box_labels[0]
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.boxes, b.boxes)


@settings(max_examples=30, deadline=None)
@given(cls=st.integers(0, 9), size=st.floats(10, 40), angle=st.floats(0, 2 * math.pi))
def test_glyph_area_is_rotation_invariant(cls: int, size: float, angle: float) -> None:
    upright, turned = glyph_alpha(cls, size, 0.0), glyph_alpha(cls, size, angle)
    assert turned.shape == (patch_side(size),) * 2 and turned.dtype == np.float32
    assert 0.0 <= turned.min() and turned.max() <= 1.0
    assert turned.sum() == pytest.approx(upright.sum(), rel=0.06)
    assert turned.sum() > 0.15 * size * size  # a filled glyph, not a speck
    edge = np.concatenate([turned[0], turned[-1], turned[:, 0], turned[:, -1]])
    assert edge.max() == 0.0  # the patch holds the whole glyph at any rotation


def test_glyph_classes_are_distinct_shapes() -> None:
    masks = [glyph_alpha(k, 40.0, 0.3) >= 0.5 for k in range(10)]
    for i in range(10):
        for j in range(i + 1, 10):
            iou = (masks[i] & masks[j]).sum() / (masks[i] | masks[j]).sum()
            assert iou < 0.9, (SCENE_CLASSES[i], SCENE_CLASSES[j], iou)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(split="val"), ValueError, r"split must be one of \('train', 'test'\)"),
    (dict(seed=-1), ValueError, "seed must be an int >= 0"),
    (dict(seed=True), TypeError, "seed must be an int"),
    (dict(n_train=0), ValueError, "n_train must be an int >= 1"),
    (dict(n_test=2.5), TypeError, "n_test must be an int"),
    (dict(image_size=31), ValueError, r"image_size must be an int in \[32, 4096\]"),
    (dict(max_objects=0), ValueError, r"max_objects must be an int in \[1, 6\]"),
    (dict(max_objects=7), ValueError, r"max_objects must be an int in \[1, 6\]"),
    (dict(root=3), TypeError, "root must be"),
])
def test_invalid_arguments(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        load_scenes(**kwargs)


def test_glyph_alpha_rejects_bad_class_and_size() -> None:
    with pytest.raises(ValueError, match="class_index"):
        glyph_alpha(10, 20.0, 0.0)
    with pytest.raises(ValueError, match="size"):
        glyph_alpha(0, 0.0, 0.0)


def test_simple_style_colours_objects_by_class_and_keeps_its_own_cache(tmp_path):
    import cv2

    from envs.datasets import SCENE_STYLES

    simple = load_scenes("test", root=tmp_path, n_test=60, max_objects=1, style="simple")
    natural = load_scenes("test", root=tmp_path, n_test=60, max_objects=1)
    assert simple.fingerprint != natural.fingerprint and "-simple-" in simple.fingerprint
    hues = []
    for i in range(60):
        pixels = np.asarray(simple.images[i])[np.asarray(simple.masks[i]) == 1]
        hsv = cv2.cvtColor(pixels[None].astype(np.uint8), cv2.COLOR_RGB2HSV)[0]
        hues.append(np.median(hsv[:, 0]) * 2.0)  # OpenCV hue is degrees / 2
    expected = np.asarray(simple.labels) * 36.0
    error = np.abs((np.asarray(hues) - expected + 180.0) % 360.0 - 180.0)
    assert np.median(error) < 12.0  # shading and noise move the hue a little, not to another class
    lo, hi = SCENE_STYLES["simple"].object_size
    sides = [max(b[2] - b[0], b[3] - b[1]) for b in np.asarray(simple.boxes)[:, 0]]
    assert np.mean(sides) > np.mean([max(b[2] - b[0], b[3] - b[1]) for b in np.asarray(natural.boxes)[:, 0]])
    assert max(sides) <= hi * math.sqrt(2) + 2  # a rotated glyph's box grows by up to sqrt(2)


def test_unknown_style_names_the_allowed_ones(tmp_path):
    with pytest.raises(ValueError, match=r"style must be one of \('natural', 'simple', 'shapes', 'shapes_majority', 'shapes_flat', 'shapes_flat_large'\)"):
        load_scenes("test", root=tmp_path, n_test=4, style="cartoon")
