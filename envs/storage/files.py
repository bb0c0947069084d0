"""Atomic writes and verified reads: the one storage layer every on-disk cache goes through.

**Atomic.** :func:`atomic_path` hands out a unique temporary name in the target's folder,
``.<name>.<pid>.<token>.tmp`` (pid *and* a random token, so two writers that share a pid, e.g.
in two containers on one cache, never collide; the name is reserved with ``O_EXCL``). When the
body returns, the file is fsync'ed, ``os.replace``'d over the target and the folder fsync'ed; on
any exception the temporary file is removed. A killed writer therefore leaves the previous
file intact plus at most one orphaned temporary file, which :func:`clean_orphans` removes (it
runs after every successful write in that folder).

**Verified.** An entry is one or more files plus a JSON *manifest* written last (the commit
point): the caller's parameters and, per file, its size and SHA-256. :func:`read_manifest`
checks the parameters and every file's size and digest and raises :class:`CacheError` naming
the file and what is wrong (missing, truncated, corrupt, other parameters), so a caller can
rebuild the entry with a warning. A manifest is untrusted input: its schema is checked (every
file record ``{"bytes": int >= 0, "sha256": 64 hex digits}``), it may name only plain file names
in its own folder (no ``..``, separator or absolute path), and only regular files are opened (a
symbolic link, FIFO or folder in an entry's place is a CacheError, never followed or read). :func:`write_verified_npy` / :func:`read_verified_npy` do
this for one ``.npy`` file (manifest ``<file>.json``), :func:`write_verified_arrays` /
:func:`read_verified_arrays` for a folder of ``.npy`` files (manifest ``meta.json``).

**Unwritable caches.** :func:`warn_unwritable` emits a single warning per read-only location
and process; callers then compute in memory.

No torch here: ``envs`` never imports it at import time, and tensors are stored as ``.npy``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import mmap
import os
import re
import secrets
import stat
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Mapping

import numpy as np

__all__ = [
    "CacheError", "STORAGE_FORMAT", "ORPHAN_MAX_AGE_S", "atomic_path", "atomic_write", "atomic_write_json",
    "temp_path", "clean_orphans", "file_sha256", "update_from_file", "file_record", "verify_file",
    "check_plain_name", "regular_file_size",
    "write_manifest", "read_manifest", "write_verified_npy", "read_verified_npy",
    "write_verified_arrays", "read_verified_arrays", "manifest_path", "warn_unwritable", "warn_rebuild",
]

STORAGE_FORMAT = 1  # version of the manifest layout
ORPHAN_MAX_AGE_S = 15 * 60.0  # a temp file untouched this long whose writer is gone is an orphan
_CHUNK = 16 << 20  # bytes hashed per step
_TEMP = re.compile(r"^\..+\.(\d+)\.([0-9a-f]{8,})\.tmp$")
_RESERVED = ("files", "storage")  # manifest keys the caller's meta may not use
_warned: set[str] = set()


class CacheError(ValueError):
    """A stored entry is missing, incomplete, corrupt or made with other parameters."""


# ---------------------------------------------------------------- atomic writes
def temp_path(path: str | os.PathLike[str]) -> Path:
    """A fresh temporary name beside ``path``: ``.<name>.<pid>.<token>.tmp`` (not created)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def _reserve(path: Path) -> Path:
    """Create ``path``'s folder and reserve a unique empty temporary file beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = temp_path(path)
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return tmp
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not support fsync on folders
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a unique temporary path to write ``path``'s new content to; commit it on success.

    The body may open the temporary path any way it likes (``open(tmp, "wb")``,
    ``np.lib.format.open_memmap(tmp, "w+")``, ...) but must close it. On a normal exit the file
    is fsync'ed and renamed over ``path`` (and orphans in the folder are cleaned); on an
    exception it is removed and ``path`` is left as it was.

    Raises:
        OSError: the folder cannot be created or written (e.g. ``EROFS``, ``EACCES``).
    """
    path = Path(path)
    tmp = _reserve(path)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    clean_orphans(path.parent)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], Any]) -> Path:
    """Atomically replace ``path`` with what ``write(file)`` writes to a binary file; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
    return path


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically write ``obj`` as indented, key-sorted JSON to ``path``."""
    data = json.dumps(obj, indent=1, sort_keys=True).encode()
    return atomic_write(path, lambda fh: fh.write(data))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: exists, another user's
        return True
    return True


def clean_orphans(folder: str | os.PathLike[str], max_age_s: float = ORPHAN_MAX_AGE_S) -> list[Path]:
    """Remove temporary files left in ``folder`` by killed writers; returns the removed paths.

    A file named like :func:`temp_path`'s is an orphan when its writer's pid is not running on
    this machine and it was last modified at least ``max_age_s`` seconds ago (the age guards a
    live writer of another container, whose pid this machine cannot see), or when it is
    untouched for 24 hours. Files of any other name are never touched. Never raises.
    """
    folder = Path(folder)
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.match(entry.name)
        if m is None:
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if age >= max(max_age_s, 24 * 3600.0) or (age >= max_age_s and not _pid_alive(int(m.group(1)))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


# ---------------------------------------------------------------- digests
def update_from_file(hasher: Any, path: str | os.PathLike[str], chunk: int = _CHUNK) -> int:
    """Feed every byte of ``path`` to ``hasher`` (memory-mapped, in chunks); returns the byte count."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return 0
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            view = memoryview(mm)
            try:
                for start in range(0, size, chunk):
                    hasher.update(view[start:start + chunk])
            finally:
                view.release()
    return size


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the file's bytes (what ``sha256sum`` prints)."""
    h = hashlib.sha256()
    update_from_file(h, path)
    return h.hexdigest()


def file_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"bytes": size, "sha256": hex digest}`` of a file."""
    h = hashlib.sha256()
    size = update_from_file(h, path)
    return {"bytes": size, "sha256": h.hexdigest()}


def check_plain_name(name: Any, where: str) -> str:
    """``name`` if it is a plain file name (one path component: no separator, not ``.``/``..``,
    no NUL); else :class:`CacheError` naming ``where`` (the file the name was read from)."""
    if not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        raise CacheError(f"{where} names {name!r}, which is not a plain file name in its folder")
    return name


def regular_file_size(path: str | os.PathLike[str], error: type[Exception] = CacheError,
                      follow_symlinks: bool = False) -> int:
    """Size of ``path`` if it is a regular file (not a FIFO, device, folder or, unless
    ``follow_symlinks``, a link), without opening it.

    Raises FileNotFoundError when nothing is there, ``error`` naming the path otherwise.
    """
    path = Path(path)
    try:
        st = os.stat(path, follow_symlinks=follow_symlinks)
    except (FileNotFoundError, NotADirectoryError):  # nothing there, or a file where a folder should be
        raise FileNotFoundError(f"{path} is missing") from None
    except OSError as exc:
        raise error(f"{path} cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode) \
            else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        raise error(f"{path} is {kind}; only regular files are read")
    return int(st.st_size)


def _check_record(record: Any, where: str) -> Mapping[str, Any]:
    ok = isinstance(record, Mapping) and set(record) == {"bytes", "sha256"}
    ok = ok and isinstance(record["bytes"], int) and not isinstance(record["bytes"], bool) and record["bytes"] >= 0
    ok = ok and isinstance(record["sha256"], str) and re.fullmatch(r"[0-9a-f]{64}", record["sha256"]) is not None
    if not ok:
        raise CacheError(f"{where} is not a file record {{'bytes': int >= 0, 'sha256': 64 hex digits}}: {record!r:.80}")
    return record


def verify_file(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """Check ``path`` against a :func:`file_record`; raise :class:`CacheError` naming what differs.

    ``record`` is untrusted (read from disk): anything but ``{"bytes": int, "sha256": hex}`` is a
    CacheError, and ``path`` must be a regular file (a link, FIFO or folder is never opened).
    """
    path = Path(path)
    record = _check_record(record, f"the record of {path}")
    try:
        size = regular_file_size(path)
    except FileNotFoundError:
        raise CacheError(f"{path} is missing") from None
    if size != record.get("bytes"):
        raise CacheError(f"{path} is truncated or overwritten: {size} bytes, the manifest says {record.get('bytes')}")
    if file_sha256(path) != record.get("sha256"):
        raise CacheError(f"{path} is corrupt: its SHA-256 differs from the manifest's")


# ---------------------------------------------------------------- manifests
def write_manifest(manifest: str | os.PathLike[str], meta: Mapping[str, Any], files: list[Path]) -> Path:
    """Record ``files`` (in the manifest's folder) with their size and SHA-256, plus ``meta``.

    Write it after the files: it is the entry's commit point.
    """
    manifest = Path(manifest)
    bad = [k for k in _RESERVED if k in meta]
    if bad:
        raise ValueError(f"meta may not use the reserved key(s) {bad}")
    for f in files:
        if Path(f).parent != manifest.parent:
            raise ValueError(f"{f} must lie in the manifest's folder {manifest.parent}")
    records = {Path(f).name: file_record(f) for f in files}
    return atomic_write_json(manifest, {**_plain(meta), "files": records, "storage": STORAGE_FORMAT})


def _plain(meta: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(meta), sort_keys=True, default=str))


def read_manifest(manifest: str | os.PathLike[str], meta: Mapping[str, Any] | None = None,
                  verify: bool = True) -> dict[str, Any]:
    """The manifest, after checking that it holds ``meta`` and (``verify``) every file it lists.

    Raises:
        FileNotFoundError: no manifest (the entry was never completed).
        CacheError: unreadable manifest, other parameters, or a file missing/truncated/corrupt.
    """
    manifest = Path(manifest)
    try:
        regular_file_size(manifest)  # a FIFO or link in its place is never opened
        data = json.loads(manifest.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise CacheError(f"manifest {manifest} is unreadable ({exc})") from None
    if not isinstance(data, dict) or type(data.get("storage")) is not int or data["storage"] != STORAGE_FORMAT \
            or not isinstance(data.get("files"), dict):
        raise CacheError(f"manifest {manifest} is not a storage-format-{STORAGE_FORMAT} manifest "
                         "(written by an older version, or damaged)")
    if meta is not None:
        stored = {k: v for k, v in data.items() if k not in _RESERVED}
        if stored != _plain(meta):
            raise CacheError(f"manifest {manifest} was made with other parameters")
    for name, record in data["files"].items():  # the schema always, the files' bytes when verify
        check_plain_name(name, f"manifest {manifest}")
        _check_record(record, f"manifest {manifest}: the record of {name!r}")
    if verify:
        for name, record in data["files"].items():
            verify_file(manifest.parent / name, record)
    return data


def manifest_path(path: str | os.PathLike[str]) -> Path:
    """Manifest of a single-file entry: ``<file>.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _check_array(arr: np.ndarray, path: Path, shape: tuple[int, ...] | None, dtype: Any) -> np.ndarray:
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise CacheError(f"{path} holds shape {tuple(arr.shape)}, expected {tuple(shape)}")
    if dtype is not None and arr.dtype != np.dtype(dtype):
        raise CacheError(f"{path} holds dtype {arr.dtype}, expected {np.dtype(dtype)}")
    return arr


def _load_npy(path: Path, mmap_mode: str | None) -> np.ndarray:
    try:
        regular_file_size(path)
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except FileNotFoundError:
        raise CacheError(f"{path} is missing") from None
    except (OSError, ValueError, EOFError) as exc:
        raise CacheError(f"{path} is not a readable .npy file ({exc})") from None


# ---------------------------------------------------------------- .npy entries
def write_verified_npy(path: str | os.PathLike[str], array: np.ndarray | None = None, *,
                       shape: tuple[int, ...] | None = None, dtype: Any = None,
                       fill: Callable[[np.ndarray], None] | None = None,
                       meta: Mapping[str, Any] | None = None) -> Path:
    """Atomically write one ``.npy`` file and its manifest ``<path>.json``; returns ``path``.

    Either ``array``, or ``shape``, ``dtype`` and ``fill(out)``: ``out`` is a writable memory map
    of the temporary file, so arrays larger than memory are written in place.
    """
    path = Path(path)
    if (array is None) == (fill is None):
        raise ValueError("pass either array or (shape, dtype, fill)")
    with atomic_path(path) as tmp:
        if array is not None:
            with open(tmp, "wb") as fh:
                np.save(fh, np.asarray(array), allow_pickle=False)
        else:
            if shape is None or dtype is None:
                raise ValueError("fill needs shape and dtype")
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=tuple(shape))
            fill(out)
            out.flush()
            del out
    write_manifest(manifest_path(path), dict(meta or {}), [path])
    return path


def read_verified_npy(path: str | os.PathLike[str], shape: tuple[int, ...] | None = None, dtype: Any = None,
                      meta: Mapping[str, Any] | None = None, mmap_mode: str | None = "r",
                      verify: bool = True) -> np.ndarray:
    """Load a :func:`write_verified_npy` file after checking its manifest, digest, shape and dtype.

    ``verify=False`` skips the digest (only right after writing the file oneself).

    Raises:
        FileNotFoundError: neither file nor manifest exists (nothing was ever written).
        CacheError: anything else wrong (the message names the file).
    """
    path = Path(path)
    man = manifest_path(path)
    if not man.exists():
        if not path.exists():
            raise FileNotFoundError(f"no cache at {path}")
        raise CacheError(f"{path} has no manifest {man.name} (a killed writer, or an older version)")
    data = read_manifest(man, meta, verify=verify)
    if path.name not in data["files"]:
        raise CacheError(f"manifest {man} does not list {path.name}")
    return _check_array(_load_npy(path, mmap_mode), path, shape, dtype)


def write_verified_arrays(folder: str | os.PathLike[str], arrays: Mapping[str, np.ndarray],
                          meta: Mapping[str, Any], manifest: str = "meta.json") -> Path:
    """Write ``<folder>/<name>.npy`` for each array atomically, then the manifest; returns the folder."""
    folder = Path(folder)
    files = []
    for name, array in arrays.items():
        path = folder / f"{name}.npy"

        def save(fh: BinaryIO, array: np.ndarray = array) -> None:
            np.save(fh, np.asarray(array), allow_pickle=False)

        files.append(atomic_write(path, save))
    write_manifest(folder / manifest, meta, files)
    return folder


def read_verified_arrays(folder: str | os.PathLike[str], meta: Mapping[str, Any],
                         expected: Mapping[str, tuple[tuple[int, ...], Any]], manifest: str = "meta.json",
                         mmap_mode: str | None = "r", verify: bool = True) -> dict[str, np.ndarray]:
    """The arrays of a :func:`write_verified_arrays` folder, verified (digests skipped with
    ``verify=False``: only right after writing them oneself); ``expected`` maps each name to
    its ``(shape, dtype)``.

    Raises:
        FileNotFoundError: no manifest (never completed).
        CacheError: other parameters, a file missing, truncated, corrupt or of another shape.
    """
    folder = Path(folder)
    data = read_manifest(folder / manifest, meta, verify=verify)
    out = {}
    for name, (shape, dtype) in expected.items():
        path = folder / f"{name}.npy"
        if path.name not in data["files"]:
            raise CacheError(f"manifest {folder / manifest} does not list {path.name}")
        out[name] = _check_array(_load_npy(path, mmap_mode), path, shape, dtype)
    return out


# ---------------------------------------------------------------- warnings
def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path`` and its parents that exists (a dangling link counts: it is what blocks)."""
    path = Path(os.path.abspath(path))
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def _blocker(where: Path, exc: OSError) -> str:
    if where.is_symlink() and not where.exists():
        return "a dangling symbolic link"
    if where.exists() and not where.is_dir():
        return "not a folder"
    return f"{errno.errorcode.get(exc.errno or 0, type(exc).__name__)}: {exc.strerror or exc}"


def warn_unwritable(target: str | os.PathLike[str], exc: OSError, what: str, stacklevel: int = 3) -> None:
    """Warn once per process and read-only location that ``what`` is kept in memory only.

    The location named is the nearest existing entry on the way to ``target`` (a dangling link
    or a file where a folder should be is named itself, not its parent)."""
    where = _existing_ancestor(Path(target))
    if str(where) in _warned:
        return
    _warned.add(str(where))
    warnings.warn(f"cannot write caches under {where} ({_blocker(where, exc)}); computing {what} in "
                  "memory instead. Set $SACCADE_CACHE to a writable folder to keep them between runs.",
                  RuntimeWarning, stacklevel=stacklevel)


def warn_rebuild(exc: Exception, what: str, stacklevel: int = 3) -> None:
    """Warn that a bad cache entry is rebuilt, with the reason."""
    warnings.warn(f"{what} cache is bad and is rebuilt: {exc}", RuntimeWarning, stacklevel=stacklevel)
