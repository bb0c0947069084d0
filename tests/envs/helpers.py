"""Small in-memory datasets for env / sequence tests (fast: no generation, no files)."""

from __future__ import annotations

import cv2
import numpy as np

from envs.datasets import ImageDataset


def blob_dataset(n: int = 6, size: int = 64, seed: int = 0, channels: int = 3) -> ImageDataset:
    """``n`` noisy images, each with one bright square object (recorded in ``boxes``)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(40, 80, size=(n, size, size, channels), dtype=np.uint8)
    boxes = np.full((n, 1, 4), -1, np.int32)
    for i in range(n):
        side = size // 6
        r, c = rng.integers(side, size - 2 * side, size=2)
        images[i, r:r + side, c:c + side] = 250
        boxes[i, 0] = (r, c, r + side, c + side)
    labels = np.arange(n, dtype=np.int64) % 3
    return ImageDataset(name="blobs", images=images, labels=labels, class_names=("a", "b", "c"),
                        boxes=boxes, box_labels=labels[:, None].copy(), fingerprint=f"blobs-{n}-{size}-{seed}-{channels}")


CLASSES_3DIE = ("02691156", "03001627")


def write_3diebench(root, objects=2, views=3, size=20, seed=0):
    """2 synsets x ``objects`` x ``views``: flat-colour JPEGs and latents (Euler xyz + 4 extra values)."""
    rng = np.random.default_rng(seed)
    records = {}
    for c in CLASSES_3DIE:
        for o in range(objects):
            folder = root / c / f"obj{o}"
            folder.mkdir(parents=True)
            for v in range(views):
                colour = rng.integers(30, 225, 3)
                cv2.imwrite(str(folder / f"image_{v}.jpg"), np.full((size, size, 3), colour[::-1], np.uint8))
                latent = np.concatenate([rng.uniform(-np.pi, np.pi, 3), rng.uniform(0, 1, 4)])
                np.save(folder / f"latent_{v}.npy", latent)
                records[(f"{c}/obj{o}", v)] = (colour, latent)
    return records


def random_active_action(space, seed: int = 0) -> dict[str, np.ndarray]:
    """A random action of an active-perception env's Dict space ``{"action", "prediction"}``: moves
    uniform in [-1, 1], class scores normal with std 3 (float32, the space's shapes)."""
    rng = np.random.default_rng(seed)
    return {"action": rng.uniform(-1, 1, space["action"].shape).astype(np.float32),
            "prediction": rng.normal(0, 3, space["prediction"].shape).astype(np.float32)}
