import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sdae.cli import main
from sdae.models import load_model
from sdae.sklearn import DAEImputer, DAETransformer, SDAEClassifier, SDAETransformer

# small and quick, but enough for the checks' accuracy thresholds
QUICK = {"epochs": 10, "random_state": 0}


@parametrize_with_checks(
    [DAETransformer(n_hidden=8, **QUICK), SDAETransformer(hidden_sizes=(8, 6), **QUICK),
     SDAEClassifier(hidden_sizes=(16,), finetune_epochs=40, finetune_lr=1e-2, **QUICK),
     DAEImputer(hidden_sizes=(8,), **QUICK)],
    legacy=True,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x[:600] / 16, y[:600]


def test_pipeline_and_grid_search(digits):
    x, y = digits
    pipe = make_pipeline(MinMaxScaler(), DAETransformer(epochs=3, random_state=0),
                         LogisticRegression(max_iter=300))
    grid = GridSearchCV(pipe, {"daetransformer__noise_level": [0.0, 0.3],
                               "daetransformer__n_hidden": [16, 32]}, cv=2)
    grid.fit(x, y)
    assert set(grid.best_params_) == {"daetransformer__noise_level", "daetransformer__n_hidden"}
    assert grid.best_score_ > 0.5


def test_random_state_repeats_fits_without_touching_global_rng(digits):
    x, _ = digits
    state = torch.get_rng_state()
    a = DAETransformer(n_hidden=12, epochs=2, random_state=3).fit(x).transform(x)
    b = DAETransformer(n_hidden=12, epochs=2, random_state=3).fit(x).transform(x)
    c = DAETransformer(n_hidden=12, epochs=2, random_state=4).fit(x).transform(x)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert torch.equal(state, torch.get_rng_state())


def test_the_classifier_leaves_the_global_rng_alone_too(digits):
    x, y = digits
    state = torch.get_rng_state()
    SDAEClassifier(hidden_sizes=(12,), epochs=1, finetune_epochs=1, random_state=0).fit(x, y)
    assert torch.equal(state, torch.get_rng_state())


def test_dtype_preserved_and_score_is_higher_when_better(digits):
    x, _ = digits
    dae = DAETransformer(n_hidden=16, epochs=1, random_state=0).fit(x)
    assert dae.transform(x.astype(np.float32)).dtype == np.float32
    assert dae.transform(x).dtype == np.float64
    assert dae.inverse_transform(dae.transform(x)).shape == x.shape
    better = DAETransformer(n_hidden=16, epochs=20, random_state=0).fit(x)
    assert better.score(x) > dae.score(x)  # a longer fit reconstructs better: higher score
    assert list(dae.get_feature_names_out()[:2]) == ["daetransformer0", "daetransformer1"]


def test_classifier_with_string_labels_pickles_and_clones(digits):
    x, y = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                       "nine"])[y]
    clf = SDAEClassifier(hidden_sizes=(32,), epochs=3, finetune_epochs=20, lr=1e-2,
                         early_stopping=True, random_state=0).fit(x, labels)
    assert set(clf.classes_) == set(labels)
    assert clf.score(x, labels) > 0.8
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict(x), clf.predict(x))
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "model_")
    assert len(clf.history_["finetune"]["valid_loss"]) >= 1


def test_estimator_and_cli_files_load_on_either_side(digits, tmp_path):

    x, y = digits
    np.savez(tmp_path / "digits.npz", x=x.astype(np.float32), y=y)
    # CLI -> estimators
    assert main(["train", "--data", str(tmp_path / "digits.npz"), "--hidden", "20",
                 "--epochs", "2", "--out", str(tmp_path / "dae")]) == 0
    assert main(["train", "--data", str(tmp_path / "digits.npz"), "--hidden", "20", "10",
                 "--epochs", "2", "--finetune-epochs", "2", "--out", str(tmp_path / "sda")]) == 0
    dae_file = tmp_path / "dae" / "model.safetensors"
    sda_file = tmp_path / "sda" / "model.safetensors"
    dae = DAETransformer.load(dae_file)
    expected = load_model(dae_file).encode(torch.tensor(x, dtype=torch.float32)).detach()
    assert np.allclose(dae.transform(x.astype(np.float32)), expected.numpy())
    clf = SDAEClassifier.load(sda_file)
    stack = load_model(sda_file)
    assert np.array_equal(clf.predict(x.astype(np.float32)),
                          stack.predict(torch.tensor(x, dtype=torch.float32)).numpy())
    assert SDAETransformer.load(sda_file).transform(x).shape == (len(x), 10)
    with pytest.raises(ValueError, match="holds a stack"):
        DAETransformer.load(sda_file)
    with pytest.raises(ValueError, match="no classifier"):
        SDAEClassifier.load(dae_file)
    # estimator -> CLI (and back, with its parameters and classes)
    fitted = SDAEClassifier(hidden_sizes=(12,), epochs=1, finetune_epochs=1,
                            random_state=0).fit(x, y + 10)
    path = fitted.save(tmp_path / "est.safetensors")
    assert main(["filters", str(path), "--out", str(tmp_path / "f.png")]) == 0
    back = SDAEClassifier.load(path)
    assert back.get_params() == fitted.get_params()
    assert np.array_equal(back.predict(x), fitted.predict(x))
    assert np.array_equal(load_model(path).predict(torch.tensor(x, dtype=torch.float32)).numpy(),
                          fitted.predict(x) - 10)


def test_loaded_estimator_reports_the_files_settings(digits, tmp_path):
    x, y = digits
    np.savez(tmp_path / "d.npz", x=x.astype(np.float32), y=y)
    assert main(["train", "--data", str(tmp_path / "d.npz"), "--hidden", "10", "--untied",
                 "--activation", "tanh", "--corruption", "gaussian", "--noise-level", "0.4",
                 "--clip", "0", "1", "--epochs", "1", "--lr", "0.05",
                 "--out", str(tmp_path / "r")]) == 0
    loaded = DAETransformer.load(tmp_path / "r" / "model.safetensors")
    params = loaded.get_params()
    assert (params["tied"], params["activation"], params["corruption"],
            params["noise_level"], params["lr"], params["n_hidden"]) == (
        False, "tanh", "gaussian", 0.4, 0.05, 10)


def test_parameter_values_from_numpy_and_bad_ones(digits):
    x, _ = digits
    dae = DAETransformer(n_hidden=np.int64(8), epochs=np.int64(1), random_state=0).fit(x)
    assert dae.transform(x).shape == (len(x), 8)
    stack = SDAETransformer(hidden_sizes=8, noise_levels=np.array([0.1]), epochs=1).fit(x)
    assert stack.transform(x).shape == (len(x), 8)
    with pytest.raises(ValueError, match="validation_fraction"):
        DAETransformer(early_stopping=True, validation_fraction=1.5).fit(x)
    with pytest.raises(ValueError, match="cross-entropy is only defined"):
        dae.score(x * 3)



def test_classes_live_in_the_model_and_old_files_still_load(digits, tmp_path):
    from sdae.core.stacking import StackedDenoisingAutoencoder
    from sdae.models import save_model

    x, y = digits
    labels = np.array(["even", "odd"])[y % 2]
    fitted = SDAEClassifier(hidden_sizes=(8,), epochs=1, finetune_epochs=1,
                            random_state=0).fit(x, labels)
    path = fitted.save(tmp_path / "new.safetensors")
    assert load_model(path).classes == ["even", "odd"]  # the file's model config holds them
    assert list(SDAEClassifier.load(path).classes_) == ["even", "odd"]
    # a file of sdae < 0.2: the labels only in extra["classes"]
    old = StackedDenoisingAutoencoder(x.shape[1], [8], 2)
    old.load_state_dict(fitted.model_.state_dict())
    save_model(old, tmp_path / "old.safetensors", extra={"classes": ["even", "odd"]})
    back = SDAEClassifier.load(tmp_path / "old.safetensors")
    assert np.array_equal(back.predict(x), fitted.predict(x))


def test_load_takes_the_files_parameters_and_a_dae_file_serves_as_a_stack(digits, tmp_path):
    x, _ = digits
    dae = DAETransformer(n_hidden=6, noise_level=0.4, epochs=1, random_state=0).fit(x)
    path = dae.save(tmp_path / "dae.safetensors")
    back = DAETransformer.load(path)
    assert back.get_params() == dae.get_params()
    stack = SDAETransformer.load(path)  # no conversion: a DAE answers a stack's interface
    assert stack.hidden_sizes == (6,) and stack.noise_levels == (0.4,)
    np.testing.assert_array_equal(stack.transform(x), dae.transform(x))
    assert list(stack.get_feature_names_out()[:1]) == ["sdaetransformer0"]


@pytest.mark.parametrize("estimator, match", [
    (DAETransformer(n_hidden=0), "'n_hidden' parameter of DAETransformer must be an int"),
    (DAETransformer(corruption="blur"), "'corruption' parameter of DAETransformer"),
    (SDAETransformer(lr=0), "'lr' parameter of SDAETransformer must be a float in the range"),
    (SDAEClassifier(finetune_epochs=1.5), "'finetune_epochs' parameter of SDAEClassifier"),
    (DAEImputer(batch_size=0), "'batch_size' parameter of DAEImputer"),
])
def test_bad_parameters_are_named_at_fit(digits, estimator, match):
    x, y = digits
    with pytest.raises(ValueError, match=match):
        estimator.fit(x, y)
