"""Users' own data: NumPy arrays, CSV tables and folders of images."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...errors import DataError

MISSING_CELLS = {"", "na", "n/a", "nan", "null", "none", "?"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".pgm"}
_X_KEYS = ("x", "X", "data", "x_train", "features")
_Y_KEYS = ("y", "labels", "target", "y_train", "targets")


def load_array(
    path: str | os.PathLike, *, stream: bool = False, label_column: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int] | None]:
    """Read examples (and labels when the file has them) from ``path``.

    - ``.npy``: one array, examples along the first axis; with ``stream``, memory-mapped
      instead of read (for data larger than memory; values are checked while training);
      8-bit pixels (uint8 beyond 0 and 1) are divided by 255, as an image folder's are,
      except when streamed (read as they are, so that training stops on values above 1);
    - ``.npz``: the inputs under ``x``/``X``/``data``, labels under ``y``/``labels`` if any;
    - ``.csv``/``.txt``: numbers, an optional header row; with ``label_column`` (a name
      in the header, or an index from 0, negative from the end) that column holds the
      labels, numbers or strings, and the others the inputs;
    - a folder of images: grayscale images of one size, scaled to [0, 1]; or a folder of
      class folders (``root/<class>/*.png``): their images, labelled by folder name;

    Labels are integers or strings (:func:`check_labels`).

    Returns ``(x, y, image_shape)``: ``x`` of shape (n, d) float32, the labels or None, and
    the (h, w) of image data (an image folder, or an array of shape (n, h, w)) or None.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if label_column is not None and (path.is_dir() or suffix not in {".csv", ".txt"}):
        where = "an .npz holds them as its array y" if suffix == ".npz" else "this has none"
        raise DataError(f"{path}: --label-column names the labels' column in a CSV table, "
                        f"and {where}: leave it out")
    if stream and (path.is_dir() or suffix != ".npy"):
        raise DataError(f"{path}: only a .npy file can be streamed from disk: save the "
                        "inputs with numpy.save, or leave out --stream")
    if stream:
        x = _read_npy(path, mmap_mode="r")
        if x.dtype.kind not in "biuf" or x.ndim < 2 or x.size == 0:
            raise DataError(f"{path}: need a numeric array of examples (n, d) with n >= 1, "
                            f"got {x.dtype} {x.shape}")
        if not x.flags.c_contiguous:  # reshaping it would read it all into memory
            raise DataError(f"{path}: the array is stored in Fortran order: save it with "
                            "numpy.save(path, numpy.ascontiguousarray(x)) to stream it")
        shape = tuple(x.shape[1:]) if x.ndim == 3 else None
        return x.reshape(len(x), -1), None, shape  # still on disk: a view, not a copy
    if path.is_dir():
        images, y = load_image_tree(path)
        return images.reshape(len(images), -1), y, images.shape[1:]
    if suffix == ".npy":
        x, y = _read_npy(path), None
    elif suffix == ".npz":
        x, y = _read_npz(path)
    elif suffix in {".csv", ".txt"}:
        x, y = ((read_csv(path), None) if label_column is None
                else read_labelled_csv(path, label_column))
    else:
        raise DataError(
            f"{path}: unsupported file type {suffix!r}: use .npy, .npz, .csv or a folder of images"
        )
    shape = tuple(x.shape[1:]) if np.ndim(x) == 3 else None
    return check_features(x, str(path)), y, shape


def check_features(x: np.ndarray, name: str) -> np.ndarray:
    """Validate and flatten an array of examples to (n, d) float32 (uint8 scaled to [0, 1])."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{name}: data must be numeric, got dtype {x.dtype}")
    if x.ndim < 2 or x.size == 0:
        raise DataError(f"{name}: need a 2-D array of examples (n, d) with n >= 1, got {x.shape}")
    x = scale_bytes(x.reshape(len(x), -1))
    if not np.isfinite(x).all():
        raise DataError(f"{name}: data contain NaN or infinite values: remove or impute them")
    return x


def scale_bytes(x: np.ndarray) -> np.ndarray:
    """``x`` as float32, 8-bit pixels (uint8) divided by 255: an array of them then means
    what the same pixels read from image files mean (see :func:`image_to_gray`). uint8
    values all 0 or 1 are bits, already in [0, 1], and stay as they are."""
    if x.dtype == np.uint8 and x.size and x.max() > 1:
        return (x / np.float32(255.0)).astype(np.float32)
    return x.astype(np.float32)


def _first_bytes(path: Path, n: int) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err.strerror})") from None


def _read_npy(path: Path, mmap_mode: str | None = None) -> np.ndarray:
    if _first_bytes(path, 6) != b"\x93NUMPY":
        raise DataError(f"{path}: not a .npy file (no NumPy header): save it with numpy.save")
    try:
        return np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except Exception as err:  # numpy's header parser can raise anything on a bad file
        raise DataError(f"{path}: not a readable .npy array ({err})") from err


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if _first_bytes(path, 2) != b"PK":
        raise DataError(f"{path}: not an .npz archive (not a zip file): save it with numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except Exception as err:  # zipfile and numpy's header parser can raise anything
        raise DataError(f"{path}: not a readable .npz archive ({err})") from err
    x_key = next((k for k in _X_KEYS if k in arrays), None)
    if x_key is None:
        if len(arrays) != 1:
            raise DataError(f"{path}: name the inputs 'x' in the .npz (found {sorted(arrays)})")
        x_key = next(iter(arrays))
    y_key = next((k for k in _Y_KEYS if k in arrays), None)
    return arrays[x_key], check_labels(arrays[y_key], f"{path}: {y_key}") if y_key else None


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


def _text_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a table and their line numbers: commas in ``.csv``, any
    whitespace in ``.txt``."""
    try:
        with open(path, newline="") as f:
            lines = (csv.reader(f) if path.suffix.lower() == ".csv"
                     else (line.split() for line in f))
            return [(i + 1, row) for i, row in enumerate(lines)
                    if row and not all(not c.strip() for c in row)]
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not a text CSV file ({err.reason})") from err
    except csv.Error as err:
        raise DataError(f"{path}: not a readable CSV table ({err})") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err.strerror})") from err


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
    try:
        with open(path, newline="") as f:
            # a blank line is no row; ",," is a row of missing cells, kept in its place
            rows = [row for row in csv.reader(f) if len(row) > 1 or (row and row[0].strip())]
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not a text CSV file ({err.reason})") from err
    except csv.Error as err:
        raise DataError(f"{path}: not a readable CSV table ({err})") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err.strerror})") from err
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


def load_image_tree(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """The images of a folder (no labels), or, when it holds no images but folders of them
    (``root/<class>/*.png``, the usual layout of labelled images), every class folder's
    images labelled by the folder's name (an integer when every name is one)."""
    path = Path(path)
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
        return load_image_folder(path), None
    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        return load_image_folder(path), None  # its error: no images found
    if all(_is_integer(folder.name) for folder in classes):  # 2/ before 10/
        classes.sort(key=lambda folder: int(folder.name))
    parts = [load_image_folder(folder) for folder in classes]
    if len({part.shape[1:] for part in parts}) != 1:
        raise DataError(f"{path}: the class folders hold images of different sizes; resize "
                        "them to one size first")
    names = [folder.name for folder in classes]
    labels = (np.asarray([int(n) for n in names]) if all(_is_integer(n) for n in names)
              else np.asarray(names))
    return np.concatenate(parts), np.repeat(labels, [len(part) for part in parts])


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def load_image_folder(path: str | os.PathLike) -> np.ndarray:
    """All images in a folder as grayscale in [0, 1], shape (n, h, w); one size for all."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{path}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    images = [read_gray_image(file) for file in files]
    if len({im.shape for im in images}) != 1:
        raise DataError(f"{path}: images have different sizes; resize them to one size first")
    return np.stack(images)


def read_gray_image(path: str | os.PathLike, log_16bit: bool = False) -> np.ndarray:
    """One image file as a float32 grayscale array in [0, 1], shape (h, w).

    ``log_16bit``: 16-bit images are often linear luminance (van Hateren's calibrated
    images): map them through log(1 + v) / log(65536), a perceptual scale like the gamma
    of 8-bit photographs.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            return image_to_gray(im, log_16bit)
    except Exception as err:  # PIL's decoders raise many kinds of error on a bad file
        raise DataError(f"{path}: not a readable image ({err})") from err


def image_to_gray(im, log_16bit: bool = False) -> np.ndarray:
    """A PIL image as a float32 grayscale array in [0, 1] (8- and 16-bit alike)."""
    if im.mode in {"I;16", "I;16B", "I;16L", "I"}:
        a = np.asarray(im, dtype=np.float32)
        sixteen = a.max() > 255 or im.mode.startswith("I;16")
        if sixteen and log_16bit:
            return (np.log1p(a) / np.log(65536.0)).astype(np.float32)
        return a / (65535.0 if sixteen else 255.0)
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def image_files(*paths: str | os.PathLike) -> list[Path]:
    """The image files named by ``paths``: files as given, folders' images sorted by name."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(f"{path}: no images found (looked for "
                                f"{', '.join(sorted(IMAGE_SUFFIXES))})")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    return files


def read_image_set(*paths: str | os.PathLike) -> list[np.ndarray]:
    """Every image under ``paths`` (see :func:`read_image`); all grayscale or all colour."""
    images = [read_image(f)[0] for f in image_files(*paths)]
    if len({im.ndim for im in images}) > 1:
        raise DataError(f"{', '.join(map(str, paths))}: some images are grayscale and some "
                        "colour: give images of one kind")
    return images


def read_image(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """An image as float32 in [0, 1] and its bit depth (8 or 16), for denoising.

    Grayscale images come as (h, w), colour ones as (h, w, 3) (an alpha channel is
    dropped). TIFF files are read with tifffile, 16-bit colour PNG with pypng, all else
    with Pillow.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    header = _first_bytes(path, 26)
    # bit depth 16, colour type RGB(A): Pillow would silently cut such a PNG to 8 bits
    colour16_png = header[:8] == b"\x89PNG\r\n\x1a\n" and header[24:26] in (b"\x10\x02",
                                                                         b"\x10\x06")
    try:
        if colour16_png:
            import png

            width, height, rows, info = png.Reader(filename=str(path)).asDirect()
            a = np.vstack(list(rows)).astype(np.uint16).reshape(height, width, info["planes"])
        elif path.suffix.lower() in {".tif", ".tiff"}:
            import tifffile

            a = np.asarray(tifffile.imread(path))
        else:
            from PIL import Image

            with Image.open(path) as im:
                if im.mode.startswith("I"):  # 16-bit (or 32-bit integer) grayscale
                    a = np.asarray(im)
                    a = a.astype(np.uint16 if im.mode.startswith("I;16") or a.max() > 255
                                 else np.uint8)
                else:
                    keep = "L" if im.mode in {"1", "L", "LA", "P"} and _is_gray(im) else "RGB"
                    a = np.asarray(im.convert(keep))
    except Exception as err:  # the decoders raise many kinds of error on a bad file
        raise DataError(f"{path}: not a readable image ({err})") from err
    if a.ndim == 3 and a.shape[-1] in (2, 4):  # gray or colour with alpha
        a = a[..., :-1] if a.shape[-1] == 4 else a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] != 3) or a.dtype.kind not in "ui":
        raise DataError(f"{path}: expected a grayscale or RGB image of 8 or 16 bits, got an "
                        f"array of shape {a.shape} and type {a.dtype}")
    bits = 16 if a.dtype.itemsize > 1 else 8
    return (a / (2.0**bits - 1)).astype(np.float32), bits


def _is_gray(im) -> bool:
    if im.mode != "P":
        return True
    palette = np.asarray(im.convert("RGB"))
    return bool((palette == palette[..., :1]).all())


def write_image(path: str | os.PathLike, image: np.ndarray, bits: int = 8) -> Path:
    """Write a float image in [0, 1] ((h, w) or (h, w, 3)) with ``bits`` per channel,
    atomically (16-bit colour as PNG or TIFF only)."""
    import io

    from ..atomic import atomic_write

    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: name the image file with one of "
                        f"{', '.join(sorted(IMAGE_SUFFIXES))}")
    if bits not in (8, 16):
        raise DataError(f"images have 8 or 16 bits per channel, not {bits}")
    tiff = path.suffix.lower() in {".tif", ".tiff"}
    colour16_png = bits == 16 and image.ndim == 3 and path.suffix.lower() == ".png"
    if bits == 16 and image.ndim == 3 and not (tiff or colour16_png):
        raise DataError(f"{path}: a 16-bit colour image can only be written as PNG or TIFF: "
                        "name the output .png or .tif")
    top = 2**bits - 1
    a = np.rint(np.clip(image, 0.0, 1.0) * top).astype(np.uint16 if bits == 16 else np.uint8)
    buffer = io.BytesIO()
    if colour16_png:  # Pillow cannot write one
        import png

        png.Writer(a.shape[1], a.shape[0], greyscale=False, bitdepth=16).write(
            buffer, a.reshape(a.shape[0], -1))
    elif tiff:
        import tifffile

        tifffile.imwrite(buffer, a, photometric="rgb" if a.ndim == 3 else "minisblack")
    else:
        from PIL import Image

        try:
            Image.fromarray(a).save(buffer, format=Image.registered_extensions()
                                    .get(path.suffix.lower(), "PNG"))
        except (OSError, KeyError, ValueError) as err:
            raise DataError(f"{path}: cannot write this image format ({err}): use .png "
                            "or .tif") from None
    return atomic_write(path, buffer.getvalue())
