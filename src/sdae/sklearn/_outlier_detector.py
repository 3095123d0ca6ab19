"""An ensemble of denoising autoencoders as a scikit-learn outlier detector."""

from __future__ import annotations

import os
from numbers import Real
from pathlib import Path
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.corruption import CORRUPTIONS
from ..errors import ModelFileError
from ..models import load_model, save_model
from ..tasks.outliers import (
    COMPONENTS,
    DetectorSettings,
    OutlierDetector,
    fit_detector,
    outlier_scores,
    outlier_threshold,
    saved_threshold,
)
from ._base import (
    DTYPES,
    POSITIVE_INT,
    file_record,
    fit_seed,
    keep_params,
    restore_feature_names,
)


class DAEOutlierDetector(OutlierMixin, BaseEstimator):
    """Unsupervised outlier detection with an ensemble of denoising autoencoders.

    ``fit`` trains ``n_models`` DAEs, each of a random width and noise level on its own
    random subsample of ``max_samples`` rows of ``X`` (which may contain outliers; no
    labels). A row is abnormal when the ensemble reconstructs it badly (it lies off the
    manifold the DAEs learned) and when its code has few training codes near it (it lies on
    a rarely visited part of it): see :mod:`sdae.tasks.outliers`. The conventions are
    scikit-learn's, as in :class:`~sklearn.ensemble.IsolationForest`.

    Parameters
    ----------
    n_models : int, default=20
        DAEs in the ensemble.
    max_samples : int, default=256
        Rows each DAE is trained on (all of them when ``X`` has fewer). Small subsamples
        hold few outliers each, so no DAE learns to reconstruct them.
    noise_range : (float, float), default=(0.1, 0.5)
        The noise level of each DAE is drawn uniformly in this range (σ for Gaussian
        noise, on standardised features).
    width_range : (float, float), default=(0.5, 2.0)
        Hidden units per input feature of each DAE, drawn log-uniformly in this range.
    corruption : {"gaussian", "masking", "salt_and_pepper", ...}, default="gaussian"
        The DAEs' corruption process.
    components : tuple of {"error", "density"}, default=("error", "density")
        What the score averages: the reconstruction error, and the distance of a row's code
        to its nearest training codes.
    updates : int, default=1000
        Adam steps per DAE, whatever the size of ``X``.
    contamination : "auto" or float in (0, 0.5], default="auto"
        The share of outliers expected in ``X``: ``offset_`` is the score of that quantile
        of the training rows. "auto": Tukey's rule, the rows whose outlier score lies more
        than 1.5 interquartile ranges above the upper quartile of the training scores.
    random_state : int, RandomState or None, default=None
        Seeds the widths, noise levels, subsamples, initial weights and noise.
    device : str, default="cpu"
        Where the DAEs are trained.

    Attributes
    ----------
    model_ : sdae.tasks.outliers.OutlierDetector
        The fitted ensemble (a PyTorch module with its reference statistics as buffers).
    offset_ : float
        ``decision_function = score_samples - offset_``; negative for the outliers.
    n_features_in_ : int
        The number of features ``fit`` saw.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(300, 4)), rng.normal(6, 1, size=(5, 4))]
    >>> detector = DAEOutlierDetector(random_state=0).fit(X)
    >>> bool(detector.predict(X)[-5:].mean() < 0)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_models": [POSITIVE_INT],
        "max_samples": [POSITIVE_INT],
        "noise_range": ["array-like"],
        "width_range": ["array-like"],
        "corruption": [StrOptions(set(CORRUPTIONS) - {"none"})],
        "components": ["array-like"],
        "updates": [POSITIVE_INT],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
        "device": [str],
    }

    def __init__(self, n_models=20, *, max_samples=256, noise_range=(0.1, 0.5),
                 width_range=(0.5, 2.0), corruption="gaussian",
                 components=COMPONENTS, updates=1000, contamination="auto",
                 random_state=None, device="cpu"):
        keep_params(self, locals())

    def _settings(self) -> DetectorSettings:
        return DetectorSettings(
            n_models=self.n_models, max_samples=self.max_samples,
            noise_range=self.noise_range, width_range=self.width_range,
            corruption=self.corruption, components=tuple(self.components),
            updates=self.updates)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the ensemble on ``X`` and set ``offset_`` from its training scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows that may contain outliers; no labels.
        y : None
            Ignored.

        Returns
        -------
        self : DAEOutlierDetector
        """
        X = validate_data(self, X, dtype=DTYPES, ensure_min_samples=2)
        self.model_, training_scores = fit_detector(X, self._settings(),
                                                    fit_seed(self.random_state), self.device)
        self.offset_ = -outlier_threshold(training_scores, self.contamination)
        return self

    def score_samples(self, X):
        """Minus the outlier score of each row: the lower, the more abnormal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=DTYPES, reset=False)
        return -outlier_scores(self.model_, X)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for the rows taken for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """-1 for an outlier, +1 for an inlier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted detector (ensemble, statistics, parameters and ``offset_``) to
        a ``.safetensors`` file that ``load`` and ``sdae detect`` read."""
        check_is_fitted(self)
        return save_model(self.model_, path, extra=file_record(
            self, threshold=-self.offset_, contamination=self.contamination))

    @classmethod
    def load(cls, path: str | os.PathLike) -> DAEOutlierDetector:
        """A fitted detector from a file written by ``save`` or ``sdae detect --save``."""
        model, header = load_model(path, with_header=True)
        if not isinstance(model, OutlierDetector):
            raise ModelFileError(f"{path} is a {header['kind']} model, not an outlier "
                                 "detector: fit one with DAEOutlierDetector or 'sdae detect'")
        extra = header.get("extra") or {}
        settings = model.config.settings
        params = {"n_models": settings.n_models, "max_samples": settings.max_samples,
                  "noise_range": settings.noise_range, "width_range": settings.width_range,
                  "corruption": settings.corruption, "components": settings.components,
                  "updates": settings.updates,
                  "contamination": extra.get("contamination", "auto")}
        estimator = cls(**params)
        estimator.model_ = model
        estimator.n_features_in_ = model.config.n_features
        estimator.offset_ = -saved_threshold(extra, path)
        restore_feature_names(estimator, extra)
        return estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

