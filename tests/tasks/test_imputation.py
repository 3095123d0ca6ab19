import numpy as np
import pandas as pd
import pytest
import torch

from sdae.core.training import TrainConfig
from sdae.sklearn import DAEImputer
from sdae.tasks import imputation
from sdae.tasks.imputation import (
    ImputerSettings,
    TableEncoding,
    category_targets,
    fit_imputer,
    imputation_objective,
    imputation_schedule,
    impute_table,
    pool_imputations,
)


def mixed_table():
    X = np.array([[1.0, "a", 10.0], [3.0, np.nan, np.nan], [np.nan, "b", 30.0],
                  [2.0, "a", 20.0]], dtype=object)
    return X


def test_encoding_scales_numbers_one_hots_categories_and_marks_missing():
    enc = TableEncoding.fit(mixed_table(), categorical=[1])
    x, observed = enc.encode(mixed_table())
    assert enc.width == 4 and list(enc.feature_of_input) == [0, 2, 1, 1]
    np.testing.assert_allclose(x[:, 0], [0, 1, 0, 0.5])  # min-max from observed values
    np.testing.assert_allclose(x[:, 1], [0, 0, 1, 0.5])
    np.testing.assert_array_equal(x[:, 2:], [[1, 0], [0, 0], [0, 1], [1, 0]])
    np.testing.assert_array_equal(observed, [[1, 1, 1], [1, 0, 0], [0, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(category_targets(enc, x)[:, 0], [0, -1, 1, 0])


def test_decode_fills_only_the_missing_entries():
    X = mixed_table()
    enc = TableEncoding.fit(X, categorical=[1])
    _, observed = enc.encode(X)
    logits = np.zeros((4, 4))
    logits[:, 3] = 5.0  # category "b" wins everywhere
    out = enc.decode(logits, X, observed)
    assert out[1, 1] == "b" and out[2, 0] == pytest.approx(2.0) and out[1, 2] == pytest.approx(20)
    kept = observed
    assert all(out[i, j] == X[i, j] for i, j in zip(*np.nonzero(kept), strict=True))


class Probe(torch.nn.Module):
    """Returns fixed logits and records the input it was given."""

    def __init__(self, n, m):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.zeros(n, m))

    def reconstruction_logits(self, x):
        self.seen = x
        return self.logits


def test_only_observed_entries_count_in_the_loss():
    X = mixed_table()
    enc = TableEncoding.fit(X, categorical=[1])
    x, observed = enc.encode(X)
    batch = (torch.from_numpy(x), torch.from_numpy(observed),
             torch.from_numpy(category_targets(enc, x)))
    probe = Probe(4, 4)
    imputation_objective(enc, 0.0)(probe, batch, torch.Generator()).backward()
    grad = probe.logits.grad
    assert grad[2, 0] == 0 and grad[1, 1] == 0 and torch.all(grad[1, 2:] == 0)  # missing
    assert grad[0, 0] != 0 and torch.all(grad[0, 2:] != 0)  # observed


def test_training_noise_masks_whole_columns_at_the_noise_level():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.random(4000) + 0.1, rng.choice(["u", "v", "w"], 4000)])
    enc = TableEncoding.fit(X, categorical=[1])
    x, observed = enc.encode(X)
    batch = (torch.from_numpy(x), torch.from_numpy(observed),
             torch.from_numpy(category_targets(enc, x)))
    probe = Probe(4000, 4)
    imputation_objective(enc, 0.3)(probe, batch, torch.Generator().manual_seed(0))
    values, shown = probe.seen[:, :4], probe.seen[:, 4:]  # the input, then what it shows
    assert torch.all(values[shown == 0] == 0)  # what is hidden is 0 in the input
    assert (shown[:, 0] == 0).float().mean().item() == pytest.approx(0.3, abs=0.03)
    assert (shown[:, 1:].sum(1) == 0).float().mean().item() == pytest.approx(0.3, abs=0.03)
    assert set(shown[:, 1:].sum(1).tolist()) <= {0.0, 3.0}  # a block is kept or dropped whole


def test_emphasis_weighs_dropped_entries_against_seen_ones():
    rng = np.random.default_rng(0)
    X = rng.random((500, 4))
    enc = TableEncoding.fit(X)
    x, observed = enc.encode(X)
    batch = (torch.from_numpy(x), torch.from_numpy(observed),
             torch.from_numpy(category_targets(enc, x)))
    for emphasis in [(1.0, 0.0), (0.0, 1.0)]:
        probe = Probe(500, 8)
        imputation_objective(enc, 0.3, emphasis)(probe, batch,
                                                 torch.Generator().manual_seed(0)).backward()
        shown = probe.seen[:, 4:].bool()
        has_grad = probe.logits.grad[:, :4] != 0
        # (1, 0): only the dropped entries count; (0, 1): only those the network saw
        assert torch.equal(has_grad, ~shown if emphasis[0] else shown)


def test_held_out_entries_choose_the_epoch_and_are_left_out_of_training(monkeypatch):
    _, Xm, _ = correlated()
    enc = TableEncoding.fit(Xm)
    config = TrainConfig(epochs=6, batch_size=50, optimizer="adam", lr=1e-2, progress=False)
    trained_on = []
    original = imputation.imputation_objective

    def spy(*args):
        objective = original(*args)

        def recorded(model, batch, generator, rows=slice(None)):
            trained_on.append(batch[1].sum().item())  # the observed mask training gets
            return objective(model, batch, generator, rows)
        return recorded

    monkeypatch.setattr(imputation, "imputation_objective", spy)
    _, history = fit_imputer(enc, Xm, [16], 0.25, config, torch.Generator().manual_seed(0),
                             validation_fraction=0.2)
    assert len(history.valid_loss) == 6 and history.best_epoch is not None
    first_epoch = sum(trained_on[: len(Xm) // 50])  # 600 rows: every row once
    assert first_epoch == pytest.approx(0.8 * (~np.isnan(Xm)).sum(), rel=0.05)


def correlated(n=600, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.random(n)
    X = np.column_stack([t, 1 - t, t ** 2, np.sin(3 * t), rng.random(n)])
    missing = rng.random(X.shape) < 0.2
    Xm = X.copy()
    Xm[missing] = np.nan
    return X, Xm, missing


def test_dae_imputer_uses_the_other_columns():
    X, Xm, missing = correlated()
    dae = DAEImputer(hidden_sizes=(64, 64), epochs=200, random_state=0).fit(Xm)
    out = dae.transform(Xm)
    mean = np.where(np.isnan(Xm), np.nanmean(Xm, axis=0), Xm)
    rmse = np.sqrt(np.mean((out[missing] - X[missing]) ** 2))
    rmse_mean = np.sqrt(np.mean((mean[missing] - X[missing]) ** 2))
    assert rmse < 0.6 * rmse_mean
    np.testing.assert_array_equal(out[~missing], Xm[~missing])


def test_categorical_columns_from_a_dataframe_are_imputed_as_categories():
    rng = np.random.default_rng(1)
    t = rng.random(600)
    frame = pd.DataFrame({"t": t, "side": np.where(t > 0.5, "high", "low"),
                          "u": rng.random(600)})
    hidden = rng.random(600) < 0.2
    frame.loc[hidden, "side"] = None
    dae = DAEImputer(hidden_sizes=(16,), epochs=200, random_state=0).fit(frame)
    assert dae.categorical_ == [1]
    out = dae.transform(frame)
    truth = np.where(t > 0.5, "high", "low")
    assert (out[hidden, 1] == truth[hidden]).mean() > 0.9
    assert set(out[:, 1]) == {"high", "low"}


def test_multiple_imputations_draw_different_values_for_missing_entries_only():
    _, Xm, missing = correlated(200)
    dae = DAEImputer(hidden_sizes=(16,), epochs=20, n_imputations=3, random_state=0).fit(Xm)
    draws = dae.multiple_imputations(Xm)
    assert draws.shape == (3, 200, 5)
    assert np.all(draws[:, ~missing] == Xm[~missing])
    assert np.std(draws[:, missing].astype(float), axis=0).mean() > 0
    filled = dae.transform(Xm)
    np.testing.assert_allclose(filled[missing], draws[:, missing].mean(0))
    assert np.array_equal(filled[~missing], Xm[~missing])  # exactly, not a mean of copies


def test_bad_input():
    _, Xm, _ = correlated(100)
    dae = DAEImputer(hidden_sizes=(8,), epochs=2, random_state=0).fit(Xm)
    with pytest.raises(ValueError, match="features"):
        dae.transform(Xm[:, :3])
    Xm[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity|inf"):
        DAEImputer().fit(Xm)
    with pytest.raises(ValueError, match="noise_level"):
        DAEImputer(noise_level=1.0).fit(Xm[1:])
    with pytest.raises(ValueError, match="'emphasis' parameter of DAEImputer must be an array"):
        DAEImputer(emphasis=0.5).fit(Xm[1:])
    for emphasis in [(0.5,), (1.0, -1.0), (0, 0)]:
        with pytest.raises(ValueError, match="emphasis must be two weights"):
            DAEImputer(emphasis=emphasis).fit(Xm[1:])
        with pytest.raises(ValueError, match="emphasis must be two weights"):
            ImputerSettings(emphasis=emphasis)  # the same check for the CLI and the experiment
    Xm[:, 2] = np.nan  # nothing to learn it from: refused, not filled with made-up values
    with pytest.raises(ValueError, match="column 2 of X has no observed values"):
        DAEImputer().fit(Xm[1:])


def test_the_schedule_makes_about_80000_updates_with_lr_decaying_to_a_twentieth():
    config = imputation_schedule(20_000, 128, lr=1e-2)
    updates = config.epochs * (20_000 // 128)
    assert 80_000 <= updates < 80_000 + 20_000 // 128
    assert config.lr * config.lr_decay ** config.epochs == pytest.approx(1e-2 / 20)
    assert imputation_schedule(10, 128).batch_size == 10  # clipped to the rows
    assert imputation_schedule(10, 128).epochs == 2000  # at most 2000 epochs...
    assert imputation_schedule(10**7, 128).epochs == 20  # ...and at least 20
    assert imputation_schedule(1000, epochs=7).epochs == 7


def test_pooling_averages_numbers_takes_the_most_frequent_category_and_keeps_observed():
    X = np.array([[0.1, "a"], [np.nan, None]], dtype=object)
    enc = TableEncoding.fit(np.array([[0.1, "a"], [0.3, "b"]], dtype=object), categorical=[1])
    draws = np.array([[[0.1, "a"], [0.2, "b"]], [[0.1, "a"], [0.4, "a"]],
                      [[0.1, "a"], [0.9, "b"]]], dtype=object)
    pooled = pool_imputations(draws, enc)
    assert pooled[0, 0] == 0.1 and pooled[0, 1] == "a"  # every draw agrees: kept as it is
    assert pooled[1, 0] == pytest.approx(0.5) and pooled[1, 1] == "b"
    assert X.shape == pooled.shape


def test_the_task_call_gives_the_estimators_numbers():
    _, Xm, _ = correlated(150)
    options = dict(hidden_sizes=(8,), epochs=3, n_imputations=2)
    by_task = impute_table(Xm, (), ImputerSettings(**options), random_state=5)
    by_estimator = DAEImputer(**options, random_state=5).fit_transform(Xm)
    np.testing.assert_array_equal(by_task, by_estimator)
    other_seed = impute_table(Xm, (), ImputerSettings(**options), random_state=6)
    assert not np.array_equal(by_task, other_seed)
