"""One denoising autoencoder layer as a scikit-learn transformer."""

from __future__ import annotations

import copy
from typing import ClassVar

import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ..core.autoencoder import DenoisingAutoencoder
from ..core.training import reconstruction_error, train_autoencoder
from ..errors import ModelFileError
from ._base import (
    DTYPES,
    NON_NEGATIVE_REAL,
    POSITIVE_INT,
    TRAINING_CONSTRAINTS,
    AutoencoderEstimator,
    keep_params,
)


class DAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, AutoencoderEstimator):
    """One denoising autoencoder layer as a transformer: ``transform`` gives its code.

    ``fit`` trains a :class:`~sdae.core.autoencoder.DenoisingAutoencoder` to reconstruct
    ``X`` from a corrupted copy of it (Vincent et al. 2008); ``transform`` encodes clean
    data, ``inverse_transform`` decodes codes and ``score`` is minus the reconstruction
    error, so the noise level and the code size can be chosen by ``GridSearchCV``.

    Parameters
    ----------
    n_hidden : int, default=100
        Code size; may exceed the number of features (the noise prevents the identity).
    corruption : {"masking", "fixed_masking", "gaussian", "salt_and_pepper", "none"}, \
default="masking"
        The corruption process q_D applied to each training example.
    noise_level : float, default=0.25
        q or ν for masking and salt-and-pepper, σ for Gaussian noise.
    tied : bool, default=True
        Decoder weights W' = Wᵀ.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The encoder's nonlinearity.
    decoder : {"sigmoid", "linear", "relu"} or None, default=None
        None: sigmoid for data in [0, 1], linear otherwise (decided by ``fit``); relu for
        data >= 0 without an upper bound.
    loss : {"cross_entropy", "squared_error"} or None, default=None
        None: cross-entropy with a sigmoid decoder, squared error otherwise.
    optimizer : {"adam", "sgd"}, default="adam"
        The optimiser of the reconstruction loss.
    lr : float, default=1e-3
        Learning rate.
    momentum : float, default=0.0
        SGD momentum, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on the weights.
    epochs : int, default=50
        Passes over the training data.
    batch_size : int, default=32
        Examples per update, clipped to the number of samples.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, keep the parameters of the epoch of
        least validation reconstruction error and stop after ``patience`` epochs without
        improvement.
    validation_fraction : float, default=0.1
        The share of ``X`` held out with ``early_stopping``, in (0, 1).
    patience : int, default=10
        Epochs without improvement before stopping early.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the batch order and the noise (never the global torch
        generator).
    device : str, default="cpu"
        "cpu", "cuda" or "cuda:N".
    verbose : bool, default=False
        Show progress bars.

    Attributes
    ----------
    model_ : DenoisingAutoencoder
        The fitted PyTorch module.
    history_ : dict
        Per-epoch training (and validation) reconstruction error and timings; empty for an
        estimator made by ``load``.
    n_features_in_ : int
        The number of features ``fit`` saw, and ``transform`` expects.
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    See Also
    --------
    SDAETransformer : A stack of such layers, pre-trained greedily.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data / 16
    >>> dae = DAETransformer(n_hidden=32, epochs=5, random_state=0).fit(X)
    >>> dae.transform(X).shape
    (1797, 32)
    """

    _parameter_constraints: ClassVar[dict] = {
        **TRAINING_CONSTRAINTS,
        "n_hidden": [POSITIVE_INT],
        "noise_level": [NON_NEGATIVE_REAL],
    }

    def __init__(self, n_hidden=100, *, corruption="masking", noise_level=0.25, tied=True,
                 activation="sigmoid", decoder=None, loss=None, optimizer="adam", lr=1e-3,
                 momentum=0.0, weight_decay=0.0, epochs=50, batch_size=32,
                 early_stopping=False, validation_fraction=0.1, patience=10,
                 random_state=None, device="cpu", verbose=False):
        keep_params(self, locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder to reconstruct ``X`` from its corrupted copies.

        Every epoch draws new noise, so the network never sees the same corrupted example
        twice; with ``early_stopping`` the held-out examples are scored clean.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The examples to reconstruct, in [0, 1] for the cross-entropy loss.
        y : None
            Ignored: the examples are their own targets.

        Returns
        -------
        self : DAETransformer
            The fitted layer.
        """
        X = validate_data(self, X, dtype=DTYPES)
        seed, x, _, x_valid, _ = self._seed_and_split(X)
        model = DenoisingAutoencoder(
            X.shape[1], self.n_hidden, corruption=self.corruption, noise_level=self.noise_level,
            generator=torch.Generator().manual_seed(seed), **self._model_options(X))
        history = train_autoencoder(
            model, torch.tensor(x, dtype=torch.float32),
            self._train_config(seed, len(x), validated=x_valid is not None),
            x_valid=None if x_valid is None else torch.tensor(x_valid, dtype=torch.float32),
            keep_best=x_valid is not None, description="DAETransformer")
        self.model_ = model.cpu().eval()
        self.history_ = history.to_dict()
        return self

    def _check_model(self, model) -> None:
        if len(model.layers) != 1 or model.classifier is not None:
            raise ModelFileError("this file holds a stack: load it with SDAETransformer or "
                                 "SDAEClassifier")

    def _set_fitted(self, model) -> None:
        super()._set_fitted(model.layers[0])
        self.history_ = {}

    @property
    def _n_features_out(self) -> int:
        return self.model_.n_hidden

    def transform(self, X):
        """The code y = s(Wx + b) of clean ``X``.

        No noise: the corruption is for training only.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean examples to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_hidden)
            In the dtype of ``X`` (float32 or float64).
        """
        return self._apply("encode", X)

    def inverse_transform(self, X):
        """The reconstruction z = s(W'y + b') of codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_hidden)
            Codes, as ``transform`` gives them.

        Returns
        -------
        reconstruction : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        Y = check_array(X, dtype=DTYPES)
        if Y.shape[1] != self.model_.n_hidden:
            raise ValueError(f"X has {Y.shape[1]} features, but inverse_transform expects "
                             f"codes of {self.model_.n_hidden} features")
        return self._inference("decode", Y)

    def score(self, X, y=None) -> float:
        """Minus the mean reconstruction error of clean ``X`` (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean examples, scaled as for ``fit``.
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=DTYPES, reset=False)
        if self.model_.config.loss == "cross_entropy" and X.size and (X.min() < 0 or X.max() > 1):
            raise ValueError(f"X lies in [{X.min():.3g}, {X.max():.3g}] but this model's "
                             "cross-entropy is only defined for data in [0, 1]: scale X as "
                             "for fit (for example with MinMaxScaler(clip=True))")
        model = copy.deepcopy(self.model_).double()
        return -reconstruction_error(model, torch.tensor(X, dtype=torch.float64))
