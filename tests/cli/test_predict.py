"""sdae predict writes the classes a model was trained on, whatever they are."""

import numpy as np
import pytest

from sdae.cli import main
from sdae.models import load_model
from sdae.sklearn import SDAEClassifier


def separable(labels, n=60, seed=0):
    """Two well separated clusters of 8 features in [0, 1], one per label."""
    rng = np.random.default_rng(seed)
    y = np.array([labels[i % 2] for i in range(n)])
    x = np.where((np.arange(n) % 2)[:, None] == 0, 0.1, 0.9) + rng.normal(0, 0.03, (n, 8))
    return np.clip(x, 0, 1).astype(np.float32), y


@pytest.mark.parametrize("labels", [[0, 1], [3, 7], ["cat", "dog"]])
def test_predict_writes_the_classes_of_an_estimators_model(labels, tmp_path, capsys):
    x, y = separable(labels)
    model = tmp_path / "clf.safetensors"
    SDAEClassifier(hidden_sizes=(6,), epochs=2, finetune_epochs=30, batch_size=10, lr=0.05,
                   random_state=0).fit(x, y).save(model)
    np.save(tmp_path / "x.npy", x[:6])
    assert main(["predict", str(model), str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "p.csv")]) == 0
    written = (tmp_path / "p.csv").read_text().split()
    assert written == [str(v) for v in y[:6]]  # classes, not the indices 0 1 0 1 ...
    assert main(["predict", str(model), str(tmp_path / "x.npy"), "--proba",
                 "--out", str(tmp_path / "p.csv")]) == 0
    header, *rows = (tmp_path / "p.csv").read_text().splitlines()
    assert header == ",".join(map(str, labels)) and len(rows) == 6
    proba = np.array([[float(v) for v in r.split(",")] for r in rows])
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    assert main(["predict", str(model), str(tmp_path / "x.npy"), "--proba",
                 "--out", str(tmp_path / "p.npy")]) == 0
    assert f"columns: the classes {', '.join(map(str, labels))}" in capsys.readouterr().out


def test_train_fine_tunes_on_the_classes_the_labels_name(tmp_path):
    x, y = separable([3, 7], n=80)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "d.npz"), "--hidden", "6", "--epochs", "1",
                 "--batch-size", "10", "--finetune-epochs", "20", "--finetune-lr", "0.5",
                 "--out", str(out)]) == 0
    stack = load_model(out / "model.safetensors")
    assert stack.classes == [3, 7] and stack.classifier.out_features == 2  # not 8 outputs
    assert main(["predict", str(out / "model.safetensors"), str(tmp_path / "d.npz"),
                 "--out", str(tmp_path / "p.csv")]) == 0
    predicted = np.loadtxt(tmp_path / "p.csv").astype(int)
    assert set(predicted) <= {3, 7} and np.mean(predicted == y) > 0.9
