"""Clustering on the codes of a stacked DAE as a scikit-learn clusterer."""

from __future__ import annotations

import copy
import os
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.training import PRECISIONS, batched
from ..errors import ModelFileError
from ..models import load_model, save_model
from ..tasks.clustering import (
    INITS,
    METHODS,
    UNITS,
    ClusteringModel,
    ClusteringSettings,
    check_clustering_data,
    fit_clustering,
)
from ._base import (
    DTYPES,
    NON_NEGATIVE_REAL,
    POSITIVE_INT,
    POSITIVE_REAL,
    file_record,
    fit_seed,
    jsonable_params,
    keep_params,
    restore_feature_names,
)

NON_NEGATIVE_INT = Interval(Integral, 0, None, closed="left")
# the parameters that are ClusteringSettings fields
SETTINGS = ("hidden_sizes", "activation", "noise_level", "pretrain_epochs", "finetune_epochs",
            "batch_size", "lr", "alpha", "update_interval", "tol", "gamma", "self_training_steps",
            "self_training_lr", "init", "moves", "finetune_moves", "precision")


class SDAEClustering(ClusterMixin, TransformerMixin, BaseEstimator):
    """Clusters rows without labels on the codes of a stacked denoising autoencoder.

    DEC's recipe on the library's stack (:mod:`sdae.tasks.clustering`): the layers are
    pre-trained greedily as DAEs with masking noise, fine-tuned together as a deep
    autoencoder, and the codes are clustered; ``dec`` and ``idec`` then refine the encoder
    and the centres together by self-training.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    method : {"auto", "kmeans", "gmm", "umap-gmm", "dec", "idec"}, default="auto"
        How the codes are clustered. ``kmeans`` and ``gmm`` (a Gaussian mixture) on the
        codes; ``umap-gmm`` embeds the codes with UMAP first (N2D; needs ``umap-learn``);
        ``dec`` refines k-means' centres by DEC's self-training, ``idec`` keeps the
        reconstruction loss while it does. ``auto``: ``umap-gmm`` when umap-learn is
        installed, else ``idec`` (the two best measured on MNIST and USPS).
    hidden_sizes : sequence of int, default=(500, 500, 2000, 10)
        The layers, bottom first (DEC's); the last is the code, linear.
    activation : {"sigmoid", "relu"}, default="sigmoid"
        The units of the other layers: sigmoid, as the SdA papers', or ReLU, as DEC's
        (their mirrored decoders are ReLU too). On MNIST the two gave codes that k-means
        clusters alike (docs/clustering.md).
    noise_level : float, default=0.2
        The masking noise each layer is pre-trained with, in [0, 1).
    pretrain_epochs : int, default=25
        Epochs of pre-training per layer (0: none).
    finetune_epochs : int, default=40
        Epochs of fine-tuning the deep autoencoder (0: none).
    batch_size : int, default=256
        Rows per update, clipped to the number of rows.
    lr : float, default=1e-3
        Adam's learning rate for pre-training and fine-tuning.
    alpha : float, default=1.0
        Degrees of freedom of the Student-t kernel of the soft assignment.
    update_interval : int or None, default=None
        Steps between two updates of DEC's target distribution; None: once per epoch, but
        at least every 140 steps (IDEC's 140 on MNIST; on USPS it gives 36, near IDEC's
        30).
    tol : float, default=0.001
        Self-training stops when fewer than this share of the assignments changed between
        two updates.
    gamma : float, default=0.1
        The weight of IDEC's clustering loss beside its reconstruction loss.
    self_training_steps : int, default=20000
        The most steps of self-training (DEC's and IDEC's code stop at 20 000), rounded up
        to whole epochs.
    self_training_lr : float, default=1e-3
        Adam's learning rate for self-training.
    init : {"kmeans", "umap-gmm"}, default="kmeans"
        Where ``dec`` and ``idec`` start: k-means on the codes (theirs), or the mean code
        of each cluster UMAP+GMM finds (needs ``umap-learn``). Self-training does not undo
        the clusters a start merged; on USPS, IDEC from ``umap-gmm`` reached 89.9% ACC,
        from k-means 75.0% (README).
    moves : float, default=0.0
        For ``dec`` and ``idec`` on rows that are square images: self-training encodes
        each batch shifted by up to this fraction of the side and turned by up to
        ``100 * moves`` degrees, while the target comes from the images as they are
        (DEC-DA's augmentation; 0.1 is theirs). 0: DEC's and IDEC's own self-training.
        The assignments then keep changing a little, so it usually runs all of
        ``self_training_steps``.
    finetune_moves : float, default=0.0
        For rows that are square images: the stack's fine-tuning reconstructs images
        moved in the same way, each batch drawn afresh, as DEC-DA trains its
        autoencoder. On MNIST it raised k-means on the codes by 2 points on average over 3
        seeds (not on every seed); on USPS it changed nothing (docs/clustering.md). 0:
        fine-tuning on the rows as they are.
    precision : {"fp32", "bf16", "tf32"}, default="fp32"
        The matrix products of the stack's training: ``bf16`` (autocast) is several times
        as fast on CPUs with AMX and on GPUs; ``tf32`` exists on CUDA GPUs only.
        Self-training is always in float32.
    random_state : int, RandomState or None, default=None
        Seeds the weights, the noise, the batches and the clustering.
    device : str, default="cpu"
        "cpu", "cuda" or "cuda:N".
    verbose : bool, default=False
        Show a progress bar per training phase.

    Attributes
    ----------
    model_ : sdae.tasks.clustering.ClusteringModel
        The encoder and the centres, a PyTorch module.
    labels_ : ndarray of shape (n_samples,)
        The cluster of each training row, as the method found it.
    cluster_centers_ : ndarray of shape (n_clusters, hidden_sizes[-1])
        The centres in code space; ``predict`` assigns a row to the nearest.
    method_ : str
        The method used (``auto`` resolved).
    record_ : dict
        Seconds and training histories of each phase.
    n_features_in_ : int
        The number of features ``fit`` saw.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(300, n_features=5, centers=3, random_state=0)
    >>> clustering = SDAEClustering(3, method="kmeans", hidden_sizes=(16, 2),
    ...                             pretrain_epochs=5, finetune_epochs=10, random_state=0)
    >>> clustering.fit_predict(X).shape
    (300,)
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [POSITIVE_INT],
        "method": [StrOptions({"auto", *METHODS})],
        "hidden_sizes": ["array-like"],
        "activation": [StrOptions(set(UNITS))],
        "noise_level": [Interval(Real, 0, 1, closed="left")],
        "pretrain_epochs": [NON_NEGATIVE_INT],
        "finetune_epochs": [NON_NEGATIVE_INT],
        "batch_size": [POSITIVE_INT],
        "lr": [POSITIVE_REAL],
        "alpha": [POSITIVE_REAL],
        "update_interval": [POSITIVE_INT, None],
        "tol": [Interval(Real, 0, 1, closed="left")],
        "gamma": [NON_NEGATIVE_REAL],
        "self_training_steps": [NON_NEGATIVE_INT],
        "self_training_lr": [POSITIVE_REAL],
        "init": [StrOptions(set(INITS))],
        "moves": [Interval(Real, 0, 0.5, closed="both")],
        "finetune_moves": [Interval(Real, 0, 0.5, closed="both")],
        "precision": [StrOptions(set(PRECISIONS))],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(self, n_clusters=8, *, method="auto", hidden_sizes=(500, 500, 2000, 10),
                 activation="sigmoid", noise_level=0.2, pretrain_epochs=25, finetune_epochs=40,
                 batch_size=256, lr=1e-3, alpha=1.0, update_interval=None, tol=0.001, gamma=0.1,
                 self_training_steps=20_000, self_training_lr=1e-3, init="kmeans",
                 moves=0.0, finetune_moves=0.0, precision="fp32", random_state=None,
                 device="cpu", verbose=False):
        keep_params(self, locals())

    def _settings(self) -> ClusteringSettings:
        return ClusteringSettings(**{name: getattr(self, name) for name in SETTINGS})

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the stack on ``X`` and cluster its rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to cluster; in [0, 1] they are reconstructed with cross-entropy,
            otherwise with squared error.
        y : None
            Ignored.

        Returns
        -------
        self : SDAEClustering
        """
        X = validate_data(self, X, dtype=DTYPES)
        check_clustering_data(X, self.n_clusters)
        result = fit_clustering(X, self.n_clusters, self.method, self._settings(),
                                fit_seed(self.random_state), self.device,
                                progress=bool(self.verbose))
        self._set_fitted(result.model)
        self.labels_, self.method_, self.record_ = result.labels, result.method, result.record
        return self

    def _set_fitted(self, model: ClusteringModel) -> None:
        self.model_ = model.eval()
        self.n_features_in_ = model.n_visible
        self.cluster_centers_ = model.centers.detach().numpy().astype(np.float64)

    def _codes(self, X, fn: str) -> np.ndarray:
        """``model_.fn`` of ``X`` in the dtype of ``X`` (float64 input through a float64
        copy of the model: the answer for a row then does not depend on its batch)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=DTYPES, reset=False)
        model = self.model_ if X.dtype == np.float32 else copy.deepcopy(self.model_).double()
        return batched(getattr(model, fn), torch.tensor(X)).numpy()

    def predict(self, X):
        """The nearest centre of each row's code (the most likely cluster under the
        Student-t soft assignment).

        For ``kmeans``, ``dec`` and ``idec`` this is the rule that made ``labels_``; for
        the Gaussian mixtures, whose clusters are not balls, it agrees with ``labels_`` on
        most rows, not all (``record_["nearest_centre_agrees"]`` says how many).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._codes(X, "predict").astype(np.int64)

    def transform(self, X):
        """The code of each row (the top layer of the stack).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        codes : ndarray of shape (n_samples, hidden_sizes[-1])
            In the dtype of ``X`` (float32 or float64).
        """
        return self._codes(X, "encode")

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model (encoder, centres and these parameters) to a
        ``.safetensors`` file that ``load`` and ``sdae cluster`` read."""
        check_is_fitted(self)
        params = jsonable_params({k: v for k, v in self.get_params().items()
                                  if k != "random_state"})
        return save_model(self.model_, path,
                          extra=file_record(self, params=params, method=self.method_))

    @classmethod
    def load(cls, path: str | os.PathLike) -> SDAEClustering:
        """A fitted clusterer from a file written by ``save`` or by ``sdae cluster`` (its
        ``OUT/model.safetensors``; ``labels_`` and ``record_`` belong to the fit, and are
        not in the file)."""
        model, header = load_model(path, with_header=True)
        if not isinstance(model, ClusteringModel):
            raise ModelFileError(f"{path} is a {header['kind']} model, not a clustering: fit "
                                 "one with SDAEClustering or 'sdae cluster'")
        extra = header.get("extra") or {}
        names = cls._get_param_names()
        params = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in extra.get("params", {}).items() if k in names}
        estimator = cls(**{**params, "n_clusters": model.n_clusters})
        estimator._set_fitted(model)
        estimator.method_ = extra.get("method", estimator.method)
        restore_feature_names(estimator, extra)
        return estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
