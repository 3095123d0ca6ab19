"""Model files: safetensors weights with the model's JSON config in the file's metadata.

One self-describing file, no pickle: loading never runs code from the file. This module
knows the format only (header, version, tensors); which classes the kinds name is
:mod:`sdae.models`' business.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..errors import ModelFileError
from .atomic import atomic_write, read_whole

FORMAT = "sdae"
FORMAT_VERSION = 1


def write_model_file(path: str | os.PathLike, kind: str, config: dict,
                     tensors: dict[str, torch.Tensor], extra: dict | None = None) -> Path:
    """Write a model of ``kind`` (its JSON ``config`` and its ``tensors``) atomically."""
    from safetensors.torch import save

    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "kind": kind,
        "config": json.dumps(config),
        "extra": json.dumps(extra or {}),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    return atomic_write(path, save(tensors, metadata=metadata))


def read_model_file(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """The metadata (config decoded from JSON) and the tensors of a model file."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    raw = read_whole(path, ModelFileError, "model file")
    try:
        header_len = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + header_len]) if 0 < header_len <= len(raw) - 8 else None
        tensors = load(raw)
    except (SafetensorError, ValueError, UnicodeDecodeError) as err:
        raise ModelFileError(
            f"{path}: not an sdae model file (safetensors could not read it: {err})"
        ) from None
    metadata = (header or {}).get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: a safetensors file, but not one written by sdae")
    version = metadata.get("format_version", "")
    if version != str(FORMAT_VERSION):
        raise ModelFileError(
            f"{path}: model format version {version or '?'}; this sdae reads version "
            f"{FORMAT_VERSION}: upgrade sdae or re-train the model"
        )
    try:
        info = {
            "format_version": version,
            "kind": metadata["kind"],
            "config": json.loads(metadata["config"]),
            "extra": json.loads(metadata.get("extra", "{}")),
        }
    except (KeyError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path}: corrupt model metadata ({err})") from None
    return info, tensors
