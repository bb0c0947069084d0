"""A small software renderer for triangle meshes, and the SO(3) helpers of the rotation envs.

Rotations are unit quaternions ``(w, x, y, z)`` (scalar first), float64 ``[..., 4]``; ``q`` and
``-q`` are the same rotation and :func:`quat_canonical` picks ``w >= 0``. Rotation vectors
(axis * angle, radians) are float ``[..., 3]``; :func:`so3_exp` maps them to quaternions and
:func:`so3_log` back, with the angle in ``[0, pi]``. ``quat_multiply(p, q)`` is the rotation
``q`` followed by ``p`` (``R(p q) = R(p) R(q)``).

Camera frame (OpenCV's, right-handed): ``x`` to the right (image columns), ``y`` down (image
rows), ``z`` forward, away from the viewer. An object's vertex ``v`` is seen at
``R(q) v + (0, 0, distance)``; the camera sits at the origin. Pixel ``(row, col)`` samples the
point ``(row + 0.5, col + 0.5)`` of the continuous image plane (pixel ``i`` spans ``[i, i + 1)``
as in :mod:`envs.engine.coordinates`), and the object's centre projects to ``(size / 2, size / 2)``.

Rasterisation is a z-buffer (Numba) with back-face culling and flat Lambert shading: a face of
colour ``c`` with outward unit normal ``n`` (camera frame) gets ``c * (ambient + (1 - ambient) *
max(0, n . l))`` for the unit direction ``l`` towards the light. ``supersample=k`` renders
``k x k`` samples per pixel and area-averages them (anti-aliasing; the mean rounded half up).
:meth:`Renderer.render_batch` renders many (mesh, rotation) items of a :class:`MeshBank` in one
parallel Numba call; :meth:`Renderer.render` runs the same kernel with one item.

The SO(3) helpers live in ``envs.engine.so3`` (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from numba import njit, prange

from checks import check_int
from envs.engine.so3 import (  # noqa: F401  (re-exported: the renderer's public rotation helpers)
    quat_normalize,
    quat_canonical,
    quat_conjugate,
    quat_multiply,
    quat_to_matrix,
    so3_exp,
    so3_log,
    rotation_angle,
    random_quaternion,
    euler_xyz_to_quat,
)

__all__ = [
    "Mesh", "MeshBank", "Renderer", "PROJECTIONS",
    "quat_multiply", "quat_conjugate", "quat_canonical", "quat_normalize", "quat_to_matrix",
    "so3_exp", "so3_log", "random_quaternion", "euler_xyz_to_quat", "rotation_angle",
]

PROJECTIONS = ("perspective", "orthographic")
_FILL = 0.9  # a unit sphere's silhouette spans this fraction of the image
# Below this many samples (items x pixels x 3 channels x supersample^2) a batch renders on the calling
# thread: a parallel region's hand-off costs more than it saves there, and several times more when
# the cores are busy (64 default 64x64 views: 2.5-4 ms serial, 15 ms parallel on 2 loaded cores; the
# saliency kernels use the same 2 ** 20 threshold).
_PARALLEL_SAMPLES = 1 << 20


# ---------------------------------------------------------------------------------------- SO(3)
# The rotation maths is scipy's (matrix, exp, log, angle, sampling, Euler); these wrappers keep the
# project's scalar-first (w, x, y, z) convention with canonical w >= 0, validate their input naming
# the argument, and accept any leading shape (flattened to [M, 4] for scipy). Sign flips, the
# normalisation and the Hamilton product stay in NumPy, where they measurably win (see each).
@dataclass(frozen=True, eq=False)
class Mesh:
    """A closed triangle mesh with one colour per face.

    ``vertices`` float64 ``[V, 3]`` (object frame, inside the unit ball for the default camera);
    ``faces`` int32 ``[F, 3]`` vertex indices, counter-clockwise seen from outside (the outward
    normal is ``(v1 - v0) x (v2 - v0)``); ``colors`` uint8 ``[F, 3]`` RGB; ``label`` (class index,
    -1 if none) and ``name`` (class name).
    """

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    label: int = -1
    name: str = ""
    normals: np.ndarray = field(init=False, repr=False)  # float64 [F, 3] unit outward normals

    def __post_init__(self) -> None:
        v = np.ascontiguousarray(self.vertices, dtype=np.float64)
        f = np.asarray(self.faces)
        c = np.asarray(self.colors)
        if v.ndim != 2 or v.shape[1] != 3 or len(v) < 3 or not np.all(np.isfinite(v)):
            raise ValueError(f"vertices must be finite float [V >= 3, 3], got shape {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0 or f.dtype.kind not in "iu":
            raise ValueError(f"faces must be int [F >= 1, 3], got shape {f.shape} dtype {f.dtype}")
        if f.min() < 0 or f.max() >= len(v):
            raise ValueError(f"faces must index vertices in [0, {len(v)}), got range [{f.min()}, {f.max()}]")
        if c.shape != f.shape or c.dtype != np.uint8:
            raise ValueError(f"colors must be uint8 {f.shape} (one RGB per face), got shape {c.shape} dtype {c.dtype}")
        f = np.ascontiguousarray(f, dtype=np.int32)
        tri = v[f]
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        object.__setattr__(self, "vertices", v)
        object.__setattr__(self, "faces", f)
        object.__setattr__(self, "colors", np.ascontiguousarray(c))
        object.__setattr__(self, "normals", normals / np.maximum(length, 1e-300))
        object.__setattr__(self, "_radius", float(np.linalg.norm(v, axis=1).max()))

    @property
    def radius(self) -> float:
        """Largest distance of a vertex from the origin."""
        return self._radius


# ---------------------------------------------------------------------------------------- banks
class MeshBank:
    """Meshes packed once into flat arrays, for :meth:`Renderer.render_batch`.

    ``vertices`` float64 ``[sum V, 3]``, ``normals`` float64 ``[sum F, 3]``, ``faces`` int32
    ``[sum F, 3]`` (vertex indices local to each mesh), ``colors`` uint8 ``[sum F, 3]``; mesh
    ``k`` owns rows ``vertex_offsets[k]:vertex_offsets[k + 1]`` and ``face_offsets[k]:face_offsets[k + 1]``
    (int64 ``[K + 1]``). ``radii`` float64 ``[K]``, ``labels`` int64 ``[K]``, ``meshes`` the originals.
    """

    def __init__(self, meshes: Sequence[Mesh]) -> None:
        meshes = tuple(meshes)
        if not meshes:
            raise ValueError("meshes must hold at least one Mesh")
        for i, m in enumerate(meshes):
            if not isinstance(m, Mesh):
                raise TypeError(f"meshes[{i}] must be an envs.render.mesh_renderer.Mesh, got {type(m).__name__}")
        self.meshes = meshes
        self.vertices = np.concatenate([m.vertices for m in meshes])
        self.normals = np.concatenate([m.normals for m in meshes])
        self.faces = np.concatenate([m.faces for m in meshes])
        self.colors = np.concatenate([m.colors for m in meshes])
        self.vertex_offsets = np.cumsum([0] + [len(m.vertices) for m in meshes], dtype=np.int64)
        self.face_offsets = np.cumsum([0] + [len(m.faces) for m in meshes], dtype=np.int64)
        self.radii = np.array([m.radius for m in meshes], np.float64)
        self.labels = np.array([m.label for m in meshes], np.int64)

    def __len__(self) -> int:
        return len(self.meshes)

    def __repr__(self) -> str:
        return f"MeshBank({len(self)} meshes, {len(self.vertices)} vertices, {len(self.faces)} faces)"


# ---------------------------------------------------------------------------------------- raster
@njit(cache=True)
def _raster_item(vertices, normals, faces, colors, rot, perspective, distance, scale, light, ambient, out):
    """Transform, cull, shade and z-buffer-fill one mesh into ``out`` uint8 [n, n, 3] (background set).

    ``rot`` float64 [3, 3] object -> camera; ``scale``: focal length (perspective) or pixels per
    unit (orthographic). The depth key is screen-linear and larger = nearer (1/z or -z).
    """
    n = out.shape[0]
    zbuf = np.full((n, n), -np.inf)
    half = 0.5 * n
    nv = vertices.shape[0]
    xy = np.empty((nv, 2))
    key = np.empty(nv)
    cam = np.empty((nv, 3))
    for i in range(nv):
        for a in range(3):
            cam[i, a] = rot[a, 0] * vertices[i, 0] + rot[a, 1] * vertices[i, 1] + rot[a, 2] * vertices[i, 2]
        if perspective:
            cam[i, 2] += distance
            key[i] = 1.0 / cam[i, 2]
            xy[i, 0] = cam[i, 0] * scale * key[i] + half
            xy[i, 1] = cam[i, 1] * scale * key[i] + half
        else:
            key[i] = -cam[i, 2]
            xy[i, 0] = cam[i, 0] * scale + half
            xy[i, 1] = cam[i, 1] * scale + half
    col = np.empty(3, np.uint8)
    for f in range(faces.shape[0]):
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        nx = rot[0, 0] * normals[f, 0] + rot[0, 1] * normals[f, 1] + rot[0, 2] * normals[f, 2]
        ny = rot[1, 0] * normals[f, 0] + rot[1, 1] * normals[f, 1] + rot[1, 2] * normals[f, 2]
        nz = rot[2, 0] * normals[f, 0] + rot[2, 1] * normals[f, 1] + rot[2, 2] * normals[f, 2]
        facing = nx * cam[i0, 0] + ny * cam[i0, 1] + nz * cam[i0, 2] if perspective else nz
        if facing >= 0.0:  # back face (or edge-on)
            continue
        shade = ambient + (1.0 - ambient) * max(0.0, nx * light[0] + ny * light[1] + nz * light[2])
        for ch in range(3):
            col[ch] = min(255, int(colors[f, ch] * shade + 0.5))
        x0, y0, x1, y1, x2, y2 = xy[i0, 0], xy[i0, 1], xy[i1, 0], xy[i1, 1], xy[i2, 0], xy[i2, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(area) < 1e-12:
            continue
        inv = 1.0 / area
        c_lo = max(int(np.floor(min(x0, x1, x2) - 0.5)), 0)
        c_hi = min(int(np.ceil(max(x0, x1, x2) - 0.5)), n - 1)
        r_lo = max(int(np.floor(min(y0, y1, y2) - 0.5)), 0)
        r_hi = min(int(np.ceil(max(y0, y1, y2) - 0.5)), n - 1)
        k0, k1, k2 = key[i0], key[i1], key[i2]
        for r in range(r_lo, r_hi + 1):
            py = r + 0.5
            for c in range(c_lo, c_hi + 1):
                px = c + 0.5
                b0 = ((x1 - px) * (y2 - py) - (x2 - px) * (y1 - py)) * inv
                b1 = ((x2 - px) * (y0 - py) - (x0 - px) * (y2 - py)) * inv
                b2 = 1.0 - b0 - b1
                if b0 < 0.0 or b1 < 0.0 or b2 < 0.0:
                    continue
                z = b0 * k0 + b1 * k1 + b2 * k2
                if z > zbuf[r, c]:
                    zbuf[r, c] = z
                    out[r, c, 0] = col[0]
                    out[r, c, 1] = col[1]
                    out[r, c, 2] = col[2]


@njit(cache=True)
def _quat_to_rot(q):
    """float64 [3, 3] rotation matrix of the (normalised here) quaternion ``q`` [4] (w, x, y, z)."""
    inv = 1.0 / np.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    w, x, y, z = q[0] * inv, q[1] * inv, q[2] * inv, q[3] * inv
    m = np.empty((3, 3))
    m[0, 0] = 1.0 - 2.0 * (y * y + z * z)
    m[0, 1] = 2.0 * (x * y - w * z)
    m[0, 2] = 2.0 * (x * z + w * y)
    m[1, 0] = 2.0 * (x * y + w * z)
    m[1, 1] = 1.0 - 2.0 * (x * x + z * z)
    m[1, 2] = 2.0 * (y * z - w * x)
    m[2, 0] = 2.0 * (x * z - w * y)
    m[2, 1] = 2.0 * (y * z + w * x)
    m[2, 2] = 1.0 - 2.0 * (x * x + y * y)
    return m


@njit(cache=True)
def _render_item(i, vertices, normals, faces, colors, vertex_offsets, face_offsets, indices, quats, perspective,
                 distance, scale, light, ambient, background, supersample, out):
    """Item ``i``: mesh ``indices[i]`` at quaternion ``quats[i]`` -> ``out[i]`` uint8 [S, S, 3].

    With ``supersample = k > 1`` the item is drawn at ``k S`` into a scratch image and
    area-averaged (rounded half up) into ``out[i]``. The rotation matrix is computed here, per
    item, so an item's pixels never depend on the rest of its batch.
    """
    size = out.shape[1]
    n = size * supersample
    k2 = supersample * supersample
    m = indices[i]
    v0, v1, f0, f1 = vertex_offsets[m], vertex_offsets[m + 1], face_offsets[m], face_offsets[m + 1]
    img = out[i] if supersample == 1 else np.empty((n, n, 3), np.uint8)
    for ch in range(3):
        img[:, :, ch] = background[ch]
    _raster_item(vertices[v0:v1], normals[f0:f1], faces[f0:f1], colors[f0:f1], _quat_to_rot(quats[i]), perspective,
                 distance, scale, light, ambient, img)
    if supersample > 1:
        for r in range(size):
            for c in range(size):
                for ch in range(3):
                    acc = 0
                    for dr in range(supersample):
                        for dc in range(supersample):
                            acc += img[r * supersample + dr, c * supersample + dc, ch]
                    out[i, r, c, ch] = (acc + k2 // 2) // k2


@njit(parallel=True, cache=True)
def _render_items(vertices, normals, faces, colors, vertex_offsets, face_offsets, indices, quats, perspective,
                  distance, scale, light, ambient, background, supersample, out):
    """:func:`_render_item` for every item, in parallel (``prange``): :meth:`Renderer.render_batch`."""
    for i in prange(indices.shape[0]):
        _render_item(i, vertices, normals, faces, colors, vertex_offsets, face_offsets, indices, quats, perspective,
                     distance, scale, light, ambient, background, supersample, out)


@njit(cache=True)
def _render_items_serial(vertices, normals, faces, colors, vertex_offsets, face_offsets, indices, quats, perspective,
                         distance, scale, light, ambient, background, supersample, out):
    """:func:`_render_item` for every item on the calling thread: :meth:`Renderer.render` (N = 1).

    A parallel region for one item only adds a thread hand-off, which costs milliseconds when the
    cores are busy (several envs or test workers per machine).
    """
    for i in range(indices.shape[0]):
        _render_item(i, vertices, normals, faces, colors, vertex_offsets, face_offsets, indices, quats, perspective,
                     distance, scale, light, ambient, background, supersample, out)


def _check_quaternions(q: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """float64 ``q`` of exactly ``shape`` (last axis 4), finite and non-zero, else a ValueError naming ``name``."""
    arr = np.ascontiguousarray(q, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must be float quaternions (w, x, y, z) of shape {shape}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    zero = np.einsum("...i,...i->...", arr, arr) < 1e-24
    if np.any(zero):
        where = "" if arr.ndim == 1 else f" (rows {np.flatnonzero(zero)[:5].tolist()})"
        raise ValueError(f"{name} must be non-zero quaternions{where}")
    return arr


class Renderer:
    """Renders a :class:`Mesh` at an orientation to uint8 RGB ``[size, size, 3]`` (module doc).

    Arguments: ``size`` (image side, pixels), ``projection`` ("perspective" | "orthographic"),
    ``distance`` (camera to object centre, object radii; perspective only, > 1), ``background``
    (RGB), ``light`` (direction towards the light, camera frame; default upper left, in front),
    ``ambient`` (in [0, 1]), ``supersample`` (samples per pixel side, >= 1).

    :meth:`render` draws one view; :meth:`render_batch` draws many views of a :class:`MeshBank`
    in one parallel Numba call, each bit-identical to :meth:`render` (both run the same kernel).
    """

    def __init__(self, size: int = 64, projection: str = "perspective", distance: float = 4.0,
                 background: tuple[int, int, int] = (0, 0, 0), light: tuple[float, float, float] = (-0.4, -0.5, -0.75),
                 ambient: float = 0.3, supersample: int = 1) -> None:
        self.size = check_int("size", size, 4)
        self.supersample = check_int("supersample", supersample, 1)
        if projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
        if not (np.isfinite(distance) and distance > 1.0):
            raise ValueError(f"distance must be > 1 (object radii from the camera), got {distance!r}")
        bg = np.asarray(background)
        if bg.shape != (3,) or not np.all((bg >= 0) & (bg <= 255)):
            raise ValueError(f"background must be an RGB triple in [0, 255], got {background!r}")
        light_v = np.asarray(light, dtype=np.float64)
        if light_v.shape != (3,) or not np.all(np.isfinite(light_v)) or np.linalg.norm(light_v) < 1e-9:
            raise ValueError(f"light must be a non-zero finite 3-vector (camera frame), got {light!r}")
        if not 0.0 <= ambient <= 1.0:
            raise ValueError(f"ambient must be in [0, 1], got {ambient!r}")
        self.projection = projection
        self.distance = float(distance)
        self.background = tuple(int(b) for b in bg)
        self._background = np.array(self.background, np.uint8)
        self.light = light_v / np.linalg.norm(light_v)
        self.ambient = float(ambient)

    def __repr__(self) -> str:
        return (f"Renderer(size={self.size}, projection={self.projection!r}, distance={self.distance}, "
                f"supersample={self.supersample})")

    def render(self, mesh: Mesh, rotation: np.ndarray) -> np.ndarray:
        """``mesh`` seen at orientation ``rotation`` (quaternion ``[4]``) -> uint8 ``[size, size, 3]``."""
        if not isinstance(mesh, Mesh):
            raise TypeError(f"mesh must be an envs.render.mesh_renderer.Mesh, got {type(mesh).__name__}")
        q = _check_quaternions(rotation, (4,), "rotation")
        self._check_radius(mesh.radius, "mesh")
        offsets = np.array([0, len(mesh.vertices)], np.int64), np.array([0, len(mesh.faces)], np.int64)
        return self._render(mesh.vertices, mesh.normals, mesh.faces, mesh.colors, *offsets,
                            np.zeros(1, np.int64), q[None], parallel=False)[0]

    def render_batch(self, bank: MeshBank, indices: np.ndarray, rotations: np.ndarray) -> np.ndarray:
        """Mesh ``bank.meshes[indices[i]]`` at ``rotations[i]`` for every ``i`` -> uint8 ``[N, size, size, 3]``.

        ``indices`` int ``[N]`` in ``[0, len(bank))``; ``rotations`` float ``[N, 4]`` quaternions
        (w, x, y, z), object -> camera, normalised here. One Numba call over the items (parallel for
        large batches, serial below ``_PARALLEL_SAMPLES``); item ``i`` equals ``render(bank.meshes[indices[i]], rotations[i])`` bit for bit.
        """
        if not isinstance(bank, MeshBank):
            raise TypeError(f"bank must be an envs.render.mesh_renderer.MeshBank, got {type(bank).__name__}")
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.dtype.kind not in "iu" and idx.size):
            raise ValueError(f"indices must be a 1-D int array [N], got shape {idx.shape} dtype {idx.dtype}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(bank)):
            raise ValueError(f"indices must be in [0, {len(bank)}) (meshes in the bank), got range "
                             f"[{idx.min()}, {idx.max()}]")
        q = _check_quaternions(rotations, (len(idx), 4), "rotations")
        if idx.size:
            worst = int(idx[np.argmax(bank.radii[idx])])
            self._check_radius(float(bank.radii[worst]), f"bank mesh {worst}")
        return self._render(bank.vertices, bank.normals, bank.faces, bank.colors, bank.vertex_offsets,
                            bank.face_offsets, idx, q, parallel=True)

    def _check_radius(self, radius: float, what: str) -> None:
        if self.projection == "perspective" and radius >= self.distance:
            raise ValueError(f"{what} has radius {radius:.3g}, which must be below the camera distance {self.distance}")

    def _render(self, vertices: np.ndarray, normals: np.ndarray, faces: np.ndarray, colors: np.ndarray,
                vertex_offsets: np.ndarray, face_offsets: np.ndarray, indices: np.ndarray,
                quats: np.ndarray, parallel: bool) -> np.ndarray:
        """The one rendering path: validated flat mesh arrays, int64 ``[N]`` indices, ``[N, 4]`` quaternions."""
        perspective = self.projection == "perspective"
        half = 0.5 * self.size * self.supersample
        scale = _FILL * half * (np.sqrt(self.distance ** 2 - 1.0) if perspective else 1.0)
        out = np.empty((len(indices), self.size, self.size, 3), np.uint8)
        parallel = parallel and out.size * self.supersample ** 2 >= _PARALLEL_SAMPLES
        kernel = _render_items if parallel else _render_items_serial
        kernel(vertices, normals, faces, colors, vertex_offsets, face_offsets, indices, quats, perspective,
               self.distance, scale, self.light, self.ambient, self._background, self.supersample, out)
        return out
