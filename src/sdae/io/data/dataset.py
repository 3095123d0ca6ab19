"""A data set split into training, validation and test arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Dataset:
    """Arrays of one data set; ``x_*`` are (n, d) float32, ``y_*`` int64 labels or None."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray | None = None
    x_valid: np.ndarray | None = None
    y_valid: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def subset(self, n_train: int | None = None, n_eval: int | None = None) -> Dataset:
        """The first ``n_train`` training and ``n_eval`` validation / test examples."""
        def cut(a, n):
            return a if a is None or n is None else a[:n]

        return Dataset(
            self.name,
            cut(self.x_train, n_train), cut(self.y_train, n_train),
            cut(self.x_valid, n_eval), cut(self.y_valid, n_eval),
            cut(self.x_test, n_eval), cut(self.y_test, n_eval),
            self.image_shape,
        )

    def describe(self) -> str:
        parts = [f"{len(self.x_train)} train"]
        if self.x_valid is not None:
            parts.append(f"{len(self.x_valid)} valid")
        if self.x_test is not None:
            parts.append(f"{len(self.x_test)} test")
        return f"{self.name} ({', '.join(parts)}; {self.n_features} features)"
