"""Measurements kept on disk with their key and digest: one entry format and one reader for the
evaluation cache of a run (:mod:`experiments.evaluate.runner`) and the floor cache
(:mod:`experiments.evaluate.floor_cache`).

An entry is the JSON object ``{"key": <what they were computed from>, "sha256": <digest of the
rows>, "measurements": [...]}`` (:func:`entry`). :func:`read_entry` returns the rows only if the
entry verifies; anything unusable there is warned about (naming the file and the reason) and read
as absent, so the caller computes afresh.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

__all__ = ["EntryKind", "digest", "entry", "read_entry"]


@dataclass(frozen=True)
class EntryKind:
    """How a cache names its entries in errors and warnings: ``what`` (the file, for
    ``read_json_object``), ``name`` (in the warning), ``row_ok`` / ``rows`` (the check of every row and
    what the rows must be), ``other_key`` (the problem when the key differs), ``afresh`` (what the
    caller does instead) and the warning ``category``."""

    what: str
    name: str
    row_ok: Callable[[Any], bool]
    rows: str
    other_key: str
    afresh: str
    category: type[Warning] = UserWarning


def digest(rows: list[dict[str, Any]]) -> str:
    """SHA-256 of the rows as canonical JSON (JSON objects have string keys: sortable)."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def entry(key: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON object that keeps ``rows`` under ``key``, with their digest."""
    return {"key": key, "sha256": digest(rows), "measurements": rows}


def read_entry(file: Path, key: dict[str, Any], kind: EntryKind, stacklevel: int = 2) -> list[dict[str, Any]] | None:
    """The rows kept in ``file`` for ``key`` if they verify; None when there is no entry, or (with a
    warning of ``kind`` naming ``file`` and the reason) when it is unusable: not a regular file (a
    link, FIFO or folder is never opened or followed), not a JSON object, rows that fail
    ``kind.row_ok``, another key, or rows that do not match their digest. ``stacklevel``: the
    warning's, counted from the caller."""
    from experiments.outputs import read_json_object

    try:
        data = read_json_object(file, kind.what)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        problem = " ".join(str(exc).split())
    else:
        rows = data.get("measurements")
        if not isinstance(rows, list) or not all(kind.row_ok(r) for r in rows):
            problem = f"its measurements are not a list of {kind.rows}"
        elif data.get("key") != key:
            problem = kind.other_key
        elif data.get("sha256") != digest(rows):
            problem = "a digest mismatch"
        else:
            return list(rows)
    warnings.warn(f"ignoring {kind.name} {file}: {problem}; {kind.afresh}", kind.category, stacklevel=stacklevel + 1)
    return None
