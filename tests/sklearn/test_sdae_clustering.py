"""SDAEClustering: scikit-learn's clusterer conventions, saving and loading."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.utils.estimator_checks import parametrize_with_checks

from sdae.errors import ModelFileError
from sdae.measures.clustering import cluster_accuracy
from sdae.sklearn import DAEOutlierDetector, SDAEClustering

QUICK = {"method": "idec", "hidden_sizes": (16, 4), "pretrain_epochs": 2,
         "finetune_epochs": 5, "self_training_steps": 30, "batch_size": 16,
         "random_state": 0}


@parametrize_with_checks([SDAEClustering(**QUICK)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_fit_predict_transform_and_round_trip(tmp_path):
    X, y = make_blobs(300, n_features=6, centers=4, cluster_std=0.3, center_box=(-20, 20),
                      random_state=1)
    clustering = SDAEClustering(4, **{**QUICK, "method": "kmeans",
                                      "finetune_epochs": 20}).fit(X)
    assert cluster_accuracy(y, clustering.labels_) == 1.0
    assert clustering.cluster_centers_.shape == (4, 4)
    assert clustering.transform(X).shape == (300, 4)
    assert clustering.method_ == "kmeans"
    assert clustering.record_["nearest_centre_agrees"] == 1.0
    assert np.array_equal(clustering.predict(X), clustering.labels_)
    path = clustering.save(tmp_path / "c.safetensors")
    loaded = SDAEClustering.load(path)
    assert loaded.get_params() == {**clustering.get_params(), "random_state": None}
    assert np.array_equal(loaded.predict(X), clustering.predict(X))
    np.testing.assert_array_equal(loaded.cluster_centers_, clustering.cluster_centers_)


def test_loading_another_kind_is_refused(tmp_path):
    X = np.random.default_rng(0).normal(size=(50, 3))
    path = DAEOutlierDetector(n_models=2, updates=10, random_state=0).fit(X).save(
        tmp_path / "d.safetensors")
    with pytest.raises(ModelFileError, match="not a clustering"):
        SDAEClustering.load(path)


def test_more_clusters_than_rows():
    with pytest.raises(ValueError, match="n_samples=3 is fewer than n_clusters=8"):
        SDAEClustering(**QUICK).fit(np.eye(3))
