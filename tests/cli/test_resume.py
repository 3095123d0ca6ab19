"""The resume rule: the same command continues an unfinished run and says from where,
other options are refused (naming --resume and --overwrite), nothing is deleted unasked."""

import json
import os
import shlex

import numpy as np
import pytest
import torch
from conftest import run_killed

from sdae.cli import main
from sdae.models import load_model


@pytest.fixture
def small_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, x=(rng.random((120, 4, 4)) > 0.5).astype(np.float32),
             y=rng.integers(0, 3, 120))
    return path


def test_the_same_train_command_continues_a_killed_run_and_says_from_where(
        small_npz, tmp_path, capsys):
    options = ["train", "--data", str(small_npz), "--hidden", "8", "--epochs", "5",
               "--batch-size", "10"]
    assert main([*options, "--out", str(tmp_path / "whole")]) == 0
    run = tmp_path / "run"
    run_killed([*options, "--out", str(run)], tmp_path, after=3)
    capsys.readouterr()
    assert main([*options, "--out", str(run)]) == 0
    assert (f"continuing the unfinished run in {run}: pretrain layer 1 from epoch 4"
            in capsys.readouterr().out)
    a = load_model(tmp_path / "whole" / "model.safetensors").state_dict()
    b = load_model(run / "model.safetensors").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_other_options_in_an_unfinished_runs_folder_are_refused_until_overwrite(
        small_npz, tmp_path, capsys):
    options = ["train", "--data", str(small_npz), "--hidden", "8", "--batch-size", "10"]
    run = tmp_path / "run"
    run_killed([*options, "--epochs", "4", "--out", str(run)], tmp_path, after=2)
    checkpoint = (run / "checkpoints" / "pretrain-layer1.ckpt").read_bytes()
    assert main([*options, "--epochs", "3", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"--resume {run}" in err and "--overwrite" in err and err.count("\n") == 1
    assert (run / "checkpoints" / "pretrain-layer1.ckpt").read_bytes() == checkpoint
    assert main([*options, "--epochs", "3", "--out", str(run), "--overwrite"]) == 0
    assert "continuing" not in capsys.readouterr().out
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["pretrain_history"][0]["train_loss"]) == 3  # afresh, with its options
    # a finished run's folder may be run again with other options
    assert main([*options, "--epochs", "2", "--out", str(run)]) == 0
    assert len(json.loads((run / "metrics.json").read_text())
               ["pretrain_history"][0]["train_loss"]) == 2


def test_denoise_train_applies_the_rule_to_its_checkpoint(tmp_path, monkeypatch, capsys):
    from sdae.core import training
    from sdae.io.data.images import write_image

    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(tmp_path / "photos" / f"{i}.png", rng.random((24, 24)))
    checkpoint = tmp_path / "ckpt" / "d.ckpt"
    options = ["denoise", "train", "--images", str(tmp_path / "photos"), "--depth", "2",
               "--width", "4", "--crop", "16", "--stride", "8", "--batch-size", "4",
               "--epochs", "3", "--checkpoint", str(checkpoint),
               "--out", str(tmp_path / "m.safetensors")]
    save = training.save_checkpoint

    def save_then_interrupt(path, state):
        save(path, state)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(training, "save_checkpoint", save_then_interrupt)
        assert main([*options, "--overwrite"]) == 130
    # the command to run, not the one typed: its --overwrite would start afresh
    assert ("continue with (without --overwrite, which starts afresh): cd "
            f"{shlex.quote(os.getcwd())} && sdae {shlex.join(options)}\n"
            in capsys.readouterr().err)
    assert main([*options, "--sigma", "50"]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and err.count("\n") == 1 and checkpoint.exists()
    assert main(options) == 0
    assert (f"continuing the unfinished run in {checkpoint}: from epoch 2"
            in capsys.readouterr().out)
    assert main([*options, "--sigma", "50"]) == 0  # a finished run: afresh
    assert "continuing" not in capsys.readouterr().out


def test_a_model_asked_of_an_unfinished_runs_folder_names_its_own_resume(tmp_path, capsys):
    from sdae.io.atomic import write_json

    run = tmp_path / "my run"
    write_json(run / "checkpoints" / "command.json", {"command": "cluster", "argv": ["cluster"]})
    assert main(["info", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"'sdae cluster --resume {shlex.quote(str(run.resolve()))}' finishes this one" in err
    assert err.count("\n") == 1
