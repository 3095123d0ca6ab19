"""What a training run carries from one epoch to the next, and its checkpoints.

A run's state is the model's and the optimiser's state, the random generator's state, the
history so far and the best validation score (with, for ``keep_best``, the parameters that
reached it). :class:`RunState` holds them, writes them as a checkpoint's dict and restores
them from one, after checking that the checkpoint belongs to this run: same settings, same
model, same data shapes. :class:`Checkpoints` decides when a checkpoint is written. The
format of the dict is that of :mod:`sdae.io.checkpoint` (format 1); it has not changed.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ..errors import ConfigError

Save = Callable[[str | os.PathLike, dict], object]  # save(path, state), atomically


@dataclass
class History:
    """What one call of :func:`~sdae.core.training.train` measured, epoch by epoch."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # 1-based epoch of the lowest validation score

    @property
    def seconds(self) -> float:
        return sum(self.epoch_seconds)

    def to_dict(self) -> dict:
        return {**asdict(self), "seconds": self.seconds}


def signature(model: nn.Module, tensors) -> dict:
    """What a checkpoint must share with the run that continues it besides the settings: the
    model's configuration (or its parameter shapes) and the shapes of the data."""
    config = getattr(model, "config", None)
    described = (config.to_dict() if hasattr(config, "to_dict")
                 else {k: list(v.shape) for k, v in model.state_dict().items()})
    return {"model": described, "data": [list(t.shape) for t in tensors]}


def _same_signature(stored: dict, current: dict) -> bool:
    """Whether a checkpoint's signature is this run's. Checkpoints of sdae 0.1 have none
    (then ``stored`` is ``current``), and their stacks named no class labels: a stack whose
    labels are the default 0 .. n-1 continues them."""
    model = stored.get("model")
    if isinstance(model, dict) and "n_classes" in model and "classes" not in model:
        mine = dict(current["model"])
        if mine.get("classes") in (None, list(range(mine.get("n_classes") or 0))):
            mine.pop("classes", None)
        current = {**current, "model": mine}
    return stored == current


def resumable(settings: dict) -> dict:
    """The training settings (``TrainConfig.to_dict()``) a checkpoint must share with the
    run that continues it: all but where it runs, what it shows and how often it saves."""
    kept = {k: v for k, v in settings.items()
            if k not in ("progress", "device", "checkpoint_every")}
    if kept.get("grad_clip", 0) is None:  # as checkpoints made before it existed say it
        del kept["grad_clip"]
    return kept


class RunState:
    """The state of a run between epochs, as a checkpoint holds it.

    ``epoch`` is the number of epochs done (where the loop starts); ``best_score`` the
    lowest validation score so far and ``best_state`` the parameters that reached it (with
    ``keep_best`` only).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 generator: torch.Generator, settings: dict, signature: dict):
        self.model, self.optimizer, self.generator = model, optimizer, generator
        self.settings, self.signature = resumable(settings), signature
        self.history = History()
        self.best_score, self.best_state = math.inf, None
        self.epoch = 0

    def to_dict(self, epoch: int) -> dict:
        """The checkpoint after ``epoch`` epochs (tensors shared with the model: copy it to
        keep it past the next step)."""
        return {"config": self.settings, "signature": self.signature, "epoch": epoch,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "history": asdict(self.history),
                "best_score": self.best_score, "best_state": self.best_state}

    def resume(self, state: dict, path: str | os.PathLike) -> None:
        """Continue from checkpoint ``state`` (read from ``path``), refusing one made with
        other settings, for another model or other data, or on another kind of device."""
        if state["config"] != self.settings:
            raise ConfigError(f"{path} was made with other training settings: resume "
                              "with the same ones, or delete it to start again")
        if not _same_signature(state.get("signature", self.signature), self.signature):
            raise ConfigError(f"{path} was made for another model or other data: "
                              "resume with the same ones, or delete it to start again")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        try:
            self.generator.set_state(state["generator"])
        except RuntimeError:  # a CUDA generator's state does not fit a CPU one, and back
            raise ConfigError(f"{path} was made on another kind of device: resume on "
                              "the device the run started on") from None
        self.history = History(**state["history"])
        self.best_score, self.best_state = state["best_score"], state["best_state"]
        self.epoch = state["epoch"]

    def scored(self, epoch: int, score: float, keep_best: bool) -> None:
        """Record the validation score of ``epoch`` (0-based); remember a new best (and,
        with ``keep_best``, a copy of the parameters that reached it)."""
        self.history.valid_loss.append(score)
        if score < self.best_score:
            self.best_score, self.history.best_epoch = score, epoch + 1
            if keep_best:
                self.best_state = {k: v.detach().clone()
                                   for k, v in self.model.state_dict().items()}

    def finish(self) -> History:
        """End with the best parameters when they were kept, in eval mode."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self.model.eval()
        return self.history


def stops(history: History, patience: int | None, epoch: int) -> bool:
    """Early stopping: ``patience`` epochs have passed since the best one (after ``epoch``,
    0-based)."""
    return (patience is not None and history.best_epoch is not None
            and epoch + 1 - history.best_epoch >= patience)


class Checkpoints:
    """When a run's state is written to ``path``: every ``every`` epochs, at the end (or
    when it stops early), and on Ctrl-C (the last finished epoch not yet written).

    ``path=None`` writes nothing (no checkpoint, or a process other than the first).
    ``save`` writes a state atomically (:func:`sdae.io.checkpoint.save_checkpoint`).
    """

    def __init__(self, path: str | os.PathLike | None, every: int, epochs: int, save: Save):
        self.path, self.every, self.epochs, self.save = path, every, epochs, save
        self.unsaved: dict | None = None  # a copy of the state after the last epoch not written

    def after_epoch(self, run: RunState, epoch: int, stop: bool) -> None:
        """Write (or keep a copy of) the state after ``epoch`` (0-based). A run that stops
        early is saved as finished, so that resuming it does not train on."""
        if self.path is None:
            return
        done = self.epochs if stop else epoch + 1
        if stop or done % self.every == 0 or done == self.epochs:
            self.save(self.path, run.to_dict(done))
            self.unsaved = None
        else:
            self.unsaved = copy.deepcopy(run.to_dict(done))

    @contextlib.contextmanager
    def on_interrupt(self) -> Iterator[None]:
        """On Ctrl-C (or SIGTERM turned into one), write the last finished epoch not yet
        saved."""
        try:
            yield
        except KeyboardInterrupt:
            if self.path is not None and self.unsaved is not None:
                self.save(self.path, self.unsaved)
            raise
