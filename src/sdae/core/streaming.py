"""Data larger than memory: arrays left on disk (memory-mapped ``.npy``) and read in chunks.

An epoch over streamed data visits contiguous chunks of rows of about ``STREAM_CHUNK_BYTES``
each. A :class:`ChunkReader` copies each chunk into one of two host buffers it keeps for the
whole run (a fresh 256 MB array per chunk cost up to 0.6 s in page faults, the copy into a
reused buffer 0.02 s) and reads the next chunk in a background thread while the batches of
this one train. For a GPU the buffers are pinned, so the copy to the device is asynchronous.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import Tensor

STREAM_CHUNK_BYTES = 256 * 2**20  # two chunks of a streamed array are in memory at a time

Rows = Tensor | np.ndarray  # examples along the first dimension, in memory or on disk


def chunk_bounds(arrays: Sequence[Rows], batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each chunk: whole batches, about ``STREAM_CHUNK_BYTES`` each."""
    n = len(arrays[0])
    row_bytes = sum(4 * math.prod(x.shape[1:]) for x in arrays)
    rows = max(1, STREAM_CHUNK_BYTES // row_bytes // batch_size) * batch_size
    return [(a, min(a + rows, n)) for a in range(0, n, rows)]


class ChunkReader:
    """Reads chunks of rows of ``arrays`` onto ``device``, each one while the one before it
    is in use.

    Arrays are read as float32, tensors keep their type. A chunk handed out stays valid
    until the next one is asked for, when the reader starts to fill its buffer with the
    chunk after (the two host buffers take turns): copy what must outlive it.
    ``read_ahead = False`` never reads while a chunk is in use, only between two
    (``benchmarks/streaming.py`` measures what reading ahead saves).
    """

    read_ahead = True

    def __init__(self, arrays: Sequence[Rows], device: torch.device, rows: int):
        self.arrays, self.device, self.rows = tuple(arrays), device, rows
        self._buffers: list[tuple[Tensor, ...] | None] = [None, None]
        self._copied: list[torch.cuda.Event | None] = [None, None]  # last copy to the GPU

    def read(self, bounds: Sequence[tuple[int, int]]) -> Iterator[tuple[Tensor, ...]]:
        """The rows ``bounds[k]`` of every array, for each ``k`` in turn."""
        if not bounds:
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sdae-read") as thread:
            ahead = thread.submit(self._fill, 0, *bounds[0])
            for k in range(len(bounds)):
                part = tuple(t.to(self.device, non_blocking=True) for t in ahead.result())
                if self.device.type == "cuda":  # the buffer is free once this copy is done
                    # (recorded on the stream of the training device, which the copy went to,
                    # whichever GPU is current)
                    self._copied[k % 2] = torch.cuda.Event()
                    self._copied[k % 2].record(torch.cuda.current_stream(self.device))
                if k + 1 < len(bounds):
                    ahead = thread.submit(self._fill, (k + 1) % 2, *bounds[k + 1])
                    if not self.read_ahead:
                        ahead.result()
                yield part

    def _fill(self, slot: int, start: int, stop: int) -> tuple[Tensor, ...]:
        if self._copied[slot] is not None:
            self._copied[slot].synchronize()
        if self._buffers[slot] is None:
            self._buffers[slot] = tuple(
                torch.empty((self.rows, *x.shape[1:]), dtype=_host_dtype(x),
                            pin_memory=self.device.type == "cuda")
                for x in self.arrays)
        part = tuple(buffer[: stop - start] for buffer in self._buffers[slot])
        for buffer, x in zip(part, self.arrays, strict=True):
            if isinstance(x, Tensor):
                buffer.copy_(x[start:stop])
            else:  # from disk when memory-mapped; numpy lets other threads run meanwhile
                np.copyto(buffer.numpy(), x[start:stop], casting="same_kind")
        return part


def _host_dtype(x: Rows) -> torch.dtype:
    """Arrays are inputs, read as float32 (what the models compute in); tensors (labels,
    say) keep their type."""
    return x.dtype if isinstance(x, Tensor) else torch.float32


def rows_of(x: Rows, start: int, stop: int, device: str | torch.device = "cpu") -> Tensor:
    """Rows ``start:stop`` of a tensor, or of an array (read from disk when memory-mapped,
    as float32), on ``device``."""
    if isinstance(x, Tensor):
        return x[start:stop].to(device)
    return torch.from_numpy(np.array(x[start:stop], dtype=np.float32)).to(device)  # a copy


def inputs_on(x: Rows | None, device: torch.device) -> Rows | None:
    """Inputs where training reads them: a tensor as float32 on ``device`` (the type the
    models compute in), an array left on disk (it is read as float32 chunk by chunk)."""
    return x.to(device, torch.float32) if isinstance(x, Tensor) else x


def row_chunks(x: Rows, device: str | torch.device = "cpu", rows: int = 4096):
    """``x`` as consecutive chunks of ``rows`` rows on ``device``."""
    for start in range(0, len(x), rows):
        yield rows_of(x, start, start + rows, device)
