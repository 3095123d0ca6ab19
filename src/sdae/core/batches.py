"""The training data on the device, and an epoch's mini-batches.

Resident data (tensors) go to the training device once, the inputs as float32 (the type
the models compute in), and an epoch slices them by a seeded permutation: no per-example
Python, no DataLoader, no host-device synchronisation. Any NumPy array (a memory-mapped
``.npy`` file, say) stays on disk and is streamed: an epoch visits contiguous chunks of
rows in a random order, each read while the one before it trains (:mod:`.streaming`), and
shuffles the batches within each. The last partial batch (of each chunk) is dropped, as in
the papers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError, SdaeError, check_int
from .streaming import ChunkReader, chunk_bounds, inputs_on


def check_batch_size(batch_size: int, n: int) -> None:
    """The library's one rule on a batch and the data (that it is a positive integer is
    :class:`~sdae.core.training.TrainConfig`'s): no larger than the ``n`` examples. Training
    checks it; a face may call it earlier, before it writes anything."""
    if batch_size > n:
        raise ConfigError(f"batch size {batch_size} is larger than the {n} training "
                          "examples: use a smaller --batch-size")


def steps_per_epoch(n: int, batch_size: int) -> int:
    """The updates one epoch of ``n`` examples makes: :class:`Batches` drops an epoch's
    last, partial batch. At least one, so that a number of updates converts to epochs."""
    return max(1, n // batch_size)


def clip_batch_size(batch_size: int, n: int) -> int:
    """The estimators' and the imputer's rule instead (scikit-learn's, as in its MLP): a
    batch larger than the ``n`` examples is the whole data. ``batch_size`` is checked
    to be a positive integer first."""
    return min(check_int(batch_size, "batch_size"), n)


class Batches:
    """``data`` (the inputs, then any targets, examples along the first dimension) placed
    on ``device`` for mini-batches of ``batch_size``.

    This is where a batch larger than the data is refused (:func:`check_batch_size`): every
    face reaches it.
    """

    def __init__(self, data: Tensor | np.ndarray | Sequence[Tensor | np.ndarray],
                 batch_size: int, device: torch.device):
        tensors = (data,) if isinstance(data, Tensor | np.ndarray) else tuple(data)
        tensors = (inputs_on(tensors[0], device), *tensors[1:])  # float32, as models compute
        n = len(tensors[0])
        if n == 0:
            raise SdaeError("cannot train on empty data: give at least one example")
        if any(len(t) != n for t in tensors):
            raise SdaeError("all data tensors must have the same number of examples")
        check_batch_size(batch_size, n)
        self.batch_size, self.device = batch_size, device
        self.reader = None  # streamed arrays are read chunk by chunk, one chunk ahead
        if any(isinstance(t, np.ndarray) for t in tensors):
            self.chunks = chunk_bounds(tensors, batch_size)
            self.reader = ChunkReader(tensors, device, rows=self.chunks[0][1])
        else:
            tensors = tuple(t.to(device) for t in tensors)
            self.chunks = [(0, n)]
        self.tensors = tensors
        self.n_batches = sum((b - a) // batch_size for a, b in self.chunks)

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[Tensor, ...]]:
        """One epoch of batches: the chunks in a random order, each one's rows in a random
        order, both drawn from ``generator``."""
        visits = self.chunks
        if len(self.chunks) > 1:
            order = torch.randperm(len(self.chunks), generator=generator, device=self.device)
            visits = [self.chunks[c] for c in order.tolist()]
        parts = self.reader.read(visits) if self.reader is not None else [self.tensors]
        size = self.batch_size
        for (a, b), part in zip(visits, parts, strict=True):
            order = torch.randperm(b - a, generator=generator, device=self.device)
            for j in range((b - a) // size):
                index = order[j * size : (j + 1) * size]
                yield tuple(t.index_select(0, index) for t in part)  # a fast gather
