"""Results a command writes for a user: arrays as .npy or .csv, completed tables. Each is
written atomically (a crash leaves no half-written file), and a path that cannot be
written is a one-line ConfigError."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .atomic import atomic_write


def refuse_overwrite(out: str | os.PathLike, *inputs: str | os.PathLike) -> None:
    """A ConfigError when ``out`` is one of ``inputs`` (the same file or folder, however
    named): writing the result would destroy what it was computed from."""
    out = Path(out)
    for given in map(Path, inputs):
        same = out.samefile(given) if out.exists() and given.exists() else False
        if same or out.resolve() == given.resolve():
            raise ConfigError(f"--out {out} is an input of the command ({given}): name "
                              "another output, so that the input is kept")


def _write(path: Path, data: bytes) -> Path:
    try:
        return atomic_write(path, data)
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror}") from None


def write_array(path: str | os.PathLike, array: np.ndarray,
                header: Sequence[str] | None = None) -> Path:
    """``array`` as .npy, or as .csv when ``path`` ends in .csv (numbers to 7 significant
    digits, strings as they are; ``header``: a first row naming the columns)."""
    path = Path(path)
    buffer = io.BytesIO()
    if path.suffix.lower() == ".csv":
        text = io.StringIO()
        if header is not None:
            text.write(",".join(map(str, header)) + "\n")
        fmt = "%s" if array.dtype.kind in "OUS" else "%.7g"
        np.savetxt(text, array, delimiter=",", fmt=fmt)
        buffer.write(text.getvalue().encode())
    else:
        np.save(buffer, array)
    return _write(path, buffer.getvalue())


def write_completed_table(path: str | os.PathLike, header: Sequence[str] | None,
                          cells: Sequence[Sequence[str]], filled: np.ndarray,
                          missing: np.ndarray) -> Path:
    """A CSV table with its missing cells (``missing``) taken from ``filled``; the header
    and the observed cells are written back verbatim."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    for i, row in enumerate(cells):
        writer.writerow([_cell(filled[i, j]) if missing[i, j] else c for j, c in enumerate(row)])
    return _write(Path(path), text.getvalue().encode())


def _cell(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
