"""Checks every command line runs before its expensive work, and its one-line errors.

- :func:`check_output_dir`: an output folder can be created (it is not a file, nor below one, nor
  a dangling link) and holds no earlier results unless the caller allows replacing them.
- :func:`read_json_file`: a JSON file named by the user (``results.json`` for ``--compare``, a
  summary), read only when it is a regular file, with errors naming it.
- :func:`check_name_lengths`: no part of a path is longer than a file name may be (255 bytes), so
  a long ``--out`` or run name is one line instead of an ``OSError`` after the work.
- :func:`read_json_object`: a JSON object in a file the project did not name (a kept run, a cache
  entry), read only when it is a regular file (not a link, FIFO or folder), errors naming it.
- :func:`exit_error`: the one-line ``<prog>: error: <message>`` on stderr and exit status 2 that
  every command line uses for bad input (argparse's own convention; defined in :mod:`experiments.cliconfig`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from experiments.cliconfig import exit_error, user_error_types  # the CLI library's, named here too

__all__ = ["check_output_dir", "check_name_lengths", "read_json_file", "read_json_object", "exit_error",
           "USER_ERRORS", "NAME_MAX"]

NAME_MAX = 255  # bytes in one file or folder name (ext4, APFS, NTFS, tmpfs)

USER_ERRORS = user_error_types()
"""Exceptions a command line reports as a one-line error (bad input, files, checkpoints)."""


def check_output_dir(out: str | os.PathLike[str], results: Sequence[str], overwrite: bool,
                     flag: str = "--out", hint: str = "pass --overwrite to replace them") -> Path:
    """``out`` as a Path after checking it can hold the results, before any work is done.

    Raises:
        NotADirectoryError: ``out`` (or a folder above it) is a file, or ``out`` is a dangling link.
        FileExistsError: ``out`` holds any of ``results`` and ``overwrite`` is False.
    """
    out = Path(out).expanduser()
    check_name_lengths(out, flag)
    if out.is_symlink() and not out.exists():
        raise NotADirectoryError(f"{flag} {out} is a dangling symbolic link, not a folder")
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                what = "is a file" if folder == out else f"lies inside {folder}, which is a file"
                raise NotADirectoryError(f"{flag} {out} {what}, not a folder")
            break
    found = [name for name in results if os.path.lexists(out / name)]
    if found and not overwrite:
        raise FileExistsError(f"{flag} {out} already holds {', '.join(found)} of an earlier run; {hint}")
    return out


def check_name_lengths(path: str | os.PathLike[str], flag: str) -> Path:
    """``path`` as a Path after checking that none of its parts is longer than :data:`NAME_MAX` bytes.

    Raises:
        ValueError: naming ``flag`` and the part that is too long.
    """
    path = Path(path)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            raise ValueError(f"{flag} {str(path)[:80]}...: the name {part[:40]!r}... is {size} bytes, longer than "
                             f"the {NAME_MAX} a file or folder name may have")
    return path


def read_json_object(path: str | os.PathLike[str], what: str, error: type[Exception] = ValueError) -> dict[str, Any]:
    """The JSON object in ``path``, read only when ``path`` is a regular file (a symbolic link, FIFO,
    device or folder is never opened or followed).

    Raises:
        FileNotFoundError: nothing at ``path``.
        ``error``: not a regular file, unreadable, not JSON, or JSON that is not an object (naming
            ``path`` and ``what``).
    """
    from envs.storage.files import regular_file_size

    path = Path(path)
    regular_file_size(path, error=error)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise error(f"{path} is not a readable JSON file of {what} ({exc})") from None
    if not isinstance(value, dict):
        raise error(f"{path} is not a JSON file of {what}: it holds a {type(value).__name__}, not an object")
    return value


def read_json_file(path: str | os.PathLike[str], what: str) -> Any:
    """The JSON value in ``path`` (a regular file; a FIFO or device is never opened).

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: not a regular file, unreadable, or not JSON (naming ``path`` and ``what``).
    """
    from envs.storage.files import regular_file_size

    path = Path(path)
    regular_file_size(path, error=ValueError, follow_symlinks=True)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{path} is not a readable JSON file of {what} ({exc})") from None
