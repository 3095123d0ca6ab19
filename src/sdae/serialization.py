"""Model files: safetensors weights with the model's JSON config in the file's metadata.

One self-describing file, no pickle: loading never runs code from the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .atomic import atomic_write
from .autoencoder import DenoisingAutoencoder
from .denoising import ConvDenoiser, PatchDenoiser
from .errors import ModelFileError
from .stacking import StackedDenoisingAutoencoder

KINDS = {"dae": DenoisingAutoencoder, "stack": StackedDenoisingAutoencoder,
         "conv-denoiser": ConvDenoiser, "patch-denoiser": PatchDenoiser}

FORMAT = "sdae"
FORMAT_VERSION = 1


def model_kind(model: nn.Module) -> str:
    for kind, cls in KINDS.items():
        if isinstance(model, cls):
            return kind
    raise ModelFileError(f"cannot save a {type(model).__name__}: not an sdae model")


def save_model(model: nn.Module, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write ``model`` to ``path`` (``.safetensors``) atomically.

    ``extra`` is free JSON-serialisable information stored beside the config (for example
    how the model was trained).
    """
    from safetensors.torch import save

    kind = model_kind(model)
    config = model.config.to_dict()
    layers = {"dae": [config], "stack": config.get("layers"),
              "patch-denoiser": (config.get("stack") or {}).get("layers")}.get(kind) or []
    if not all(isinstance(layer["corruption"], str) for layer in layers):
        raise ModelFileError("a model with a custom corruption callable cannot be saved to a file")
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "kind": kind,
        "config": json.dumps(config),
        "extra": json.dumps(extra or {}),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return atomic_write(path, save(tensors, metadata=metadata))


def read_model_file(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """The metadata (config decoded from JSON) and the tensors of a model file."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as err:
        raise ModelFileError(f"{path}: no such model file") from err
    except OSError as err:
        raise ModelFileError(f"{path}: cannot read ({err.strerror})") from err
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


def load_model(
    path: str | os.PathLike, device: str | torch.device = "cpu", *, with_header: bool = False
):
    """Rebuild the model saved in ``path`` (a DAE layer, a stack or a denoiser), in eval
    mode.

    ``with_header=True`` returns ``(model, header)``, the header as :func:`read_model_file`
    gives it (kind, config, extra), from the one read of the file.
    """
    info, tensors = read_model_file(path)
    cls = KINDS.get(info["kind"])
    if cls is None:
        raise ModelFileError(f"{path}: unknown model kind {info['kind']!r}")
    try:
        with torch.device("meta"):  # the sizes are checked before any memory is taken
            expected = {k: tuple(v.shape) for k, v in cls.from_config(info["config"])
                        .state_dict().items()}
    except (TypeError, KeyError, ValueError, AttributeError, RuntimeError) as err:
        raise ModelFileError(f"{path}: corrupt model config ({err})") from None
    if expected != {k: tuple(v.shape) for k, v in tensors.items()}:
        raise ModelFileError(f"{path}: the weights do not match the stored config")
    model = cls.from_config(info["config"])
    model.load_state_dict(tensors)
    model = model.to(device).eval()
    return (model, info) if with_header else model


def load_autoencoder(path: str | os.PathLike, device: str | torch.device = "cpu", *,
                     with_header: bool = False):
    """:func:`load_model` for a DAE layer or a stack: a denoiser's file is refused."""
    model, header = load_model(path, device, with_header=True)
    if header["kind"].endswith("denoiser"):
        raise ModelFileError(f"{path} is a {header['kind']} model, not a DAE or a stack: "
                             "denoise images with it ('sdae denoise apply')")
    return (model, header) if with_header else model
