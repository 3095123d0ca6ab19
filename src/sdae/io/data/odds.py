"""The ODDS outlier-detection sets (Rayana 2016) of PyOD's published benchmark, as MATLAB
files with ``X`` (rows × features) and ``y`` (1 = outlier), and PyOD's table of ROC-AUC."""

from __future__ import annotations

import csv
import os

import numpy as np

from ...errors import DataError
from .registry import find_folder

ODDS_SETS = ("arrhythmia", "cardio", "glass", "ionosphere", "letter", "lympho", "mnist",
             "musk", "optdigits", "pendigits", "pima", "satellite", "satimage-2", "shuttle",
             "vertebral", "vowels", "wbc")


def load_odds(name: str, data_dir: str | os.PathLike | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (float64, (n, d)) and ``y`` (int, (n,), 1 for an outlier) of the ODDS set
    ``name``, from ``odds/NAME.mat``."""
    from scipy.io import loadmat

    path = find_folder("odds", data_dir) / f"{name}.mat"
    if not path.is_file():
        raise DataError(f"{path}: no such ODDS set (the sets are {', '.join(ODDS_SETS)})")
    try:
        mat = loadmat(path)
        X, y = np.asarray(mat["X"], dtype=np.float64), np.asarray(mat["y"]).ravel()
    except (ValueError, KeyError, OSError) as err:
        raise DataError(f"{path}: not an ODDS .mat file with X and y ({err})") from None
    return X, y.astype(int)


def published_roc(data_dir: str | os.PathLike | None = None) -> dict[str, dict[str, float]]:
    """PyOD's published ROC-AUC (one split), ``{set: {detector: value}}``; a detector that
    did not run there (0.0 in the file) is left out."""
    path = find_folder("odds", data_dir) / "pyod_roc.csv"
    try:
        rows = list(csv.DictReader(path.open()))
    except OSError as err:
        raise DataError(f"{path}: cannot read PyOD's table ({err.strerror})") from None
    table = {}
    for row in rows:
        name = row.pop("Data")
        table[name] = {k.strip(): float(v) for k, v in row.items()
                       if not k.startswith(("#", " #", "Outlier")) and float(v) > 0}
    return table
