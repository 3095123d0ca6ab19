"""Missing-value imputation with a denoising autoencoder, for scikit-learn: a face over
:mod:`sdae.tasks.imputation`."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.batches import clip_batch_size
from ..core.training import OPTIMIZERS
from ..errors import ConfigError
from ..tasks.imputation import ImputerSettings, fill_table, fit_table_imputer, multiple_imputations
from ._base import DTYPES, POSITIVE_INT, POSITIVE_REAL, fit_seed, keep_params

FRACTION = Interval(Real, 0, 1, closed="left")


class DAEImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Fill missing values (NaN) with a denoising autoencoder, like ``IterativeImputer``.

    Missing entries are treated as corruption: the network is trained to reconstruct the
    observed entries of each row from a copy with more of them masked (whole columns of a
    row, with probability ``noise_level``), and fills a missing entry with its
    reconstruction in one deterministic pass (see :mod:`sdae.tasks.imputation`, which
    holds the training schedule and the pooling of draws; this estimator only validates
    and stores).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(256, 256)
        Encoder widths; the decoder mirrors them.
    noise_level : float, default=0.25
        Probability of masking each observed column of a row during training, in [0, 1).
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
        The optimiser of the reconstruction loss.
    lr : float, default=1e-2
        The starting learning rate; it decays exponentially, by a factor of 20 over the
        whole run (the last epoch runs at 20^(1/epochs) times a twentieth).
    epochs : int or None, default=None
        None: enough epochs for about 80 000 updates (at least 20, at most 2000).
    batch_size : int, default=128
        Rows per update, clipped to the number of samples.
    validation_fraction : float, default=0.0
        Hide this fraction of the observed entries from training and keep the parameters
        of the epoch that reconstructed them best (see ``history_``), in [0, 1).
    random_state : int, RandomState or None, default=None
        Seeds the training run and the draws of ``multiple_imputations``.
    device : str, default="cpu"
        "cpu", "cuda" or "cuda:N".
    verbose : bool, default=False
        Show a progress bar.

    Attributes
    ----------
    model_ : StackedDenoisingAutoencoder
        The fitted network (input: the encoded row beside the mask of what it shows).
    encoding_ : sdae.tasks.imputation.TableEncoding
        Column scaling and categories learned from the observed values.
    categorical_ : list of int
        The columns treated as categorical.
    seed_ : int
        The seed of the training run, and of the draws of ``multiple_imputations``.
    history_ : sdae.core.training.History
        Training loss per epoch (and, with ``validation_fraction``, the mean loss of the
        held-out entries).
    n_features_in_ : int
        The width of the table ``fit`` saw.
    feature_names_in_ : ndarray of str
        The column names of a DataFrame with string column names.

    See Also
    --------
    sdae.tasks.imputation.impute_table : The same fit and fill in one call.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((200, 5))
    >>> X[::7, 2] = np.nan
    >>> DAEImputer(epochs=5, random_state=0).fit_transform(X).shape
    (200, 5)
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden_sizes": [POSITIVE_INT, "array-like"],
        "noise_level": [FRACTION],
        "emphasis": ["array-like"],
        "categorical_features": [StrOptions({"auto"}), "array-like", None],
        "n_imputations": [POSITIVE_INT],
        "tied": ["boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "lr": [POSITIVE_REAL],
        "epochs": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [POSITIVE_INT],
        "validation_fraction": [FRACTION],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden_sizes=(256, 256), *, noise_level=0.25, emphasis=(0.75, 0.25),
                 categorical_features="auto", n_imputations=1, tied=False, optimizer="adam",
                 lr=1e-2, epochs=None, batch_size=128, validation_fraction=0.0,
                 random_state=None, device="cpu", verbose=False):
        keep_params(self, locals())

    def _categorical(self, X) -> list[int]:
        spec = self.categorical_features
        if isinstance(spec, str):  # "auto"
            dtypes = getattr(X, "dtypes", None)
            return [] if dtypes is None else \
                [j for j, dt in enumerate(dtypes) if dt.kind not in "biuf"]
        columns = [] if spec is None else [int(j) for j in spec]
        if any(not 0 <= j < X.shape[1] for j in columns):
            raise ConfigError(f"categorical_features {columns} out of range for "
                              f"{X.shape[1]} columns")
        return columns

    def _validate(self, X, reset: bool):
        mixed = bool(self.categorical_ if not reset else self._categorical(X))
        return validate_data(self, X, reset=reset, dtype=None if mixed else DTYPES,
                             ensure_all_finite=False if mixed else "allow-nan")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the column scaling and train the network on the observed entries of X.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            NaN (None too, in a categorical column) where an entry is missing.
        y : None
            Ignored.

        Returns
        -------
        self : DAEImputer
            The fitted estimator.
        """
        categorical = self._categorical(X)
        X = self._validate(X, reset=True)
        settings = ImputerSettings(
            hidden_sizes=self.hidden_sizes, noise_level=self.noise_level,
            emphasis=self.emphasis, n_imputations=self.n_imputations, tied=self.tied,
            optimizer=self.optimizer, lr=self.lr, epochs=self.epochs,
            batch_size=clip_batch_size(self.batch_size, len(X)),
            validation_fraction=self.validation_fraction, device=self.device,
            progress=bool(self.verbose))
        self.seed_ = fit_seed(self.random_state)
        self.categorical_ = categorical
        self.encoding_, self.model_, self.history_ = fit_table_imputer(
            X, categorical, settings, self.seed_)
        return self

    def multiple_imputations(self, X):
        """``n_imputations`` random draws of the completed ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            A table with the columns of the one ``fit`` saw.

        Returns
        -------
        draws : ndarray of shape (n_imputations, n_samples, n_features)
            The same draws for the same fitted estimator.
        """
        check_is_fitted(self)
        return multiple_imputations(self.model_, self.encoding_, self._validate(X, False),
                                    self.noise_level, self.n_imputations, self.seed_)

    def transform(self, X):
        """``X`` with every missing entry filled, observed entries kept exactly.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            The table to complete (the one ``fit`` saw, or new rows with its columns).

        Returns
        -------
        filled : ndarray of shape (n_samples, n_features)
            Float, or object with categorical columns.
        """
        check_is_fitted(self)
        return fill_table(self.model_, self.encoding_, self._validate(X, False),
                          self.noise_level, self.n_imputations, self.seed_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
