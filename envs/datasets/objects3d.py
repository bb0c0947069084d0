"""3D objects for the rotation envs: procedural meshes, rendered views, and a 3DIEBench reader.

:func:`make_objects` builds coloured closed triangle meshes of :data:`OBJECT_CLASSES`
deterministically from a seed (object ``i`` draws from ``SeedSequence(seed, spawn_key=(i,))``,
so a smaller ``n`` gives a prefix of a larger one). Each object gets random per-axis stretching
and one random colour per face group (cube faces, cylinder sectors, torus checkers, ...), so that
its orientation is visible even where the shape is symmetric. Meshes are centred and scaled to
unit radius.

:func:`render_views` renders objects under random known rotations into a :class:`RotationDataset`;
:func:`load_3diebench` reads 3DIEBench's own folder format into the same record (the folder is
listed by :func:`scan_3diebench`, which :class:`envs.datasets.views3d.ViewBank` shares).
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from checks import check_choice, check_int
from envs.datasets.base import ImageDataset
from envs.render.mesh_renderer import Mesh, MeshBank, Renderer, euler_xyz_to_quat, random_quaternion
from envs.storage.files import CacheError, check_plain_name, regular_file_size

__all__ = ["OBJECT_CLASSES", "COLOURINGS", "body_palette", "RotationDataset", "JpegImages", "make_object", "make_objects", "render_views",
           "load_3diebench", "scan_3diebench", "Folder3DIEBench"]

OBJECT_CLASSES: tuple[str, ...] = ("cuboid", "tetrahedron", "octahedron", "icosahedron", "pyramid",
                                   "cylinder", "cone", "torus", "l_prism", "star_prism")
_WELD = 1e-6  # vertices closer than this (per coordinate) are merged
# How faces are coloured: "random" draws one colour per face group and object (pose is only
# readable against that object's own colours: a per-object constant); "body" gives every face the
# colour of its outward normal in the object's frame, one palette shared by all objects
# (:func:`body_palette`), so the same view direction shows the same colours on every object.
COLOURINGS = ("random", "body")


# ------------------------------------------------------------------------------- mesh builders
def _convex(tris: list, groups: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangles of a convex body: outward = face centroid minus the body's vertex mean."""
    t = np.asarray(tris, np.float64)
    centre = t.reshape(-1, 3).mean(axis=0)
    return t, t.mean(axis=1) - centre, np.asarray(groups)


def _quad(a, b, c, d) -> list:
    return [[a, b, c], [a, c, d]]


def _cuboid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tris, groups = [], []
    for k, s in itertools.product(range(3), (-1.0, 1.0)):
        a, b = [j for j in range(3) if j != k]
        corners = []
        for u, v in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            p = np.zeros(3)
            p[k], p[a], p[b] = s, u, v
            corners.append(p)
        tris += _quad(*corners)
        groups += [len(groups) // 2] * 2
    return _convex(tris, groups)


def _polyhedron(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regular convex polyhedron with triangular faces: all vertex triples at mutual edge length."""
    v = np.asarray(vertices, np.float64)
    d = np.linalg.norm(v[:, None] - v[None], axis=-1)
    edge = d[d > 1e-9].min()
    adj = np.abs(d - edge) < 1e-6
    tris = [v[[i, j, k]] for i, j, k in itertools.combinations(range(len(v)), 3) if adj[i, j] and adj[j, k] and adj[i, k]]
    return _convex(tris, list(range(len(tris))))


def _pyramid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    apex = np.array([0.0, 0.0, 1.0])
    base = [np.array([x, y, -0.6]) for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    tris = [[apex, base[i], base[(i + 1) % 4]] for i in range(4)] + _quad(*base)
    return _convex(tris, [0, 1, 2, 3, 4, 4])


def _ring(n: int, z: float, r: float = 1.0) -> list:
    return [np.array([r * np.cos(2 * np.pi * i / n), r * np.sin(2 * np.pi * i / n), z]) for i in range(n)]


def _cylinder(n: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    top, bot = _ring(n, 1.0), _ring(n, -1.0)
    tris, groups = [], []
    for i in range(n):
        j = (i + 1) % n
        tris += _quad(bot[i], bot[j], top[j], top[i]) + [[np.array([0, 0, 1.0]), top[i], top[j]],
                                                         [np.array([0, 0, -1.0]), bot[i], bot[j]]]
        groups += [2 + 4 * i // n] * 2 + [0, 1]
    return _convex(tris, groups)


def _cone(n: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base, apex, centre = _ring(n, -1.0), np.array([0, 0, 1.0]), np.array([0, 0, -1.0])
    tris, groups = [], []
    for i in range(n):
        j = (i + 1) % n
        tris += [[apex, base[i], base[j]], [centre, base[i], base[j]]]
        groups += [1 + 4 * i // n, 0]
    return _convex(tris, groups)


def _torus(n: int = 16, m: int = 8, major: float = 0.68, minor: float = 0.32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    phi = 2 * np.pi * np.arange(n) / n
    theta = 2 * np.pi * np.arange(m) / m

    def point(i: int, j: int) -> np.ndarray:
        rr = major + minor * np.cos(theta[j % m])
        return np.array([rr * np.cos(phi[i % n]), rr * np.sin(phi[i % n]), minor * np.sin(theta[j % m])])

    tris, groups = [], []
    for i, j in itertools.product(range(n), range(m)):
        tris += _quad(point(i, j), point(i + 1, j), point(i + 1, j + 1), point(i, j + 1))
        groups += [4 * i // n + 4 * (2 * j // m)] * 2  # 4 sectors x 2 half-rings
    t = np.asarray(tris)
    c = t.mean(axis=1)
    ang = np.arctan2(c[:, 1], c[:, 0])
    core = np.stack([major * np.cos(ang), major * np.sin(ang), np.zeros_like(ang)], axis=1)
    return t, c - core, np.asarray(groups)


def _prism(polygon: Sequence[tuple[float, float]], kernel: tuple[float, float], depth: float = 0.5):
    """Extrude a counter-clockwise polygon, star-shaped about ``kernel``, along z in [-depth, depth]."""
    p = np.asarray(polygon, np.float64)
    n = len(p)
    tris, out, groups = [], [], []
    for i in range(n):
        a, b = p[i], p[(i + 1) % n]
        lo_a, lo_b, hi_a, hi_b = (np.array([*a, -depth]), np.array([*b, -depth]), np.array([*a, depth]),
                                  np.array([*b, depth]))
        side = np.array([b[1] - a[1], a[0] - b[0], 0.0])
        tris += _quad(lo_a, lo_b, hi_b, hi_a)
        out += [side, side]
        groups += [2 + i] * 2
        for z, g in ((depth, 0), (-depth, 1)):
            tris.append([np.array([*kernel, z]), np.array([*a, z]), np.array([*b, z])])
            out.append(np.array([0.0, 0.0, np.sign(z)]))
            groups.append(g)
    return np.asarray(tris), np.asarray(out), np.asarray(groups)


def _star(points: int = 5, inner: float = 0.45) -> list:
    ang = np.pi / 2 + np.pi * np.arange(2 * points) / points
    rad = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return list(zip(rad * np.cos(ang), rad * np.sin(ang)))


_PHI = (1 + 5 ** 0.5) / 2
_BUILDERS = {
    "cuboid": _cuboid,
    "tetrahedron": lambda: _polyhedron([(1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)]),
    "octahedron": lambda: _polyhedron(np.concatenate([np.eye(3), -np.eye(3)])),
    "icosahedron": lambda: _polyhedron([p for a, b in itertools.product((-1, 1), (-_PHI, _PHI))
                                        for p in ((0, a, b), (a, b, 0), (b, 0, a))]),
    "pyramid": _pyramid,
    "cylinder": _cylinder,
    "cone": _cone,
    "torus": _torus,
    "l_prism": lambda: _prism([(0, 0), (2, 0), (2, 0.8), (0.8, 0.8), (0.8, 2.4), (0, 2.4)], (0.4, 0.4), 0.45),
    "star_prism": lambda: _prism(_star(), (0.0, 0.0), 0.3),
}


def _weld(tris: np.ndarray, outward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orient triangles along ``outward`` and merge coincident vertices -> (vertices, faces)."""
    normal = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    flip = np.einsum("ij,ij->i", normal, outward) < 0
    tris = tris.copy()
    tris[flip, 1], tris[flip, 2] = tris[flip, 2].copy(), tris[flip, 1].copy()
    keys = np.rint(tris.reshape(-1, 3) / _WELD).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    vertices = tris.reshape(-1, 3)[first]
    return vertices, inverse.reshape(-1, 3).astype(np.int32)


def _random_colors(rng: np.random.Generator, n: int) -> np.ndarray:
    hsv = np.stack([rng.integers(0, 180, n), rng.integers(110, 256, n), rng.integers(140, 256, n)], axis=1)
    return cv2.cvtColor(hsv.astype(np.uint8)[None], cv2.COLOR_HSV2RGB)[0]


def body_palette(normals: np.ndarray) -> np.ndarray:
    """The body-frame palette: unit outward normals float ``[F, 3]`` (object frame) -> uint8 RGB ``[F, 3]``.

    Channel ``k`` is ``70 + 185 * (1 + n_k) / 2``: a bijection of the sphere into a bright colour cube
    (every channel in [70, 255]), so opposite faces differ and no face is dark before shading.
    """
    n = np.asarray(normals, np.float64)
    return np.clip(np.rint(70.0 + 92.5 * (1.0 + n)), 0, 255).astype(np.uint8)


def make_object(label: int, rng: np.random.Generator, colouring: str = "random") -> Mesh:
    """One random object of class ``OBJECT_CLASSES[label]``: a unit-radius :class:`Mesh`
    (``colouring`` one of :data:`COLOURINGS`)."""
    label = check_int("label (an index into OBJECT_CLASSES)", label, 0, len(OBJECT_CLASSES) - 1)
    check_choice("colouring", colouring, COLOURINGS)
    name = OBJECT_CLASSES[int(label)]
    tris, outward, groups = _BUILDERS[name]()
    vertices, faces = _weld(tris, outward)
    vertices = vertices * rng.uniform(0.65, 1.0, 3)  # orientation-preserving stretch
    vertices -= 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))
    vertices /= np.linalg.norm(vertices, axis=1).max()
    _, group_index = np.unique(groups, return_inverse=True)
    colors = _random_colors(rng, int(group_index.max()) + 1)[group_index]  # drawn in both: same shapes
    mesh = Mesh(vertices, faces, colors, label=int(label), name=name)
    if colouring == "body":  # the Mesh's own unit outward normals choose the colours
        mesh = Mesh(mesh.vertices, mesh.faces, body_palette(mesh.normals), label=mesh.label, name=name)
    return mesh


def make_objects(n: int, seed: int = 0, colouring: str = "random") -> list[Mesh]:
    """``n`` objects, object ``i`` of class ``i % len(OBJECT_CLASSES)`` (balanced), from ``seed``;
    ``colouring`` one of :data:`COLOURINGS` (the same shapes and stretches in both)."""
    n, seed = check_int("n", n, 1), check_int("seed", seed, 0)
    return [make_object(i % len(OBJECT_CLASSES), np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(i,))),
                        colouring) for i in range(int(n))]


# ------------------------------------------------------------------------------- datasets
@dataclass(frozen=True, eq=False)
class RotationDataset(ImageDataset):
    """An :class:`ImageDataset` of views of 3D objects under known rotations.

    Extra fields: ``rotations`` float32 ``[N, 4]`` canonical quaternions ``(w, x, y, z)`` (object
    to camera), ``object_ids`` int64 ``[N]`` (which object each view shows), ``latents`` float32
    ``[N, L]`` (the raw per-view latent vectors, 3DIEBench only) or None.
    """

    rotations: Any = None
    object_ids: Any = None
    latents: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        n = len(self)
        rot = np.asarray(self.rotations) if self.rotations is not None else None
        if rot is None or rot.shape != (n, 4) or rot.dtype != np.float32:
            raise ValueError(f"rotations must be float32 [{n}, 4] quaternions (w, x, y, z), got "
                             f"{None if rot is None else (rot.shape, rot.dtype)}")
        ids = np.asarray(self.object_ids) if self.object_ids is not None else None
        if ids is None or ids.shape != (n,) or ids.dtype != np.int64:
            raise ValueError(f"object_ids must be int64 [{n}], got {None if ids is None else (ids.shape, ids.dtype)}")
        if self.latents is not None and (self.latents.ndim != 2 or len(self.latents) != n):
            raise ValueError(f"latents must be [{n}, L] or None, got shape {self.latents.shape}")


def render_views(objects: Sequence[Mesh], views: int = 8, size: int = 64, seed: int = 0,
                 **renderer_kwargs: Any) -> RotationDataset:
    """Every object under ``views`` random rotations (uniform on SO(3), from ``seed``).

    Returns a :class:`RotationDataset` of ``len(objects) * views`` uint8 ``[size, size, 3]`` images,
    object-major; labels are the meshes' labels.
    """
    if len(objects) == 0:
        raise ValueError("objects must hold at least one Mesh")
    check_int("views", views, 1)
    renderer = Renderer(size, **renderer_kwargs)
    rots = random_quaternion(np.random.default_rng(seed), (len(objects), views))
    images = renderer.render_batch(MeshBank(objects), np.repeat(np.arange(len(objects)), views), rots.reshape(-1, 4))
    labels = np.repeat([m.label for m in objects], views).astype(np.int64)
    return RotationDataset(name="objects3d", images=images, labels=labels, class_names=OBJECT_CLASSES,
                           fingerprint=f"objects3d-n{len(objects)}-v{views}-{size}-seed{seed}",
                           rotations=rots.reshape(-1, 4).astype(np.float32),
                           object_ids=np.repeat(np.arange(len(objects)), views).astype(np.int64))


class JpegImages:
    """Lazy uint8 ``[N, H, W, 3]`` stack of JPEG files, decoded (and resized) on indexing."""

    def __init__(self, paths: Sequence[Path], image_size: int | None = None) -> None:
        if len(paths) == 0:
            raise ValueError("paths must hold at least one image file")
        self.paths = [Path(p) for p in paths]
        self.image_size = image_size
        h, w = self._read(0).shape[:2]
        self.shape = (len(self.paths), h, w, 3)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 4

    def _read(self, i: int) -> np.ndarray:
        path = self.paths[i]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"could not decode the image file {path}")
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if self.image_size is not None and img.shape[:2] != (self.image_size, self.image_size):
            interp = cv2.INTER_AREA if img.shape[0] > self.image_size else cv2.INTER_LINEAR
            img = cv2.resize(img, (self.image_size, self.image_size), interpolation=interp)
        if hasattr(self, "shape") and img.shape != self.shape[1:]:
            raise ValueError(f"image {path} has shape {img.shape}, expected {self.shape[1:]} like the first "
                             f"image; pass image_size= to resize")
        return img

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if isinstance(first, (int, np.integer)):
            n = len(self)
            if not -n <= first < n:
                raise IndexError(f"index {first} is out of range for {n} images")
            return self._read(int(first) % n)[tuple(rest)]
        idx = np.arange(len(self))[first]
        return np.stack([self[(int(i),) + tuple(rest)] for i in np.ravel(idx)]).reshape(
            np.shape(idx) + self[(0,) + tuple(rest)].shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.stack([self._read(i) for i in range(len(self))])
        return arr if dtype is None else arr.astype(dtype)


_VIEW_FILE = re.compile(r"^(?:image|latent)_(\d+)\.(?:jpg|npy)$")
_JPEG_TAIL = 64  # bytes at a JPEG's end searched for its end-of-image marker (padding after it is legal)


def _view_index(path: Path) -> int:
    m = _VIEW_FILE.match(path.name)
    if m is None:
        raise ValueError(f"{path} is not named image_<i>.jpg / latent_<i>.npy with an integer view index i")
    return int(m.group(1))


def _read_npy(path: Path, kind: str, what: str) -> np.ndarray:
    """``path``'s array (a regular ``.npy`` file without pickles, dtype kind in ``kind``); else a
    ValueError naming the file and ``what`` it should hold."""
    try:
        regular_file_size(path, error=ValueError, follow_symlinks=True)
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing (it should hold {what})") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable .npy file of {what} ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in kind:
        raise ValueError(f"{path} must hold {what}, got dtype {getattr(arr, 'dtype', type(arr).__name__)}")
    return arr


def _check_jpeg(path: Path) -> Path:
    """Cheap checks of a JPEG without decoding it: a non-empty regular file with the start-of-image
    marker first and the end-of-image marker in its last bytes (a truncated file lacks it)."""
    size = regular_file_size(path, error=ValueError, follow_symlinks=True)
    with open(path, "rb") as fh:
        head = fh.read(3)
        fh.seek(max(0, size - _JPEG_TAIL))
        tail = fh.read()
    if head != b"\xff\xd8\xff" or b"\xff\xd9" not in tail:
        raise ValueError(f"{path} is not a complete JPEG file ({size} bytes; truncated or corrupt)")
    return path


def _object_name(entry: Any, list_file: Path) -> str:
    """A ``"<class>/<object>"`` entry of a split list, checked to stay inside the root."""
    parts = str(entry).strip("/").split("/")
    try:
        if len(parts) != 2:
            raise CacheError("")
        for part in parts:
            check_plain_name(part, str(list_file))
    except CacheError:
        raise ValueError(f"{list_file} lists {str(entry)!r}; entries must be '/<class>/<object>' "
                         f"(two plain folder names inside the root)") from None
    return "/".join(parts)


@dataclass(frozen=True, eq=False)
class Folder3DIEBench:
    """What a 3DIEBench folder holds (found by :func:`scan_3diebench`), before any image is decoded.

    ``class_names`` (sorted class folders), ``objects`` ``"<class>/<object>"`` [K], ``labels``
    int64 [K], ``images`` per object the ``image_<i>.jpg`` paths in view order, ``latents`` per
    object float64 ``[V_k, L]`` (the ``latent_<i>.npy`` of the same views).
    """

    class_names: tuple[str, ...]
    objects: tuple[str, ...]
    labels: np.ndarray
    images: tuple[tuple[Path, ...], ...]
    latents: tuple[np.ndarray, ...]


def scan_3diebench(root: str | os.PathLike[str], split: str | None = None, max_objects: int | None = None,
                   views: int | None = None) -> Folder3DIEBench:
    """List a 3DIEBench folder's objects, image files and latents (see :func:`load_3diebench`).

    Every object folder must hold ``image_<i>.jpg`` and ``latent_<i>.npy`` for the same view
    indices ``i`` (a missing partner is a FileNotFoundError naming it); ``views`` keeps the first
    views of each object, ``max_objects`` the first objects.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"root must be a 3DIEBench folder (<root>/<class>/<object>/image_i.jpg); {root} "
                                f"does not exist")
    for name, value in (("max_objects", max_objects), ("views", views)):
        if value is not None:
            check_int(f"{name} (or None)", value, 1)
    if split is not None and (not isinstance(split, str) or re.fullmatch(r"[A-Za-z0-9_-]+", split) is None):
        raise ValueError(f"split must be None or a plain name (letters, digits, '_', '-') of "
                         f"<root>/<split>_images.npy, got {split!r}")
    class_names = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")))
    labels_file = None
    if split is None:
        objects = [f"{c}/{o.name}" for c in class_names for o in sorted((root / c).iterdir()) if o.is_dir()]
    else:
        list_file = root / f"{split}_images.npy"
        if not list_file.is_file():
            raise FileNotFoundError(f"split={split!r} needs the object list {list_file} (SIE's data/{split}_images.npy); "
                                    f"pass split=None to read every object folder")
        entries = _read_npy(list_file, "U", "a 1-D array of '/<class>/<object>' strings")
        objects = [_object_name(e, list_file) for e in entries.reshape(-1)]
        labels_file = root / f"{split}_labels.npy"
    if not objects:
        raise FileNotFoundError(f"no object folders found under {root} (expected <root>/<class>/<object>/)")
    if labels_file is not None and labels_file.is_file():
        object_labels = np.asarray(_read_npy(labels_file, "iu", "integer class labels"), np.int64)
        if object_labels.shape != (len(objects),):
            raise ValueError(f"{labels_file} must hold {len(objects)} labels, got shape {object_labels.shape}")
    else:
        index = {c: k for k, c in enumerate(class_names)}
        object_labels = np.array([index.get(o.split("/")[0], -1) for o in objects], np.int64)
    if max_objects is not None:
        objects, object_labels = objects[:max_objects], object_labels[:max_objects]

    image_lists, latent_lists, width = [], [], set()
    for obj in objects:
        folder = root / obj
        if not folder.is_dir():
            raise FileNotFoundError(f"the object folder {folder} does not exist")
        images = sorted(folder.glob("image_*.jpg"), key=_view_index)
        if not images:
            raise FileNotFoundError(f"no image_<i>.jpg files in the object folder {folder}")
        image_ids = [_view_index(p) for p in images]
        latent_ids = {_view_index(p) for p in folder.glob("latent_*.npy")}
        missing = [f"latent_{i}.npy" for i in image_ids if i not in latent_ids]
        missing += [f"image_{i}.jpg" for i in sorted(latent_ids - set(image_ids))]
        if missing:
            raise FileNotFoundError(f"{folder} has {len(images)} image_<i>.jpg but {len(latent_ids)} latent_<i>.npy: "
                                    f"missing {', '.join(missing[:5])} (each image_<i>.jpg needs its latent_<i>.npy)")
        latents = []
        for i in image_ids[:views]:
            latent_path = folder / f"latent_{i}.npy"
            latent = np.asarray(_read_npy(latent_path, "iuf", "a float vector (Euler xyz angles first)"),
                                np.float64).ravel()
            if latent.size < 3 or not np.all(np.isfinite(latent[:3])):
                raise ValueError(f"{latent_path} must hold >= 3 finite values (Euler xyz angles first), "
                                 f"got {latent.size}")
            latents.append(latent)
            width.add(latent.size)
        if len(width) != 1:
            raise ValueError(f"every latent_<i>.npy must have the same length, got {sorted(width)} (in {folder})")
        image_lists.append(tuple(_check_jpeg(p) for p in images[:views]))
        latent_lists.append(np.stack(latents))
    return Folder3DIEBench(class_names=class_names, objects=tuple(objects), labels=object_labels,
                           images=tuple(image_lists), latents=tuple(latent_lists))


def load_3diebench(root: str | os.PathLike[str], split: str | None = None, image_size: int | None = None,
                   max_objects: int | None = None, views: int | None = None, lazy: bool = True) -> RotationDataset:
    """Read 3DIEBench's folder format into a :class:`RotationDataset`.

    Layout: ``<root>/<class>/<object>/image_<i>.jpg`` with ``latent_<i>.npy`` beside each image.
    Assumption (as in the SIE reference loader): ``latent_<i>.npy`` is a float vector whose first
    3 entries are the object's rotation as extrinsic x-y-z Euler angles in radians
    (``scipy`` ``Rotation.from_euler("xyz", latent[:3])``); the rest (lighting, colour) is kept
    verbatim in ``latents``. Classes are the sorted class folder names.

    Arguments:
        split: None (every object folder), or a name ``s`` whose object list is
            ``<root>/<s>_images.npy`` (entries ``"/<class>/<object>"``, as SIE's
            ``data/train_images.npy``); ``<root>/<s>_labels.npy`` supplies labels when present.
        image_size: resize every image to this square side (None keeps the files' size).
        max_objects: read only the first objects; views: only the first views of each object.
        lazy: decode JPEGs on access (the full benchmark does not fit in memory) or all at once.
    """
    if image_size is not None:
        check_int("image_size (or None)", image_size, 1)
    folder = scan_3diebench(root, split, max_objects, views)
    paths = [p for images in folder.images for p in images]
    counts = [len(images) for images in folder.images]
    latents_arr = np.concatenate(folder.latents).astype(np.float32)
    stack = JpegImages(paths, image_size)
    images_arr = stack if lazy else np.asarray(stack)
    h, w = stack.shape[1:3]
    return RotationDataset(name="3diebench", images=images_arr, labels=np.repeat(folder.labels, counts),
                           class_names=folder.class_names, split=split or "all",
                           fingerprint=f"3diebench-{split or 'all'}-n{len(paths)}-{h}x{w}",
                           rotations=euler_xyz_to_quat(latents_arr[:, :3]).astype(np.float32),
                           object_ids=np.repeat(np.arange(len(counts)), counts).astype(np.int64), latents=latents_arr)
