"""Arrays on disk read in chunks: the chunks, the reader's reused buffers and read-ahead."""

import threading
import time

import numpy as np
import pytest
import torch

from sdae.core import streaming
from sdae.core.autoencoder import DenoisingAutoencoder
from sdae.core.streaming import ChunkReader, chunk_bounds, row_chunks, rows_of
from sdae.core.training import TrainConfig, train_autoencoder


@pytest.fixture
def on_disk(tmp_path):
    """(array in memory, the same array memory-mapped from a .npy file)."""
    x = np.random.default_rng(0).random((103, 5))  # float64 on disk
    np.save(tmp_path / "x.npy", x)
    return x, np.load(tmp_path / "x.npy", mmap_mode="r")


def test_chunks_are_whole_batches_of_about_the_chunk_size(monkeypatch):
    monkeypatch.setattr(streaming, "STREAM_CHUNK_BYTES", 4 * 10 * 25)  # 25 rows of 10 floats
    bounds = chunk_bounds([np.zeros((103, 10))], batch_size=8)
    assert bounds == [(0, 24), (24, 48), (48, 72), (72, 96), (96, 103)]
    assert chunk_bounds([np.zeros((103, 10))], batch_size=64) == [(0, 64), (64, 103)]


def test_the_reader_gives_each_chunk_as_float32_and_labels_as_they_are(on_disk):
    x, mapped = on_disk
    y = torch.arange(103)
    bounds = [(40, 80), (0, 40), (80, 103)]
    parts = list(ChunkReader([mapped, y], torch.device("cpu"), rows=40).read(bounds))
    assert [len(xs) for xs, _ in parts] == [40, 40, 23]
    xs, ys = parts[-1]  # the last one is still valid: no chunk was read into its buffer since
    assert xs.dtype == torch.float32 and ys.dtype == torch.int64
    torch.testing.assert_close(xs, torch.from_numpy(x[80:103]).float())
    assert torch.equal(ys, y[80:103])


def test_the_two_buffers_take_turns_and_the_next_chunk_is_read_ahead(on_disk, monkeypatch):
    x, mapped = on_disk
    reader = ChunkReader([mapped], torch.device("cpu"), rows=30)
    filled = []
    fill = reader._fill

    def spy(slot, start, stop):
        filled.append((start, threading.current_thread() is not threading.main_thread()))
        return fill(slot, start, stop)

    monkeypatch.setattr(reader, "_fill", spy)
    bounds = [(0, 30), (30, 60), (60, 90), (90, 103)]
    pointers = []
    for k, (part,) in enumerate(reader.read(bounds)):
        a, b = bounds[k]
        torch.testing.assert_close(part, torch.from_numpy(x[a:b]).float())  # as read
        pointers.append(part.data_ptr())
        if k + 1 < len(bounds):  # the next chunk is being read while this one is in use
            deadline = time.monotonic() + 10
            while len(filled) < k + 2 and time.monotonic() < deadline:
                time.sleep(0.001)
            assert filled[k + 1][0] == bounds[k + 1][0]
    assert all(in_thread for _, in_thread in filled)
    assert pointers[0] == pointers[2] and pointers[1] == pointers[3] != pointers[0]


def test_a_run_streamed_in_several_chunks_is_reproducible(on_disk, monkeypatch):
    monkeypatch.setattr(streaming, "STREAM_CHUNK_BYTES", 4 * 5 * 20)  # chunks of 20 rows
    _, mapped = on_disk
    models = []
    for _ in range(2):
        model = DenoisingAutoencoder(5, 8, noise_level=0.25,
                                     generator=torch.Generator().manual_seed(0))
        train_autoencoder(model, mapped, TrainConfig(epochs=3, batch_size=10, progress=False))
        models.append(model)
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(p, q)


def test_integer_inputs_on_disk_or_in_memory_train_as_float32(tmp_path):
    bits = (np.random.default_rng(0).random((60, 5)) > 0.5).astype(np.uint8)
    np.save(tmp_path / "bits.npy", bits)
    inputs = {"float32 tensor": torch.from_numpy(bits).float(),
              "uint8 on disk": np.load(tmp_path / "bits.npy", mmap_mode="r"),
              "uint8 tensor": torch.from_numpy(bits),
              "float64 tensor": torch.from_numpy(bits).double()}
    trained = {}
    for name, x in inputs.items():
        model = DenoisingAutoencoder(5, 8, noise_level=0.25,
                                     generator=torch.Generator().manual_seed(0))
        train_autoencoder(model, x, TrainConfig(epochs=2, batch_size=10, progress=False),
                          x_valid=x[:20])
        trained[name] = model
    for name, model in trained.items():
        for p, q in zip(trained["float32 tensor"].parameters(), model.parameters(), strict=True):
            assert torch.equal(p, q), name


def test_rows_of_an_array_and_of_a_tensor_agree(on_disk):
    x, mapped = on_disk
    torch.testing.assert_close(rows_of(mapped, 10, 20), torch.from_numpy(x[10:20]).float())
    assert torch.equal(rows_of(torch.arange(5), 1, 3), torch.tensor([1, 2]))
    assert [len(part) for part in row_chunks(mapped, rows=50)] == [50, 50, 3]
