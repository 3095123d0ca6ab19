"""scikit-learn estimators over the library: drop a DAE or a stack into a ``Pipeline``.

Each estimator is a thin layer: ``fit`` builds the PyTorch model of :mod:`sdae.autoencoder`
or :mod:`sdae.stacking` and trains it with the library's one training loop; the fitted
module is ``model_``. Input goes through scikit-learn's own validation; training runs in
float32, inference in the dtype of the input (float32 or float64), so ``transform`` keeps
the dtype it was given.
"""

from __future__ import annotations

import copy
import math
import os
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .core.autoencoder import DenoisingAutoencoder
from .core.stacking import StackedDenoisingAutoencoder, finetune, pretrain
from .core.training import TrainConfig, batched, reconstruction_error, train_autoencoder
from .errors import ConfigError, ModelFileError, check_int
from .models import load_autoencoder, save_model

__all__ = ["DAEImputer", "DAETransformer", "SDAEClassifier", "SDAETransformer"]

_DTYPES = (np.float64, np.float32)


class _Base(BaseEstimator):
    """Parameters and helpers shared by the estimators (see their docstrings)."""

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _train_config(self, seed: int, n: int, validated: bool, **overrides) -> TrainConfig:
        batch_size = check_int(self.batch_size, "batch_size")
        options = dict(epochs=self.epochs, batch_size=min(batch_size, n), lr=self.lr,
                       optimizer=self.optimizer, momentum=self.momentum,
                       weight_decay=self.weight_decay, seed=seed, device=self.device,
                       progress=bool(self.verbose),
                       patience=self.patience if validated else None)
        options.update(overrides)
        return TrainConfig(**options)

    def _model_options(self, x: np.ndarray) -> dict:
        """The model options; the decoder follows the data when not given: a sigmoid (with
        cross-entropy) for data in [0, 1], linear (with squared error) otherwise."""
        decoder = self.decoder
        if decoder is None:
            decoder = "sigmoid" if x.size and x.min() >= 0 and x.max() <= 1 else "linear"
        return dict(tied=self.tied, activation=self.activation, decoder=decoder, loss=self.loss)

    def _split(self, x: np.ndarray, y: np.ndarray | None, seed: int):
        """Hold out ``validation_fraction`` of the data when early stopping is on (and there
        are enough samples to spare some)."""
        if self.early_stopping and not 0 < self.validation_fraction < 1:
            raise ConfigError(f"validation_fraction must be in (0, 1), got "
                              f"{self.validation_fraction!r}")
        if not self.early_stopping or len(x) < 4:
            return x, y, None, None
        order = np.random.default_rng(seed).permutation(len(x))
        n_valid = max(1, round(self.validation_fraction * len(x)))
        valid, train = order[:n_valid], order[n_valid:]
        return (x[train], None if y is None else y[train],
                x[valid], None if y is None else y[valid])

    def _inference(self, fn_name: str, x: np.ndarray) -> np.ndarray:
        """Apply ``model_.fn_name`` in the dtype of ``x`` (a float64 copy of the model for
        float64 input), batch by batch, without gradients."""
        dtype = torch.float64 if x.dtype == np.float64 else torch.float32
        module = self.model_ if dtype == torch.float32 else copy.deepcopy(self.model_).double()
        out = batched(getattr(module, fn_name), torch.tensor(x, dtype=dtype))
        return out.numpy()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a ``.safetensors`` file the CLI and ``load`` read."""
        check_is_fitted(self)
        extra = {"estimator": type(self).__name__, "params": _jsonable(self.get_params())}
        if hasattr(self, "classes_"):
            extra["classes"] = self.classes_.tolist()
        if hasattr(self, "feature_names_in_"):
            extra["feature_names_in"] = self.feature_names_in_.tolist()
        return save_model(self.model_, path, extra=extra)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """An estimator fitted with the model in ``path`` (saved by ``save`` or the CLI)."""
        model, header = load_autoencoder(path, with_header=True)
        extra = header.get("extra", {})
        names = cls._get_param_names()
        params = {k: v for k, v in _params_of_file(model, extra).items() if k in names}
        estimator = cls(**params)
        estimator._set_fitted(model, extra)
        if "feature_names_in" in extra:
            estimator.feature_names_in_ = np.asarray(extra["feature_names_in"], dtype=object)
        return estimator


def _params_of_file(model, extra: dict) -> dict:
    """Estimator parameters that describe a model file: the saved ones when an estimator
    wrote it, else those its model config and (CLI) training record give."""
    if "params" in extra:
        return extra["params"]
    layers = model.config.layers if hasattr(model.config, "layers") else [model.config]
    first = layers[0]
    params = {"tied": first.tied, "activation": first.activation, "decoder": first.decoder,
              "loss": first.loss, "corruption": first.corruption,
              "noise_level": first.noise_level,
              "noise_levels": [layer.noise_level for layer in layers]}
    train = extra.get("train", {})
    params.update({k: train[k] for k in ("optimizer", "lr", "momentum", "weight_decay",
                                          "epochs", "batch_size") if k in train})
    return params


def _jsonable(params: dict) -> dict:
    """The JSON-storable parameters (numpy scalars as Python numbers, tuples as lists)."""
    out = {}
    for k, v in params.items():
        v = v.item() if isinstance(v, np.generic) else v
        v = np.asarray(v).tolist() if isinstance(v, (tuple, np.ndarray)) else v
        if v is None or isinstance(v, (bool, int, float, str, list)):
            out[k] = v
    return out


_COMMON_DOC = """
    corruption : {"masking", "fixed_masking", "gaussian", "salt_and_pepper", "none"}
        The corruption process q_D used while training the autoencoder(s).
    tied : bool, default=True
        Decoder weights W' = Wᵀ.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
    decoder : {"sigmoid", "linear"} or None, default=None
        None: sigmoid for data in [0, 1], linear otherwise (checked at fit).
    loss : {"cross_entropy", "squared_error"} or None, default=None
        None: cross-entropy with a sigmoid decoder, squared error otherwise.
    optimizer : {"adam", "sgd"}, default="adam"
    lr : float, default=1e-3
    momentum : float, default=0.0
        SGD momentum.
    weight_decay : float, default=0.0
        L2 penalty on the weights.
    epochs : int, default=50
    batch_size : int, default=32
        Clipped to the number of samples.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, keep the parameters of the best
        validation epoch and stop after ``patience`` epochs without improvement.
    validation_fraction : float, default=0.1
    patience : int, default=10
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the batch order and the noise (never the global torch
        generator).
    device : str, default="cpu"
        "cpu", "cuda" or "cuda:N".
    verbose : bool, default=False
        Show progress bars.
"""


class DAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _Base):
    __doc__ = """One denoising autoencoder layer as a transformer: ``transform`` gives its code.

    Parameters
    ----------
    n_hidden : int, default=100
        Code size; may exceed the number of features (the noise prevents the identity).
    noise_level : float, default=0.25
        q or ν for masking and salt-and-pepper, σ for Gaussian noise.""" + _COMMON_DOC + """
    Attributes
    ----------
    model_ : DenoisingAutoencoder
        The fitted PyTorch module.
    history_ : dict
        Per-epoch training (and validation) reconstruction error and timings.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data / 16
    >>> dae = DAETransformer(n_hidden=32, epochs=5, random_state=0).fit(X)
    >>> dae.transform(X).shape
    (1797, 32)
    """

    def __init__(self, n_hidden=100, *, corruption="masking", noise_level=0.25, tied=True,
                 activation="sigmoid", decoder=None, loss=None, optimizer="adam", lr=1e-3,
                 momentum=0.0, weight_decay=0.0, epochs=50, batch_size=32,
                 early_stopping=False, validation_fraction=0.1, patience=10,
                 random_state=None, device="cpu", verbose=False):
        self.n_hidden = n_hidden
        self.corruption = corruption
        self.noise_level = noise_level
        self.tied = tied
        self.activation = activation
        self.decoder = decoder
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=_DTYPES)
        seed = self._seed()
        x, _, x_valid, _ = self._split(X, None, seed)
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

    def _set_fitted(self, model, extra: dict) -> None:
        if not isinstance(model, DenoisingAutoencoder):
            raise ModelFileError("this file holds a stack: load it with SDAETransformer or "
                                 "SDAEClassifier")
        self.model_ = model.eval()
        self.n_hidden = model.n_hidden
        self.n_features_in_ = model.n_visible
        self.history_ = {}

    @property
    def _n_features_out(self) -> int:
        return self.model_.n_hidden

    def transform(self, X):
        """The code y = s(Wx + b) of clean ``X``, shape (n_samples, n_hidden)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_DTYPES, reset=False)
        return self._inference("encode", X)

    def inverse_transform(self, X):
        """The reconstruction z = s(W'y + b') from codes, shape (n_samples, n_features)."""
        check_is_fitted(self)
        Y = check_array(X, dtype=_DTYPES)
        if Y.shape[1] != self.model_.n_hidden:
            raise ValueError(f"X has {Y.shape[1]} features, but inverse_transform expects "
                             f"codes of {self.model_.n_hidden} features")
        return self._inference("decode", Y)

    def score(self, X, y=None) -> float:
        """Minus the mean reconstruction error of clean ``X`` (higher is better)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_DTYPES, reset=False)
        if self.model_.config.loss == "cross_entropy" and X.size and (X.min() < 0 or X.max() > 1):
            raise ValueError(f"X lies in [{X.min():.3g}, {X.max():.3g}] but this model's "
                             "cross-entropy is only defined for data in [0, 1]: scale X as "
                             "for fit (for example with MinMaxScaler(clip=True))")
        model = copy.deepcopy(self.model_).double()
        return -reconstruction_error(model, torch.tensor(X, dtype=torch.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class _StackBase(_Base):
    def _build_stack(self, X: np.ndarray, n_classes: int | None, seed: int):
        sizes = np.atleast_1d(self.hidden_sizes).tolist()  # an int is one layer
        levels = self.noise_levels
        levels = np.asarray(levels).tolist() if np.ndim(levels) else float(levels)
        return StackedDenoisingAutoencoder(
            X.shape[1], sizes, n_classes, corruption=self.corruption, noise_levels=levels,
            generator=torch.Generator().manual_seed(seed), **self._model_options(X))

    def _pretrain(self, stack, x, x_valid, seed: int) -> list[dict]:
        validated = x_valid is not None
        histories = pretrain(
            stack, torch.tensor(x, dtype=torch.float32),
            self._train_config(seed, len(x), validated),
            x_valid=torch.tensor(x_valid, dtype=torch.float32) if validated else None,
            keep_best=validated)
        return [h.to_dict() for h in histories]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


_STACK_DOC = """
    hidden_sizes : sequence of int, default=(100, 100)
        Width of each layer, bottom first.
    noise_levels : float or sequence of float, default=0.25
        One level for every layer, or one per layer."""


class SDAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _StackBase):
    __doc__ = """A stack of DAEs pre-trained greedily, layer by layer; ``transform`` gives the
    top layer's code.

    Parameters
    ----------""" + _STACK_DOC + _COMMON_DOC + """
    Attributes
    ----------
    model_ : StackedDenoisingAutoencoder
    history_ : list of dict
        One pre-training history per layer.
    n_features_in_ : int
    """

    def __init__(self, hidden_sizes=(100, 100), *, corruption="masking", noise_levels=0.25,
                 tied=True, activation="sigmoid", decoder=None, loss=None, optimizer="adam",
                 lr=1e-3, momentum=0.0, weight_decay=0.0, epochs=50, batch_size=32,
                 early_stopping=False, validation_fraction=0.1, patience=10,
                 random_state=None, device="cpu", verbose=False):
        self.hidden_sizes = hidden_sizes
        self.corruption = corruption
        self.noise_levels = noise_levels
        self.tied = tied
        self.activation = activation
        self.decoder = decoder
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=_DTYPES)
        seed = self._seed()
        x, _, x_valid, _ = self._split(X, None, seed)
        stack = self._build_stack(X, None, seed)
        self.history_ = self._pretrain(stack, x, x_valid, seed)
        self.model_ = stack.cpu().eval()
        return self

    def _set_fitted(self, model, extra: dict) -> None:
        if not isinstance(model, StackedDenoisingAutoencoder):
            model = _as_stack(model)
        self.model_ = model.eval()
        self.hidden_sizes = tuple(model.hidden_sizes)
        self.n_features_in_ = model.n_visible
        self.history_ = []

    @property
    def _n_features_out(self) -> int:
        return self.model_.hidden_sizes[-1]

    def transform(self, X):
        """The top code of clean ``X``, shape (n_samples, hidden_sizes[-1])."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_DTYPES, reset=False)
        return self._inference("encode", X)


class SDAEClassifier(ClassifierMixin, _StackBase):
    __doc__ = """A stacked DAE pre-trained on ``X``, then fine-tuned end to end with a softmax
    layer on ``y`` (Vincent et al. 2010).

    Parameters
    ----------""" + _STACK_DOC + _COMMON_DOC + """
    finetune_epochs : int, default=50
    finetune_lr : float or None, default=None
        None: the same as ``lr``.

    Attributes
    ----------
    model_ : StackedDenoisingAutoencoder
        With its softmax layer (``model_.classifier``).
    classes_ : ndarray
        The class labels, any type (strings included).
    history_ : dict
        ``pretrain`` (one history per layer) and ``finetune``.
    n_features_in_ : int
    """

    def __init__(self, hidden_sizes=(100, 100), *, corruption="masking", noise_levels=0.25,
                 tied=True, activation="sigmoid", decoder=None, loss=None, optimizer="adam",
                 lr=1e-3, momentum=0.0, weight_decay=0.0, epochs=50, batch_size=32,
                 finetune_epochs=50, finetune_lr=None, early_stopping=False,
                 validation_fraction=0.1, patience=10, random_state=None, device="cpu",
                 verbose=False):
        self.hidden_sizes = hidden_sizes
        self.corruption = corruption
        self.noise_levels = noise_levels
        self.tied = tied
        self.activation = activation
        self.decoder = decoder
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.finetune_epochs = finetune_epochs
        self.finetune_lr = finetune_lr
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=_DTYPES)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"SDAEClassifier needs at least 2 classes in y, got "
                             f"{len(self.classes_)} class: {self.classes_.tolist()}")
        seed = self._seed()
        x, y_train, x_valid, y_valid = self._split(X, codes, seed)
        stack = self._build_stack(X, len(self.classes_), seed)
        pre = self._pretrain(stack, x, x_valid, seed)
        config = self._train_config(seed, len(x), x_valid is not None,
                                    epochs=self.finetune_epochs,
                                    lr=self.finetune_lr if self.finetune_lr is not None
                                    else self.lr)
        valid = {} if x_valid is None else {
            "x_valid": torch.tensor(x_valid, dtype=torch.float32),
            "y_valid": torch.tensor(y_valid)}
        history = finetune(stack, torch.tensor(x, dtype=torch.float32), torch.tensor(y_train),
                           config, **valid)
        self.model_ = stack.cpu().eval()
        self.history_ = {"pretrain": pre, "finetune": history.to_dict()}
        return self

    def _set_fitted(self, model, extra: dict) -> None:
        if not isinstance(model, StackedDenoisingAutoencoder) or model.classifier is None:
            raise ModelFileError("this file holds no classifier (no softmax layer): load it "
                                 "with SDAETransformer or DAETransformer")
        self.model_ = model.eval()
        self.hidden_sizes = tuple(model.hidden_sizes)
        self.n_features_in_ = model.n_visible
        n_classes = model.classifier.out_features
        self.classes_ = np.asarray(extra.get("classes", np.arange(n_classes)))
        self.history_ = {}

    def predict_proba(self, X):
        """Class probabilities (softmax of the output layer), shape (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_DTYPES, reset=False)
        return self._inference("predict_proba", X)

    def predict(self, X):
        """The most probable class of each sample."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _as_stack(layer: DenoisingAutoencoder) -> StackedDenoisingAutoencoder:
    """A one-layer stack holding ``layer`` (a DAE file loaded as a stack)."""
    from .core.stacking import StackConfig

    stack = StackedDenoisingAutoencoder.from_config(StackConfig([layer.config]))
    stack.layers[0].load_state_dict(layer.state_dict())
    return stack


class DAEImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Fill missing values (NaN) with a denoising autoencoder, like ``IterativeImputer``.

    Missing entries are treated as corruption: the network is trained to reconstruct the
    observed entries of each row from a copy with more of them masked (whole columns of a
    row, with probability ``noise_level``), and fills a missing entry with its
    reconstruction in one deterministic pass (see :mod:`sdae.imputation`).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(256, 256)
        Encoder widths; the decoder mirrors them.
    noise_level : float, default=0.25
        Probability of masking each observed column of a row during training.
    emphasis : (float, float), default=(0.75, 0.25)
        Loss weights (α, β) of the entries the training noise masked and of those the
        network saw (emphasised denoising): filling in is reconstructing what is masked.
    categorical_features : "auto", list of int or None, default="auto"
        Columns to one-hot encode and reconstruct with a softmax. "auto": the columns of a
        pandas DataFrame whose dtype is not numeric (none for an array).
    n_imputations : int, default=1
        1: the deterministic reconstruction. More: ``transform`` averages (numeric
        columns) or takes the most frequent (categorical) of that many draws, each with
        observed columns masked at random as in training; :meth:`multiple_imputations`
        returns the draws themselves.
    tied : bool, default=False
        Untied decoders filled the test tables in better than tied ones.
    optimizer : {"adam", "sgd"}, default="adam"
    lr : float, default=1e-2
        The starting learning rate; it decays exponentially, by a factor of 20 over the
        whole run (the last epoch runs at 20^(1/epochs) times a twentieth).
    epochs : int or None, default=None
        None: enough epochs for about 80 000 updates (at least 20, at most 2000).
    batch_size : int, default=128
        Clipped to the number of samples.
    validation_fraction : float, default=0.0
        Hide this fraction of the observed entries from training and keep the parameters
        of the epoch that reconstructed them best (see ``history_``).
    random_state : int, RandomState or None, default=None
    device : str, default="cpu"
    verbose : bool, default=False

    Attributes
    ----------
    model_ : StackedDenoisingAutoencoder
    encoding_ : sdae.imputation.TableEncoding
        Column scaling and categories learned from the observed values.
    categorical_ : list of int
        The columns treated as categorical.
    seed_ : int
        The seed of the training run, and of the draws of ``multiple_imputations``.
    history_ : sdae.training.History
        Training loss per epoch (and, with ``validation_fraction``, the mean loss of the
        held-out entries).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((200, 5))
    >>> X[::7, 2] = np.nan
    >>> DAEImputer(epochs=5, random_state=0).fit_transform(X).shape
    (200, 5)
    """

    def __init__(self, hidden_sizes=(256, 256), *, noise_level=0.25, emphasis=(0.75, 0.25),
                 categorical_features="auto", n_imputations=1, tied=False, optimizer="adam",
                 lr=1e-2, epochs=None, batch_size=128, validation_fraction=0.0,
                 random_state=None, device="cpu", verbose=False):
        self.hidden_sizes = hidden_sizes
        self.noise_level = noise_level
        self.emphasis = emphasis
        self.categorical_features = categorical_features
        self.n_imputations = n_imputations
        self.tied = tied
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _categorical(self, X) -> list[int]:
        spec = self.categorical_features
        if isinstance(spec, str) and spec == "auto":
            dtypes = getattr(X, "dtypes", None)
            if dtypes is None:
                return []
            return [j for j, dt in enumerate(dtypes) if dt.kind not in "biuf"]
        if spec is None:
            return []
        columns = [int(j) for j in spec]
        if any(not 0 <= j < X.shape[1] for j in columns):
            raise ConfigError(f"categorical_features {columns} out of range for "
                              f"{X.shape[1]} columns")
        return columns

    def _validate(self, X, reset: bool) -> np.ndarray:
        mixed = bool(self.categorical_ if not reset else self._categorical(X))
        return validate_data(self, X, reset=reset, dtype=None if mixed else _DTYPES,
                             ensure_all_finite=False if mixed else "allow-nan")

    def fit(self, X, y=None):
        """Learn the column scaling and train the network on the observed entries of X."""
        from .tasks.imputation import TableEncoding, fit_imputer

        categorical = self._categorical(X)
        X = self._validate(X, reset=True)
        if not 0 <= self.noise_level < 1:
            raise ConfigError(f"noise_level must be in [0, 1), got {self.noise_level!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ConfigError("validation_fraction must be in [0, 1), got "
                              f"{self.validation_fraction!r}")
        emphasis = np.asarray(self.emphasis, dtype=float).ravel()
        if len(emphasis) != 2 or not (emphasis >= 0).all() or not emphasis.any():
            raise ConfigError(f"emphasis must be two weights (alpha, beta) >= 0, not both 0, "
                              f"got {self.emphasis!r}")
        check_int(self.n_imputations, "n_imputations")
        self.categorical_ = categorical
        self.encoding_ = TableEncoding.fit(X, categorical)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        batch_size = min(check_int(self.batch_size, "batch_size"), len(X))
        epochs = self.epochs or min(2000, max(20, math.ceil(80_000 / (len(X) // batch_size))))
        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=self.lr,
                             lr_decay=(1 / 20) ** (1 / epochs), optimizer=self.optimizer,
                             seed=seed, device=self.device, progress=bool(self.verbose))
        self.model_, self.history_ = fit_imputer(
            self.encoding_, X, tuple(self.hidden_sizes), self.noise_level, config,
            torch.Generator().manual_seed(seed), emphasis=tuple(emphasis),
            validation_fraction=self.validation_fraction, tied=self.tied)
        self.seed_ = seed
        return self

    def multiple_imputations(self, X) -> np.ndarray:
        """``n_imputations`` draws of the completed X, shape (n_imputations, n, p)."""
        from .tasks.imputation import impute

        check_is_fitted(self)
        X = self._validate(X, reset=False)
        generator = torch.Generator().manual_seed(self.seed_)
        return np.stack([impute(self.model_, self.encoding_, X, self.noise_level, generator)
                         for _ in range(self.n_imputations)])

    def transform(self, X):
        """X with every missing entry filled."""
        from .tasks.imputation import impute

        check_is_fitted(self)
        if self.n_imputations == 1:
            return impute(self.model_, self.encoding_, self._validate(X, reset=False))
        draws = self.multiple_imputations(X)
        out = draws[0].copy()
        numeric = self.encoding_.numeric
        values = draws[:, :, numeric].astype(np.float64)
        agreed = (values == values[0]).all(0)  # observed entries: kept exactly, not averaged
        out[:, numeric] = np.where(agreed, values[0], values.mean(0))
        for j in self.categorical_:
            out[:, j] = [Counter(row).most_common(1)[0][0] for row in draws[:, :, j].T]
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
