import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch

from sdae.autoencoder import DenoisingAutoencoder
from sdae.checkpoint import load_checkpoint, save_checkpoint
from sdae.errors import ConfigError, ModelFileError
from sdae.training import TrainConfig, train_autoencoder

CONFIG = dict(epochs=5, batch_size=16, lr=0.1, momentum=0.9, lr_decay=0.9, seed=3,
              progress=False)


def data():
    g = torch.Generator().manual_seed(0)
    return (torch.rand(200, 20, generator=g) > 0.5).float(), torch.rand(40, 20, generator=g)


def model():
    return DenoisingAutoencoder(20, 12, noise_level=0.3,
                                generator=torch.Generator().manual_seed(1))


def test_a_run_killed_with_sigkill_resumes_bitwise_identical(tmp_path):
    x, xv = data()
    reference = model()
    expected = train_autoencoder(reference, x, TrainConfig(**CONFIG), x_valid=xv,
                                 keep_best=True)
    ckpt = tmp_path / "run.ckpt"
    # a separate process trains with checkpoints and is SIGKILLed during epoch 4
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_checkpoint import CONFIG, data, model
        from sdae.training import TrainConfig, train_autoencoder, reconstruction_error
        import sdae.training as training
        x, xv = data()
        calls = []
        def evaluate_then_die(m, xv=xv):
            calls.append(1)
            if len(calls) == 4:
                os.kill(os.getpid(), signal.SIGKILL)
            return reconstruction_error(m, xv)
        training.reconstruction_error = evaluate_then_die
        train_autoencoder(model(), x, TrainConfig(**CONFIG), x_valid=xv, keep_best=True,
                          checkpoint={str(ckpt)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    assert load_checkpoint(ckpt)["epoch"] == 3
    resumed = model()
    history = train_autoencoder(resumed, x, TrainConfig(**CONFIG), x_valid=xv, keep_best=True,
                                checkpoint=ckpt)
    for a, b in zip(reference.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    assert history.train_loss == expected.train_loss
    assert history.valid_loss == expected.valid_loss
    assert history.best_epoch == expected.best_epoch


def test_resuming_with_other_settings_is_refused(tmp_path):
    x, _ = data()
    ckpt = tmp_path / "run.ckpt"
    train_autoencoder(model(), x, TrainConfig(**{**CONFIG, "epochs": 1}), checkpoint=ckpt)
    with pytest.raises(ConfigError, match="other training settings"):
        train_autoencoder(model(), x, TrainConfig(**{**CONFIG, "lr": 0.5}), checkpoint=ckpt)


class CreatesAFile:
    def __reduce__(self):
        return (open, (os.environ["SDAE_TEST_TARGET"], "w"))


def test_a_pickle_posing_as_checkpoint_is_refused_without_running(tmp_path, monkeypatch):
    target = tmp_path / "created-by-pickle"
    monkeypatch.setenv("SDAE_TEST_TARGET", str(target))
    evil = tmp_path / "run.ckpt"
    evil.write_bytes(pickle.dumps({"sdae_checkpoint": 1, "x": CreatesAFile()}))
    with pytest.raises(ModelFileError, match="not a readable sdae checkpoint"):
        load_checkpoint(evil)
    torch.save({"sdae_checkpoint": 1, "x": CreatesAFile()}, evil)  # the torch zip format too
    with pytest.raises(ModelFileError, match="not a readable sdae checkpoint"):
        train_autoencoder(model(), data()[0], TrainConfig(**CONFIG), checkpoint=evil)
    assert not target.exists()


def test_checkpoint_round_trip_and_other_files(tmp_path):
    path = save_checkpoint(tmp_path / "c.ckpt", {"epoch": 2, "w": torch.ones(3)})
    state = load_checkpoint(path)
    assert state["epoch"] == 2 and torch.equal(state["w"], torch.ones(3))
    torch.save({"epoch": 2}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="not an sdae checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.ckpt")
    (tmp_path / "cut.ckpt").write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="not a readable"):
        load_checkpoint(tmp_path / "cut.ckpt")
