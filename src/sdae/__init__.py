"""sdae: denoising and stacked denoising autoencoders in PyTorch.

The public names are loaded on first use, so that importing the package (and running
``sdae --help``) does not import torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Corruption": "sdae.core.corruption",
    "DAEConfig": "sdae.core.autoencoder",
    "DenoisingAutoencoder": "sdae.core.autoencoder",
    "TrainConfig": "sdae.core.training",
    "History": "sdae.core.training",
    "train": "sdae.core.training",
    "train_autoencoder": "sdae.core.training",
    "save_model": "sdae.models",
    "load_model": "sdae.models",
    "load_dataset": "sdae.io.data",
    "SdaeError": "sdae.errors",
    "ConvDenoiser": "sdae.tasks.denoising",
    "PatchDenoiser": "sdae.tasks.denoising",
    "ImageNoise": "sdae.tasks.denoising",
    "train_denoiser": "sdae.tasks.denoising",
    "denoise": "sdae.tasks.denoising",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sdae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
