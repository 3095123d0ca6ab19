"""DAEOutlierDetector: scikit-learn's outlier-detector conventions, files, determinism."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from sdae.errors import ModelFileError
from sdae.sklearn import DAEOutlierDetector, DAETransformer

QUICK = {"n_models": 3, "updates": 100, "random_state": 0}


@parametrize_with_checks([DAEOutlierDetector(**QUICK)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def blobs_with_outliers(seed=0):
    rng = np.random.default_rng(seed)
    inliers = rng.normal(size=(400, 5))
    outliers = rng.normal(0, 1, size=(12, 5))
    outliers = 7 * outliers / np.linalg.norm(outliers, axis=1, keepdims=True)
    return np.r_[inliers, outliers], np.r_[np.zeros(400), np.ones(12)]


def test_lower_scores_are_more_abnormal_and_predict_flags_them():
    X, y = blobs_with_outliers()
    detector = DAEOutlierDetector(**QUICK).fit(X)
    scores = detector.score_samples(X)
    assert roc_auc_score(y, -scores) > 0.95  # the planted ones score low
    np.testing.assert_allclose(detector.decision_function(X), scores - detector.offset_)
    flags = detector.predict(X)
    assert set(np.unique(flags)) <= {-1, 1}
    assert (flags[y == 1] == -1).mean() > 0.75 and (flags[y == 0] == -1).mean() < 0.05


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.2])
def test_predict_flags_about_the_contamination_of_the_training_data(contamination):
    X, _ = blobs_with_outliers()
    detector = DAEOutlierDetector(contamination=contamination, **QUICK).fit(X)
    assert np.mean(detector.predict(X) == -1) == pytest.approx(contamination, abs=0.01)


def test_random_state_repeats_a_fit():
    X, _ = blobs_with_outliers()
    a = DAEOutlierDetector(**QUICK).fit(X).score_samples(X)
    b = DAEOutlierDetector(**QUICK).fit(X).score_samples(X)
    c = DAEOutlierDetector(**{**QUICK, "random_state": 1}).fit(X).score_samples(X)
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_saved_detectors_load_with_the_same_predictions(tmp_path):
    X, _ = blobs_with_outliers()
    detector = DAEOutlierDetector(contamination=0.1, **QUICK).fit(X)
    detector.save(tmp_path / "d.safetensors")
    loaded = DAEOutlierDetector.load(tmp_path / "d.safetensors")
    assert loaded.contamination == 0.1 and loaded.offset_ == detector.offset_
    np.testing.assert_array_equal(loaded.decision_function(X), detector.decision_function(X))
    DAETransformer(n_hidden=3, epochs=1).fit(X / 10 + 0.5).save(tmp_path / "dae.safetensors")
    with pytest.raises(ModelFileError, match="not an outlier detector"):
        DAEOutlierDetector.load(tmp_path / "dae.safetensors")


def test_bad_input_gets_one_line_errors():
    X, _ = blobs_with_outliers()
    detector = DAEOutlierDetector(**QUICK).fit(X)
    with pytest.raises(ValueError, match="features"):
        detector.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        DAEOutlierDetector(**QUICK).fit(np.where(np.eye(5, dtype=bool)[0], np.nan, X[:, :5]))
    with pytest.raises(ValueError, match="minimum of 2"):
        DAEOutlierDetector(**QUICK).fit(X[:1])
