"""What does streaming a .npy file from disk cost, and what does reading ahead save?

Trains one DAE layer (784->1000 by default, batch 128, masking 0.25) for a few epochs on a
``.npy`` file three ways: loaded into memory, streamed with the next chunk read in a
background thread while this one trains (sdae's default), and streamed with each chunk read
only when its turn comes. With ``--cold``, the file's pages are dropped from the page cache
before each chunk is read, as they would be for a file larger than memory, so every chunk
comes from the disk. Prints seconds per epoch (the fastest epoch after the first).

    python benchmarks/streaming.py FILE.npy [--cold] [--device cuda] [--hidden 1000]

Make FILE.npy larger than one chunk (256 MB), e.g. MNIST's images repeated (see
docs/benchmarks.md).
"""

import argparse
import json
import mmap
import os

import numpy as np
import torch

from sdae.core import streaming
from sdae.core.autoencoder import DenoisingAutoencoder
from sdae.core.training import TrainConfig, train_autoencoder


def evict(x: np.memmap, start: int, stop: int) -> None:
    """Drop rows ``start:stop`` of a memory-mapped file from this process and from the page
    cache, so the next read of them goes to the disk."""
    row = x.strides[0]
    first = x.offset + start * row
    first -= first % mmap.PAGESIZE
    length = x.offset + stop * row - first
    x._mmap.madvise(mmap.MADV_DONTNEED, first, length)
    with open(x.filename, "rb") as f:
        os.posix_fadvise(f.fileno(), first, length, os.POSIX_FADV_DONTNEED)


def seconds_per_epoch(x, hidden: int, epochs: int, batch: int, device: str) -> list[float]:
    model = DenoisingAutoencoder(x.shape[1], hidden, noise_level=0.25,
                                 generator=torch.Generator().manual_seed(0))
    config = TrainConfig(epochs=epochs, batch_size=batch, lr=0.1, device=device,
                         progress=False)
    return train_autoencoder(model, x, config).epoch_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--cold", action="store_true", help="every chunk read from the disk")
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="where the layer trains; on a GPU "
                        "the data in memory are moved there whole")
    args = parser.parse_args()
    if not args.file.endswith(".npy") or not os.path.isfile(args.file):
        parser.error(f"{args.file} is not a .npy file")
    mapped = np.load(args.file, mmap_mode="r")
    if args.cold:
        fill = streaming.ChunkReader._fill

        def cold_fill(reader, slot, start, stop):
            evict(mapped, start, stop)
            return fill(reader, slot, start, stop)

        streaming.ChunkReader._fill = cold_fill
    runs = {"in memory": lambda: torch.from_numpy(np.array(mapped, dtype=np.float32)),  # a copy
            "streamed, read ahead": lambda: mapped,
            "streamed, read in turn": lambda: mapped}
    results = {}
    for name, data in runs.items():
        streaming.ChunkReader.read_ahead = name != "streamed, read in turn"
        seconds = seconds_per_epoch(data(), args.hidden, args.epochs, args.batch, args.device)
        results[name] = {"epoch_seconds": [round(s, 2) for s in seconds],
                         "best_after_first": round(min(seconds[1:] or seconds), 2)}
        print(f"{name:24s} seconds per epoch: {results[name]['epoch_seconds']}", flush=True)
    print(json.dumps({"file": args.file, "shape": list(mapped.shape), "cold": args.cold,
                      "device": args.device,
                      "threads": torch.get_num_threads(), **results}))


if __name__ == "__main__":
    main()
