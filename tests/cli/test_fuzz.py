"""Property-based fuzzing of every reader of users' files: random bytes, and random
mutations of valid files (bytes flipped, cut short, inserted), may only ever produce a
result or one of the project's own errors, never a crash from inside numpy, torch or
safetensors."""

import contextlib
import gzip
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from sdae import DenoisingAutoencoder
from sdae.core.stacking import StackedDenoisingAutoencoder
from sdae.errors import SdaeError
from sdae.io.checkpoint import load_checkpoint, save_checkpoint
from sdae.io.data.files import load_array
from sdae.io.data.idx import parse_idx, read_idx, write_idx
from sdae.io.data.images import read_gray_image
from sdae.models import load_model, save_model

# bounded in the suite; SDAE_FUZZ_EXAMPLES=5000 for a long, randomised hunt
EXAMPLES = int(os.environ.get("SDAE_FUZZ_EXAMPLES", 0))
FUZZ = settings(max_examples=EXAMPLES or 60, derandomize=not EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _valid_files() -> dict[str, bytes]:
    """One small valid file of each kind the project reads."""
    with tempfile.TemporaryDirectory(prefix="sdae-fuzz-") as folder:
        return _write_valid_files(Path(folder))


def _write_valid_files(folder: Path) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    x = rng.random((6, 4)).astype(np.float32)
    write_idx(folder / "a.idx", rng.integers(0, 256, (3, 4, 4), dtype=np.uint8), compress=False)
    np.save(folder / "a.npy", x)
    np.savez(folder / "a.npz", x=x, y=np.arange(6) % 2)
    np.savetxt(folder / "a.csv", x, delimiter=",", header="a,b,c,d", comments="")
    save_model(DenoisingAutoencoder(4, 3), folder / "dae.safetensors")
    save_model(StackedDenoisingAutoencoder(4, [3, 2], 2), folder / "stack.safetensors")
    save_checkpoint(folder / "a.ckpt", {"epoch": 2, "model": {"w": torch.ones(2, 2)},
                                        "history": {"train_loss": [0.5]}})
    png = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (5, 5), dtype=np.uint8)).save(png, format="PNG")
    (folder / "a.png").write_bytes(png.getvalue())
    (folder / "a.idx.gz").write_bytes(gzip.compress((folder / "a.idx").read_bytes()))
    return {p.name: p.read_bytes() for p in folder.iterdir()}


VALID = _valid_files()


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """``valid`` with a few bytes replaced, a cut, or an insertion."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            data = data[:at]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def files_like(*names: str):
    """Random bytes, or mutations of the valid files ``names``."""
    return st.one_of(st.binary(max_size=300), *(mutated(VALID[name]) for name in names))


def only_own_errors(read: Callable[[Path], object], data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            read(path)
        except SdaeError as err:
            assert "\n" not in str(err).strip(), str(err)  # one line


@FUZZ
@given(files_like("a.idx"))
def test_idx_reader(data):
    with contextlib.suppress(SdaeError):
        parse_idx(data)


# each reader, the valid files its mutations start from, and the suffix it dispatches on
READERS = {
    "gzipped IDX": (read_idx, ["a.idx.gz"], ".gz"),
    ".npy": (load_array, ["a.npy"], ".npy"),
    ".npz": (load_array, ["a.npz"], ".npz"),
    "CSV": (load_array, ["a.csv"], ".csv"),
    "image": (read_gray_image, ["a.png"], ".png"),
    "model": (load_model, ["dae.safetensors", "stack.safetensors"], ".safetensors"),
    "checkpoint": (load_checkpoint, ["a.ckpt"], ".ckpt"),
}


@pytest.mark.parametrize("kind", READERS)
@FUZZ
@given(data=st.data())
def test_reader_raises_only_its_own_errors(kind, data):
    read, valid, suffix = READERS[kind]
    files = files_like(*valid)
    if kind == "CSV":
        files = st.one_of(files, st.text(max_size=200).map(str.encode))
    only_own_errors(read, data.draw(files), suffix)


def test_the_valid_files_are_read():
    """The mutations start from files the readers accept."""
    assert parse_idx(VALID["a.idx"]).shape == (3, 4, 4)
    with tempfile.TemporaryDirectory() as folder:
        for name, read in [("a.npy", load_array), ("a.npz", load_array), ("a.csv", load_array),
                           ("a.idx.gz", read_idx), ("a.png", read_gray_image),
                           ("dae.safetensors", load_model), ("stack.safetensors", load_model),
                           ("a.ckpt", load_checkpoint)]:
            path = Path(folder) / name
            path.write_bytes(VALID[name])
            assert read(path) is not None
