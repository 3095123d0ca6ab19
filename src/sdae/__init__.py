"""sdae: denoising and stacked denoising autoencoders in PyTorch.

The public names are loaded on first use, so that importing the package (and running
``sdae --help``) does not import torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Corruption": "sdae.corruption",
    "DAEConfig": "sdae.autoencoder",
    "DenoisingAutoencoder": "sdae.autoencoder",
    "TrainConfig": "sdae.training",
    "History": "sdae.training",
    "train": "sdae.training",
    "train_autoencoder": "sdae.training",
    "save_model": "sdae.serialization",
    "load_model": "sdae.serialization",
    "load_dataset": "sdae.data",
    "SdaeError": "sdae.errors",
    "ConvDenoiser": "sdae.denoising",
    "PatchDenoiser": "sdae.denoising",
    "ImageNoise": "sdae.denoising",
    "train_denoiser": "sdae.denoising",
    "denoise": "sdae.denoising",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sdae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
