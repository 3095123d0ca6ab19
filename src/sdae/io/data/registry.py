"""One entry point for every data set a command can name."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import DataError
from .dataset import Dataset
from .files import load_array
from .mnist import candidate_dirs, find_mnist, load_mnist, load_mnist_small

NAMED = ("mnist", "mnist-small", "usps", "digits")


def find_folder(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The folder ``name`` under ``data_dir``, ``$SDAE_DATA_DIR`` or the user cache."""
    dirs = [d for d in candidate_dirs(data_dir, name) if d.name == name]
    found = next((d for d in dirs if d.is_dir()), None)
    if found is None:
        raise DataError(f"no folder {name}/ found (looked in {', '.join(map(str, dirs))}): "
                        "pass --data-dir, or set SDAE_DATA_DIR")
    return found


def load_usps(data_dir: str | os.PathLike | None = None, n_valid: int = 1000) -> Dataset:
    """USPS digits from ``usps.h5``: 7291 training images (the last ``n_valid`` held out
    for validation) and 2007 test images, 16×16, in [0, 1]."""
    import h5py

    dirs = candidate_dirs(data_dir, "usps")
    path = next((d / "usps.h5" for d in dirs if (d / "usps.h5").is_file()), None)
    if path is None:
        where = ", ".join(str(d) for d in dirs)
        raise DataError(f"usps.h5 not found (looked in {where}): put it in one of these "
                        "folders or pass --data-dir")
    try:
        with h5py.File(path, "r") as f:
            x, y = f["train/data"][:], f["train/target"][:]
            x_test, y_test = f["test/data"][:], f["test/target"][:]
    except (OSError, KeyError) as err:
        raise DataError(f"{path}: not a readable USPS file ({err})") from err
    x, x_test = x.astype(np.float32), x_test.astype(np.float32)
    y, y_test = y.astype(np.int64), y_test.astype(np.int64)
    cut = len(x) - n_valid
    return Dataset("usps", x[:cut], y[:cut], x[cut:], y[cut:], x_test, y_test,
                   image_shape=(16, 16))


def load_digits() -> Dataset:
    """scikit-learn's bundled 8×8 digits (1797 images), in [0, 1]; works offline.

    Split 1197 / 300 / 300 (train / validation / test) after a fixed shuffle.
    """
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return Dataset("digits", x[:1197], y[:1197], x[1197:1497], y[1197:1497],
                   x[1497:], y[1497:], image_shape=(8, 8))


def split_arrays(
    name: str,
    x: np.ndarray,
    y: np.ndarray | None,
    valid_fraction: float,
    seed: int = 0,
    image_shape: tuple[int, int] | None = None,
) -> Dataset:
    """A Dataset from one array, holding out a random ``valid_fraction`` for validation
    (the last rows of an array on disk: drawing rows at random would read it all)."""
    if not 0 <= valid_fraction < 1:
        raise DataError(f"validation fraction must be in [0, 1), got {valid_fraction}")
    if y is not None and len(y) != len(x):
        raise DataError(f"{name}: {len(y)} labels for {len(x)} examples: they must match")
    n_valid = round(valid_fraction * len(x))
    if n_valid >= len(x):
        raise DataError(f"{name}: too few examples ({len(x)}) to hold out a validation set")
    if isinstance(x, np.memmap):
        cut = len(x) - n_valid
        return Dataset(name, x[:cut], None if y is None else y[:cut],
                       x[cut:] if n_valid else None, None if y is None or not n_valid
                       else y[cut:], image_shape=image_shape)
    order = np.random.default_rng(seed).permutation(len(x))
    train, valid = order[n_valid:], order[:n_valid]

    def take(a, idx):
        return None if a is None or len(idx) == 0 else a[idx]

    return Dataset(name, x[train], take(y, train), take(x, valid), take(y, valid),
                   image_shape=image_shape)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    valid_fraction: float = 0.1,
    download: bool = True,
    seed: int = 0,
    stream: bool = False,
    label_column: str | None = None,
) -> Dataset:
    """``mnist``, ``mnist-small`` (the subset shipped in the package), ``usps``, ``digits``,
    ``auto`` (full MNIST when on disk, else the shipped subset ``mnist-small``) or a path
    (with ``stream``, a ``.npy`` file left on disk, memory-mapped; with ``label_column``,
    a CSV table's column of labels)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    if stream and name in (*NAMED, "auto"):
        raise DataError(f"--stream reads a .npy file from disk, and {name} is a named data set "
                        "that fits in memory: leave out --stream")
    if label_column is not None and name in (*NAMED, "auto"):
        raise DataError(f"--label-column names a column of a CSV table, and {name} is a "
                        "named data set with its own labels: leave it out")
    if name == "mnist":
        return load_mnist(data_dir, download=download)
    if name == "mnist-small":
        return load_mnist_small()
    if name == "digits":
        return load_digits()
    if name == "usps":
        return load_usps(data_dir)
    if name == "auto":
        return load_mnist(data_dir, download=False) if find_mnist(data_dir) else load_mnist_small()
    path = Path(name)
    if not path.exists():
        raise DataError(f"{name}: no such file or folder, and not one of {', '.join(NAMED)}")
    x, y, shape = load_array(path, stream=stream, label_column=label_column)
    return split_arrays(path.stem, x, y, valid_fraction, seed, shape)


def load_all_rows(name: str, data_dir: str | os.PathLike | None = None, *,
                  download: bool = True, label_column: str | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int] | None]:
    """Every row of a data set, its splits joined (clustering has no use for a test set:
    DEC and its successors cluster all 70 000 MNIST images): ``(x, y, image_shape)`` as
    :func:`~sdae.io.data.files.load_array` gives them, for a named set or a path."""
    if name not in (*NAMED, "auto"):
        path = Path(name)
        if not path.exists():
            raise DataError(f"{name}: no such file or folder, and not one of "
                            f"{', '.join(NAMED)}")
        return load_array(path, label_column=label_column)
    data = load_dataset(name, data_dir, download=download, label_column=label_column)
    parts = [(data.x_train, data.y_train), (data.x_valid, data.y_valid),
             (data.x_test, data.y_test)]
    parts = [(x, y) for x, y in parts if x is not None and len(x)]
    x = np.concatenate([p[0] for p in parts])
    y = (np.concatenate([p[1] for p in parts]) if all(p[1] is not None for p in parts)
         else None)
    return x, y, data.image_shape
