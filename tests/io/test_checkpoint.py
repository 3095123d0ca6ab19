import os
import pickle
import subprocess
import sys

import pytest
import torch

from sdae.core import training
from sdae.core.autoencoder import DenoisingAutoencoder
from sdae.core.training import TrainConfig, train_autoencoder
from sdae.errors import ConfigError, ModelFileError
from sdae.io.checkpoint import load_checkpoint, save_checkpoint

CONFIG = dict(epochs=5, batch_size=16, lr=0.1, momentum=0.9, lr_decay=0.9, warmup_epochs=1.5,
              seed=3, progress=False)


def data():
    g = torch.Generator().manual_seed(0)
    return (torch.rand(200, 20, generator=g) > 0.5).float(), torch.rand(40, 20, generator=g)


def model():
    return DenoisingAutoencoder(20, 12, noise_level=0.3,
                                generator=torch.Generator().manual_seed(1))


# how the child process dies: a hook patched into the library, and when it fires
KILLS = {
    # the 41st batch is batch 5 of epoch 4 (12 batches an epoch)
    "during an epoch": "training.autoencoder_objective = die_on_call(41, "
                       "training.autoencoder_objective)",
    # the 3rd checkpoint is half on disk (in its temporary file) when the process dies
    "during a checkpoint write": "os.fsync = die_on_call(3, os.fsync, is_file, cut_in_half)",
    "right after a checkpoint": "training.save_checkpoint = die_after_call(2, "
                                "training.save_checkpoint)",
}
CHILD = """
import os, signal, stat, sys
sys.path.insert(0, {tests!r})
from test_checkpoint import CONFIG, data, model
import sdae.core.training as training

def is_file(fd, *args):  # not the folder's fsync
    return stat.S_ISREG(os.fstat(fd).st_mode)

def cut_in_half(fd, *args):
    os.ftruncate(fd, os.fstat(fd).st_size // 2)

def die_on_call(n, fn, counts=lambda *args: True, last_words=lambda *args: None):
    calls = []
    def hook(*args):
        if counts(*args):
            calls.append(1)
            if len(calls) == n:
                last_words(*args)
                os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args)
    return hook

def die_after_call(n, fn):
    calls = []
    def hook(*args):
        result = fn(*args)
        calls.append(1)
        if len(calls) == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return hook

{kill}
x, xv = data()
training.train_autoencoder(model(), x, training.TrainConfig(**CONFIG, checkpoint_every={every}),
                           x_valid=xv, keep_best=True, checkpoint={checkpoint!r})
"""


@pytest.mark.parametrize(("kill", "every", "saved_epoch"), [
    ("during an epoch", 1, 3),
    ("during an epoch", 2, 2),
    ("during a checkpoint write", 1, 2),
    ("right after a checkpoint", 2, 4),
])
def test_a_run_killed_with_sigkill_resumes_bitwise_identical(tmp_path, kill, every, saved_epoch):
    x, xv = data()
    reference = model()
    expected = train_autoencoder(reference, x, TrainConfig(**CONFIG), x_valid=xv,
                                 keep_best=True)
    ckpt = tmp_path / "run.ckpt"
    script = CHILD.format(tests=os.path.dirname(__file__), kill=KILLS[kill], every=every,
                          checkpoint=str(ckpt))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    assert load_checkpoint(ckpt)["epoch"] == saved_epoch  # whole, whatever the kill cut short
    half_written = list(tmp_path.glob(".run.ckpt.*.part"))
    assert len(half_written) == (kill == "during a checkpoint write")
    resumed = model()
    history = train_autoencoder(resumed, x, TrainConfig(**CONFIG), x_valid=xv, keep_best=True,
                                checkpoint=ckpt)
    for a, b in zip(reference.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    assert history.train_loss == expected.train_loss
    assert history.valid_loss == expected.valid_loss
    assert history.best_epoch == expected.best_epoch


def test_ctrl_c_saves_the_last_finished_epoch(tmp_path, monkeypatch):
    x, xv = data()
    reference = model()
    train_autoencoder(reference, x, TrainConfig(**CONFIG), x_valid=xv)
    calls = []

    def interrupt_in_epoch_4(model, batch, generator, objective=training.autoencoder_objective):
        calls.append(1)
        if len(calls) == 3 * 12 + 5:
            raise KeyboardInterrupt
        return objective(model, batch, generator)

    ckpt = tmp_path / "run.ckpt"
    config = TrainConfig(**CONFIG, checkpoint_every=10)  # only the Ctrl-C writes one
    with monkeypatch.context() as patch:
        patch.setattr(training, "autoencoder_objective", interrupt_in_epoch_4)
        with pytest.raises(KeyboardInterrupt):
            train_autoencoder(model(), x, config, x_valid=xv, checkpoint=ckpt)
    assert load_checkpoint(ckpt)["epoch"] == 3
    resumed = model()
    train_autoencoder(resumed, x, config, x_valid=xv, checkpoint=ckpt)
    assert all(torch.equal(a, b) for a, b in zip(reference.parameters(), resumed.parameters(),
                                                     strict=True))


def test_resuming_with_other_settings_is_refused(tmp_path):
    x, _ = data()
    ckpt = tmp_path / "run.ckpt"
    train_autoencoder(model(), x, TrainConfig(**{**CONFIG, "epochs": 1}), checkpoint=ckpt)
    with pytest.raises(ConfigError, match="other training settings"):
        train_autoencoder(model(), x, TrainConfig(**{**CONFIG, "lr": 0.5}), checkpoint=ckpt)


@pytest.mark.parametrize("other", ["model", "data"])
def test_resuming_another_model_or_other_data_is_refused(tmp_path, other):
    x, _ = data()
    ckpt = tmp_path / "run.ckpt"
    config = TrainConfig(**{**CONFIG, "epochs": 1})
    train_autoencoder(model(), x, config, checkpoint=ckpt)
    resumed = model()
    if other == "model":  # same shapes, other corruption
        resumed = DenoisingAutoencoder(20, 12, corruption="gaussian", noise_level=0.3)
    else:
        x = x[:100]
    before = [p.clone() for p in resumed.parameters()]
    with pytest.raises(ConfigError, match="another model or other data"):
        train_autoencoder(resumed, x, config, checkpoint=ckpt)
    assert all(torch.equal(a, b) for a, b in zip(before, resumed.parameters(), strict=True))


def test_a_checkpoint_from_before_signatures_still_resumes(tmp_path):
    """Checkpoints of format 1 written before the model and data signature was stored."""
    x, xv = data()
    reference = model()
    train_autoencoder(reference, x, TrainConfig(**CONFIG), x_valid=xv)
    ckpt = tmp_path / "run.ckpt"
    train_autoencoder(model(), x, TrainConfig(**{**CONFIG, "epochs": 2}), x_valid=xv,
                      checkpoint=ckpt)
    state = load_checkpoint(ckpt)
    del state["signature"]
    state["config"]["epochs"] = CONFIG["epochs"]  # as if stopped after epoch 2 of 5
    save_checkpoint(ckpt, state)
    resumed = model()
    history = train_autoencoder(resumed, x, TrainConfig(**CONFIG), x_valid=xv, checkpoint=ckpt)
    assert len(history.train_loss) == CONFIG["epochs"]
    assert all(torch.equal(a, b) for a, b in zip(reference.parameters(), resumed.parameters(),
                                                     strict=True))


def test_resuming_on_another_kind_of_device_is_refused(tmp_path):
    x, _ = data()
    ckpt = tmp_path / "run.ckpt"
    config = TrainConfig(**{**CONFIG, "epochs": 1})
    train_autoencoder(model(), x, config, checkpoint=ckpt)
    state = load_checkpoint(ckpt)
    state["generator"] = torch.zeros(16, dtype=torch.uint8)  # the size of a CUDA generator's
    save_checkpoint(ckpt, state)
    with pytest.raises(ConfigError, match="another kind of device"):
        train_autoencoder(model(), x, config, checkpoint=ckpt)


class CreatesAFile:
    def __reduce__(self):
        return (open, (os.environ["SDAE_TEST_TARGET"], "w"))


def test_a_pickle_posing_as_checkpoint_is_refused_without_running(tmp_path, monkeypatch):
    target = tmp_path / "created-by-pickle"
    monkeypatch.setenv("SDAE_TEST_TARGET", str(target))
    evil = tmp_path / "run.ckpt"
    evil.write_bytes(pickle.dumps({"sdae_checkpoint": 1, "x": CreatesAFile()}))
    with pytest.raises(ModelFileError, match="not a torch zip file"):
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
