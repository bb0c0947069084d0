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
as in :mod:`envs.coordinates`), and the object's centre projects to ``(size / 2, size / 2)``.

Rasterisation is a z-buffer (Numba) with back-face culling and flat Lambert shading: a face of
colour ``c`` with outward unit normal ``n`` (camera frame) gets ``c * (ambient + (1 - ambient) *
max(0, n . l))`` for the unit direction ``l`` towards the light. ``supersample=k`` renders
``k x k`` samples per pixel and area-averages them (anti-aliasing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numba import njit

__all__ = [
    "Mesh", "Renderer", "render_mesh", "PROJECTIONS",
    "quat_multiply", "quat_conjugate", "quat_canonical", "quat_normalize", "quat_to_matrix",
    "so3_exp", "so3_log", "random_quaternion", "euler_xyz_to_quat", "rotation_angle",
]

PROJECTIONS = ("perspective", "orthographic")
_FILL = 0.9  # a unit sphere's silhouette spans this fraction of the image


# ---------------------------------------------------------------------------------------- SO(3)
def _as_array(x: np.ndarray, last: int, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != last:
        raise ValueError(f"{name} must have a last axis of size {last}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def quat_normalize(q: np.ndarray) -> np.ndarray:
    """Quaternions ``[..., 4]`` scaled to unit norm (float64); a zero quaternion is an error."""
    q = _as_array(q, 4, "q")
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(norm < 1e-12):
        raise ValueError("q must be non-zero to be normalised to a unit quaternion")
    return q / norm


def quat_canonical(q: np.ndarray) -> np.ndarray:
    """The representative of ``+-q`` with ``w >= 0`` (float64 ``[..., 4]``)."""
    q = _as_array(q, 4, "q")
    return np.where(q[..., :1] < 0, -q, q)


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    """``(w, -x, -y, -z)``: the inverse rotation of a unit quaternion, float64 ``[..., 4]``."""
    q = _as_array(q, 4, "q")
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product ``p q`` (broadcast over ``[..., 4]``): rotate by ``q``, then by ``p``."""
    p = _as_array(p, 4, "p")
    q = _as_array(q, 4, "q")
    pw, px, py, pz = np.moveaxis(p, -1, 0)
    qw, qx, qy, qz = np.moveaxis(q, -1, 0)
    return np.stack([
        pw * qw - px * qx - py * qy - pz * qz,
        pw * qx + px * qw + py * qz - pz * qy,
        pw * qy - px * qz + py * qw + pz * qx,
        pw * qz + px * qy - py * qx + pz * qw,
    ], axis=-1)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices float64 ``[..., 3, 3]`` of quaternions ``[..., 4]`` (normalised first)."""
    q = quat_normalize(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    m = np.empty(q.shape[:-1] + (3, 3))
    m[..., 0, 0] = 1 - 2 * (y * y + z * z)
    m[..., 0, 1] = 2 * (x * y - w * z)
    m[..., 0, 2] = 2 * (x * z + w * y)
    m[..., 1, 0] = 2 * (x * y + w * z)
    m[..., 1, 1] = 1 - 2 * (x * x + z * z)
    m[..., 1, 2] = 2 * (y * z - w * x)
    m[..., 2, 0] = 2 * (x * z - w * y)
    m[..., 2, 1] = 2 * (y * z + w * x)
    m[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return m


def so3_exp(rotvec: np.ndarray) -> np.ndarray:
    """Rotation vectors ``[..., 3]`` (axis * angle, radians) -> unit quaternions float64 ``[..., 4]``.

    Any angle is accepted (``exp(2 pi u) = -1``, the identity rotation).
    """
    v = _as_array(rotvec, 3, "rotvec")
    theta = np.linalg.norm(v, axis=-1, keepdims=True)
    half = 0.5 * theta
    small = theta < 1e-6
    # sin(theta/2) / theta, with its Taylor series near 0
    scale = np.where(small, 0.5 - theta ** 2 / 48.0, np.sin(half) / np.where(small, 1.0, theta))
    return np.concatenate([np.cos(half), v * scale], axis=-1)


def so3_log(q: np.ndarray) -> np.ndarray:
    """Unit quaternions ``[..., 4]`` -> rotation vectors float64 ``[..., 3]`` with angle in ``[0, pi]``.

    ``q`` and ``-q`` give the same result; at exactly ``pi`` the axis sign is that of ``q``'s
    vector part after :func:`quat_canonical`.
    """
    q = quat_canonical(quat_normalize(q))
    w = q[..., :1]
    v = q[..., 1:]
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    small = n < 1e-8
    # theta / |v| with theta = 2 atan2(|v|, w); near |v| = 0 (w ~ 1): 2 / w (1 - |v|^2 / (3 w^2))
    w_safe = np.where(small, w, 1.0)  # |v| ~ 0 implies w ~ 1
    ratio = np.where(small, 2.0 / w_safe * (1.0 - n ** 2 / (3.0 * w_safe ** 2)),
                     2.0 * np.arctan2(n, w) / np.where(small, 1.0, n))
    return v * ratio


def rotation_angle(q: np.ndarray) -> np.ndarray:
    """The rotation angle in ``[0, pi]`` of quaternions ``[..., 4]`` (float64 ``[...]``)."""
    return np.linalg.norm(so3_log(q), axis=-1)


def random_quaternion(rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Quaternions uniform on SO(3) (Shoemake's method), canonical (``w >= 0``), float64 ``[*size, 4]``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    shape = () if size is None else ((size,) if isinstance(size, (int, np.integer)) else tuple(size))
    u1, u2, u3 = rng.random((3, *shape))
    a, b = np.sqrt(1.0 - u1), np.sqrt(u1)
    q = np.stack([b * np.cos(2 * np.pi * u3), a * np.sin(2 * np.pi * u2),
                  a * np.cos(2 * np.pi * u2), b * np.sin(2 * np.pi * u3)], axis=-1)
    return quat_canonical(q)


def euler_xyz_to_quat(angles: np.ndarray) -> np.ndarray:
    """Extrinsic x-y-z Euler angles ``[..., 3]`` (radians) -> canonical quaternions ``[..., 4]``.

    The rotation about the fixed x axis comes first, then y, then z: ``R = Rz Ry Rx``, as in
    ``scipy.spatial.transform.Rotation.from_euler("xyz", angles)`` (3DIEBench's convention).
    """
    a = _as_array(angles, 3, "angles")
    eye = np.eye(3)
    qx, qy, qz = (so3_exp(a[..., k:k + 1] * eye[k]) for k in range(3))
    return quat_canonical(quat_multiply(qz, quat_multiply(qy, qx)))


# ---------------------------------------------------------------------------------------- meshes
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


# ---------------------------------------------------------------------------------------- raster
@njit(cache=True)
def _render_kernel(vertices, normals, faces, colors, rot, perspective, distance, scale, light, ambient, out, zbuf):
    """Transform, cull, shade and z-buffer-fill a mesh into ``out`` uint8 [N, N, 3] (``zbuf`` = -inf).

    ``rot`` float64 [3, 3] object -> camera; ``scale``: focal length (perspective) or pixels per
    unit (orthographic). The depth key is screen-linear and larger = nearer (1/z or -z).
    """
    n = zbuf.shape[0]
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


def _check_int(name: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


class Renderer:
    """Renders a :class:`Mesh` at an orientation to uint8 RGB ``[size, size, 3]`` (module doc).

    Arguments: ``size`` (image side, pixels), ``projection`` ("perspective" | "orthographic"),
    ``distance`` (camera to object centre, object radii; perspective only, > 1), ``background``
    (RGB), ``light`` (direction towards the light, camera frame; default upper left, in front),
    ``ambient`` (in [0, 1]), ``supersample`` (samples per pixel side, >= 1).
    """

    def __init__(self, size: int = 64, projection: str = "perspective", distance: float = 4.0,
                 background: tuple[int, int, int] = (0, 0, 0), light: tuple[float, float, float] = (-0.4, -0.5, -0.75),
                 ambient: float = 0.3, supersample: int = 1) -> None:
        self.size = _check_int("size", size, 4)
        self.supersample = _check_int("supersample", supersample, 1)
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
        self.light = light_v / np.linalg.norm(light_v)
        self.ambient = float(ambient)

    def __repr__(self) -> str:
        return (f"Renderer(size={self.size}, projection={self.projection!r}, distance={self.distance}, "
                f"supersample={self.supersample})")

    def render(self, mesh: Mesh, rotation: np.ndarray) -> np.ndarray:
        """``mesh`` seen at orientation ``rotation`` (quaternion ``[4]``) -> uint8 ``[size, size, 3]``."""
        if not isinstance(mesh, Mesh):
            raise TypeError(f"mesh must be an envs.render3d.Mesh, got {type(mesh).__name__}")
        perspective = self.projection == "perspective"
        if perspective and mesh.radius >= self.distance:
            raise ValueError(f"mesh radius {mesh.radius:.3g} must be below the camera distance {self.distance}")
        n = self.size * self.supersample
        half = 0.5 * n
        scale = _FILL * half * (np.sqrt(self.distance ** 2 - 1.0) if perspective else 1.0)
        out = np.empty((n, n, 3), np.uint8)
        out[:] = self.background
        zbuf = np.full((n, n), -np.inf)
        rot = quat_to_matrix(_as_array(rotation, 4, "rotation").reshape(4))
        _render_kernel(mesh.vertices, mesh.normals, mesh.faces, mesh.colors, rot, perspective, self.distance,
                       scale, self.light, self.ambient, out, zbuf)
        if self.supersample > 1:
            out = cv2.resize(out, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return out


def render_mesh(mesh: Mesh, rotation: np.ndarray, size: int = 64, **kwargs: object) -> np.ndarray:
    """One-off :meth:`Renderer.render` (``kwargs`` go to :class:`Renderer`): uint8 ``[size, size, 3]``."""
    return Renderer(size, **kwargs).render(mesh, rotation)  # type: ignore[arg-type]
