"""Data-parallel training: two CPU processes (gloo, launched by torchrun) give the model a
single process gives with the same global batch, for a stack's pre-training, unsupervised
and supervised fine-tuning."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from sdae.cli import main
from sdae.models import load_model


@pytest.fixture
def small_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, x=(rng.random((120, 16)) > 0.5).astype(np.float32), y=rng.integers(0, 3, 120))
    return path


@pytest.mark.parametrize("corruption", [["--corruption", "masking", "--noise-level", "0.3"],
                                        ["--corruption", "gaussian", "--noise-level", "0.3",
                                         "--decoder", "linear"],
                                        ["--corruption", "salt_and_pepper", "--noise-level",
                                         "0.3", "--walkback", "0.5"]])
def test_two_processes_train_the_model_one_process_trains(small_npz, tmp_path, corruption):
    options = ["train", "--data", str(small_npz), "--hidden", "12", "6", "--epochs", "3",
               "--batch-size", "10", "--momentum", "0.5", "--unsupervised-epochs", "2",
               "--finetune-epochs", "2", *corruption]
    assert main([*options, "--out", str(tmp_path / "one")]) == 0
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "sdae.cli", *options, "--out", str(tmp_path / "two")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("wrote") == 1  # one process reports and writes
    one = load_model(tmp_path / "one" / "model.safetensors").state_dict()
    two = load_model(tmp_path / "two" / "model.safetensors").state_dict()
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("command, message", [
    (["info", "model.safetensors"], "sdae info runs in one process"),
    (["train", "--data", "data.npz", "--device", "cuda:1", "--out", "run"],
     "give --device cuda, not cuda:1"),
])
def test_what_cannot_run_under_torchrun_says_so(command, message, monkeypatch, capsys):
    """Checked before any process group is joined: no torchrun needed. The machine seems
    to have two GPUs, so that cuda:1 is a device that exists and only torchrun refuses."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert main(command) == 2
    assert message in capsys.readouterr().err
