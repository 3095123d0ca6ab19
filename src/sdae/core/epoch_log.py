"""The one report of a finished epoch, for every phase of every command.

:func:`~sdae.core.training.train` calls :func:`report` after each epoch. The report does two
things, so that a long run can be followed wherever it runs:

- where no progress bar is shown because stderr is not a terminal (``nohup``, a batch
  system, a pipe), it writes one line to stderr, e.g.
  ``pretrain layer 2: epoch 7/40, loss 61.23, valid 58.1, 3.2 s``. stderr, because the
  line stands in for the bar, which is drawn there, and stdout stays for the results;
  written directly rather than through :mod:`logging`, which shows nothing below WARNING
  until an application configures it. A phase writes the lines of its first and last
  epochs and at most one every :data:`LINE_SECONDS` between them (:class:`LineTimer`), so
  that thousands of millisecond epochs (DEC's self-training on a small set) do not bury
  the log, and on Ctrl-C the line of the last finished epoch if it had none;
- it passes the epoch to the observers of the running code (:func:`observing`): ``sdae
  train`` rewrites its ``metrics.json`` and its TensorBoard curves there. Observers are
  scoped to a ``with`` block (a context variable) rather than passed down as arguments, so
  that they reach the ``train`` calls inside ``pretrain`` and ``finetune`` unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .run_state import History


@dataclass(frozen=True)
class Epoch:
    """A finished epoch of one phase: ``history`` holds every epoch of the phase so far
    (the last one is this one); it is the run's own, so copy what you keep."""

    phase: str  # train's description: "pretrain layer 2", "fine-tune", ...
    epoch: int  # 1-based
    epochs: int  # the phase's number of epochs
    history: History

    @property
    def train_loss(self) -> float:
        return self.history.train_loss[-1]

    @property
    def valid_loss(self) -> float | None:
        return self.history.valid_loss[-1] if self.history.valid_loss else None

    @property
    def seconds(self) -> float:
        return self.history.epoch_seconds[-1]


Observer = Callable[[Epoch], None]

_observers: contextvars.ContextVar[tuple[Observer, ...]] = contextvars.ContextVar(
    "sdae_epoch_observers", default=())


@contextlib.contextmanager
def observing(observer: Observer) -> Iterator[None]:
    """Call ``observer(epoch)`` after every epoch trained inside the block (and once, at
    the start of a phase continued from a checkpoint, with the epochs it restored)."""
    token = _observers.set((*_observers.get(), observer))
    try:
        yield
    finally:
        _observers.reset(token)


_labels: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "sdae_epoch_labels", default=())


@contextlib.contextmanager
def labelled(label: str) -> Iterator[None]:
    """Inside the block, epoch lines start with ``label, `` (an experiment's data set and
    seed: ``mnist seed 1, pretrain layer 2: epoch 7/25, ...``), so that the log of a command
    that trains many times tells its phases apart."""
    token = _labels.set((*_labels.get(), label))
    try:
        yield
    finally:
        _labels.reset(token)


def report(epoch: Epoch, *, line: bool) -> None:
    """Write the epoch's line to stderr when ``line`` (:meth:`LineTimer.due`), then pass
    the epoch to the observers."""
    if line:
        _write(labelled_line(epoch))
    for observer in _observers.get():
        observer(epoch)


def labelled_line(epoch: Epoch) -> str:
    """The epoch's line after the labels of the blocks it runs in (:func:`labelled`)."""
    return ", ".join((*_labels.get(), epoch_line(epoch)))


def _write(line: str) -> None:
    if sys.stderr is not None:
        print(line, file=sys.stderr, flush=True)


def epoch_line(epoch: Epoch) -> str:
    """``PHASE: epoch N/M, loss L, valid V, T`` (no valid without validation data; the
    time in seconds, or milliseconds below one)."""
    valid = f", valid {epoch.valid_loss:.4g}" if epoch.valid_loss is not None else ""
    seconds = epoch.seconds
    took = f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"
    return (f"{epoch.phase}: epoch {epoch.epoch}/{epoch.epochs}, loss {epoch.train_loss:.4g}"
            f"{valid}, {took}")


LINE_SECONDS = 10.0  # the least time between two lines of a phase, first and last apart


class LineTimer:
    """Which epochs of one phase get a line: none unless ``show`` (see
    :func:`shows_lines`); else the first and the last, and between them an epoch ending at
    least :data:`LINE_SECONDS` after the last line written (by ``clock``, in seconds)."""

    def __init__(self, show: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.show = show
        self._clock = clock
        self._last: float | None = None  # when the phase's last line was written
        self._held: str | None = None  # the line of the last epoch, if it was not written

    def report(self, epoch: Epoch, last: bool) -> None:
        """:func:`report` the epoch just ended, with its line if it is :meth:`due`; a line
        left out is held for :meth:`on_interrupt`."""
        line = self.due(last)
        self._held = labelled_line(epoch) if self.show and not line else None
        report(epoch, line=line)

    @contextlib.contextmanager
    def on_interrupt(self) -> Iterator[None]:
        """On Ctrl-C inside the block, write the held line of the last finished epoch, so
        that the log ends with the epoch a checkpoint saved on the interruption holds."""
        try:
            yield
        except KeyboardInterrupt:
            if self._held is not None:
                _write(self._held)
                self._held = None
            raise

    def due(self, last: bool) -> bool:
        """Whether the epoch just ended gets its line (``last``: the phase ends with it);
        a ``True`` counts as written."""
        if not self.show:
            return False
        now = self._clock()
        if last or self._last is None or now - self._last >= LINE_SECONDS:
            self._last = now
            return True
        return False


def shows_lines(progress: bool | None) -> bool:
    """Whether a run writes epoch lines (:class:`LineTimer` says which epochs): with
    ``progress=None`` (show a bar on a terminal) when stderr is not a terminal, where no
    bar is drawn. ``True`` asks for the bar anywhere, ``False`` for silence."""
    if progress is not None or sys.stderr is None:
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return not (isatty is not None and isatty())
