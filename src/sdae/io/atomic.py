"""Whole files: atomic writes (a reader sees no file or the whole file, never a partial one)
and reads whose failure is one line a user can act on."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file, fsync and a rename.

    The folder is synced too, so the rename itself survives a power cut. A writer killed
    mid-write leaves ``path`` as it was (and a hidden ``.NAME.*.part`` file behind).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file stands where the folder should be
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(path.parent)) from None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def read_whole(path: str | os.PathLike, error: type[Exception], what: str = "file") -> bytes:
    """The bytes of ``path``; a missing or unreadable file raises ``error`` (a
    :class:`~sdae.errors.SdaeError`) saying which, naming the file as ``what``."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise error(f"{path}: no such {what}") from err
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror})") from err


def first_bytes(path: str | os.PathLike, n: int) -> bytes:
    """The first ``n`` bytes of ``path`` (to tell a file's format by its magic number)."""
    from ..errors import DataError

    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err.strerror})") from None


def _sync_folder(folder: Path) -> None:
    """Make a rename durable; skipped where a folder cannot be opened (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json(path: str | os.PathLike, obj) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return atomic_write(path, (json.dumps(obj, indent=2) + "\n").encode())
