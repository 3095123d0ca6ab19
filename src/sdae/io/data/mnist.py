"""MNIST: found on disk, or downloaded from public mirrors and verified.

Search order: an explicit ``data_dir`` (the folder itself or its ``mnist/`` subfolder),
then ``$SDAE_DATA_DIR/mnist``, then the per-user cache (``$XDG_CACHE_HOME/sdae/mnist``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import DataError, DownloadError
from .dataset import Dataset
from .download import download_verified
from .idx import read_idx

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# sha256 of the *uncompressed* IDX files.
FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

N_TRAIN = 50_000  # the rest of the 60 000 training images is the validation set


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sdae"


def candidate_dirs(data_dir: str | os.PathLike | None = None, name: str = "mnist") -> list[Path]:
    """Folders searched for the files of data set ``name``, in order."""
    dirs = []
    if data_dir is not None:
        dirs += [Path(data_dir), Path(data_dir) / name]
    if os.environ.get("SDAE_DATA_DIR"):
        dirs.append(Path(os.environ["SDAE_DATA_DIR"]) / name)
    dirs.append(cache_dir() / name)
    return dirs


def _find(stem: str, dirs: Sequence[Path]) -> Path | None:
    for folder in dirs:
        for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
            if (folder / name).is_file():
                return folder / name
    return None


def find_mnist(data_dir: str | os.PathLike | None = None) -> dict[str, Path] | None:
    """Paths of the four MNIST files when all are on disk, else None."""
    dirs = candidate_dirs(data_dir)
    found = {stem: _find(stem, dirs) for stem in FILES}
    return None if None in found.values() else found


def download_mnist(
    destination: str | os.PathLike | None = None, mirrors: Sequence[str] | None = None
) -> dict[str, Path]:
    """Download the missing MNIST files into ``destination`` (default: the user cache).

    ``mirrors`` default to ``$SDAE_MNIST_MIRRORS`` (URLs separated by spaces: a mirror of
    your own), then the public ones. Every file is checked against its SHA-256.
    """
    if mirrors is None:
        mirrors = os.environ.get("SDAE_MNIST_MIRRORS", "").split() or MIRRORS
    destination = Path(destination) if destination is not None else cache_dir() / "mnist"
    paths = {}
    for stem, sha256 in FILES.items():
        existing = _find(stem, [destination])
        paths[stem] = existing or download_verified(stem + ".gz", mirrors, sha256, destination)
    return paths


def load_mnist(
    data_dir: str | os.PathLike | None = None, *, download: bool = True
) -> Dataset:
    """MNIST with the standard split: 50 000 train, 10 000 validation, 10 000 test.

    Pixels are scaled to [0, 1] (float32), images flattened to 784 components.
    """
    paths = find_mnist(data_dir)
    if paths is None:
        if not download:
            raise DataError(_missing_message(data_dir))
        try:
            paths = download_mnist()
        except DownloadError as err:
            raise DataError(f"{err}. {_missing_message(data_dir)}") from err
    images = read_idx(paths["train-images-idx3-ubyte"])
    labels = read_idx(paths["train-labels-idx1-ubyte"])
    test_images = read_idx(paths["t10k-images-idx3-ubyte"])
    test_labels = read_idx(paths["t10k-labels-idx1-ubyte"])
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataError(f"{paths['train-images-idx3-ubyte']}: not the MNIST training set")

    def scale(a: np.ndarray) -> np.ndarray:
        return (a.reshape(len(a), -1) / np.float32(255)).astype(np.float32)

    x, y = scale(images), labels.astype(np.int64)
    return Dataset(
        name="mnist",
        x_train=x[:N_TRAIN], y_train=y[:N_TRAIN],
        x_valid=x[N_TRAIN:], y_valid=y[N_TRAIN:],
        x_test=scale(test_images), y_test=test_labels.astype(np.int64),
        image_shape=(28, 28),
    )


def _missing_message(data_dir) -> str:
    where = ", ".join(str(d) for d in candidate_dirs(data_dir))
    names = ", ".join(f"{s}.gz" for s in FILES)
    return (f"MNIST not found (looked in {where}): put {names} in one of these folders "
            "or pass --data-dir")


SHIPPED = Path(__file__).parent / "shipped"


def load_mnist_small() -> Dataset:
    """The MNIST subset shipped in the package: 10 000 training and 2 000 test images (the
    first of each split), in [0, 1]; works offline. Its checksum is checked first."""
    import hashlib

    path = SHIPPED / "mnist-small.npz"
    try:
        raw = path.read_bytes()
        expected = (SHIPPED / "SHA256SUMS").read_text().split()[0]
    except OSError as err:
        raise DataError(f"{path}: the shipped MNIST subset is missing ({err.strerror}): "
                        "reinstall sdae") from None
    if hashlib.sha256(raw).hexdigest() != expected:
        raise DataError(f"{path} does not match its checksum: reinstall sdae")
    import io

    with np.load(io.BytesIO(raw)) as f:
        x, y, x_test, y_test = (f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    return Dataset("mnist-small", (x / 255.0).astype(np.float32), y.astype(np.int64),
                   x_test=(x_test / 255.0).astype(np.float32), y_test=y_test.astype(np.int64),
                   image_shape=(28, 28))
