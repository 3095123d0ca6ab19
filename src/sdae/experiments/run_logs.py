"""What a run writes while it trains, so that it can be watched and plotted before it ends:
``metrics.json`` rewritten after every epoch, and optionally TensorBoard event files.

Both are observers of the one epoch report (:mod:`sdae.core.epoch_log`): every phase of
the run (each pre-trained layer, the fine-tunings) reaches them the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ..core.epoch_log import Epoch, observing
from ..core.run_state import History
from ..errors import ConfigError
from ..io.atomic import atomic_write, write_json

TENSORBOARD_INSTALL = 'pip install "sdae[tensorboard]"'


def epoch_rows(phase: str, history: History) -> list[dict]:
    """A phase's epochs as rows (phase, epoch, train_loss, valid_loss, seconds): one table
    for every phase, as a plot or ``pandas.DataFrame`` takes it."""
    valid = history.valid_loss
    return [{"phase": phase, "epoch": i + 1, "train_loss": loss,
             "valid_loss": valid[i] if i < len(valid) else None, "seconds": seconds}
            for i, (loss, seconds) in enumerate(zip(history.train_loss,
                                                    history.epoch_seconds, strict=False))]


class EpochTable:
    """The epochs of a run so far, phase by phase in the order they started; with a
    ``path``, written there after every epoch as ``{"status": "running", "epochs": rows}``
    (atomically: a reader never sees half a file)."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.histories: dict[str, History] = {}

    def __call__(self, epoch: Epoch) -> None:
        self.histories[epoch.phase] = epoch.history
        if self.path is not None:
            write_json(self.path, {"status": "running", "epochs": self.rows()})

    def rows(self) -> list[dict]:
        return [row for phase, history in self.histories.items()
                for row in epoch_rows(phase, history)]


@contextlib.contextmanager
def live_metrics(path: Path | None) -> Iterator[EpochTable]:
    """Keep ``path`` (metrics.json) up to date while the block trains. A run that ends
    without finishing (an error, Ctrl-C) puts back what was there before: the files of a
    finished run stay as they were, its metrics with its model (see
    :func:`sdae.io.runs.start_run`), and a continued run rebuilds the table."""
    before = path.read_bytes() if path is not None and path.exists() else None
    table = EpochTable(path)
    try:
        with observing(table):
            yield table
    except BaseException:
        if path is not None:
            if before is not None:
                atomic_write(path, before)
            else:
                path.unlink(missing_ok=True)
        raise


def summary_writer_class():
    """TensorBoard's ``SummaryWriter``, or a one-line error saying how to install it."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("--tensorboard needs the tensorboard package: "
                          f"{TENSORBOARD_INSTALL}") from None
    return SummaryWriter


class TensorBoardLog:
    """Event files in ``folder``: each phase's losses as curves (``PHASE/train_loss``,
    ``PHASE/valid_loss`` by epoch), and at the end the first layer's filters as an image.
    A phase continued from a checkpoint writes its restored epochs again, to new event
    files of the same folder, which TensorBoard reads together."""

    def __init__(self, folder: Path):
        self.writer = summary_writer_class()(log_dir=str(folder))
        self.written: dict[str, int] = {}  # epochs written per phase

    def __call__(self, epoch: Epoch) -> None:
        history, start = epoch.history, self.written.get(epoch.phase, 0)
        for i in range(start, len(history.train_loss)):
            self.writer.add_scalar(f"{epoch.phase}/train_loss", history.train_loss[i], i + 1)
            if i < len(history.valid_loss):
                self.writer.add_scalar(f"{epoch.phase}/valid_loss", history.valid_loss[i],
                                       i + 1)
        self.written[epoch.phase] = len(history.train_loss)
        self.writer.flush()  # watched while it runs

    def filters(self, weight, image_shape: tuple[int, int]) -> None:
        """The rows of ``weight`` (the first layer's W) as tiled unit-norm images."""
        from ..measures.figures import tile_images, unit_filters

        grid = tile_images(unit_filters(weight), image_shape)
        self.writer.add_image("filters/layer 1", grid, dataformats="HW")

    def close(self) -> None:
        self.writer.close()


@contextlib.contextmanager
def tensorboard_log(folder: Path | None) -> Iterator[TensorBoardLog | None]:
    """A :class:`TensorBoardLog` observing the block's epochs, or None without ``folder``."""
    if folder is None:
        yield None
        return
    log = TensorBoardLog(folder)
    try:
        with observing(log):
            yield log
    finally:
        log.close()
