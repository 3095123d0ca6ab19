"""CSV tables: numbers, a column of labels, or cells with missing values to impute."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...errors import DataError

MISSING_CELLS = {"", "na", "n/a", "nan", "null", "none", "?"}
def check_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Class labels as a 1-D array: integers (int64) or strings, as the estimators take
    them; one-hot or fractional labels are a clear error."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{name}: labels must be one class per example (1-D), "
                        f"got shape {y.shape}; turn one-hot labels into indices with argmax")
    if y.dtype.kind in "US":
        return y.astype(str)
    if y.dtype.kind not in "biuf" or (y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)):
        raise DataError(f"{name}: labels must be classes, integer or text, got dtype {y.dtype}"
                        + (" with fractional values" if y.dtype.kind == "f" else ""))
    return y.astype(np.int64)


def _read_rows(path: Path, commas: bool) -> list[tuple[int, list[str]]]:
    """Every row of a text table with its number, split at commas (``commas``) or at any
    whitespace; a file that cannot be read as text is a one-line error."""
    try:
        with open(path, newline="") as f:
            lines = csv.reader(f) if commas else (line.split() for line in f)
            return [(i + 1, row) for i, row in enumerate(lines)]
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not a text CSV file ({err.reason})") from err
    except csv.Error as err:
        raise DataError(f"{path}: not a readable CSV table ({err})") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err.strerror})") from err


def _text_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a table and their line numbers: commas in ``.csv``, any
    whitespace in ``.txt``."""
    return [(i, row) for i, row in _read_rows(path, commas=path.suffix.lower() == ".csv")
            if row and not all(not c.strip() for c in row)]


def _numbers(path: Path, rows: list[tuple[int, list[str]]]) -> np.ndarray:
    """The cells of ``rows`` as float32, or a one-line error naming the line."""
    values = []
    for line, row in rows:
        try:
            values.append([float(c) for c in row])
        except ValueError as err:
            raise DataError(f"{path}, line {line}: non-numeric cell ({err}): the inputs must "
                            "be numbers (name a column of labels with --label-column)") from None
    if not values:
        raise DataError(f"{path}: no data rows: the table holds no examples")
    if len({len(r) for r in values}) != 1:
        raise DataError(f"{path}: rows have different numbers of columns")
    return np.asarray(values, dtype=np.float32)


def _split_header(rows: list[tuple[int, list[str]]]):
    """(header or None, data rows): a first row in which no cell is a number is a header."""
    if rows and not any(_is_number(c) for c in rows[0][1]):
        return [c.strip() for c in rows[0][1]], rows[1:]
    return None, rows


def read_csv(path: str | os.PathLike) -> np.ndarray:
    """Numeric table: commas in ``.csv``, any whitespace in ``.txt``.

    A first row in which no cell is a number is a header.
    """
    path = Path(path)
    return _numbers(path, _split_header(_text_rows(path))[1])


def read_labelled_csv(path: str | os.PathLike, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A table whose ``column`` (a header name, or an index from 0, negative from the
    end) holds the labels, numbers or strings; the other columns are the inputs."""
    path = Path(path)
    header, rows = _split_header(_text_rows(path))
    if not rows:
        raise DataError(f"{path}: no data rows: the table holds no examples")
    width = len(header) if header is not None else len(rows[0][1])
    j = _column_index(path, header, width, column)
    for line, row in rows:
        if len(row) != width:
            raise DataError(f"{path}, line {line}: {len(row)} cells where the table has "
                            f"{width} columns")
    cells = [row[j].strip() for _, row in rows]
    if any(c.lower() in MISSING_CELLS for c in cells):
        line = rows[next(i for i, c in enumerate(cells) if c.lower() in MISSING_CELLS)][0]
        raise DataError(f"{path}, line {line}: no label in column {column!r}: every example "
                        "needs one (drop the unlabelled rows)")
    x = _numbers(path, [(line, row[:j] + row[j + 1:]) for line, row in rows])
    if x.shape[1] == 0:
        raise DataError(f"{path}: the table has no columns besides the labels")
    labels = (np.asarray([float(c) for c in cells]) if all(_is_number(c) for c in cells)
              else np.asarray(cells))
    return x, check_labels(labels, f"{path}: column {column!r}")


def _column_index(path: Path, header: list[str] | None, width: int, column: str) -> int:
    """The index of ``column``: a name in ``header``, else an integer in [-width, width)."""
    if header is not None and column in header:
        return header.index(column)
    try:
        j = int(column)
    except ValueError:
        names = f"its columns are {', '.join(header)}" if header is not None \
            else "it has no header row: give the column's index from 0"
        raise DataError(f"{path}: no column named {column!r}: {names}") from None
    if not -width <= j < width:
        raise DataError(f"{path}: --label-column {j}: the table has {width} columns "
                        f"(0 to {width - 1}, or -1 for the last)")
    return j % width


class TypedTable(NamedTuple):
    header: list[str] | None
    cells: np.ndarray  # (n, p) the cells as written, str
    missing: np.ndarray  # (n, p) bool
    values: np.ndarray  # (n, p) float64 with NaN, or object with categorical strings
    categorical: list[int]


def read_typed_csv(path: str | os.PathLike) -> TypedTable:
    """A CSV table with missing cells, for imputation.

    A cell that is empty or reads NA, N/A, NaN, null, None or ? (any case) is missing. A
    column whose present cells are all numbers is numeric (float, NaN for missing); any
    other column is categorical (its strings, None for missing). ``X`` is an object array
    when there are categorical columns, else float64. The first row is a header when none
    of its cells is a number. The cells as written come back too, to be written back.
    """
    path = Path(path)
    # a blank line is no row; ",," is a row of missing cells, kept in its place
    rows = [row for _, row in _read_rows(path, commas=True)
            if len(row) > 1 or (row and row[0].strip())]
    header = None
    if rows and not any(_is_number(c) for c in rows[0]):
        header, rows = rows[0], rows[1:]
    if not rows:
        raise DataError(f"{path}: no data rows: the table holds no examples")
    width = len(header) if header is not None else len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}, row {i + 1}: {len(row)} cells where the table has "
                            f"{width} columns")
    for separator, name in ((";", "semicolons"), ("\t", "tabs")):
        if width == 1 and any(separator in row[0] for row in [header or [""], *rows[:20]]):
            raise DataError(f"{path}: one column of cells holding {name}: sdae reads "
                            "comma-separated tables: save it with commas")
    cells = np.array(rows, dtype=object)
    missing = np.vectorize(lambda c: c.strip().lower() in MISSING_CELLS, otypes=[bool])(cells)
    for j in np.flatnonzero(missing.all(axis=0)):
        name = f"column {header[j]!r}" if header is not None else f"column {j + 1}"
        raise DataError(f"{path}: {name} has no values, so there is nothing to impute it "
                        "from: drop it from the table")
    categorical = [j for j in range(width)
                   if not all(_is_number(c) for c in cells[~missing[:, j], j])]
    X = np.empty(cells.shape, dtype=object if categorical else np.float64)
    for j in range(width):
        if j in categorical:
            X[:, j] = [None if m else c.strip() for c, m in zip(cells[:, j], missing[:, j],
                                                                strict=True)]
        else:
            X[:, j] = [np.nan if m else float(c) for c, m in zip(cells[:, j], missing[:, j],
                                                                 strict=True)]
    numeric = [j for j in range(width) if j not in categorical]
    if np.isinf(X[:, numeric].astype(np.float64)).any():
        raise DataError(f"{path}: the table holds infinite values: remove them")
    return TypedTable(header, cells, missing, X, categorical)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
