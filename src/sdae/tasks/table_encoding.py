"""How a table with missing entries becomes the network's input: numeric columns scaled to
[0, 1], categorical ones one-hot encoded, fitted on the observed values (the encoding of
:mod:`sdae.tasks.imputation`).

Shapes: a table X is (n, p) with p original columns; its encoding is (n, m), m = number of
numeric columns + the sum of the categories of the categorical ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError


@dataclass
class TableEncoding:
    """How the p columns of a table map to the m inputs of the network (fitted on data)."""

    n_columns: int
    numeric: np.ndarray  # indices of the numeric columns
    low: np.ndarray  # their observed minimum...
    span: np.ndarray  # ...and range (1 where a column is constant)
    categorical: list[int]  # indices of the categorical columns
    categories: list[np.ndarray]  # the observed categories of each, sorted

    @classmethod
    def fit(cls, X: np.ndarray, categorical: Sequence[int] = ()) -> TableEncoding:
        """``X``: an (n, p) array, float with NaN, or object (categorical columns any
        hashable values, None or NaN for missing)."""
        categorical = sorted(int(j) for j in categorical)
        numeric = np.array([j for j in range(X.shape[1]) if j not in categorical], dtype=int)
        values = _numeric_block(X, numeric)
        categories = [np.array(sorted({v for v in X[:, j] if not _missing(v)}, key=str),
                               dtype=object) for j in categorical]
        never = [*numeric[np.isnan(values).all(axis=0)],
                 *(j for j, seen in zip(categorical, categories, strict=True) if not len(seen))]
        if never:
            raise DataError(f"column {min(never)} of X has no observed values, so there is "
                            "nothing to impute it from: drop it")
        low = np.nanmin(values, axis=0)
        span = np.nanmax(values, axis=0) - low
        span = np.where(span > 0, span, 1.0)
        return cls(X.shape[1], numeric, low, span, categorical, categories)

    @property
    def width(self) -> int:
        """m, the number of network inputs."""
        return len(self.numeric) + sum(len(c) for c in self.categories)

    @property
    def feature_of_input(self) -> np.ndarray:
        """For each of the m inputs, the original column it belongs to; (m,)."""
        blocks = [self.numeric] + [np.full(len(c), j) for j, c in
                                   zip(self.categorical, self.categories, strict=True)]
        return np.concatenate(blocks).astype(int)

    def encode(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, observed): the (n, m) float32 network input, 0 where missing, and the (n, p)
        boolean mask of observed entries."""
        if X.shape[1] != self.n_columns:
            raise DataError(f"X has {X.shape[1]} columns but the imputer was fitted on "
                            f"{self.n_columns}")
        n = len(X)
        observed = np.ones((n, self.n_columns), dtype=bool)
        values = _numeric_block(X, self.numeric)
        observed[:, self.numeric] = ~np.isnan(values)
        scaled = np.nan_to_num((values - self.low) / self.span, nan=0.0)
        blocks = [scaled.astype(np.float32)]
        for j, cats in zip(self.categorical, self.categories, strict=True):
            column = X[:, j]
            observed[:, j] = [not _missing(v) for v in column]
            index = {c: k for k, c in enumerate(cats)}
            onehot = np.zeros((n, len(cats)), dtype=np.float32)
            for i, v in enumerate(column):
                if observed[i, j] and v in index:
                    onehot[i, index[v]] = 1.0
            blocks.append(onehot)
        return np.concatenate(blocks, axis=1), observed

    def decode(self, logits: np.ndarray, X: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """``X`` with its missing entries replaced by the reconstruction ``logits``."""
        out = X.copy()
        k = len(self.numeric)
        numeric = self.low + self.span / (1 + np.exp(-logits[:, :k].astype(np.float64)))
        block = out[:, self.numeric]
        missing = ~observed[:, self.numeric]
        block[missing] = numeric[missing]
        out[:, self.numeric] = block
        for j, cats in zip(self.categorical, self.categories, strict=True):
            chosen = cats[logits[:, k:k + len(cats)].argmax(1)] if len(cats) else None
            for i in np.flatnonzero(~observed[:, j]):
                out[i, j] = chosen[i] if chosen is not None else None
            k += len(cats)
        return out


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is np.nan


def _numeric_block(X: np.ndarray, columns: np.ndarray) -> np.ndarray:
    try:
        return X[:, columns].astype(np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"a column not declared categorical holds non-numbers ({err}): name "
                        "it in categorical_features") from None


def category_targets(encoding: TableEncoding, x: np.ndarray) -> np.ndarray:
    """(n, n_categorical) index of each row's category in the one-hot blocks (-1 missing)."""
    targets = np.full((len(x), len(encoding.categorical)), -1, dtype=np.int64)
    k = len(encoding.numeric)
    for c, cats in enumerate(encoding.categories):
        block = x[:, k:k + len(cats)]
        has = block.sum(1) > 0
        targets[has, c] = block[has].argmax(1)
        k += len(cats)
    return targets
