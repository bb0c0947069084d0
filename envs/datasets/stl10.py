"""STL-10 read straight from its binary files, memory-mapped.

Layout expected at ``<root>/stl10_binary/`` (``root`` defaults to ``$SACCADE_DATA``, else
``~/.cache/saccade``), as extracted from ``stl10_binary.tar.gz``:

- ``train_X.bin`` (5000 images), ``test_X.bin`` (8000), ``unlabeled_X.bin`` (100000, 2.7 GB):
  raw uint8, each image 3 x 96 x 96 = 27648 bytes, channel-major and, inside a channel,
  *column*-major (MATLAB order). We map the file as ``[N, 3, 96(col), 96(row)]`` and expose the
  lazy transposed view ``[N, 96(row), 96(col), 3]`` (``transpose(0, 3, 2, 1)``): no byte is
  read until an image is indexed.
- ``train_y.bin``, ``test_y.bin``: one uint8 label per image, 1..10 (we return 0..9).
- ``class_names.txt`` (optional): ten class names, one per line.

Splits: ``"train"``, ``"test"``, ``"unlabeled"`` (labels all -1) and ``"train+unlabeled"``
(a copy-free :class:`~envs.datasets.base.ConcatImages` of both memory maps).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from envs.datasets.base import ConcatImages, ImageDataset, resolve_root
from envs.storage.files import update_from_file

__all__ = [
    "STL10_SPLITS",
    "STL10_CLASSES",
    "STL10_IMAGE_BYTES",
    "load_stl10",
    "read_stl10_images",
    "read_stl10_labels",
    "download_stl10",
]

STL10_SPLITS: tuple[str, ...] = ("unlabeled", "train", "test", "train+unlabeled")
STL10_CLASSES: tuple[str, ...] = (
    "airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck",
)
STL10_SIDE = 96
STL10_IMAGE_BYTES = 3 * STL10_SIDE * STL10_SIDE  # 27648
_FOLDER = "stl10_binary"
_FILES: dict[str, tuple[str, str | None]] = {
    "train": ("train_X.bin", "train_y.bin"),
    "test": ("test_X.bin", "test_y.bin"),
    "unlabeled": ("unlabeled_X.bin", None),
}
_PARTS: dict[str, tuple[str, ...]] = {
    "train": ("train",), "test": ("test",), "unlabeled": ("unlabeled",),
    "train+unlabeled": ("train", "unlabeled"),
}
_MANUAL = (
    "download stl10_binary.tar.gz from the STL-10 page (https://cs.stanford.edu/~acoates/stl10/) "
    "and extract it so that the folder {folder} holds train_X.bin, train_y.bin, test_X.bin, "
    "test_y.bin and unlabeled_X.bin"
)


def read_stl10_images(path: str | os.PathLike[str]) -> np.ndarray:
    """Memory-map an STL-10 ``*_X.bin`` file as a lazy uint8 ``[N, 96, 96, 3]`` (row, col, C) view.

    Raises FileNotFoundError if ``path`` is missing, ValueError (naming the file) if its size is
    zero or not a multiple of 27648 bytes (a truncated or foreign file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"STL-10 image file not found: {path}")
    size = path.stat().st_size
    if size == 0 or size % STL10_IMAGE_BYTES:
        raise ValueError(
            f"STL-10 image file {path} is truncated or corrupt: its size {size} bytes is not a "
            f"positive multiple of {STL10_IMAGE_BYTES} (3 x 96 x 96 bytes per image)"
        )
    n = size // STL10_IMAGE_BYTES
    raw = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, 3, STL10_SIDE, STL10_SIDE))
    return raw.transpose(0, 3, 2, 1)


def read_stl10_labels(path: str | os.PathLike[str], n_images: int) -> np.ndarray:
    """Read an STL-10 ``*_y.bin`` file (uint8, 1..10) as int64 ``[n_images]`` labels 0..9.

    Raises ValueError naming the file if the count differs from ``n_images`` or a label is
    outside 1..10.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"STL-10 label file not found: {path}")
    raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    if raw.size != n_images:
        raise ValueError(
            f"STL-10 label file {path} holds {raw.size} labels but its image file holds "
            f"{n_images} images (truncated or mismatched files)"
        )
    bad = np.flatnonzero((raw < 1) | (raw > 10))
    if bad.size:
        raise ValueError(
            f"STL-10 label file {path} is corrupt: labels must lie in 1..10, found {int(raw[bad[0]])} "
            f"at index {int(bad[0])} ({bad.size} bad labels)"
        )
    return raw.astype(np.int64) - 1


def _class_names(folder: Path) -> tuple[str, ...]:
    path = folder / "class_names.txt"
    if not path.is_file():
        return STL10_CLASSES
    names = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    if len(names) != len(STL10_CLASSES):
        raise ValueError(f"{path} must list {len(STL10_CLASSES)} class names, one per line; found {len(names)}")
    return names


def _missing(folder: Path, split: str) -> list[Path]:
    files = [f for part in _PARTS[split] for f in _FILES[part] if f is not None]
    return [folder / f for f in files if not (folder / f).is_file()]


def download_stl10(root: str | os.PathLike[str] | None = None) -> Path:
    """Fetch and extract STL-10 into ``<root>/stl10_binary`` through torchvision's mirror.

    Uses torchvision's own download/extract/MD5 machinery (torchvision imported lazily) without
    building ``torchvision.datasets.STL10``, which would load a whole split into memory.
    Network or checksum failures become a RuntimeError that says how to place the files by hand.
    Returns the folder.
    """
    root = resolve_root(root)
    folder = root / _FOLDER
    manual = _MANUAL.format(folder=folder)
    try:
        from torchvision.datasets import STL10
        from torchvision.datasets import utils as tv_utils
    except ImportError as exc:  # pragma: no cover - torchvision is a dependency
        raise RuntimeError(f"download=True needs torchvision ({exc}); alternatively {manual}") from exc
    try:
        root.mkdir(parents=True, exist_ok=True)
        tv_utils.download_and_extract_archive(STL10.url, str(root), filename=STL10.filename, md5=STL10.tgz_md5)
    except Exception as exc:  # network, disk, checksum: all re-raised with the manual route
        reason = f"{type(exc).__name__}: {exc}"
        raise RuntimeError(f"could not download STL-10 into {root} ({reason}); alternatively {manual}") from exc
    missing = _missing(folder, "train+unlabeled") + _missing(folder, "test")
    if missing:
        raise RuntimeError(
            f"the STL-10 archive was fetched but {', '.join(map(str, missing))} is missing after "
            f"extraction; {manual}"
        )
    return folder


def _fingerprint(split: str, files: list[Path], n: int, label_bytes: bytes) -> str:
    """``stl10-<split>-n<N>-96x96x3-<digest>``: SHA-256 over *every* byte of the split's image
    files (memory-mapped, in chunks: ~1 GB/s, about 2.5 s for the 2.7 GB unlabeled file) and
    its labels, so changing any single image gives another fingerprint (and fresh caches)."""
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode() + b"\0")
        update_from_file(h, path)
    h.update(b"labels\0" + label_bytes)
    return f"stl10-{split}-n{n}-{STL10_SIDE}x{STL10_SIDE}x3-{h.hexdigest()[:16]}"


def load_stl10(
    root: str | os.PathLike[str] | None = None, split: str = "train", download: bool = False
) -> ImageDataset:
    """Open an STL-10 split memory-mapped; images uint8 ``[N, 96, 96, 3]``, labels int64 ``[N]``.

    Arguments:
        root: data folder holding ``stl10_binary/``; default ``$SACCADE_DATA`` else
            ``~/.cache/saccade``.
        split: one of :data:`STL10_SPLITS`; unlabeled images get label -1.
        download: fetch the archive first (torchvision's mirror) if files are missing.

    Raises ValueError for an unknown split or corrupt files, FileNotFoundError (naming the
    expected path and how to get the data) when files are missing and ``download`` is False.
    """
    if not isinstance(split, str) or split not in STL10_SPLITS:
        raise ValueError(f"split must be one of {STL10_SPLITS}, got {split!r}")
    if not isinstance(download, bool):
        raise TypeError(f"download must be a bool, got {type(download).__name__}")
    root = resolve_root(root)
    folder = root / _FOLDER
    missing = _missing(folder, split)
    if missing and download:
        download_stl10(root)
        missing = _missing(folder, split)
    if missing:
        raise FileNotFoundError(
            f"STL-10 split {split!r}: file(s) not found: {', '.join(map(str, missing))}. "
            f"Expected the extracted dataset at {folder}. Pass download=True to fetch it, or "
            + _MANUAL.format(folder=folder) + " (root defaults to $SACCADE_DATA, else ~/.cache/saccade)."
        )
    parts, labels, label_bytes = [], [], b""
    for part in _PARTS[split]:
        x_name, y_name = _FILES[part]
        images = read_stl10_images(folder / x_name)
        parts.append(images)
        if y_name is None:
            labels.append(np.full(images.shape[0], -1, dtype=np.int64))
        else:
            y = read_stl10_labels(folder / y_name, images.shape[0])
            labels.append(y)
            label_bytes += y.astype(np.uint8).tobytes()
    return ImageDataset(
        name="stl10",
        images=parts[0] if len(parts) == 1 else ConcatImages(parts),
        labels=np.concatenate(labels),
        class_names=_class_names(folder),
        fingerprint=_fingerprint(split, [folder / _FILES[part][0] for part in _PARTS[split]],
                                 sum(int(p.shape[0]) for p in parts), label_bytes),
        split=split,
        source=functools.partial(load_stl10, str(root), split, False),
    )
