import json

import numpy as np
import pytest

from sdae.core.training import TrainConfig
from sdae.experiments import sda, sda_report
from sdae.io.data.registry import load_digits


def test_balanced_subset():
    y = np.repeat(np.arange(10), 50)
    idx = sda.balanced_subset(y, 25, seed=0)
    assert len(idx) == len(set(idx)) == 25
    counts = np.bincount(y[idx], minlength=10)
    assert counts.max() - counts.min() <= 1
    assert not np.array_equal(idx, sda.balanced_subset(y, 25, seed=1))


def test_small_data_sets_get_more_epochs_not_fewer_updates():
    settings = sda.SdaSettings()  # pre-training: batch 64, 40 epochs, >= 10 000 updates
    assert settings.pretrain_config(50_000, seed=3).epochs == 40  # MNIST: 781 per epoch
    usps = settings.pretrain_config(6291, seed=3)  # 98 updates per epoch
    assert usps.epochs == 103 and usps.seed == 3 and usps.lr == settings.pretrain.lr
    few = settings.finetune_config(1000, seed=0)  # batch 64, 15 updates per epoch
    assert few.epochs * (1000 // few.batch_size) >= settings.min_finetune_updates
    assert few.lr_decay ** few.epochs == pytest.approx(
        settings.finetune.lr_decay ** settings.finetune.epochs)  # same decay over the run


def test_small_comparison_writes_results(tmp_path):
    data = load_digits()
    settings = sda.SdaSettings(
        hidden_sizes=[32, 16], noise_levels=[0.2, 0.3],
        pretrain=TrainConfig(epochs=2, batch_size=20, lr=0.1, progress=False),
        unsupervised=TrainConfig(epochs=2, batch_size=20, lr=0.1, progress=False),
        finetune=TrainConfig(epochs=3, batch_size=20, lr=0.1, momentum=0.9, progress=False),
        probe_examples=500, probe_max_iter=50, min_pretrain_updates=0, min_finetune_updates=30)
    results = sda.run(data, tmp_path, settings, seeds=[0, 1], label_counts=[100, None],
                      log=lambda s: None)
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["models"] == results["models"]
    names = [(m["name"], m["n_labels"]) for m in results["models"]]
    assert names == [(n, k) for k in (100, 1197) for n in
                     ("SdA-2", "SAE-2", "MLP-2", "logistic regression (raw pixels)")]
    for m in results["models"]:
        for key in ("name", "valid_error", "test_error", "noise_levels", "pretrain_seconds",
                    "finetune_seconds", "test_error_std"):
            assert key in m
        assert 0 <= m["test_error"] <= 1
    sdam = results["models"][0]
    assert sdam["noise_levels"] == [0.2, 0.3] and len(sdam["layer_probe_test_error"]) == 2
    assert results["models"][1]["noise_levels"] == [0.0, 0.0]
    assert results["models"][2]["pretrain_seconds"] == 0
    # the deep autoencoder is fine-tuned after greedy pre-training, for SdA and SAE only
    assert [m["unsupervised_seconds"] > 0 for m in results["models"][:3]] == [True, True, False]
    assert results["runs"][0]["unsupervised_valid_reconstruction"] > 0
    assert sorted({r["n_labels"] for r in results["runs"]}) == [100, 1197]
    table = (tmp_path / "results.md").read_text()
    assert "| SdA-2 | 100 |" in table and "±" in table
    assert sda_report.markdown_table(on_disk, data.name) == table  # results.json suffices
    assert len(list((tmp_path / "models").iterdir())) == 12
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_noise_search_records_the_probe_errors_and_the_choice(tmp_path):
    data = load_digits()
    settings = sda.SdaSettings(
        hidden_sizes=[16, 8], noise_candidates=[0.0, 0.3],
        pretrain=TrainConfig(epochs=1, batch_size=50, lr=0.1, progress=False),
        unsupervised=None,
        finetune=TrainConfig(epochs=1, batch_size=50, lr=0.1, progress=False),
        probe_examples=300, probe_max_iter=20, min_pretrain_updates=0,
        min_finetune_updates=1)
    results = sda.run(data, tmp_path, settings, models=["SdA"], log=lambda s: None)
    run = results["runs"][0]
    assert run["unsupervised_seconds"] == 0  # none asked for
    assert len(run["noise_search"]) == 2
    for chosen, errors in zip(run["noise_levels"], run["noise_search"], strict=True):
        assert set(errors) == {"0.0", "0.3"}
        assert errors[str(chosen)] == min(errors.values())


def test_epoch_lines_say_the_model_seed_and_labels(capsys):
    data = load_digits()
    quick = TrainConfig(epochs=1, batch_size=50, lr=0.1)  # progress None: lines off a terminal
    settings = sda.SdaSettings(hidden_sizes=[16], noise_levels=[0.2], pretrain=quick,
                               unsupervised=quick, finetune=quick, probe_examples=200,
                               probe_max_iter=10, min_pretrain_updates=0,
                               min_finetune_updates=0)
    sda.run_one(data, settings, seed=3, label_counts=[100], models=["SdA"], log=lambda s: None)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("SdA-1 seed 3, pretrain layer 1: epoch 1/1, loss ")
    assert lines[-1].startswith("SdA-1 seed 3, 100 labels, ")
