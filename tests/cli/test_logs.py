"""Logs a run can be followed by: epoch lines off a terminal, metrics.json as it goes,
TensorBoard event files."""

import json
import re
import sys
from typing import ClassVar

from sdae.cli import main
from sdae.errors import DataError
from sdae.experiments import run_logs

TINY = ["train", "--data", "digits", "--hidden", "8", "--epochs", "2", "--batch-size", "50"]
LINE = re.compile(r"^(.+): epoch (\d+)/(\d+), loss [\d.e+-]+, valid [\d.e+-]+, [\d.]+ m?s$")


def test_train_off_a_terminal_writes_the_first_and_last_epochs_lines_per_phase(tmp_path, capsys):
    assert main([*TINY, "--finetune-epochs", "2", "--out", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    lines = [LINE.match(line) for line in captured.err.splitlines()]
    assert all(lines), captured.err
    assert [m.groups() for m in lines] == [("pretrain layer 1", "1", "2"),
                                           ("pretrain layer 1", "2", "2"),
                                           ("fine-tune", "1", "2"), ("fine-tune", "2", "2")]
    assert "epoch" not in captured.out  # the results' lines stay as they were


def test_no_progress_writes_no_lines(tmp_path, capsys):
    assert main([*TINY, "--no-progress", "--out", str(tmp_path / "run")]) == 0
    assert "epoch" not in capsys.readouterr().err


def test_metrics_json_holds_the_epochs_so_far_after_every_epoch(tmp_path, monkeypatch):
    out = tmp_path / "run"
    seen = []
    record = run_logs.EpochTable.__call__

    def read_after(table, epoch):
        record(table, epoch)
        seen.append(json.loads((out / "metrics.json").read_text()))

    monkeypatch.setattr(run_logs.EpochTable, "__call__", read_after)
    assert main([*TINY, "--hidden", "8", "4", "--finetune-epochs", "1",
                 "--out", str(out)]) == 0
    assert [m["status"] for m in seen] == ["running"] * 5
    assert [len(m["epochs"]) for m in seen] == [1, 2, 3, 4, 5]
    assert seen[2]["epochs"][-1]["phase"] == "pretrain layer 2"
    assert seen[2]["epochs"][-1]["epoch"] == 1
    final = json.loads((out / "metrics.json").read_text())
    assert final["status"] == "finished"
    assert final["epochs"] == seen[-1]["epochs"]
    history = final["pretrain_history"][1]  # the keys of before stay
    assert [r["train_loss"] for r in final["epochs"] if r["phase"] == "pretrain layer 2"] \
        == history["train_loss"]
    assert [r["valid_loss"] for r in final["epochs"] if r["phase"] == "fine-tune"] \
        == final["finetune_history"]["valid_loss"]


def test_a_failed_rerun_puts_back_the_finished_runs_metrics(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out)]) == 0
    finished = (out / "metrics.json").read_bytes()
    record = run_logs.EpochTable.__call__

    def fail_after_writing(table, epoch):
        record(table, epoch)
        assert json.loads((out / "metrics.json").read_text())["status"] == "running"
        raise DataError("failed after an epoch")

    monkeypatch.setattr(run_logs.EpochTable, "__call__", fail_after_writing)
    assert main([*TINY, "--epochs", "3", "--out", str(out)]) == 2
    assert "failed after an epoch" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == finished


def test_tensorboard_without_the_package_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    for module in ("tensorboard", "torch.utils.tensorboard"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails, installed or not
    out = tmp_path / "run"
    assert main([*TINY, "--tensorboard", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert 'pip install "sdae[tensorboard]"' in err and err.count("\n") == 1
    assert not out.exists()  # before anything is written


class FakeWriter:
    """What a SummaryWriter was asked to write."""

    made: ClassVar[list["FakeWriter"]] = []

    def __init__(self, log_dir):
        self.log_dir, self.scalars, self.images, self.closed = log_dir, [], [], False
        FakeWriter.made.append(self)

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, step, value))

    def add_image(self, tag, image, dataformats):
        self.images.append((tag, image.shape, dataformats, image.min(), image.max()))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_tensorboard_gets_each_phases_curves_and_the_filters(tmp_path, monkeypatch):
    monkeypatch.setattr(run_logs, "summary_writer_class", lambda: FakeWriter)
    FakeWriter.made.clear()
    out = tmp_path / "run"
    assert main([*TINY, "--finetune-epochs", "1", "--tensorboard", "--out", str(out)]) == 0
    [writer] = FakeWriter.made
    assert writer.log_dir == str(out / "tensorboard") and writer.closed
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["pretrain_history"][0]
    assert [(tag, step) for tag, step, _ in writer.scalars] == [
        ("pretrain layer 1/train_loss", 1), ("pretrain layer 1/valid_loss", 1),
        ("pretrain layer 1/train_loss", 2), ("pretrain layer 1/valid_loss", 2),
        ("fine-tune/train_loss", 1), ("fine-tune/valid_loss", 1)]
    assert writer.scalars[2][2] == history["train_loss"][1]
    [(tag, shape, formats, low, high)] = writer.images
    # 8 filters of 8x8 pixels, 3 by 3 with 1-pixel gaps
    assert tag == "filters/layer 1" and shape == (26, 26) and formats == "HW"
    assert 0 <= low and high <= 1
