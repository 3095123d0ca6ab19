"""The one training loop: every model in sdae (a DAE layer, a stack, a classifier) trains here.

:func:`train` conducts; the parts it conducts are each in their own place: the data on the
device and an epoch's batches (:mod:`.batches`, streamed from disk by :mod:`.streaming`),
the learning-rate schedule, the step and the epoch's loss (:mod:`.steps`, the fused SGD
step in :mod:`.fused`), the run's state, its checkpoints and early stopping
(:mod:`.run_state`), the device and precision (:mod:`.device`) and the processes of a
torchrun (:mod:`.distributed`). The settings are checked once, when a :class:`TrainConfig`
is made; the one check that needs the data (a batch no larger than it) is made by
:class:`~.batches.Batches`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ConfigError, DataError, check_int
from ..io.checkpoint import load_checkpoint, save_checkpoint
from .batches import Batches, check_batch_size
from .device import float32_kernels, resolve_device
from .distributed import check_split, process_group
from .epoch_log import Epoch, LineTimer, report, shows_lines
from .run_state import Checkpoints, History, RunState, signature, stops
from .steps import FusesSGD, epoch_loss, learning_rate, make_step
from .streaming import inputs_on, row_chunks

__all__ = ["Evaluate", "FusesSGD", "History", "Objective", "TrainConfig",
           "autoencoder_objective", "batched", "check_batch_size", "check_inputs",
           "float32_kernels", "make_optimizer", "reconstruction_error", "resolve_device",
           "train", "train_autoencoder"]

# objective(model, batch, generator) -> mean loss over the batch (a scalar tensor). To train
# with several processes it also takes ``rows=``: the slice of the batch this process
# computes the loss of, after drawing the corruption of the whole batch (see train). It may
# declare an in-place SGD step (FusesSGD, see sdae.core.steps), and that the run is over: a
# true ``converged`` attribute ends it after the step that set it (DEC's self-training stops
# when the cluster assignments stop changing, sdae.tasks.clustering).
Objective = Callable[..., Tensor]
# evaluate(model) -> a number to record each epoch (lower is better), e.g. validation error
Evaluate = Callable[[nn.Module], float]

OPTIMIZERS = ("sgd", "adam")
PRECISIONS = ("fp32", "bf16", "tf32")


@dataclass
class TrainConfig:
    """Optimisation settings shared by every model.

    ``weight_decay`` adds λ·Σ‖W‖² over the weight matrices (not the biases) to the loss.
    ``lr_decay`` multiplies the learning rate after every epoch. ``warmup_epochs``: the
    learning rate rises linearly from zero over that many epochs' worth of steps (large
    momentum steps from a pre-trained start can saturate every unit at once).
    ``patience`` stops training after that many epochs without a better validation score
    (needs ``evaluate``).
    ``progress=None`` shows a progress bar only when stderr is a terminal.
    ``precision``: ``fp32``; ``bf16`` (autocast: matrix products in bfloat16, the rest in
    float32), or ``tf32`` (TensorFloat-32 matrix products and convolutions, CUDA only).
    ``sdae bench`` measures which one pays on a machine; fp32 is the default: on CPUs
    without bfloat16 units it is the fastest, and with them the default SdA run was no
    faster in bf16 (docs/benchmarks.md).
    ``grad_clip``: rescale each step's gradient to at most that Euclidean norm (over all
    parameters) before the optimiser takes it: a rare huge gradient then cannot throw a deep
    network off (a 15-layer denoiser at Adam 0.001 jumped from a loss of 0.004 to 0.017
    without it). None (default): gradients as computed.
    ``checkpoint_every``: with a checkpoint file, save it every that many epochs (and at
    the end, and when the run is interrupted); it may differ between a run and its resume.
    """

    epochs: int = 15
    batch_size: int = 20
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_decay: float = 1.0
    warmup_epochs: float = 0.0
    patience: int | None = None
    seed: int = 0
    device: str = "cpu"
    progress: bool | None = None
    precision: str = "fp32"
    checkpoint_every: int = 1
    grad_clip: float | None = None

    def __post_init__(self) -> None:
        self.epochs = check_int(self.epochs, "epochs")
        self.batch_size = check_int(self.batch_size, "batch size")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.momentum and self.optimizer != "sgd":
            raise ConfigError(f"momentum is for SGD; {self.optimizer} keeps its own moments: "
                              "leave momentum at 0")
        if not self.weight_decay >= 0:
            raise ConfigError(f"weight decay must be >= 0, got {self.weight_decay!r}")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        if not (self.warmup_epochs >= 0 and math.isfinite(self.warmup_epochs)):
            raise ConfigError(f"warm-up epochs must be >= 0, got {self.warmup_epochs!r}")
        if self.patience is not None:
            self.patience = check_int(self.patience, "patience")
        self.seed = check_int(self.seed, "seed", minimum=0)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {self.precision!r}")
        self.device = str(self.device)  # a torch.device too; a string for JSON and checkpoints
        self._resolved = (self.device, resolve_device(self.device))  # checked once, here
        if self.precision == "tf32" and self.torch_device.type != "cuda":
            raise ConfigError("precision tf32 exists on CUDA GPUs only: use fp32 or bf16")
        self.checkpoint_every = check_int(self.checkpoint_every, "checkpoint_every")
        if self.grad_clip is not None and not (self.grad_clip > 0
                                               and math.isfinite(self.grad_clip)):
            raise ConfigError(f"grad_clip (--grad-clip) must be a positive number, got "
                              f"{self.grad_clip!r}")

    @property
    def torch_device(self) -> torch.device:
        """``device`` as a :class:`torch.device`, checked when the config was made (and
        again if ``device`` was set since): what the library computes on, with no second
        check of its own."""
        if self._resolved[0] != self.device:
            self._resolved = (self.device, resolve_device(self.device))
        return self._resolved[1]

    def to_dict(self) -> dict:
        return asdict(self)


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    # foreach=True: one fused kernel launch for all parameters instead of one per tensor.
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, foreach=True)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, foreach=True)


def train(
    model: nn.Module,
    objective: Objective,
    data: Tensor | Sequence[Tensor],
    config: TrainConfig,
    *,
    evaluate: Evaluate | None = None,
    keep_best: bool = False,
    checkpoint: str | os.PathLike | None = None,
    description: str = "train",
) -> History:
    """Minimise ``objective`` over mini-batches of ``data`` for ``config.epochs`` epochs.

    After each epoch, :func:`sdae.core.epoch_log.report` tells the observers of the
    calling code and, where no progress bar is drawn (stderr not a terminal), writes the
    epoch's line: the first and last epochs' and at most one every 10 s between.

    Parameters
    ----------
    model : nn.Module
        Moved to ``config.device``; trained in place.
    objective : callable
        ``objective(model, batch, generator)``: mean loss over the batch. ``batch`` is a
        tuple of slices of the tensors in ``data``; ``generator`` drives the corruption.
        One that declares an in-place SGD step (:class:`~sdae.core.steps.FusesSGD`, as
        :data:`autoencoder_objective` does) takes it where plain SGD allows.
    data : Tensor or sequence of Tensors
        Examples along the first dimension: the inputs (as float32), then any targets. NumPy
        arrays (memory-mapped ``.npy`` files, say) are inputs streamed to the device in
        chunks (see :mod:`sdae.core.batches`), visited in a random order, batches shuffled
        within each.
    config : TrainConfig
    evaluate : callable, optional
        ``evaluate(model) -> float`` called after each epoch in eval mode without
        gradients (validation error); recorded in ``History.valid_loss``.
    keep_best : bool
        Model selection: end with the parameters of the epoch with the lowest ``evaluate``
        score rather than those of the last epoch.
    checkpoint : path, optional
        Save the whole state of the run there every ``config.checkpoint_every`` epochs, at
        the end, and on KeyboardInterrupt (the last finished epoch), atomically. When the
        file exists, the run continues from it: the result is bitwise the same as a run
        never interrupted (on the CPU).
    description : str
        The phase's name, on its progress bar and its lines.

    Returns
    -------
    History
    """
    if config.patience is not None and evaluate is None:
        raise ConfigError("early stopping (patience) needs validation data")
    device = config.torch_device
    world, rank = process_group()
    check_split(config.batch_size, world)
    batches = Batches(data, config.batch_size, device)
    model.to(device)
    optimizer = make_optimizer(list(model.parameters()), config)
    step = make_step(model, objective, optimizer, config, world, rank)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    run = RunState(model, optimizer, generator, config.to_dict(),
                   signature(model, batches.tensors))
    if checkpoint is not None and Path(checkpoint).exists():
        run.resume(load_checkpoint(checkpoint), checkpoint)
    # one process writes the checkpoints and shows progress
    saves = Checkpoints(checkpoint if rank == 0 else None, config.checkpoint_every,
                        config.epochs, save_checkpoint)
    schedule = partial(learning_rate, config.lr, config.lr_decay, config.warmup_epochs,
                       batches.n_batches)
    bar = _progress_bar(config, batches.n_batches, run.epoch, description, show=rank == 0)
    lines = LineTimer(rank == 0 and shows_lines(config.progress))  # where no bar is drawn
    if run.history.train_loss:  # continued: the observers see the epochs restored
        report(Epoch(description, len(run.history.train_loss), config.epochs, run.history),
               line=False)
    with bar, saves.on_interrupt(), lines.on_interrupt(), \
            float32_kernels(config.precision, device):
        for epoch in range(run.epoch, config.epochs):
            start = time.perf_counter()
            model.train()
            losses = torch.empty(batches.n_batches, device=device)  # read once, at the end
            for i, batch in enumerate(batches.epoch(generator)):
                losses[i] = step(batch, generator, schedule(epoch, i))
                bar.update(1 / batches.n_batches)
                if _converged(objective):
                    losses = losses[: i + 1]
                    break
            run.history.train_loss.append(epoch_loss(losses, world, epoch))
            if evaluate is not None:
                run.scored(epoch, _validation_score(model, evaluate), keep_best)
            run.history.epoch_seconds.append(time.perf_counter() - start)
            bar.n = epoch + 1  # whole, whatever the sum of the fractions
            bar.set_postfix(_postfix(run.history, evaluate is not None), refresh=False)
            stop = stops(run.history, config.patience, epoch) or _converged(objective)
            saves.after_epoch(run, epoch, stop)
            lines.report(Epoch(description, epoch + 1, config.epochs, run.history),
                         last=stop or epoch + 1 == config.epochs)
            if stop:
                break
    return run.finish()


def _converged(objective: Objective) -> bool:
    """Whether the objective says the run is over (see :data:`Objective`)."""
    return bool(getattr(objective, "converged", False))


def _validation_score(model: nn.Module, evaluate: Evaluate) -> float:
    """``evaluate(model)`` in eval mode, without gradients."""
    model.eval()
    with torch.no_grad():
        return float(evaluate(model))


def _progress_bar(config: TrainConfig, n_batches: int, done: int, description: str,
                  show: bool):
    """A bar over the run that counts epochs (the unit a schedule is given in), starting
    after the ``done`` ones and moving a fraction of an epoch with each batch; shown when
    ``config.progress`` says so, or (``None``) when stderr is a terminal."""
    from tqdm.auto import tqdm

    disable = not config.progress if config.progress is not None else None
    return tqdm(total=config.epochs, initial=done, desc=description, unit="epoch",
                disable=disable if show else True, leave=False, dynamic_ncols=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} epochs "
                           "[{elapsed}<{remaining}{postfix}]")


def _postfix(history: History, validated: bool) -> dict:
    """The bar's note: the epoch's training loss, and validation score."""
    postfix = {"loss": f"{history.train_loss[-1]:.4g}"}
    if validated:
        postfix["valid"] = f"{history.valid_loss[-1]:.4g}"
    return postfix


def batched(fn: Callable[..., Tensor], x: Tensor, batch_size: int = 4096,
            rows: Tensor | None = None) -> Tensor:
    """Apply ``fn`` to ``x`` in chunks under ``no_grad``: bounded memory for large data.
    ``rows``: a per-row argument (n, ...) chunked alongside, ``fn(x_chunk, rows_chunk)``."""
    with torch.no_grad():
        return torch.cat([fn(x[i : i + batch_size]) if rows is None else
                          fn(x[i : i + batch_size], rows[i : i + batch_size])
                          for i in range(0, len(x), batch_size)])


class DenoisingObjective:
    """The denoising criterion: corrupt the batch, reconstruct, compare with the clean batch.

    It declares its in-place SGD step (:class:`~sdae.core.steps.FusesSGD`): for a layer
    that supports it (``fuses_sgd``), ``model.sgd_step`` is the step plain SGD on this
    criterion takes. A wrapper keeps that fast path only by declaring it too (an
    ``sgd_step`` attribute); :func:`functools.wraps` does not copy it.
    """

    def __call__(self, model, batch: Sequence[Tensor], generator: torch.Generator,
                 rows: slice | None = None) -> Tensor:
        return model.loss(batch[0], generator, rows=rows)

    def sgd_step(self, model, batch: Sequence[Tensor], generator: torch.Generator,
                 lr: float) -> Tensor:
        """One plain-SGD step on the criterion, in place; the batch's loss before it."""
        return model.sgd_step(batch[0], generator, lr)

    def __repr__(self) -> str:
        return "autoencoder_objective"


autoencoder_objective = DenoisingObjective()


def reconstruction_error(model, x: Tensor | np.ndarray, batch_size: int = 4096) -> float:
    """Mean per-example loss of reconstructing clean ``x`` from clean ``x`` (no corruption)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        total = sum(model.loss(part, corrupt=False) * len(part)
                    for part in row_chunks(x, device, batch_size))
    return float(total) / len(x)


def check_inputs(model, x: Tensor | np.ndarray, name: str = "data") -> None:
    """Fail early, with a fix, when ``x`` does not suit ``model`` (an array on disk is
    read through once, a chunk at a time)."""
    if x.ndim != 2 or x.shape[1] != model.n_visible:
        raise DataError(
            f"{name} has shape {tuple(x.shape)} but the model expects (n, {model.n_visible})"
        )
    low, high = math.inf, -math.inf
    for part in row_chunks(x, x.device if isinstance(x, Tensor) else "cpu", rows=65536):
        if not torch.isfinite(part).all():
            raise DataError(f"{name} contain NaN or infinite values: remove or impute them")
        if len(part):
            low, high = min(low, part.min().item()), max(high, part.max().item())
    if model.config.loss == "cross_entropy" and len(x) and (low < 0 or high > 1):
        span = (high - low) or abs(high)  # a fix that works: --decoder linear on 0..255
        raise DataError(                  # data trains to a loss in the millions
            f"{name} lie in [{low:.3g}, {high:.3g}] but the cross-entropy loss needs values "
            f"in [0, 1]: rescale them to (x - {low:.3g}) / {span:.3g}"
        )


def train_autoencoder(
    model: nn.Module,
    x: Tensor,
    config: TrainConfig,
    *,
    x_valid: Tensor | None = None,
    keep_best: bool = False,
    checkpoint: str | os.PathLike | None = None,
    description: str = "dae",
    objective: Objective | None = None,
    check_input: bool = True,
) -> History:
    """Train a :class:`~sdae.core.autoencoder.DenoisingAutoencoder` on ``x`` with the
    denoising criterion (or ``objective``, such as
    :func:`sdae.tasks.sampling.walkback_objective`); record the clean reconstruction error
    of ``x_valid`` after each epoch (and, with ``keep_best``, end with the parameters of the
    epoch where it was lowest).

    ``check_input=False`` skips :func:`check_inputs` (a pass over each array) for a caller
    that has checked them already: it saves a read of data streamed from disk."""
    if check_input:
        check_inputs(model, x, "training data")
        if x_valid is not None:
            check_inputs(model, x_valid, "validation data")
    evaluate = None
    if x_valid is not None:
        x_valid = inputs_on(x_valid, config.torch_device)

        def evaluate(m: nn.Module) -> float:
            return reconstruction_error(m, x_valid)

    return train(model, objective or autoencoder_objective, x, config, evaluate=evaluate,
                 keep_best=keep_best and evaluate is not None, checkpoint=checkpoint,
                 description=description)
