"""Measures of what a model learned: linear probes on its code, and how smooth its filters are."""

from __future__ import annotations

import numpy as np


def fit_probe(x_train: np.ndarray, y_train: np.ndarray, max_iter: int = 200, seed: int = 0):
    """A multinomial logistic regression on ``x_train``, with a fixed iteration budget.

    The classic way to judge a representation: the same linear classifier on raw pixels
    and on each model's hidden code.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings():
        # A fixed iteration budget, the same for every representation, is the point.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train, y_train)
    return clf


def probe_error(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    max_iter: int = 200,
    seed: int = 0,
    solver: str = "sklearn",
) -> float:
    """Test error of :func:`fit_probe` trained on ``x_train`` (``solver="sklearn"``), or of
    :func:`fit_probe_lbfgs`, the same classifier fitted faster (``solver="lbfgs"``)."""
    if solver == "lbfgs":
        weight, bias = fit_probe_lbfgs(x_train, y_train, max_iter)
        scores = np.asarray(x_test, dtype=np.float32) @ weight + bias
        return float(np.mean(scores.argmax(axis=1) != y_test))
    if solver != "sklearn":
        raise ValueError(f"probe solver must be 'sklearn' or 'lbfgs', got {solver!r}")
    clf = fit_probe(x_train, y_train, max_iter, seed)
    return float(np.mean(clf.predict(x_test) != y_test))


def fit_probe_lbfgs(
    x_train: np.ndarray, y_train: np.ndarray, max_iter: int = 100, C: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The probe of :func:`fit_probe` (multinomial logistic regression, penalty ½‖W‖²/C on
    the weights, not the bias), fitted by full-batch L-BFGS in float32 with torch: several
    times faster than scikit-learn's float64 solver for the same budget of iterations.
    Deterministic: it starts from zero. Returns the weights (features × classes) and bias.
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(x_train, dtype=np.float32))
    y = torch.from_numpy(np.asarray(y_train, dtype=np.int64))
    n_classes = int(y.max()) + 1
    weight = torch.zeros(x.shape[1], n_classes, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, tolerance_grad=1e-5,
                            tolerance_change=1e-9, history_size=10,
                            line_search_fn="strong_wolfe")

    def loss():  # scikit-learn's objective divided by n
        opt.zero_grad()
        value = (torch.nn.functional.cross_entropy(x @ weight + bias, y, reduction="mean")
                 + 0.5 * weight.square().sum() / (C * len(x)))
        value.backward()
        return value

    opt.step(loss)
    return weight.detach().numpy(), bias.detach().numpy()


def low_frequency_energy(
    filters: np.ndarray, image_shape: tuple[int, int], radius: float | None = None
) -> float:
    """Mean fraction of each filter's power at spatial frequencies within ``radius``.

    Each filter (a row, reshaped to ``image_shape``) has its mean removed; its 2-D DFT power
    spectrum is summed over frequencies (kx, ky), in cycles per image, with
    kx² + ky² <= radius². Smooth, stroke-like filters score high; noise-like ones score low
    (white noise gives about the area fraction of the disc). ``radius`` defaults to 4
    cycles per image on 28×28 inputs, scaled in proportion to the image side otherwise.
    """
    h, w = image_shape
    radius = 4.0 * min(h, w) / 28.0 if radius is None else radius
    images = np.asarray(filters, dtype=np.float64).reshape(-1, h, w)
    images = images - images.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(images)) ** 2
    ky = np.fft.fftfreq(h, d=1.0 / h)[:, None]
    kx = np.fft.fftfreq(w, d=1.0 / w)[None, :]
    low = (kx**2 + ky**2) <= radius**2
    total = power.sum(axis=(1, 2))
    fraction = power[:, low].sum(axis=1) / np.where(total > 0, total, 1.0)
    return float(fraction.mean())
