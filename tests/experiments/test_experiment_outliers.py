"""sdae experiment outliers on small made-up ODDS sets: the protocol, the files, the verdicts."""

import json

import numpy as np
import pytest
from scipy.io import savemat

from sdae.experiments import outliers
from sdae.tasks.outliers import DetectorSettings


@pytest.fixture
def odds_dir(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "odds"
    folder.mkdir(parents=True)
    for name, shift in (("glass", 5.0), ("wbc", 3.0)):
        X = np.r_[rng.normal(size=(120, 4)), rng.normal(shift, 1, size=(10, 4))]
        savemat(folder / f"{name}.mat", {"X": X, "y": np.r_[np.zeros(120), np.ones(10)][:, None]})
    (folder / "pyod_roc.csv").write_text(
        "Data,#Samples,# Dimensions,Outlier Perc,IForest,AutoEncoder,INNE,LOF,OCSVM\n"
        "glass,130,4,7.7,0.75,0.67,0.78,0.86,0.63\nwbc,130,4,7.7,0.93,0.92,0.92,0.93,0.93\n")
    return tmp_path / "data"


def test_the_experiment_writes_every_method_and_set(odds_dir, tmp_path):
    settings = outliers.OutlierSettings(sets=["glass", "wbc"], seeds=[0, 1],
                                        detector=DetectorSettings(n_models=2, updates=100))
    methods = ("sdae", "IsolationForest", "LocalOutlierFactor", "OneClassSVM")
    outliers.run(tmp_path / "out", settings, methods, data_dir=odds_dir, log=lambda s: None)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(doc["results"]) == set(methods)
    for by_set in doc["results"].values():
        for entry in by_set.values():
            assert 0.5 < entry["roc_auc"]["mean"] <= 1 and len(entry["roc_auc_per_seed"]) == 2
            assert 0 <= entry["precision_at_n"]["mean"] <= 1 and entry["seconds"] >= 0
    assert set(doc["sdae_against_isolation_forest"]) == {"glass", "wbc"}
    table = (tmp_path / "out" / "results.md").read_text()
    assert "IForest (PyOD, 1 split)" in table and "| **mean** |" in table
    assert "0.750" in table  # PyOD's published glass IForest, beside
    assert (tmp_path / "out" / "roc_auc.png").stat().st_size > 0


def test_the_split_is_standardised_with_the_training_statistics():
    rng = np.random.default_rng(0)
    X, y = rng.normal(5, 3, size=(100, 3)), np.r_[np.zeros(90), np.ones(10)]
    X_train, X_test, _, y_test = outliers.split(X, y, seed=0, test_size=0.4)
    assert len(X_test) == 40 and len(y_test) == 40
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(axis=0), 1)
    assert not np.allclose(X_test.mean(axis=0), 0, atol=1e-3)


def test_precision_at_n_counts_outliers_among_the_n_highest_scores():
    y = np.array([0, 1, 0, 1, 0])
    assert outliers.precision_at_n(y, np.array([0.1, 0.9, 0.8, 0.2, 0.0])) == 0.5
    assert outliers.precision_at_n(y, np.array([0.1, 0.9, 0.0, 0.8, 0.0])) == 1.0


def test_wins_ties_and_losses_are_paired_over_the_seeds():
    results = {"a": {"s1": {"roc_auc_per_seed": [0.9, 0.91, 0.92]},
                     "s2": {"roc_auc_per_seed": [0.5, 0.7, 0.6]},
                     "s3": {"roc_auc_per_seed": [0.5, 0.5, 0.5]}},
               "b": {"s1": {"roc_auc_per_seed": [0.8, 0.8, 0.81]},
                     "s2": {"roc_auc_per_seed": [0.6, 0.6, 0.6]},
                     "s3": {"roc_auc_per_seed": [0.7, 0.71, 0.69]}}}
    assert outliers.against(results, "a", "b") == {"s1": "win", "s2": "tie", "s3": "loss"}


def test_only_methods_that_are_not_installed_is_an_error(odds_dir, tmp_path, monkeypatch):
    installed = outliers.detectors
    monkeypatch.setattr(outliers, "detectors", lambda settings, device="cpu": {
        k: v for k, v in installed(settings, device).items() if not k.startswith("pyod")})
    with pytest.raises(outliers.ConfigError, match="not installed"):
        outliers.run(tmp_path / "out", outliers.OutlierSettings(sets=["glass"], seeds=[0]),
                     ("pyod INNE",), data_dir=odds_dir, log=lambda s: None)


def test_the_command_offers_the_experiments_methods():
    from sdae.cli.experiment import outliers as command

    assert command.METHODS == outliers.METHODS
