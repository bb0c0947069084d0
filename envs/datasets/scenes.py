"""The embedded scenes dataset: labelled glyphs at known places on natural backgrounds.

Generated offline and deterministically from a seed (no download). Each RGB scene of
``image_size`` (default 96) pixels shows 1..``max_objects`` filled glyphs of the ten
:data:`SCENE_CLASSES` (random colour contrasting with the local background, mild shading and
transparency, scale ~14-36 px at 96 px, any rotation) on a crop of a photograph or texture
shipped with scikit-image; then a slight blur and sensor noise. Objects never overlap. Object 0
is the *primary* one, strictly larger than the others; the scene label is its class.

Randomness: scene ``i`` of split ``s`` (0 = train, 1 = test) draws everything from
``np.random.default_rng(SeedSequence(seed, spawn_key=(s, i)))``, i.e. child ``i`` of child ``s``
of ``SeedSequence(seed)``: splits are disjoint streams, the same seed gives byte-identical
arrays, and a smaller ``n`` gives a prefix of a larger one.

Cache layout (written on first use through :mod:`envs.storage.files`: every file atomically under a
unique temporary name, then ``meta.json``, the manifest with each file's size and SHA-256; the
cache root is :func:`~envs.datasets.base.resolve_cache_root`, ``$SACCADE_CACHE`` else
``<root>/cache``):

    <cache root>/scenes/<fingerprint>/
        images.npy      uint8 [N, S, S, 3]
        labels.npy      int64 [N]            class of the primary object
        boxes.npy       int32 [N, K, 4]      (r0, c0, r1, c1) half-open, -1 rows pad, K = max_objects
        box_labels.npy  int64 [N, K]         -1 pads
        masks.npy       uint8 [N, S, S]      0 background, k + 1 = object k (coverage >= 0.5)
        meta.json       parameters, format version, and the manifest of the files above

with ``fingerprint = scenes-v<version>-<split>-seed<seed>-n<N>-<S>x<S>x3-k<K>``; files are
verified and read back with ``np.load(mmap_mode="r")``. A missing, incomplete or corrupt cache
is regenerated (with a warning if it was there but bad); an unwritable cache root keeps the
scenes in memory (one warning).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from checks import check_choice, check_int
from envs.datasets.base import ImageDataset, resolve_cache_root, resolve_root
from envs.datasets.place_code import place_code_background
from envs.datasets.shapes import SCENE_CLASSES, glyph_alpha
from envs.datasets.textures import Background, load_backgrounds, sample_background
from envs.storage.files import CacheError, read_verified_arrays, warn_rebuild, warn_unwritable, write_verified_arrays

__all__ = ["SCENE_SPLITS", "SCENE_STYLES", "SCENES_VERSION", "Scene", "SceneStyle", "render_scene",
           "generate_scenes", "load_scenes", "check_scene_args"]

SCENE_SPLITS: tuple[str, ...] = ("train", "test")
SCENES_VERSION = 1
_MAX_OBJECTS_LIMIT = 6
_SIZE_PRIMARY = (20.0, 36.0)  # glyph extent at 96 px; scaled with image_size
_SIZE_MIN = 14.0
_SECONDARY_RATIO = 0.8  # secondary objects are at most this fraction of the primary
_GAP = 2  # pixels kept free between object boxes
_COLOR_TRIES = 6
_RESTARTS = 8  # whole-scene redraws when a scene's required objects find no room (then the corner layout)
_MIN_CONTRAST = 90.0  # preferred RGB distance between object colour and local background
_FILES = ("images", "labels", "boxes", "box_labels", "masks")


@dataclass(frozen=True)
class SceneStyle:
    """How scenes look and what defines their class.

    ``object_size``: primary glyph extent range at 96 px. ``object_colors="contrast"``: a
    random colour that contrasts with the local background; ``"class"``: each class has its
    own hue (class k -> hue k/10, jittered), a colour prior like real categories have, so class
    evidence is cheap to pick up once the object is fixated (and a colour histogram alone
    gives the class away). ``background_contrast`` scales the background's deviations from its
    mean colour. ``background``: ``"photo"`` (scikit-image photographs and textures) or
    ``"place_code"`` (:func:`envs.datasets.place_code.place_code_background`: local texture
    tells the position). ``layout``: ``"primary"`` (1..max_objects objects, the largest one
    gives the label) or ``"majority"`` (exactly max_objects objects of similar size; the label
    is the shape that ``max_objects // 2 + 1`` of them share, the others are distractors of
    distinct other shapes, so one glimpse can mislead and more glimpses help).
    ``object_margin``: fraction of the image side kept free of object centres at each border
    (0.25 at 96 px: centres in [24, 72], reachable by a fixation that keeps a 48 px retina
    square inside the image). ``scene_signature``: each scene draws its own global look (the
    background's grey, contrast, tint and phases, a blur and a sensor-noise level); False draws
    none of it, so what a glimpse shows depends only on the content at its place (the place-code
    background is then the same in every scene and the only per-scene content is the objects).
    """

    object_size: tuple[float, float] = _SIZE_PRIMARY
    object_colors: str = "contrast"
    background_contrast: float = 1.0
    background: str = "photo"
    layout: str = "primary"
    object_margin: float = 0.0
    max_rotation: float = float(np.pi)  # glyphs turn by up to this angle (radians) either way
    same_pose: bool = False  # all objects of a scene share one size and one rotation
    scene_signature: bool = True  # per-scene global look (background grey/contrast/tint, blur, noise level)


# "natural": the benchmark of saliency quality (busy photographs, 1..max_objects glyphs of any colour).
# "simple": large class-coloured glyphs on calmer backgrounds (a colour shortcut: the hue alone
#           gives the class; kept for comparison).
# "shapes": the world-model benchmark without shortcuts: max_objects randomly coloured, sized and
#           rotated glyphs of the class's shape; the background codes position by its local
#           texture; objects sit where a border-free retina (keep_inside) can fixate them.
# "shapes_majority": the same with distractors: the label is the shape most objects share.
# "shapes_flat": "shapes" without any per-scene signature (the quick start's world): one shared
#           background, no per-scene blur or noise, so no global statistic of a glimpse identifies
#           its scene; the next glimpse is predictable from where it is (the saccade) and what
#           was seen there, not from a constant copied out of the context.
# "shapes_flat_large": the same with larger glyphs (30-42 px), for one large object per scene.
SCENE_STYLES: dict[str, SceneStyle] = {
    "natural": SceneStyle(),
    "simple": SceneStyle(object_size=(30.0, 44.0), object_colors="class", background_contrast=0.5),
    "shapes": SceneStyle(object_size=(15.0, 21.0), background="place_code", layout="uniform",
                         object_margin=0.25),
    "shapes_majority": SceneStyle(object_size=(15.0, 21.0), background="place_code", layout="majority",
                                  object_margin=0.25),
    "shapes_flat": SceneStyle(object_size=(15.0, 21.0), background="place_code", layout="uniform",
                              object_margin=0.25, scene_signature=False),
    "shapes_flat_large": SceneStyle(object_size=(30.0, 42.0), background="place_code", layout="uniform",
                                    object_margin=0.25, scene_signature=False),
}


@dataclass(frozen=True)
class Scene:
    """One rendered scene: ``image`` uint8 [S, S, 3], ``label`` (primary class), ``boxes`` int32
    [n, 4] (r0, c0, r1, c1), ``box_labels`` int64 [n], ``mask`` uint8 [S, S] (0 or k + 1)."""

    image: np.ndarray
    label: int
    boxes: np.ndarray
    box_labels: np.ndarray
    mask: np.ndarray


def _pick_color(rng: np.random.Generator, local_mean: np.ndarray) -> np.ndarray:
    hsv = np.empty((1, _COLOR_TRIES, 3), dtype=np.uint8)
    hsv[0, :, 0] = rng.integers(0, 180, _COLOR_TRIES)
    hsv[0, :, 1] = rng.integers(120, 256, _COLOR_TRIES)
    hsv[0, :, 2] = rng.integers(110, 256, _COLOR_TRIES)
    cand = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0].astype(np.float32)
    dist = np.linalg.norm(cand - local_mean, axis=1)
    ok = np.flatnonzero(dist >= _MIN_CONTRAST)
    return cand[ok[0] if ok.size else int(np.argmax(dist))]


def _class_color(rng: np.random.Generator, class_index: int) -> np.ndarray:
    """A saturated colour of the class's own hue (class k -> hue k / n_classes, +-7 degrees)."""
    hue = (class_index / len(SCENE_CLASSES) + rng.normal(0.0, 0.02)) % 1.0
    hsv = np.array([[[round(hue * 179), rng.integers(180, 256), rng.integers(180, 256)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _place(rng: np.random.Generator, alpha: np.ndarray, size: int, taken: list[np.ndarray],
           margin: int = 0, corner: int | None = None) -> np.ndarray | None:
    """Top-left ``(r, c)`` of the patch so the glyph's box avoids ``taken`` boxes and its centre
    keeps ``margin`` pixels from every border, or None. ``corner`` (0..3): no random draw, the glyph
    goes to that corner of the range its centre may use (0 top-left, 1 top-right, 2 bottom-left,
    3 bottom-right), or None when that is taken."""
    rows, cols = np.nonzero(alpha >= 0.5)
    local = np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1])
    lo = -local[:2]
    hi = size - local[2:]
    if margin > 0:  # box centre (top-left + (local_lo + local_hi) / 2) within [margin, size - margin]
        centre = (local[:2] + local[2:]) // 2
        lo = np.maximum(lo, margin - centre)
        hi = np.minimum(hi, size - margin - centre)
        if (lo > hi).any():
            return None

    def free(tl: np.ndarray) -> bool:
        box = np.concatenate([tl, tl]) + local
        return all(box[0] >= b[2] + _GAP or b[0] >= box[2] + _GAP or box[1] >= b[3] + _GAP
                   or b[1] >= box[3] + _GAP for b in taken)

    if corner is not None:
        tl = np.where([corner & 2, corner & 1], hi, lo)
        return tl if free(tl) else None
    for _ in range(100 if margin > 0 else 30):  # 30: the draws of the styles without a margin
        tl = np.array([rng.integers(lo[0], hi[0] + 1), rng.integers(lo[1], hi[1] + 1)])
        if free(tl):
            return tl
    return None


class _NoRoom(RuntimeError):
    """A scene's required objects did not all find room (an early glyph can take the middle)."""


def required_objects(layout: str, max_objects: int) -> int:
    """How many objects every scene of ``layout`` must hold: a majority's shared shape
    (``max_objects // 2 + 1``), two of a uniform layout (one if ``max_objects`` is 1), a primary object."""
    return {"majority": max_objects // 2 + 1, "uniform": min(2, max_objects)}.get(layout, 1)


def render_scene(
    rng: np.random.Generator,
    backgrounds: tuple[Background, ...] | None = None,
    image_size: int = 96,
    max_objects: int = 2,
    style: SceneStyle = SCENE_STYLES["natural"],
) -> Scene:
    """Draw one scene from ``rng``; ``backgrounds`` (photo styles) default to :func:`load_backgrounds`.

    Returns a :class:`Scene`. Layout "primary": 1..``max_objects`` objects, object 0 is the
    primary (largest) one and gives the label. Layout "majority": ``max_objects`` objects, the
    first ``max_objects // 2 + 1`` share the label's shape (see :class:`SceneStyle`).

    Objects are placed one by one at random free places, so an early glyph near the middle can
    leave no room for a later one: a scene whose :func:`required_objects` do not all fit is drawn
    again from the same ``rng`` (at most ``_RESTARTS`` times; a scene that fits at once is unchanged
    by this), and the last draw puts the required objects in the four corners of the square their
    centres may use, which hold them whenever :func:`check_scene_args` accepts the arguments. So
    accepted arguments never fail to place.

    Raises:
        RuntimeError: the required objects do not fit even in the corners (arguments that
            :func:`check_scene_args` refuses).
    """
    for _ in range(_RESTARTS):
        try:
            return _draw_scene(rng, backgrounds, image_size, max_objects, style, corners=False)
        except _NoRoom:
            pass
    return _draw_scene(rng, backgrounds, image_size, max_objects, style, corners=True)  # _NoRoom: a RuntimeError


def _draw_scene(rng: np.random.Generator, backgrounds: tuple[Background, ...] | None, image_size: int,
                max_objects: int, style: SceneStyle, corners: bool) -> Scene:
    """One draw of :func:`render_scene`; ``corners``: the first four required objects go to the corners
    (no random place). Raises :class:`_NoRoom` when a required object finds no room."""
    s = int(image_size)
    scale = s / 96.0
    if style.background == "place_code":
        img = place_code_background(rng, s, signature=style.scene_signature)
    else:
        img = sample_background(rng, backgrounds if backgrounds is not None else load_backgrounds(), s)
    if style.background_contrast != 1.0:
        mean = img.mean(axis=(0, 1), keepdims=True)
        img = (mean + np.float32(style.background_contrast) * (img - mean)).astype(img.dtype)
    mask = np.zeros((s, s), dtype=np.uint8)
    if style.layout in ("majority", "uniform"):
        n_obj = int(max_objects)
        sizes = list(rng.uniform(*style.object_size, 1 if style.same_pose else n_obj) * scale)
        sizes = sizes * n_obj if style.same_pose else sizes
        label = int(rng.integers(len(SCENE_CLASSES)))
        others = rng.permutation([c for c in range(len(SCENE_CLASSES)) if c != label])
        n_major = n_obj // 2 + 1 if style.layout == "majority" else n_obj
        classes = np.array([label] * n_major + list(others[: n_obj - n_major]), dtype=np.int64)
    else:
        n_obj = int(rng.integers(1, max_objects + 1))
        primary = rng.uniform(*style.object_size) * scale
        sizes = [primary] + list(rng.uniform(_SIZE_MIN * scale, _SECONDARY_RATIO * primary, n_obj - 1))
        classes = rng.integers(0, len(SCENE_CLASSES), n_obj)
    margin = int(round(style.object_margin * s))
    boxes: list[np.ndarray] = []
    labels: list[int] = []
    shared_angle = float(rng.uniform(-style.max_rotation, style.max_rotation)) if style.same_pose else None
    for k in range(n_obj):
        if shared_angle is not None:
            angle = shared_angle
        elif style.max_rotation >= np.pi:  # any rotation (the draw of the original styles)
            angle = float(rng.uniform(0, 2 * np.pi))
        else:
            angle = float(rng.uniform(-style.max_rotation, style.max_rotation))
        alpha = glyph_alpha(int(classes[k]), float(sizes[k]), angle)
        required = required_objects(style.layout, n_obj)
        tl = _place(rng, alpha, s, boxes, margin, corner=k if corners and k < min(required, 4) else None)
        if tl is None:  # no free room left: leave the object out (never a required one: the scene is redrawn)
            if k < required:
                raise _NoRoom(f"could not place object {k} (size {sizes[k]:.1f} px) with margin "
                              f"{margin} px in a {s} px scene: style {style} needs {required} objects")
            continue
        p = alpha.shape[0]
        # clip the patch to the image (only empty margins of the patch can fall outside)
        r0, c0 = max(tl[0], 0), max(tl[1], 0)
        r1, c1 = min(tl[0] + p, s), min(tl[1] + p, s)
        a = alpha[r0 - tl[0]:r1 - tl[0], c0 - tl[1]:c1 - tl[1]]
        region = img[r0:r1, c0:c1]
        weight = a[..., None]
        local_mean = (region * weight).sum((0, 1)) / max(float(weight.sum()), 1e-6)
        if style.object_colors == "class":
            color = _class_color(rng, int(classes[k]))
        else:
            color = _pick_color(rng, local_mean)
        yy, xx = np.mgrid[r0 - tl[0]:r1 - tl[0], c0 - tl[1]:c1 - tl[1]].astype(np.float32) / p - 0.5
        phi = rng.uniform(0, 2 * np.pi)
        shade = 1.0 + rng.uniform(0.0, 0.5) * (np.cos(phi) * xx + np.sin(phi) * yy)
        fill = np.clip(color * shade[..., None], 0, 255)
        opacity = np.float32(rng.uniform(0.85, 1.0))
        region[...] = region * (1 - weight * opacity) + fill * (weight * opacity)
        rows, cols = np.nonzero(a >= 0.5)
        mask[rows + r0, cols + c0] = len(boxes) + 1
        boxes.append(np.array([rows.min() + r0, cols.min() + c0, rows.max() + r0 + 1, cols.max() + c0 + 1]))
        labels.append(int(classes[k]))
    if style.scene_signature:  # a per-scene blur and noise level are a global signature too
        if rng.random() < 0.5:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.8))
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(0.0, 6.0))
    image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return Scene(image, labels[0], np.array(boxes, dtype=np.int32).reshape(-1, 4),
                 np.array(labels, dtype=np.int64), mask)


def generate_scenes(
    n: int, seed: int = 0, split: str = "train", image_size: int = 96, max_objects: int = 2,
    style: str = "natural",
) -> dict[str, np.ndarray]:
    """Render ``n`` scenes in memory: a dict with the arrays of the cache layout (module doc)."""
    split_index = SCENE_SPLITS.index(split)
    backgrounds = load_backgrounds() if SCENE_STYLES[style].background == "photo" else None
    out = {
        "images": np.empty((n, image_size, image_size, 3), dtype=np.uint8),
        "labels": np.empty(n, dtype=np.int64),
        "boxes": np.full((n, max_objects, 4), -1, dtype=np.int32),
        "box_labels": np.full((n, max_objects), -1, dtype=np.int64),
        "masks": np.empty((n, image_size, image_size), dtype=np.uint8),
    }
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(split_index, i)))
        sc = render_scene(rng, backgrounds, image_size, max_objects, SCENE_STYLES[style])
        k = len(sc.box_labels)
        out["images"][i], out["labels"][i], out["masks"][i] = sc.image, sc.label, sc.mask
        out["boxes"][i, :k], out["box_labels"][i, :k] = sc.boxes, sc.box_labels
    return out


def _write_cache(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    write_verified_arrays(folder, {name: arrays[name] for name in _FILES}, meta)


def _read_cache(folder: Path, meta: dict, verify: bool = True) -> dict[str, np.ndarray] | None:
    """The cached arrays (verified unless ``verify`` is False, memory-mapped), or None if never written.

    Raises:
        CacheError: the cache is incomplete, corrupt or from other parameters.
    """
    n, s, k = meta["n"], meta["image_size"], meta["max_objects"]
    expected = {"images": ((n, s, s, 3), np.uint8), "labels": ((n,), np.int64), "boxes": ((n, k, 4), np.int32),
                "box_labels": ((n, k), np.int64), "masks": ((n, s, s), np.uint8)}
    try:
        return read_verified_arrays(folder, meta, expected, verify=verify)
    except FileNotFoundError:
        if folder.is_dir() and any(folder.iterdir()):
            raise CacheError(f"{folder} has no manifest meta.json (a killed writer, or an older version)") from None
        return None


def check_scene_args(split: Any, seed: Any, n_train: Any, n_test: Any, image_size: Any, max_objects: Any,
                     style: Any) -> tuple[int, int, int, int, int]:
    """The arguments of :func:`load_scenes` checked (nothing generated or read): ``(seed, n_train,
    n_test, image_size, max_objects)`` as ints; ValueError naming the first bad one."""
    check_choice("style", style, tuple(SCENE_STYLES))
    check_choice("split", split, SCENE_SPLITS)
    checked = (check_int("seed", seed, 0), check_int("n_train", n_train, 1), check_int("n_test", n_test, 1),
               check_int("image_size", image_size, 32, 4096), check_int("max_objects", max_objects, 1, _MAX_OBJECTS_LIMIT))
    _check_room(style, checked[3], checked[4])
    return checked


def _check_room(style: str, image_size: int, max_objects: int) -> None:
    """ValueError naming ``max_objects`` when the objects every scene of ``style`` must hold do not fit: a
    layout that places two or more objects needs two of its largest glyphs (and the gap between boxes) side by
    side within the square their centres may use (the image less the style's margin on each side); else
    :func:`render_scene` fails to place them while data is generated. The same condition keeps four such
    glyphs at any rotation (a turned glyph's box is up to sqrt(2) times wider) apart in the four corners of
    that square, where :func:`render_scene` puts the required objects (at most four: max_objects <= 6) when
    random places leave no room, so accepted arguments always place their objects."""
    st = SCENE_STYLES[style]
    required = required_objects(st.layout, max_objects)
    if required < 2:
        return
    largest = st.object_size[1] * image_size / 96.0
    room = image_size - 2 * int(round(st.object_margin * image_size))
    if 2 * (largest + _GAP) > room:
        raise ValueError(f"max_objects must be 1 for style {style!r} (its glyphs of up to {largest:.0f} px leave room "
                         f"for one object per {image_size} px scene), got {max_objects}")


def load_scenes(
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    seed: int = 0,
    n_train: int = 5000,
    n_test: int = 1000,
    image_size: int = 96,
    max_objects: int = 2,
    cache: bool = True,
    style: str = "natural",
) -> ImageDataset:
    """The embedded scenes split as an :class:`ImageDataset` (boxes, box_labels, masks included).

    Arguments:
        split: ``"train"`` (``n_train`` scenes) or ``"test"`` (``n_test`` scenes).
        root: data root; the cache goes to ``resolve_cache_root(root)``: ``$SACCADE_CACHE``, else
            ``<root>/cache`` (root default ``$SACCADE_DATA`` else ``~/.cache/saccade``).
        seed: non-negative int; same seed, same bytes.
        image_size: scene side S in pixels (>= 32).
        max_objects: 1..6 objects per scene (K, the boxes' second axis).
        cache: read/write ``<cache root>/scenes/<fingerprint>/`` (module doc); False keeps it in memory.
        style: a key of :data:`SCENE_STYLES`: ``"natural"`` (the benchmark) or ``"simple"``
            (large class-coloured glyphs on calmer backgrounds; learnable in CPU minutes).
    """
    seed, n_train, n_test, image_size, max_objects = check_scene_args(split, seed, n_train, n_test, image_size,
                                                                      max_objects, style)
    n = n_train if split == "train" else n_test
    fingerprint = f"scenes-v{SCENES_VERSION}-{split}-seed{seed}-n{n}-{image_size}x{image_size}x3-k{max_objects}"
    meta = {"version": SCENES_VERSION, "split": split, "seed": seed, "n": n, "image_size": image_size,
            "max_objects": max_objects, "classes": list(SCENE_CLASSES)}
    if style != "natural":  # the natural style keeps its original fingerprint (and caches)
        params = dataclasses.asdict(SCENE_STYLES[style])
        if params["scene_signature"]:  # the default: left out, so the older styles keep their fingerprints
            del params["scene_signature"]
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
        fingerprint += f"-{style}-{digest}"  # keyed by the style's parameters, not only its name
        meta["style"], meta["style_params"] = style, json.loads(json.dumps(params))
    arrays, source = None, None
    if cache:
        root_path = resolve_root(root)
        folder = resolve_cache_root(root_path) / "scenes" / fingerprint
        try:
            arrays = _read_cache(folder, meta)
        except CacheError as exc:
            warn_rebuild(exc, "the scenes")
        if arrays is None:
            fresh = generate_scenes(n, seed, split, image_size, max_objects, style)
            try:
                _write_cache(folder, fresh, meta)
                arrays = _read_cache(folder, meta, verify=False)  # just written and digested
            except OSError as exc:  # read-only or full cache root: keep the scenes in memory
                warn_unwritable(folder, exc, "the scenes")
                arrays = fresh
        source = functools.partial(load_scenes, split, str(root_path), seed, n_train, n_test, image_size, max_objects,
                                   style=style)
    else:
        arrays = generate_scenes(n, seed, split, image_size, max_objects, style)
    return ImageDataset(
        name="scenes",
        images=arrays["images"],
        labels=arrays["labels"],
        class_names=SCENE_CLASSES,
        boxes=arrays["boxes"],
        box_labels=arrays["box_labels"],
        masks=arrays["masks"],
        fingerprint=fingerprint,
        split=split,
        source=source,
    )
