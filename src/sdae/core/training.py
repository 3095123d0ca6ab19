"""The one training loop: every model in sdae (a DAE layer, a stack, a classifier) trains here.

The data sit on the training device as whole tensors and are sliced into mini-batches by a
seeded permutation, so an epoch has no per-example Python, no DataLoader and no host-device
synchronisation: losses are summed on the device and read once per epoch.

Data larger than memory stay on disk as a memory-mapped ``.npy`` array (any NumPy array is
taken this way) and are streamed: each epoch visits contiguous chunks of rows in a random
order, reads each one while the one before it trains (:mod:`sdae.streaming`) and shuffles
the batches within it.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ConfigError, DataError, SdaeError, check_int
from ..io.checkpoint import load_checkpoint, save_checkpoint
from .device import autocast, float32_kernels, resolve_device
from .distributed import data_parallel_step, process_group
from .streaming import ChunkReader, chunk_bounds, inputs_on, row_chunks

# objective(model, batch, generator) -> mean loss over the batch (a scalar tensor). To train
# with several processes it also takes ``rows=``: the slice of the batch this process
# computes the loss of, after drawing the corruption of the whole batch (see train).
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
        if self.precision == "tf32" and not str(self.device).startswith("cuda"):
            raise ConfigError("precision tf32 exists on CUDA GPUs only: use fp32 or bf16")
        self.checkpoint_every = check_int(self.checkpoint_every, "checkpoint_every")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class History:
    """What one call of :func:`train` measured, epoch by epoch."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # 1-based epoch of the lowest validation score

    @property
    def seconds(self) -> float:
        return sum(self.epoch_seconds)

    def to_dict(self) -> dict:
        return {**asdict(self), "seconds": self.seconds}


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

    Parameters
    ----------
    model : nn.Module
        Moved to ``config.device``; trained in place.
    objective : callable
        ``objective(model, batch, generator)``: mean loss over the batch. ``batch`` is a
        tuple of slices of the tensors in ``data``; ``generator`` drives the corruption.
    data : Tensor or sequence of Tensors
        Examples along the first dimension: the inputs (as float32), then any targets. NumPy
        arrays (memory-mapped ``.npy`` files, say) are inputs streamed to the device in
        chunks (see :mod:`sdae.streaming`), visited in a random order, batches shuffled
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

    Returns
    -------
    History
    """
    from tqdm.auto import tqdm

    device = resolve_device(config.device)
    if config.patience is not None and evaluate is None:
        raise ConfigError("early stopping (patience) needs validation data")
    tensors = (data,) if isinstance(data, Tensor | np.ndarray) else tuple(data)
    tensors = (inputs_on(tensors[0], device), *tensors[1:])  # float32, as the models compute
    n = len(tensors[0])
    if n == 0:
        raise SdaeError("cannot train on empty data: give at least one example")
    if any(len(t) != n for t in tensors):
        raise SdaeError("all data tensors must have the same number of examples")
    if config.batch_size > n:
        raise ConfigError(
            f"batch size {config.batch_size} is larger than the {n} training examples: "
            "use a smaller --batch-size"
        )
    world, rank = process_group()
    if config.batch_size % world:
        raise ConfigError(f"batch size {config.batch_size} does not split over {world} "
                          f"processes: use a multiple of {world}")
    reader = None  # streamed arrays are read chunk by chunk, one chunk ahead
    if any(isinstance(t, np.ndarray) for t in tensors):
        chunks = chunk_bounds(tensors, config.batch_size)
        reader = ChunkReader(tensors, device, rows=chunks[0][1])
    else:
        tensors = tuple(t.to(device) for t in tensors)
        chunks = [(0, n)]
    model.to(device)
    step = data_parallel_step(model, objective, device, world, rank, config.batch_size)
    in_place = _in_place_sgd(model, objective, config, world)
    params = list(model.parameters())
    decayed = [p for p in params if p.dim() >= 2]
    optimizer = make_optimizer(params, config)

    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    # the last partial batch (of each chunk) is dropped, as in the papers
    n_batches = sum((b - a) // config.batch_size for a, b in chunks)
    warmup_steps = config.warmup_epochs * n_batches

    def learning_rate(epoch: int, i: int) -> float:
        """Of step ``i`` of ``epoch``: decayed once per epoch, ramped up during warm-up."""
        ramp = min(1.0, (epoch * n_batches + i + 1) / warmup_steps) if warmup_steps else 1.0
        return config.lr * config.lr_decay**epoch * ramp

    history = History()
    best_score, best_state = math.inf, None
    first_epoch = 0
    signature = _signature(model, tensors)
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        if state["config"] != _resumable(config):
            raise ConfigError(f"{checkpoint} was made with other training settings: resume "
                              "with the same ones, or delete it to start again")
        if state.get("signature", signature) != signature:  # older checkpoints have none
            raise ConfigError(f"{checkpoint} was made for another model or other data: "
                              "resume with the same ones, or delete it to start again")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        try:
            generator.set_state(state["generator"])
        except RuntimeError:  # a CUDA generator's state does not fit a CPU one, and back
            raise ConfigError(f"{checkpoint} was made on another kind of device: resume on "
                              "the device the run started on") from None
        history = History(**state["history"])
        best_score, best_state = state["best_score"], state["best_state"]
        first_epoch = state["epoch"]

    writes = rank == 0  # one process writes the checkpoints and shows progress
    if not writes:
        config = replace(config, progress=False)

    def state(epoch: int) -> dict:
        return {"config": _resumable(config), "signature": signature, "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(), "history": asdict(history),
                "best_score": best_score, "best_state": best_state}

    unsaved = None  # a copy of the state after the last epoch not yet written
    bar = tqdm(
        total=config.epochs * n_batches,
        initial=first_epoch * n_batches,
        desc=description,
        unit="batch",
        disable=not config.progress if config.progress is not None else None,
        leave=False,
        dynamic_ncols=True,
    )
    with (bar, _save_on_interrupt(checkpoint if writes else None, lambda: unsaved),
          float32_kernels(config.precision, device)):
        for epoch in range(first_epoch, config.epochs):
            start = time.perf_counter()
            model.train()
            losses = torch.empty(n_batches, device=device)  # read once, at the end of the epoch
            batches = _shuffled_batches(tensors, chunks, reader, config.batch_size,
                                        generator, device)
            for i, batch in enumerate(batches):
                lr = learning_rate(epoch, i)
                if in_place:
                    losses[i] = model.sgd_step(batch[0], generator, lr)
                else:
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                    with autocast(config.precision, device):
                        loss = step(batch, generator)
                    losses[i] = loss.detach()
                    if config.weight_decay:
                        loss = loss + config.weight_decay * sum(w.square().sum()
                                                                for w in decayed)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                bar.update()
            if world > 1:  # every process's share, once per epoch
                torch.distributed.all_reduce(losses)
                losses /= world
            train_loss = losses.mean().item()  # the one synchronisation of the epoch
            if not math.isfinite(train_loss):
                batch = int((~torch.isfinite(losses)).nonzero()[0]) + 1
                raise SdaeError(
                    f"training diverged: the loss became {losses[batch - 1].item()} at batch "
                    f"{batch} of epoch {epoch + 1}: use a lower learning rate"
                )
            history.train_loss.append(train_loss)
            postfix = {"loss": f"{train_loss:.4g}"}
            if evaluate is not None:
                model.eval()
                with torch.no_grad():
                    score = float(evaluate(model))
                history.valid_loss.append(score)
                postfix["valid"] = f"{score:.4g}"
                if score < best_score:
                    best_score, history.best_epoch = score, epoch + 1
                    if keep_best:
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history.epoch_seconds.append(time.perf_counter() - start)
            bar.set_postfix(postfix, refresh=False)
            stop = (config.patience is not None and history.best_epoch is not None
                    and epoch + 1 - history.best_epoch >= config.patience)
            if checkpoint is not None and writes:
                done = config.epochs if stop else epoch + 1
                if stop or done % config.checkpoint_every == 0 or done == config.epochs:
                    save_checkpoint(checkpoint, state(done))
                    unsaved = None
                else:
                    unsaved = copy.deepcopy(state(done))
            if stop:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def _in_place_sgd(model: nn.Module, objective: Objective, config: TrainConfig,
                  world: int) -> bool:
    """Whether each step can be ``model.sgd_step`` (the update fused into the backward, see
    :mod:`sdae.fused`): plain SGD on the denoising criterion of a layer that supports it, in
    one process, without autocast. On a CPU it pays most at small batches
    (docs/benchmarks.md)."""
    return (objective is autoencoder_objective and getattr(model, "fuses_sgd", False)
            and config.optimizer == "sgd" and config.momentum == 0
            and config.weight_decay == 0 and config.precision != "bf16" and world == 1)


def _signature(model: nn.Module, tensors) -> dict:
    """What a checkpoint must share with the run that continues it besides the settings: the
    model's configuration (or its parameter shapes) and the shapes of the data."""
    config = getattr(model, "config", None)
    described = (config.to_dict() if hasattr(config, "to_dict")
                 else {k: list(v.shape) for k, v in model.state_dict().items()})
    return {"model": described, "data": [list(t.shape) for t in tensors]}


def _resumable(config: TrainConfig) -> dict:
    """The settings a checkpoint must share with the run that continues it."""
    return {k: v for k, v in config.to_dict().items()
            if k not in ("progress", "device", "checkpoint_every")}


@contextlib.contextmanager
def _save_on_interrupt(checkpoint, unsaved: Callable[[], dict | None]):
    """On Ctrl-C (or SIGTERM turned into one), write the last finished epoch not yet saved."""
    try:
        yield
    except KeyboardInterrupt:
        if checkpoint is not None and unsaved() is not None:
            save_checkpoint(checkpoint, unsaved())
        raise


def _shuffled_batches(tensors, chunks, reader, batch_size: int, generator, device):
    """One epoch of batches: the chunks in a random order, each one's rows in a random order.

    Resident data are one chunk; streamed chunks come from ``reader``, each read while the
    one before it trains.
    """
    visits = chunks
    if len(chunks) > 1:
        visits = [chunks[c] for c in torch.randperm(len(chunks), generator=generator,
                                                    device=device).tolist()]
    parts = reader.read(visits) if reader is not None else [tensors]
    for (a, b), part in zip(visits, parts, strict=True):
        order = torch.randperm(b - a, generator=generator, device=device)
        for j in range((b - a) // batch_size):
            index = order[j * batch_size : (j + 1) * batch_size]
            yield tuple(t.index_select(0, index) for t in part)  # a fast gather


def batched(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 4096) -> Tensor:
    """Apply ``fn`` to ``x`` in chunks under ``no_grad``: bounded memory for large data."""
    with torch.no_grad():
        return torch.cat([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def autoencoder_objective(model, batch: Sequence[Tensor], generator: torch.Generator,
                          rows: slice | None = None) -> Tensor:
    """Denoising criterion: corrupt the batch, reconstruct, compare with the clean batch."""
    return model.loss(batch[0], generator, rows=rows)


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
        raise DataError(
            f"{name} lie in [{low:.3g}, {high:.3g}] but the cross-entropy "
            "loss needs values in [0, 1]: rescale them, or use --decoder linear"
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
    """Train a :class:`~sdae.autoencoder.DenoisingAutoencoder` on ``x`` with the denoising
    criterion (or ``objective``, such as :func:`sdae.sampling.walkback_objective`); record
    the clean reconstruction error of ``x_valid`` after each epoch (and, with ``keep_best``,
    end with the parameters of the epoch where it was lowest).

    ``check_input=False`` skips :func:`check_inputs` (a pass over each array) for a caller
    that has checked them already: it saves a read of data streamed from disk."""
    if check_input:
        check_inputs(model, x, "training data")
        if x_valid is not None:
            check_inputs(model, x_valid, "validation data")
    evaluate = None
    if x_valid is not None:
        x_valid = inputs_on(x_valid, resolve_device(config.device))

        def evaluate(m: nn.Module) -> float:
            return reconstruction_error(m, x_valid)

    return train(model, objective or autoencoder_objective, x, config, evaluate=evaluate,
                 keep_best=keep_best and evaluate is not None, checkpoint=checkpoint,
                 description=description)
