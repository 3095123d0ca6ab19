import io
import re

import pytest
import torch
from conftest import bars

from sdae.core import epoch_log
from sdae.core.autoencoder import DenoisingAutoencoder
from sdae.core.epoch_log import Epoch, epoch_line, observing
from sdae.core.run_state import History
from sdae.core.training import TrainConfig, train_autoencoder

LINE = re.compile(r"^dae: epoch (\d+)/3, loss [\d.e+-]+, valid [\d.e+-]+, [\d.]+ m?s$")


def fit(progress=None, checkpoint=None, x_valid=True):
    model = DenoisingAutoencoder(16, 8, generator=torch.Generator().manual_seed(0))
    config = TrainConfig(epochs=3, batch_size=16, progress=progress)
    return train_autoencoder(model, bars(), config, x_valid=bars(32, seed=1) if x_valid else None,
                             checkpoint=checkpoint)


def test_a_run_on_a_non_terminal_writes_one_line_per_epoch_to_stderr(capsys, monkeypatch):
    monkeypatch.setattr(epoch_log, "LINE_SECONDS", 0.0)  # epochs of any length
    history = fit()
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert [int(LINE.match(line).group(1)) for line in lines] == [1, 2, 3], lines
    assert f"loss {history.train_loss[1]:.4g}, valid {history.valid_loss[1]:.4g}" in lines[1]
    assert captured.out == ""  # stdout stays for results


def test_quick_epochs_get_the_first_and_last_lines_and_one_every_ten_seconds(capsys,
                                                                              monkeypatch):
    clock = iter([0.0, 4.0, 9.0, 10.5, 12.0, 20.0, 21.0])  # when each epoch ends
    timer = epoch_log.LineTimer(show=True, clock=lambda: next(clock))
    due = [timer.due(last=False) for _ in range(6)] + [timer.due(last=True)]
    assert due == [True, False, False, True, False, False, True]
    assert not epoch_log.LineTimer(show=False).due(last=True)
    fit()  # three quick epochs: the first and the last
    assert [int(LINE.match(line).group(1)) for line in capsys.readouterr().err.splitlines()] \
        == [1, 3]


def test_a_phase_stopped_early_writes_the_line_of_its_last_epoch(capsys):
    model = DenoisingAutoencoder(16, 8, generator=torch.Generator().manual_seed(0))
    config = TrainConfig(epochs=50, batch_size=16, patience=1, lr=10.0)  # worse at once
    history = train_autoencoder(model, bars(), config, x_valid=bars(32, seed=1))
    stopped = len(history.train_loss)
    assert 2 < stopped < 50
    lines = capsys.readouterr().err.splitlines()
    assert [re.match(r"dae: epoch (\d+)/50,", line).group(1) for line in lines] == \
        ["1", str(stopped)]


def test_ctrl_c_writes_the_held_line_of_the_last_finished_epoch(capsys, tmp_path):
    def interrupt(epoch):
        if epoch.epoch == 2:  # Ctrl-C just after the second epoch, whose line is held
            raise KeyboardInterrupt

    with observing(interrupt), pytest.raises(KeyboardInterrupt):
        fit(checkpoint=tmp_path / "dae.ckpt")
    lines = capsys.readouterr().err.splitlines()
    assert [int(LINE.match(line).group(1)) for line in lines] == [1, 2]
    with observing(lambda epoch: None):
        fit(checkpoint=tmp_path / "dae.ckpt")  # continues: the third epoch, the last
    assert [int(LINE.match(line).group(1)) for line in capsys.readouterr().err.splitlines()] \
        == [3]


def test_lines_inside_a_labelled_block_say_its_labels(capsys):
    with epoch_log.labelled("digits seed 1"), epoch_log.labelled("DEC"):
        fit()
    fit()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("digits seed 1, DEC, dae: epoch 1/3, loss ")
    assert lines[2].startswith("dae: epoch 1/3, loss ")  # after the block, none
    assert epoch_log._labels.get() == ()


def test_no_lines_with_no_progress_nor_where_the_bar_is_drawn(capsys, monkeypatch):
    fit(progress=False)
    assert capsys.readouterr().err == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    fit()
    assert "epoch 1/3" not in terminal.getvalue()  # the bar instead
    assert "epochs" in terminal.getvalue()  # the bar, counting epochs


def test_the_line_leaves_out_valid_without_validation_data_and_gives_the_time():
    history = History(train_loss=[61.234], epoch_seconds=[3.21])
    assert epoch_line(Epoch("pretrain layer 2", 7, 40, history)) == \
        "pretrain layer 2: epoch 7/40, loss 61.23, 3.2 s"
    history = History(train_loss=[0.5], valid_loss=[0.25], epoch_seconds=[0.0123])
    assert epoch_line(Epoch("fine-tune", 1, 2, history)) == \
        "fine-tune: epoch 1/2, loss 0.5, valid 0.25, 12 ms"


def test_observers_see_every_epoch_inside_their_block_only(capsys):
    seen = []
    with observing(lambda e: seen.append((e.phase, e.epoch, e.epochs, e.train_loss,
                                          e.valid_loss))):
        history = fit(progress=False, x_valid=False)
    fit(progress=False)
    assert seen == [("dae", k + 1, 3, history.train_loss[k], None) for k in range(3)]
    assert epoch_log._observers.get() == ()


def test_a_continued_phase_shows_its_observers_the_restored_epochs(tmp_path, capsys):
    checkpoint = tmp_path / "dae.ckpt"
    history = fit(checkpoint=checkpoint)
    capsys.readouterr()
    seen = []
    with observing(lambda e: seen.append((e.epoch, list(e.history.train_loss)))):
        fit(checkpoint=checkpoint)  # finished: no epoch trained
    assert seen == [(3, history.train_loss)]
    assert capsys.readouterr().err == ""  # lines are for epochs trained
