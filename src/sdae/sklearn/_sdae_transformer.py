"""A stack of denoising autoencoders as a scikit-learn transformer."""

from __future__ import annotations

from typing import ClassVar

from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils.validation import validate_data

from ._base import DTYPES, StackEstimator, keep_params


class SDAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, StackEstimator):
    """A stack of DAEs pre-trained greedily, layer by layer; ``transform`` gives the top
    layer's code.

    Each layer is trained as a :class:`DAETransformer` on the clean codes of the layers
    below it (Vincent et al. 2010, section 3.4): the unsupervised half of a stacked DAE,
    to feed another estimator in a ``Pipeline``.

    Parameters
    ----------
    hidden_sizes : int or sequence of int, default=(100, 100)
        Width of each layer, bottom first; an int is one layer.
    corruption : {"masking", "fixed_masking", "gaussian", "salt_and_pepper", "none"}, \
default="masking"
        The corruption process each layer applies to its own input while it trains.
    noise_levels : float or sequence of float, default=0.25
        One noise level for every layer, or one per layer (q, ν or σ, as for
        ``DAETransformer``'s ``noise_level``).
    tied : bool, default=True
        Every layer decodes with the transpose of its encoder's weights.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The nonlinearity of every layer.
    decoder : {"sigmoid", "linear", "relu"} or None, default=None
        The bottom layer's decoder; None: sigmoid for data in [0, 1], linear otherwise
        (relu: data >= 0 without an upper bound).
        Upper layers reconstruct codes, and follow ``activation``.
    loss : {"cross_entropy", "squared_error"} or None, default=None
        The bottom layer's loss; None: cross-entropy with a sigmoid decoder, squared error
        otherwise.
    optimizer : {"adam", "sgd"}, default="adam"
        The optimiser of each layer's reconstruction loss.
    lr : float, default=1e-3
        Learning rate of the pre-training.
    momentum : float, default=0.0
        SGD momentum, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on the weights of every layer.
    epochs : int, default=50
        Pre-training epochs of each layer.
    batch_size : int, default=32
        Examples per update, clipped to the number of samples.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data; each layer keeps the parameters of
        its epoch of least validation reconstruction error and stops after ``patience``
        epochs without improvement.
    validation_fraction : float, default=0.1
        The share of ``X`` held out with ``early_stopping``, in (0, 1).
    patience : int, default=10
        Epochs without improvement before a layer stops early.
    random_state : int, RandomState or None, default=None
        Seeds every layer's initial weights, batch order and noise (never the global
        torch generator).
    device : str, default="cpu"
        "cpu", "cuda" or "cuda:N".
    verbose : bool, default=False
        Show a progress bar per layer.

    Attributes
    ----------
    model_ : StackedDenoisingAutoencoder or DenoisingAutoencoder
        The fitted PyTorch module (a DAE file loaded by ``load`` stays a DAE: it answers
        the same ``encode``).
    history_ : list of dict
        One pre-training history per layer; empty for an estimator made by ``load``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    See Also
    --------
    SDAEClassifier : The same stack, fine-tuned with a softmax layer on labels.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data / 16
    >>> stack = SDAETransformer(hidden_sizes=(32, 16), epochs=5, random_state=0).fit(X)
    >>> stack.transform(X).shape
    (1797, 16)
    """

    _parameter_constraints: ClassVar[dict] = {**StackEstimator._parameter_constraints}

    def __init__(self, hidden_sizes=(100, 100), *, corruption="masking", noise_levels=0.25,
                 tied=True, activation="sigmoid", decoder=None, loss=None, optimizer="adam",
                 lr=1e-3, momentum=0.0, weight_decay=0.0, epochs=50, batch_size=32,
                 early_stopping=False, validation_fraction=0.1, patience=10, random_state=None,
                 device="cpu", verbose=False):
        keep_params(self, locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pre-train the layers one after the other, bottom first.

        A trained layer is frozen; its clean codes of ``X`` are the next layer's data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The bottom layer's examples (each upper layer learns from the codes of the one
            below); in [0, 1] for the cross-entropy loss.
        y : None
            Ignored.

        Returns
        -------
        self : SDAETransformer
            The fitted stack.
        """
        X = validate_data(self, X, dtype=DTYPES)
        seed, x, _, x_valid, _ = self._seed_and_split(X)
        stack = self._build_stack(X, seed)
        self.history_ = self._pretrain(stack, x, x_valid, seed)
        self.model_ = stack.cpu().eval()
        return self

    @property
    def _n_features_out(self) -> int:
        return self.model_.hidden_sizes[-1]

    def transform(self, X):
        """The top code of clean ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean examples to encode through every layer.

        Returns
        -------
        codes : ndarray of shape (n_samples, hidden_sizes[-1])
            In the dtype of ``X`` (float32 or float64).
        """
        return self._apply("encode", X)
