"""Objects seen from V known orientations each: the data of a rotation world made of pre-rendered views.

A :class:`ViewBank` holds, for K objects with V views each, the images (uint8 ``[K, V, H, W, 3]``
semantics, in memory or decoded lazily from JPEG), the orientation of every view as a canonical
unit quaternion ``(w, x, y, z)`` (object -> camera, float64 ``[K, V, 4]``, the convention of
:mod:`envs.render.mesh_renderer`), and one class label per object. An env that turns the object by some
rotation shows :meth:`ViewBank.nearest_view` of the orientation it reaches.

Two sources:

- :meth:`ViewBank.from_meshes`: our procedural meshes rendered under random known rotations
  (no download; CPU tests and users have it);
- :meth:`ViewBank.from_3diebench`: a 3DIEBench folder (``<class>/<object>/image_<i>.jpg`` with
  ``latent_<i>.npy``). As in :func:`envs.datasets.objects3d.load_3diebench`, the rotation of
  view ``i`` is ``scipy.spatial.transform.Rotation.from_euler("xyz", latent_i[:3])`` (extrinsic
  x-y-z Euler angles, radians: ``R = Rz Ry Rx``). That is the object's rotation in 3DIEBench's
  scene frame, which differs from our camera frame by one fixed rotation ``C`` for the whole
  dataset: geodesic distances between views (hence :meth:`~ViewBank.nearest_view`) are the
  same in either frame, but a relative rotation ``R2 R1^T`` reads as ``C R2 R1^T C^T`` in the
  camera frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from checks import check_int
from envs.datasets.objects3d import OBJECT_CLASSES, JpegImages, scan_3diebench
from envs.render.mesh_renderer import Mesh, MeshBank, Renderer, euler_xyz_to_quat, quat_canonical, random_quaternion

__all__ = ["ViewBank", "ViewImages"]


class ViewImages:
    """Lazy uint8 ``[K, V, H, W, 3]`` view of a flat, object-major :class:`JpegImages` of ``K * V`` images.

    Indexing decodes only the images asked for: ``images[k, v]`` -> ``[H, W, 3]``,
    ``images[k]`` -> ``[V, H, W, 3]``, ``images[objs, views]`` (int arrays, broadcast) ->
    ``[..., H, W, 3]``; further entries index the pixel axes. ``np.asarray`` decodes them all.
    """

    def __init__(self, flat: JpegImages, views: int) -> None:
        if views < 1 or len(flat) % views:
            raise ValueError(f"views must be >= 1 and divide the {len(flat)} images, got {views!r}")
        self.flat = flat
        self.shape = (len(flat) // views, views) + tuple(flat.shape[1:])
        self.dtype = np.dtype(np.uint8)
        self.ndim = 5

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        head, rest = key[:2], key[2:]
        flat = np.arange(len(self.flat)).reshape(self.shape[:2])[head]  # raises IndexError when out of range
        images = np.stack([self.flat[int(i)] for i in np.ravel(flat)]) if np.size(flat) else \
            np.empty((0,) + self.shape[2:], np.uint8)
        return images.reshape(np.shape(flat) + self.shape[2:])[(slice(None),) * np.ndim(flat) + rest]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self.flat).reshape(self.shape)
        return arr if dtype is None else arr.astype(dtype)


@dataclass(frozen=True, eq=False)
class ViewBank:
    """K objects seen from V known orientations each (module doc).

    Fields: ``images`` uint8 ``[K, V, H, W, 3]`` (an array or a lazy :class:`ViewImages`);
    ``rotations`` float64 ``[K, V, 4]`` canonical unit quaternions ``(w, x, y, z)``, object ->
    camera (normalised and canonicalised here); ``labels`` int64 ``[K]`` in
    ``[-1, len(class_names))`` (-1 = unlabeled); ``class_names``; ``object_names`` ``[K]``
    (``"<class>/<object>"`` for 3DIEBench); ``latents`` float64 ``[K, V, L]`` (3DIEBench's raw
    latent vectors) or None; ``name`` of the source.
    """

    images: Any
    rotations: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    object_names: tuple[str, ...] = ()
    latents: np.ndarray | None = None
    name: str = "views"

    def __post_init__(self) -> None:
        shape = tuple(getattr(self.images, "shape", ()))
        if len(shape) != 5 or shape[4] != 3 or np.dtype(getattr(self.images, "dtype", None)) != np.uint8:
            raise ValueError(f"images must be uint8 [K, V, H, W, 3], got shape {shape} dtype "
                             f"{getattr(self.images, 'dtype', None)}")
        k, v = shape[:2]
        if k < 1 or v < 1:
            raise ValueError(f"images must hold at least one object and one view, got shape {shape}")
        rot = np.asarray(self.rotations, np.float64)
        if rot.shape != (k, v, 4) or not np.all(np.isfinite(rot)):
            raise ValueError(f"rotations must be finite float [{k}, {v}, 4] quaternions (w, x, y, z), got shape "
                             f"{rot.shape}")
        norm = np.linalg.norm(rot, axis=-1, keepdims=True)
        if np.any(norm < 1e-12):
            raise ValueError("rotations must be non-zero quaternions")
        labels = np.asarray(self.labels)
        class_names = tuple(str(c) for c in self.class_names)
        if labels.shape != (k,) or labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be int [{k}] (one per object), got shape {labels.shape} dtype {labels.dtype}")
        if labels.size and (labels.min() < -1 or labels.max() >= len(class_names)):
            raise ValueError(f"labels must be in [-1, {len(class_names)}) (class_names), got range "
                             f"[{labels.min()}, {labels.max()}]")
        names = tuple(str(n) for n in self.object_names) or tuple(f"object{i}" for i in range(k))
        if len(names) != k:
            raise ValueError(f"object_names must hold {k} names (one per object), got {len(names)}")
        if self.latents is not None and (np.ndim(self.latents) != 3 or np.shape(self.latents)[:2] != (k, v)):
            raise ValueError(f"latents must be [{k}, {v}, L] or None, got shape {np.shape(self.latents)}")
        object.__setattr__(self, "rotations", quat_canonical(rot / norm))
        object.__setattr__(self, "labels", labels.astype(np.int64))
        object.__setattr__(self, "class_names", class_names)
        object.__setattr__(self, "object_names", names)

    @property
    def num_objects(self) -> int:
        """K, the number of objects."""
        return int(self.rotations.shape[0])

    @property
    def num_views(self) -> int:
        """V, the number of views of each object."""
        return int(self.rotations.shape[1])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, 3)`` of one view."""
        return tuple(self.images.shape[2:])  # type: ignore[return-value]

    def __len__(self) -> int:
        return self.num_objects

    def __repr__(self) -> str:
        return (f"ViewBank({self.name!r}, {self.num_objects} objects x {self.num_views} views of "
                f"{'x'.join(map(str, self.image_shape))}, {len(self.class_names)} classes)")

    def nearest_view(self, obj: np.ndarray, target: np.ndarray) -> np.ndarray:
        """For each ``i``, the view of object ``obj[i]`` geodesically nearest to ``target[i]``.

        ``obj`` int ``[N]`` in ``[0, K)``; ``target`` float ``[N, 4]`` quaternions (w, x, y, z),
        normalised here, either sign. The geodesic angle ``2 acos |<p, q>|`` decreases with
        ``|<p, q>|``, so this is the argmax of ``|<rotations[obj[i], v], target[i]>|`` over ``v``;
        ties go to the lowest view index. Returns int64 ``[N]`` in ``[0, V)``.
        """
        idx = np.asarray(obj)
        if idx.ndim != 1 or (idx.dtype.kind not in "iu" and idx.size):
            raise ValueError(f"obj must be a 1-D int array [N], got shape {idx.shape} dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_objects):
            raise ValueError(f"obj must be in [0, {self.num_objects}) (objects in the bank), got range "
                             f"[{idx.min()}, {idx.max()}]")
        q = np.asarray(target, np.float64)
        if q.shape != (len(idx), 4) or not np.all(np.isfinite(q)):
            raise ValueError(f"target must be finite float quaternions of shape ({len(idx)}, 4), got shape {q.shape}")
        norm = np.linalg.norm(q, axis=1, keepdims=True)
        if np.any(norm < 1e-12):
            raise ValueError("target must be non-zero quaternions")
        similarity = np.abs(np.einsum("nvk,nk->nv", self.rotations[idx.astype(np.int64)], q / norm))
        return np.argmax(similarity, axis=1).astype(np.int64)

    # ------------------------------------------------------------------ sources
    @classmethod
    def from_meshes(cls, meshes: Sequence[Mesh], views: int = 24, size: int = 64, seed: int = 0,
                    class_names: Sequence[str] = OBJECT_CLASSES, **renderer_kwargs: Any) -> ViewBank:
        """Every mesh rendered under ``views`` rotations uniform on SO(3) (drawn from ``seed``).

        Images uint8 ``[K, V, size, size, 3]`` in memory (one :meth:`Renderer.render_batch` call);
        labels are the meshes' labels, indices into ``class_names`` (default the procedural
        :data:`~envs.datasets.objects3d.OBJECT_CLASSES`). ``renderer_kwargs`` go to :class:`Renderer`.
        """
        bank = MeshBank(meshes)
        views, seed = check_int("views", views, 1), check_int("seed", seed, 0)
        k, v = len(bank), int(views)
        rotations = random_quaternion(np.random.default_rng(int(seed)), (k, v))
        images = Renderer(size, **renderer_kwargs).render_batch(bank, np.repeat(np.arange(k), v), rotations.reshape(-1, 4))
        return cls(images=images.reshape(k, v, *images.shape[1:]), rotations=rotations, labels=bank.labels,
                   class_names=tuple(class_names), object_names=tuple(m.name or f"object{i}" for i, m in enumerate(bank.meshes)),
                   name=f"meshes-k{k}-v{v}-{size}-seed{seed}")

    @classmethod
    def from_3diebench(cls, root: str | os.PathLike[str], split: str | None = None, image_size: int | None = None,
                       max_objects: int | None = None, views: int | None = None) -> ViewBank:
        """A 3DIEBench folder (layout, split files and rotation convention: module doc and
        :func:`~envs.datasets.objects3d.load_3diebench`) as a bank; JPEGs are decoded lazily.

        Every object must have the same number of views (3DIEBench has 50); ``views`` keeps the
        first ones of each object, ``max_objects`` the first objects, ``image_size`` resizes.
        """
        if image_size is not None:
            check_int("image_size (or None)", image_size, 1)
        folder = scan_3diebench(root, split, max_objects, views)
        counts = sorted({len(images) for images in folder.images})
        if len(counts) != 1:
            raise ValueError(f"every object must have the same number of views, got counts {counts}; pass "
                             f"views={counts[0]} to use the first {counts[0]} views of each object")
        k, v = len(folder.objects), counts[0]
        latents = np.stack(folder.latents)  # [K, V, L]
        images = ViewImages(JpegImages([p for images in folder.images for p in images], image_size), v)
        return cls(images=images, rotations=euler_xyz_to_quat(latents[..., :3]), labels=folder.labels,
                   class_names=folder.class_names, object_names=folder.objects, latents=latents,
                   name=f"3diebench-{split or 'all'}-k{k}-v{v}")
