"""What the estimators share: keeping the ``__init__`` arguments, the parameter constraints
of the training options, the seed of a fit, the batch size, the validation split, inference
in the input's dtype, and saving and loading model files.

Training runs in float32; inference runs in the dtype of the input (float32 or float64), so
``transform`` keeps the dtype it was given.
"""

from __future__ import annotations

import copy
import os
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.autoencoder import ACTIVATIONS, DECODERS, LOSSES
from ..core.batches import clip_batch_size
from ..core.corruption import CORRUPTIONS
from ..core.stacking import StackedDenoisingAutoencoder, pretrain
from ..core.training import OPTIMIZERS, TrainConfig, batched
from ..models import load_autoencoder, save_model
from ..tasks.imputation import run_seed

DTYPES = (np.float64, np.float32)

POSITIVE_INT = Interval(Integral, 1, None, closed="left")
POSITIVE_REAL = Interval(Real, 0, None, closed="neither")
NON_NEGATIVE_REAL = Interval(Real, 0, None, closed="left")

# The constraints of the options every autoencoder estimator has (the layer options, then
# how to train); each estimator adds its own.
TRAINING_CONSTRAINTS: dict = {
    "corruption": [StrOptions(set(CORRUPTIONS))],
    "tied": ["boolean"],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "decoder": [StrOptions(set(DECODERS)), None],
    "loss": [StrOptions(set(LOSSES)), None],
    "optimizer": [StrOptions(set(OPTIMIZERS))],
    "lr": [POSITIVE_REAL],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "weight_decay": [NON_NEGATIVE_REAL],
    "epochs": [POSITIVE_INT],
    "batch_size": [POSITIVE_INT],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "patience": [POSITIVE_INT],
    "random_state": ["random_state"],
    "device": [str],
    "verbose": ["verbose"],
}


def keep_params(estimator: BaseEstimator, arguments: dict) -> None:
    """Store each ``__init__`` argument (``arguments``: its ``locals()``) unchanged under its
    own name, as scikit-learn wants: checking them is ``fit``'s job, so that ``set_params``
    and ``clone`` go through the same checks."""
    for name in estimator._get_param_names():
        setattr(estimator, name, arguments[name])


def fit_seed(random_state) -> int:
    """The int seed of one fit: the initial weights, the batch order and the noise all come
    from it (never from the global torch generator)."""
    return run_seed(check_random_state(random_state))


class AutoencoderEstimator(BaseEstimator):
    """Training, inference and model files for the estimators over a DAE or a stack."""

    def _train_config(self, seed: int, n: int, validated: bool, **overrides) -> TrainConfig:
        options = dict(epochs=self.epochs, batch_size=clip_batch_size(self.batch_size, n),
                       lr=self.lr, optimizer=self.optimizer, momentum=self.momentum,
                       weight_decay=self.weight_decay, seed=seed, device=self.device,
                       progress=bool(self.verbose),
                       patience=self.patience if validated else None)
        options.update(overrides)
        return TrainConfig(**options)

    def _model_options(self, x: np.ndarray) -> dict:
        """The layer options; the decoder follows the data when not given: a sigmoid (with
        cross-entropy) for data in [0, 1], linear (with squared error) otherwise."""
        decoder = self.decoder
        if decoder is None:
            decoder = "sigmoid" if x.size and x.min() >= 0 and x.max() <= 1 else "linear"
        return dict(tied=self.tied, activation=self.activation, decoder=decoder, loss=self.loss)

    def _seed_and_split(self, X: np.ndarray, y: np.ndarray | None = None):
        """(seed, x, y, x_valid, y_valid): the seed of this fit and the split it draws."""
        seed = fit_seed(self.random_state)
        return (seed, *self._split(X, y, seed))

    def _split(self, x: np.ndarray, y: np.ndarray | None, seed: int):
        """Hold out ``validation_fraction`` of the data when early stopping is on (and there
        are enough samples to spare some): (x, y, x_valid, y_valid)."""
        if not self.early_stopping or len(x) < 4:
            return x, y, None, None
        order = np.random.default_rng(seed).permutation(len(x))
        n_valid = max(1, round(self.validation_fraction * len(x)))
        valid, train = order[:n_valid], order[n_valid:]
        return (x[train], None if y is None else y[train],
                x[valid], None if y is None else y[valid])

    def _apply(self, fn_name: str, X) -> np.ndarray:
        """``model_.fn_name`` of ``X``, checked as the data ``fit`` saw."""
        check_is_fitted(self)
        return self._inference(fn_name, validate_data(self, X, dtype=DTYPES, reset=False))

    def _inference(self, fn_name: str, x: np.ndarray) -> np.ndarray:
        """Apply ``model_.fn_name`` in the dtype of ``x`` (a float64 copy of the model for
        float64 input), batch by batch, without gradients."""
        dtype = torch.float64 if x.dtype == np.float64 else torch.float32
        module = self.model_ if dtype == torch.float32 else copy.deepcopy(self.model_).double()
        return batched(getattr(module, fn_name), torch.tensor(x, dtype=dtype)).numpy()

    def _check_model(self, model) -> None:
        """Refuse a model this estimator cannot use, with the estimator that can."""

    def _set_fitted(self, model) -> None:
        """The fitted attributes of a loaded ``model`` (not its parameters)."""
        self.model_ = model.eval()
        self.n_features_in_ = model.n_visible

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a ``.safetensors`` file that the CLI and ``load`` read;
        the file also records this estimator's parameters."""
        check_is_fitted(self)
        return save_model(self.model_, path,
                          extra=file_record(self, params=jsonable_params(self.get_params())))

    @classmethod
    def load(cls, path: str | os.PathLike):
        """An estimator fitted with the model in ``path`` (saved by ``save`` or the CLI),
        with the parameters the file records."""
        model, header = load_autoencoder(path, with_header=True)
        extra = header.get("extra", {})
        names = cls._get_param_names()
        estimator = cls(**{k: v for k, v in file_params(model, extra).items() if k in names})
        estimator._check_model(model)
        estimator._set_fitted(model)
        restore_feature_names(estimator, extra)
        return estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class StackEstimator(AutoencoderEstimator):
    """Building and pre-training the stack of the two stack estimators."""

    _parameter_constraints: ClassVar[dict] = {
        **TRAINING_CONSTRAINTS,
        "hidden_sizes": [POSITIVE_INT, "array-like"],
        "noise_levels": [NON_NEGATIVE_REAL, "array-like"],
    }

    def _build_stack(self, X: np.ndarray, seed: int, classes: list | None = None):
        sizes = np.atleast_1d(self.hidden_sizes).tolist()  # an int is one layer
        levels = self.noise_levels
        levels = np.asarray(levels).tolist() if np.ndim(levels) else float(levels)
        return StackedDenoisingAutoencoder(
            X.shape[1], sizes, classes=classes, corruption=self.corruption,
            noise_levels=levels, generator=torch.Generator().manual_seed(seed),
            **self._model_options(X))

    def _pretrain(self, stack, x, x_valid, seed: int) -> list[dict]:
        """Greedy layer-wise pre-training; one history per layer."""
        validated = x_valid is not None
        histories = pretrain(
            stack, torch.tensor(x, dtype=torch.float32),
            self._train_config(seed, len(x), validated),
            x_valid=torch.tensor(x_valid, dtype=torch.float32) if validated else None,
            keep_best=validated)
        return [h.to_dict() for h in histories]

    def _set_fitted(self, model) -> None:
        super()._set_fitted(model)
        self.history_ = []


def file_params(model, extra: dict) -> dict:
    """The estimator parameters a model file describes: those an estimator saved (lists as
    tuples), else those its layer configs and (CLI) training record give; the sizes always
    from the model itself (a DAE file loaded as a stack has ``hidden_sizes``, not
    ``n_hidden``)."""
    first = model.layers[0].config
    params = {"tied": first.tied, "activation": first.activation, "decoder": first.decoder,
              "loss": first.loss, "corruption": first.corruption,
              "noise_level": first.noise_level,
              "noise_levels": tuple(layer.config.noise_level for layer in model.layers)}
    train = extra.get("train", {})
    params.update({k: train[k] for k in ("optimizer", "lr", "momentum", "weight_decay",
                                          "epochs", "batch_size") if k in train})
    params.update({k: tuple(v) if isinstance(v, list) else v
                   for k, v in extra.get("params", {}).items()})
    params.update(n_hidden=model.hidden_sizes[0], hidden_sizes=tuple(model.hidden_sizes))
    return params


def file_record(estimator: BaseEstimator, **extra) -> dict:
    """What a fitted estimator's model file records besides its model: the estimator's
    name, ``extra``, and the column names ``fit`` saw (if it saw any)."""
    record = {"estimator": type(estimator).__name__, **extra}
    if hasattr(estimator, "feature_names_in_"):
        record["feature_names_in"] = estimator.feature_names_in_.tolist()
    return record


def restore_feature_names(estimator: BaseEstimator, extra: dict) -> None:
    """Give a loaded estimator the column names its file recorded (:func:`file_record`)."""
    if "feature_names_in" in extra:
        estimator.feature_names_in_ = np.asarray(extra["feature_names_in"], dtype=object)


def jsonable_params(params: dict) -> dict:
    """The JSON-storable parameters (numpy scalars as Python numbers, tuples as lists)."""
    out = {}
    for k, v in params.items():
        v = v.item() if isinstance(v, np.generic) else v
        v = np.asarray(v).tolist() if isinstance(v, (tuple, np.ndarray)) else v
        if v is None or isinstance(v, (bool, int, float, str, list)):
            out[k] = v
    return out
