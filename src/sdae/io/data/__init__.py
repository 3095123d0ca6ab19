"""Data sets: MNIST (IDX files, downloaded and verified), the bundled digits, users' files."""

from .dataset import Dataset
from .files import load_array
from .idx import read_idx, write_idx
from .mnist import load_mnist
from .registry import load_all_rows, load_dataset

__all__ = ["Dataset", "load_all_rows", "load_array", "load_dataset", "load_mnist", "read_idx",
           "write_idx"]
