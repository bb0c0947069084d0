"""Environment side of the viewer: user image folders, building the env (the ``--kw`` values are
read by the CLI library, :func:`experiments.cliconfig.parse_env_kwargs`).

The viewer looks at any registered environment of a family it has an adapter for (saccade,
path integration, 3D rotation; ``gym.make(env_id, **kwargs)``) or at a user's own images
wrapped in :class:`envs.families.saccade_env.SaccadeEnv`. Everything here is plain
NumPy/OpenCV; nothing imports pygame or torch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

__all__ = ["IMAGE_SUFFIXES", "load_image_folder", "EnvFactory", "base_env"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm")


def _read_rgb(path: Path) -> np.ndarray:
    """An image file as uint8 RGB ``[H, W, 3]`` (grey and alpha converted)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:  # formats OpenCV cannot read (e.g. GIF): fall back to imageio
        import imageio.v3 as iio

        try:
            image = np.asarray(iio.imread(path, index=0))
        except Exception as exc:  # noqa: BLE001 - re-raised naming the file
            raise ValueError(f"cannot read image file {path}: {exc}") from exc
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        return np.ascontiguousarray(image[:, :, :3], dtype=np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize so the image covers ``size`` (H, W), then centre-crop to exactly ``size``."""
    h, w = image.shape[:2]
    out_h, out_w = size
    k = max(out_h / h, out_w / w)
    new_h, new_w = max(out_h, round(h * k)), max(out_w, round(w * k))
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    image = cv2.resize(image, (new_w, new_h), interpolation=interp)
    top, left = (new_h - out_h) // 2, (new_w - out_w) // 2
    return np.ascontiguousarray(image[top:top + out_h, left:left + out_w])


def load_image_folder(path: str | Path, size: int | tuple[int, int] = 96) -> tuple[Any, tuple[str, ...]]:
    """A user's image file or folder of images as an unlabeled ``envs.datasets.ImageDataset``.

    Args:
        path: one image file, or a folder whose files with a suffix in :data:`IMAGE_SUFFIXES`
            are read in sorted order (not recursive).
        size: output side ``S`` (square ``S x S``) or ``(H, W)``; each image is resized to
            cover it and centre-cropped.

    Returns:
        ``(dataset, files)``: an ImageDataset with uint8 RGB images ``[N, H, W, 3]`` and int64
        labels ``[N]`` of -1 (no class names), and the file name of each image.

    Raises:
        FileNotFoundError: ``path`` does not exist or holds no image files.
        ValueError: ``size`` is not positive, or a file cannot be decoded.
    """
    from envs.datasets import ImageDataset

    hw = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(hw) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 8 for s in hw):
        raise ValueError(f"size must be an int >= 8 or a pair (height, width) of such ints, got {size!r}")
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"--images: no such file or folder: {path}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"--images: folder {path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    else:
        files = [path]
    images = np.stack([_fit(_read_rgb(f), (int(hw[0]), int(hw[1]))) for f in files])
    digest = hashlib.sha1("\n".join(str(f.resolve()) for f in files).encode()).hexdigest()[:12]
    dataset = ImageDataset(name=f"images:{path.name}", images=images, labels=np.full(len(files), -1, np.int64),
                           class_names=(), fingerprint=f"user-images-{digest}-{hw[0]}x{hw[1]}", split="all")
    return dataset, tuple(f.name for f in files)


class EnvFactory:
    """Builds (and rebuilds, with changed keyword arguments) the environment the viewer shows.

    ``EnvFactory(env_id="Saccade-Scenes-v0", kwargs={...})`` calls ``gym.make``;
    ``EnvFactory(dataset=ds, kwargs={...})`` wraps a dataset in ``SaccadeEnv`` directly.
    ``make(**changes)`` returns a fresh env with ``kwargs`` updated by ``changes`` (kept).
    ``files`` optionally names each image of ``dataset`` (shown in the status line).
    """

    def __init__(self, env_id: str | None = None, dataset: Any = None, kwargs: dict[str, Any] | None = None,
                 files: Sequence[str] | None = None) -> None:
        if (env_id is None) == (dataset is None):
            raise ValueError("give exactly one of env_id (a registered id) or dataset (an ImageDataset)")
        if files is not None and (dataset is None or len(files) != len(dataset)):
            raise ValueError("files must name every image of dataset (same length), and needs a dataset")
        self.env_id, self.dataset = env_id, dataset
        self.files = tuple(files) if files is not None else None
        self.kwargs = dict(kwargs or {})
        if env_id is not None:
            import gymnasium as gym

            import envs  # noqa: F401 - registers the ids

            if env_id not in gym.registry:
                raise ValueError(f"env must be a registered id, e.g. one of {list(envs.ENV_IDS)}; got {env_id!r}")
        if "scales" in self.kwargs:
            self.kwargs["scales"] = _int_tuple(self.kwargs["scales"])

    @property
    def name(self) -> str:
        """What the status line calls the environment."""
        return self.env_id if self.env_id is not None else str(self.dataset.name)

    def make(self, **changes: Any) -> Any:
        """A new environment with ``self.kwargs`` updated by ``changes`` (the update is kept)."""
        kwargs = {**self.kwargs, **changes}
        if "scales" in kwargs:
            kwargs["scales"] = _int_tuple(kwargs["scales"])
        if self.env_id is not None:
            import gymnasium as gym

            env = gym.make(self.env_id, **kwargs)
        else:
            from envs.families.saccade_env import SaccadeEnv

            env = SaccadeEnv(self.dataset, **kwargs)
        self.kwargs = kwargs
        return env


def _int_tuple(value: Any) -> tuple[int, ...]:
    values = value if isinstance(value, (tuple, list)) else (value,)
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"scales must be positive ints starting with 1 (e.g. scales=1,2,4), got {value!r}")
    return tuple(int(v) for v in values)


def base_env(env: Any) -> Any:
    """The ``SaccadeEnv`` under any Gymnasium wrappers."""
    return getattr(env, "unwrapped", env)

