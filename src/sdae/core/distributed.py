"""Training with several processes (torchrun): joining the group, and the step that shares a
batch between the processes so that the update is that of one process on the whole batch."""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .device import resolve_device


def under_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join_process_group(device: str) -> int:
    """Under torchrun join the group of processes, NCCL for GPUs (one each: that of the
    process's local rank) and gloo for CPUs, and return this process's rank; else 0."""
    if not under_torchrun():
        return 0
    import torch.distributed as dist


    if not dist.is_initialized():
        if device.startswith("cuda") and device != "cuda":
            raise ConfigError(f"under torchrun each process takes the GPU of its local rank: "
                              f"give --device cuda, not {device}")
        gpu = resolve_device(device).type == "cuda"
        local, gpus = int(os.environ.get("LOCAL_RANK", "0")), torch.cuda.device_count()
        if gpu and local >= gpus:
            raise ConfigError(f"torchrun started more processes than this machine's {gpus} "
                              f"GPU(s): use --nproc-per-node {gpus} or fewer")
        if gpu:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if gpu else "gloo")
        atexit.register(leave_process_group)
    return dist.get_rank()


def leave_process_group() -> None:
    """At exit, the processes leave together (rank 0 writes the results while the others
    are done) and close the group before the interpreter tears down: a gloo process that
    exited alone, its group's threads still running, aborted now and then ("terminate
    called without an active exception")."""
    import torch.distributed as dist

    if not dist.is_initialized():  # left already (the command's end, then atexit)
        return
    try:
        dist.barrier()
    finally:
        dist.destroy_process_group()


def process_group() -> tuple[int, int]:
    """(number of processes, this one's rank) when torch.distributed is set up (torchrun),
    else (1, 0)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def check_split(batch_size: int, world: int) -> None:
    """Each of ``world`` processes computes an equal share of every batch."""
    if batch_size % world:
        raise ConfigError(f"batch size {batch_size} does not split over {world} "
                          f"processes: use a multiple of {world}")


class _Share(nn.Module):
    """This process's share of the objective of a batch, as a module DDP can wrap."""

    def __init__(self, model: nn.Module, objective, rows: slice):
        super().__init__()
        self.model, self.objective, self.rows = model, objective, rows

    def forward(self, batch: Sequence[Tensor], generator: torch.Generator) -> Tensor:
        return self.objective(self.model, batch, generator, rows=self.rows)


def data_parallel_step(model, objective, device, world: int, rank: int, batch_size: int):
    """``step(batch, generator) -> loss``: the objective itself on one process; on several,
    every process draws the corruption of the whole batch from the same generator (so the
    noise is that of a single-process run) and computes the loss of its own rows, and
    DistributedDataParallel averages the gradients: the update is that of the whole batch.
    """
    if world == 1:
        return lambda batch, generator: objective(model, batch, generator)
    from torch.nn.parallel import DistributedDataParallel

    share = batch_size // world
    rows = slice(rank * share, (rank + 1) * share)
    gpus = None
    if device.type == "cuda":
        gpus = [torch.cuda.current_device() if device.index is None else device.index]
    # static graph: the same parameters take part every step (a stack's decoders never do
    # in fine-tuning), which DDP learns from the first step instead of checking every step
    return DistributedDataParallel(_Share(model, objective, rows), device_ids=gpus,
                                   static_graph=True)
