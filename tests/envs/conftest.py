"""Fixtures for tests/envs: tiny STL-10-format folders written byte by byte from the format spec."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

STL10_SIDE = 96
STL10_BYTES = 3 * STL10_SIDE * STL10_SIDE


def stl10_pixel(n: int | np.ndarray, row: np.ndarray, col: np.ndarray, ch: np.ndarray, offset: int = 0) -> np.ndarray:
    """The test pattern: value of (image n, row, col, channel), distinct under a row/col swap."""
    return ((np.asarray(n) + offset) * 37 + row * 3 + col * 7 + ch * 101) % 256


def encode_stl10_images(n: int, offset: int = 0) -> bytes:
    """``n`` images in the STL-10 byte order, written from the spec (not from the reader):
    byte ``n * 27648 + ch * 9216 + col * 96 + row`` holds pixel (row, col, ch) of image n."""
    buf = np.zeros(n * STL10_BYTES, dtype=np.uint8)
    idx, ch, col, row = np.indices((n, 3, STL10_SIDE, STL10_SIDE)).reshape(4, -1)
    where = idx * STL10_BYTES + ch * STL10_SIDE * STL10_SIDE + col * STL10_SIDE + row
    buf[where] = stl10_pixel(idx, row, col, ch, offset)
    return buf.tobytes()


def write_stl10(root: Path, n_train: int = 7, n_test: int = 5, n_unlabeled: int = 4,
                class_names: bool = True) -> Path:
    """Write a tiny ``<root>/stl10_binary`` with the test pattern; labels (i % 10) + 1.

    The train, test and unlabeled images use pattern offsets 0, 100 and 200.
    """
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, off in (("train", n_train, 0), ("test", n_test, 100), ("unlabeled", n_unlabeled, 200)):
        (folder / f"{split}_X.bin").write_bytes(encode_stl10_images(n, off))
        if split != "unlabeled":
            (folder / f"{split}_y.bin").write_bytes(((np.arange(n) % 10) + 1).astype(np.uint8).tobytes())
    if class_names:
        (folder / "class_names.txt").write_text("\n".join(f"class{k}" for k in range(10)) + "\n")
    return folder


@pytest.fixture
def stl10_root(tmp_path: Path) -> Path:
    """A data root holding a tiny STL-10 (7 train, 5 test, 4 unlabeled images)."""
    write_stl10(tmp_path)
    return tmp_path


@pytest.fixture
def make_stl10(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_stl10(n_train=7, n_test=5, n_unlabeled=4, class_names=True) -> root``."""

    def make(**kwargs: object) -> Path:
        root = tmp_path / f"stl_{len(list(tmp_path.iterdir()))}"
        write_stl10(root, **kwargs)  # type: ignore[arg-type]
        return root

    return make

