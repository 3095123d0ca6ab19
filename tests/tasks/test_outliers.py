"""The DAE outlier detector: it ranks what lies off the manifold first, and refuses bad input."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from sdae.errors import ConfigError, DataError
from sdae.models import load_model, save_model
from sdae.tasks.outliers import (
    DetectorSettings,
    _knn_distance,
    fit_detector,
    outlier_scores,
    outlier_threshold,
)

QUICK = DetectorSettings(n_models=4, updates=300)


def manifold_with_outliers(n=400, n_out=20, d=10, seed=0):
    """Inliers on a curved 1-D manifold in d dimensions (a helix, slightly noisy); outliers
    pushed off it: points of the helix moved a fixed distance in a random direction.
    Returns X and y (1 = outlier)."""
    basis = np.random.default_rng(99).normal(size=(3, d))  # the same manifold for every seed
    rng = np.random.default_rng(seed)

    def helix(k):
        t = rng.uniform(0, 4 * np.pi, k)
        return np.c_[np.cos(t), np.sin(t), t / (2 * np.pi)] @ basis

    inliers = helix(n) + 0.03 * rng.normal(size=(n, d))
    push = rng.normal(size=(n_out, d))
    outliers = helix(n_out) + 1.5 * push / np.linalg.norm(push, axis=1, keepdims=True)
    return np.r_[inliers, outliers], np.r_[np.zeros(n), np.ones(n_out)]


@pytest.mark.parametrize("components", [["error"], ["density"], None])
def test_planted_outliers_off_the_manifold_score_highest(components):
    X, y = manifold_with_outliers()
    detector, _ = fit_detector(X, QUICK, seed=0)
    scores = outlier_scores(detector, X, components)
    assert roc_auc_score(y, scores) > 0.95
    # new rows: the same manifold, fresh outliers
    X_new, y_new = manifold_with_outliers(seed=1)
    assert roc_auc_score(y_new, outlier_scores(detector, X_new, components)) > 0.9


def test_training_rows_are_scored_as_new_rows_are():
    X, y = manifold_with_outliers()
    detector, training = fit_detector(X, QUICK, seed=0)
    assert abs(np.median(training)) < 0.3  # about 0: a typical training row
    # a row the detector never saw, from the same manifold, scores like a training row:
    # so a threshold at the training rows' 95% quantile flags about 5% of new inliers
    new, _ = manifold_with_outliers(n=2000, n_out=0, seed=5)
    inliers = training[y == 0]
    flagged = np.mean(outlier_scores(detector, new) > np.quantile(inliers, 0.95))
    assert 0.02 < flagged < 0.09


def test_the_same_seed_gives_the_same_scores():
    X, _ = manifold_with_outliers(n=150, n_out=5)
    a = outlier_scores(fit_detector(X, QUICK, seed=3)[0], X)
    b = outlier_scores(fit_detector(X, QUICK, seed=3)[0], X)
    c = outlier_scores(fit_detector(X, QUICK, seed=4)[0], X)
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_a_saved_detector_scores_the_same(tmp_path):
    X, _ = manifold_with_outliers(n=150, n_out=5)
    detector, _ = fit_detector(X, QUICK, seed=0)
    save_model(detector, tmp_path / "d.safetensors")
    loaded = load_model(tmp_path / "d.safetensors")
    assert np.array_equal(outlier_scores(loaded, X), outlier_scores(detector, X))


def test_a_constant_feature_is_kept_and_a_row_that_differs_there_stands_out():
    X, _ = manifold_with_outliers(n=200, n_out=0)
    X = np.c_[X, np.full(len(X), 7.0)]
    detector, training = fit_detector(X, QUICK, seed=0)
    odd = X[:1].copy()
    odd[0, -1] = 9.0
    assert outlier_scores(detector, odd)[0] > np.quantile(training, 0.99)


def test_the_threshold_flags_the_contamination_or_tukeys_fence():
    scores = np.random.default_rng(0).normal(size=10_000)
    assert np.mean(scores > outlier_threshold(scores, 0.1)) == pytest.approx(0.1, abs=0.002)
    q1, q3 = np.quantile(scores, [0.25, 0.75])
    assert outlier_threshold(scores) == pytest.approx(q3 + 1.5 * (q3 - q1))
    for bad in (0, 0.7, "most", True):
        with pytest.raises(ConfigError, match="contamination must be"):
            outlier_threshold(scores, bad)


def test_a_row_is_not_its_own_nearest_code():
    reference = torch.tensor([[0.0], [1.0], [1.0], [3.0]], dtype=torch.float64)
    # each reference row leaves itself out (row 1 still finds its duplicate, row 2)
    np.testing.assert_allclose(_knn_distance(reference, reference, 1), [1.0, 0.0, 0.0, 2.0])
    np.testing.assert_allclose(_knn_distance(torch.tensor([[2.0]], dtype=torch.float64),
                                             reference, 2), [1.0])


def test_training_scores_are_the_scores_of_the_training_rows():
    X, _ = manifold_with_outliers(n=300, n_out=10)
    detector, training = fit_detector(X, QUICK, seed=0)
    np.testing.assert_allclose(outlier_scores(detector, X), training, atol=1e-9)
    np.testing.assert_allclose(outlier_scores(detector, X[::-1])[::-1], training, atol=1e-9)


def test_duplicated_rows_do_not_divide_a_score_by_zero():
    X = np.repeat(np.random.default_rng(0).normal(size=(20, 3)), 30, axis=0)
    detector, training = fit_detector(X, QUICK, seed=0)
    assert np.isfinite(training).all() and np.abs(training).max() < 1e3
    assert np.isfinite(outlier_scores(detector, X + 0.01)).all()


@pytest.mark.parametrize(("X", "message"), [
    (np.array([[1.0, np.nan], [2.0, 3.0]]), "missing or infinite values"),
    (np.ones((1, 3)), "at least 2 rows"),
    (np.ones((5, 3)), "every feature of X is constant"),
    (np.ones(5), "must be a table"),
])
def test_bad_training_data_gets_one_line_errors(X, message):
    with pytest.raises(DataError, match=message):
        fit_detector(X, QUICK)


def test_rows_with_other_columns_are_refused():
    X, _ = manifold_with_outliers(n=100, n_out=0)
    detector, _ = fit_detector(X, QUICK)
    with pytest.raises(DataError, match="has 3 features, but the detector was fitted on 10"):
        outlier_scores(detector, X[:, :3])


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="components must be some of"):
        DetectorSettings(components=("distance",))
    with pytest.raises(ConfigError, match="n_models must be >= 1"):
        DetectorSettings(n_models=0)
    for bad in ((0, 2), (0.3,), (2, 1), 0.5):
        with pytest.raises(ConfigError, match="width_range must be"):
            DetectorSettings(width_range=bad)
