"""Checkpoint files that open with plain ``torch.load`` and still carry an integrity check.

A checkpoint is an ordinary ``torch.save`` file (a zip archive) of a dict of plain values
(tensors, dicts, lists, tuples, str, int, float, bool, None), so ``torch.load(path,
weights_only=True)`` reads it anywhere. Its zip archive comment (the last bytes of the file,
which zip readers, torch's included, skip) is ``saccade-sha256:`` followed by the hex SHA-256 of
every byte before it: any flipped or missing byte anywhere in the file is detected.
:func:`read_checkpoint` checks it before unpickling and raises :class:`CheckpointError` naming
the file on a mismatch, a truncated file or a file without the digest.

Files of the earlier format (the 8-byte magic ``SACCKPT1``, a 32-byte SHA-256 of the payload,
then the ``torch.save`` payload) are still read and verified.

torch only; this module never imports gymnasium or ``experiments``.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, BinaryIO

import torch

__all__ = ["CheckpointError", "FOOTER_TAG", "LEGACY_MAGIC", "check_plain", "write_checkpoint_file",
           "file_digest", "read_checkpoint"]

FOOTER_TAG = b"saccade-sha256:"
_FOOTER = len(FOOTER_TAG) + 64          # the zip comment: tag + hex digest
_EOCD = 22                              # zip end-of-central-directory record without comment
_EOCD_SIG = b"PK\x05\x06"
_CHUNK = 1 << 22
LEGACY_MAGIC = b"SACCKPT1"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing parts, truncated, corrupt or does not match the run/model."""


def check_plain(x: Any, where: str = "state") -> None:
    """Raise TypeError naming the first value that ``torch.load(weights_only=True)`` would refuse
    (anything but tensors, dicts, lists, tuples, str, bytes, int, float, bool, None)."""
    if isinstance(x, (torch.Tensor, str, bytes, int, float)) or x is None:
        return
    if isinstance(x, (list, tuple)):
        for i, item in enumerate(x):
            check_plain(item, f"{where}[{i}]")
    elif isinstance(x, dict):
        for key, value in x.items():
            check_plain(key, f"{where} key {key!r}")
            check_plain(value, f"{where}[{key!r}]")
    else:
        raise TypeError(f"checkpoint state must hold plain values only (tensors, dicts, lists, tuples, str, "
                        f"int, float, bool, None); {where} is a {type(x).__name__}")


class _TailHashingWriter:
    """Writes through to ``fh`` and hashes all but the last ``_EOCD`` bytes seen so far."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.digest, self.tail = fh, hashlib.sha256(), b""

    def write(self, data: bytes) -> int:
        self.fh.write(data)
        view = memoryview(data).cast("B")
        if len(view) >= _EOCD:  # no copy of large chunks
            self.digest.update(self.tail)
            self.digest.update(view[:-_EOCD])
            self.tail = bytes(view[-_EOCD:])
        else:
            tail = self.tail + bytes(view)
            self.digest.update(tail[:-_EOCD])
            self.tail = tail[-_EOCD:]
        return len(view)

    def flush(self) -> None:
        self.fh.flush()


def write_checkpoint_file(fh: BinaryIO, state: dict[str, Any]) -> str:
    """``torch.save(state)`` into the empty, seekable binary file ``fh``, then the digest comment.

    Returns:
        The hex SHA-256 stored in the file.

    Raises:
        TypeError: ``state`` holds something that is not a plain value (nothing is written).
    """
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    check_plain(state)
    writer = _TailHashingWriter(fh)
    torch.save(state, writer)
    eocd = writer.tail
    if len(eocd) != _EOCD or eocd[:4] != _EOCD_SIG or eocd[-2:] != b"\0\0":
        raise RuntimeError("torch.save did not end its archive with a plain zip end-of-directory record")
    eocd = eocd[:-2] + _FOOTER.to_bytes(2, "little")   # the archive now has a comment of _FOOTER bytes
    writer.digest.update(eocd)
    digest = writer.digest.hexdigest()
    fh.seek(-2, os.SEEK_END)
    fh.write(eocd[-2:] + FOOTER_TAG + digest.encode())
    return digest


def file_digest(path: str | Path) -> str:
    """Verify the digest comment of checkpoint file ``path``; return its hex SHA-256.

    Raises:
        CheckpointError: no digest comment, or the bytes do not match it.
    """
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size < _FOOTER + _EOCD:
            raise CheckpointError(f"{path} is truncated or not a checkpoint ({size} bytes); refusing to use it")
        fh.seek(size - _FOOTER)
        footer = fh.read(_FOOTER)
        if not footer.startswith(FOOTER_TAG):
            raise CheckpointError(f"{path} has no integrity digest (a truncated file, or not a checkpoint written "
                                  f"by saccade-pretrain); refusing to use it")
        stored = footer[len(FOOTER_TAG):].decode("ascii", "replace")
        h, left = hashlib.sha256(), size - _FOOTER
        fh.seek(0)
        while left > 0:
            chunk = fh.read(min(_CHUNK, left))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    if h.hexdigest() != stored:
        raise CheckpointError(f"{path} is corrupt (SHA-256 mismatch, {size} bytes); refusing to use it")
    return stored


def read_checkpoint(path: str | Path, map_location: str | torch.device | None = "cpu") -> dict[str, Any]:
    """Verify a checkpoint file's digest, then load it with ``weights_only=True``.

    Returns:
        The state dict, with the file's hex SHA-256 under ``"sha256"``.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: truncated, corrupt or foreign file, digest missing or mismatched.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    with path.open("rb") as fh:
        head = fh.read(len(LEGACY_MAGIC))
    if head == LEGACY_MAGIC:
        return _read_legacy(path, map_location)
    digest = file_digest(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        raise CheckpointError(f"{path}: cannot unpickle the checkpoint: {exc}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: a checkpoint holds a dict, got {type(state).__name__}")
    return {**state, "sha256": digest}


def _read_legacy(path: Path, map_location: str | torch.device | None) -> dict[str, Any]:
    """The earlier ``SACCKPT1`` + SHA-256 + payload format (read-only support)."""
    data = path.read_bytes()
    head = len(LEGACY_MAGIC) + 32
    if len(data) < head:
        raise CheckpointError(f"{path} is truncated (bad header, {len(data)} bytes); refusing to use it")
    payload = memoryview(data)[head:]
    digest = hashlib.sha256(payload).digest()
    if digest != data[len(LEGACY_MAGIC):head]:
        raise CheckpointError(f"{path} is corrupt or truncated (SHA-256 mismatch, {len(data)} bytes); "
                              f"refusing to use it")
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        raise CheckpointError(f"{path}: cannot unpickle checkpoint payload: {exc}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: a checkpoint holds a dict, got {type(state).__name__}")
    return {**state, "sha256": digest.hex()}
