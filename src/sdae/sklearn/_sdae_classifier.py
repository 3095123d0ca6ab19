"""A stacked denoising autoencoder fine-tuned as a classifier, for scikit-learn."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.stacking import finetune
from ..errors import ModelFileError
from ._base import DTYPES, POSITIVE_INT, POSITIVE_REAL, StackEstimator, keep_params


class SDAEClassifier(ClassifierMixin, StackEstimator):
    """A stacked DAE pre-trained on ``X``, then fine-tuned end to end with a softmax layer
    on ``y`` (Vincent et al. 2010).

    The pre-training is :class:`SDAETransformer`'s; the fine-tuning minimises the
    cross-entropy of the softmax output over every weight of the stack. The class labels
    are kept in the model, so that a saved file predicts them in the CLI too.

    Parameters
    ----------
    hidden_sizes : int or sequence of int, default=(100, 100)
        Width of each hidden layer, bottom first; an int is one layer.
    corruption : {"masking", "fixed_masking", "gaussian", "salt_and_pepper", "none"}, \
default="masking"
        The corruption process each layer applies to its input during pre-training (the
        fine-tuning sees clean data).
    noise_levels : float or sequence of float, default=0.25
        The pre-training noise level of every layer, or one per layer.
    tied : bool, default=True
        Decoder weights W' = Wᵀ during pre-training.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The nonlinearity of the hidden layers.
    decoder : {"sigmoid", "linear", "relu"} or None, default=None
        The bottom layer's pre-training decoder; None: sigmoid for data in [0, 1], linear
        otherwise.
    loss : {"cross_entropy", "squared_error"} or None, default=None
        The bottom layer's pre-training loss; None: cross-entropy with a sigmoid decoder,
        squared error otherwise.
    optimizer : {"adam", "sgd"}, default="adam"
        The optimiser of both stages.
    lr : float, default=1e-3
        Learning rate of the pre-training (and of the fine-tuning, without
        ``finetune_lr``).
    momentum : float, default=0.0
        SGD momentum, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on the weights, in both stages.
    epochs : int, default=50
        Pre-training epochs of each layer.
    batch_size : int, default=32
        Examples per update, clipped to the number of samples.
    finetune_epochs : int, default=50
        Epochs of supervised fine-tuning.
    finetune_lr : float or None, default=None
        Learning rate of the fine-tuning; None: the same as ``lr``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data; each stage keeps the parameters of
        its best validation epoch (reconstruction error, then classification loss) and
        stops after ``patience`` epochs without improvement.
    validation_fraction : float, default=0.1
        The share of the samples held out with ``early_stopping``, in (0, 1).
    patience : int, default=10
        Epochs without improvement before a stage stops early.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the batch order, the noise and the validation split
        (never the global torch generator).
    device : str, default="cpu"
        "cpu", "cuda" or "cuda:N".
    verbose : bool, default=False
        Show a progress bar per stage and layer.

    Attributes
    ----------
    model_ : StackedDenoisingAutoencoder
        With its softmax layer (``model_.classifier``) and its labels
        (``model_.classes``).
    classes_ : ndarray of shape (n_classes,)
        The class labels, numbers or strings.
    history_ : dict
        ``pretrain`` (one history per layer) and ``finetune``; empty for an estimator
        made by ``load``.
    n_features_in_ : int
        The number of features of the samples ``fit`` saw.
    feature_names_in_ : ndarray of str
        Their names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    SDAETransformer : The pre-trained stack alone, as a transformer.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SDAEClassifier(hidden_sizes=(32,), epochs=2, finetune_epochs=5,
    ...                      random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints: ClassVar[dict] = {
        **StackEstimator._parameter_constraints,
        "finetune_epochs": [POSITIVE_INT],
        "finetune_lr": [POSITIVE_REAL, None],
    }

    def __init__(self, hidden_sizes=(100, 100), *, corruption="masking", noise_levels=0.25,
                 tied=True, activation="sigmoid", decoder=None, loss=None, optimizer="adam",
                 lr=1e-3, momentum=0.0, weight_decay=0.0, epochs=50, batch_size=32,
                 finetune_epochs=50, finetune_lr=None, early_stopping=False,
                 validation_fraction=0.1, patience=10, random_state=None, device="cpu",
                 verbose=False):
        keep_params(self, locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Pre-train the stack on ``X``, then fine-tune it with a softmax layer on ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; in [0, 1] for the cross-entropy loss.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two different ones.

        Returns
        -------
        self : SDAEClassifier
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=DTYPES)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"SDAEClassifier needs at least 2 classes in y, got "
                             f"{len(self.classes_)} class: {self.classes_.tolist()}")
        seed, x, y_train, x_valid, y_valid = self._seed_and_split(X, codes)
        stack = self._build_stack(X, seed, classes=self.classes_.tolist())
        pre = self._pretrain(stack, x, x_valid, seed)
        lr = self.finetune_lr if self.finetune_lr is not None else self.lr
        config = self._train_config(seed, len(x), x_valid is not None,
                                    epochs=self.finetune_epochs, lr=lr)
        valid = {} if x_valid is None else {
            "x_valid": torch.tensor(x_valid, dtype=torch.float32),
            "y_valid": torch.tensor(y_valid)}
        history = finetune(stack, torch.tensor(x, dtype=torch.float32), torch.tensor(y_train),
                           config, **valid)
        self.model_ = stack.cpu().eval()
        self.history_ = {"pretrain": pre, "finetune": history.to_dict()}
        return self

    def _check_model(self, model) -> None:
        if model.classifier is None:
            raise ModelFileError("this file holds no classifier (no softmax layer): load it "
                                 "with SDAETransformer or DAETransformer")

    def _set_fitted(self, model) -> None:
        super()._set_fitted(model)
        self.classes_ = np.asarray(model.classes)
        self.history_ = {}

    def predict_proba(self, X):
        """Class probabilities, the softmax of the output layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; in the dtype of ``X``.
        """
        return self._apply("predict_proba", X)

    def predict(self, X):
        """The most probable class of each sample.

        The argmax of :meth:`predict_proba`: a tie goes to the class first in ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Taken from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
