"""Users' own data: NumPy arrays, CSV tables and folders of images, read by one
:func:`load_array` (the tables in :mod:`.tables`, the images in :mod:`.images`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..atomic import first_bytes
from .images import load_image_tree
from .tables import check_labels, read_csv, read_labelled_csv

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


def _read_npy(path: Path, mmap_mode: str | None = None) -> np.ndarray:
    if first_bytes(path, 6) != b"\x93NUMPY":
        raise DataError(f"{path}: not a .npy file (no NumPy header): save it with numpy.save")
    try:
        return np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except Exception as err:  # numpy's header parser can raise anything on a bad file
        raise DataError(f"{path}: not a readable .npy array ({err})") from err


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if first_bytes(path, 2) != b"PK":
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


