"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint holds the model's and the optimiser's state, the random generator's state,
the epoch reached and the history so far. It is written atomically (temporary file, fsync,
rename), so a crash mid-write leaves the previous checkpoint intact, and read back with
``torch.load(weights_only=True)``, which refuses any pickle that would run code.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import torch

from ..errors import ModelFileError
from .atomic import atomic_write

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Atomically write ``state`` (tensors, numbers, strings, lists and dicts of them)."""
    buffer = io.BytesIO()
    torch.save({"sdae_checkpoint": FORMAT_VERSION, **state}, buffer)
    return atomic_write(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; refuse anything else."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            is_zip = f.read(2) == b"PK"
        if not is_zip:  # torch.save's zip format; a bare pickle is never opened
            raise ModelFileError(f"{path}: not an sdae checkpoint (not a torch zip file)")
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such checkpoint") from None
    except ModelFileError:
        raise
    except Exception as err:  # anything torch's restricted unpickler meets in a bad file
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f"{path}: not a readable sdae checkpoint ({first_line})") from None
    if not isinstance(state, dict) or state.get("sdae_checkpoint") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: not an sdae checkpoint of format {FORMAT_VERSION}")
    return state
