"""One training step, the learning rate it takes, and the loss of an epoch of them.

A step is either the objective's own in-place SGD step (the update fused into the backward
pass, :mod:`.fused`) or autograd and a ``torch.optim`` optimiser. An objective *declares*
the fused step by carrying an ``sgd_step(model, batch, generator, lr) -> loss`` attribute
(:class:`FusesSGD`): the step that plain SGD on that objective would take. The loop takes
it when the model supports it too (``model.fuses_sgd``) and the run is plain SGD in one
process without autocast; any other objective, a wrapper that does not pass the
declaration on included, goes through autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from ..errors import SdaeError
from .device import autocast
from .distributed import data_parallel_step

# step(batch, generator, lr) -> the batch's loss before the step (detached)
Step = Callable[[Sequence[Tensor], torch.Generator, float], Tensor]


@runtime_checkable
class FusesSGD(Protocol):
    """An objective that can take its plain-SGD step in place (see the module's docstring)."""

    def __call__(self, model: nn.Module, batch: Sequence[Tensor],
                 generator: torch.Generator, rows: slice | None = None) -> Tensor: ...

    def sgd_step(self, model: nn.Module, batch: Sequence[Tensor],
                 generator: torch.Generator, lr: float) -> Tensor: ...


def learning_rate(lr: float, decay: float, warmup_epochs: float, n_batches: int,
                  epoch: int, i: int) -> float:
    """The learning rate of step ``i`` of ``epoch`` (both 0-based, ``n_batches`` steps an
    epoch): ``lr`` decayed by ``decay`` once per epoch, ramped up linearly from zero over
    ``warmup_epochs`` epochs' worth of steps (large steps from a pre-trained start can
    saturate every unit at once)."""
    warmup_steps = warmup_epochs * n_batches
    ramp = min(1.0, (epoch * n_batches + i + 1) / warmup_steps) if warmup_steps else 1.0
    return lr * decay**epoch * ramp


def fused_sgd(model: nn.Module, objective, config, world: int):
    """The objective's in-place ``sgd_step`` when this run may take it, else None: the
    objective declares one, the model supports it, plain SGD (no momentum, no weight
    decay, no gradient clipping), one process, no autocast. On a CPU it pays most at small batches
    (docs/benchmarks.md)."""
    step = getattr(objective, "sgd_step", None)
    plain = (config.optimizer == "sgd" and config.momentum == 0
             and config.weight_decay == 0 and config.precision != "bf16"
             and config.grad_clip is None)
    if step is None or not getattr(model, "fuses_sgd", False) or not plain or world != 1:
        return None
    return step


class OptimizerStep:
    """A step through autograd: the objective's loss (this process's share of it, under
    torchrun) under autocast, weight decay λ·Σ‖W‖² over the weight matrices (not the
    biases), backward outside autocast, then the optimiser at the given learning rate."""

    def __init__(self, model: nn.Module, objective, optimizer: torch.optim.Optimizer, config,
                 world: int, rank: int):
        self.loss = data_parallel_step(model, objective, config.torch_device, world, rank,
                                       config.batch_size)
        self.optimizer, self.config = optimizer, config
        self.decayed = [p for p in model.parameters() if p.dim() >= 2]
        self.clipped = list(model.parameters())

    def __call__(self, batch: Sequence[Tensor], generator: torch.Generator, lr: float) -> Tensor:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with autocast(self.config.precision, self.config.torch_device):
            loss = self.loss(batch, generator)
        measured = loss.detach()
        if self.config.weight_decay:
            loss = loss + self.config.weight_decay * sum(w.square().sum() for w in self.decayed)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.clipped, self.config.grad_clip, foreach=True)
        self.optimizer.step()
        return measured


def make_step(model: nn.Module, objective, optimizer: torch.optim.Optimizer, config,
              world: int, rank: int) -> Step:
    """The step of this run: the objective's fused SGD step where it may be taken
    (:func:`fused_sgd`), else :class:`OptimizerStep`."""
    fused = fused_sgd(model, objective, config, world)
    if fused is None:
        return OptimizerStep(model, objective, optimizer, config, world, rank)
    return lambda batch, generator, lr: fused(model, batch, generator, lr)


def epoch_loss(losses: Tensor, world: int, epoch: int) -> float:
    """The mean of an epoch's batch losses, every process's share averaged: the one read
    (host-device synchronisation) of the epoch. A loss that is not finite stops the run
    with the first batch where it appeared."""
    if world > 1:  # every process's share, once per epoch
        torch.distributed.all_reduce(losses)
        losses /= world
    loss = losses.mean().item()
    if not math.isfinite(loss):
        batch = int((~torch.isfinite(losses)).nonzero()[0]) + 1
        raise SdaeError(
            f"training diverged: the loss became {losses[batch - 1].item()} at batch "
            f"{batch} of epoch {epoch + 1}: use a lower learning rate"
        )
    return loss
