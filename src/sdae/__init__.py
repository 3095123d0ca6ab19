"""sdae: denoising and stacked denoising autoencoders in PyTorch.

The public names are loaded on first use, so that importing the package (and running
``sdae --help``) does not import torch; type checkers and IDEs read them from the
``TYPE_CHECKING`` block below (a test keeps the two lists equal).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core.autoencoder import DAEConfig, DenoisingAutoencoder
    from .core.corruption import Corruption
    from .core.stacking import (
        StackedDenoisingAutoencoder,
        finetune,
        finetune_unsupervised,
        pretrain,
    )
    from .core.training import History, TrainConfig, train, train_autoencoder
    from .errors import SdaeError
    from .io.data import load_dataset
    from .models import load_model, save_model
    from .pretrained import denoise, shipped_denoiser
    from .tasks.denoising import (
        ConvDenoiser,
        ImageNoise,
        PatchDenoiser,
        SubimageDenoiser,
        estimate_sigma,
        train_denoiser,
    )

__version__ = "0.1.0"

_EXPORTS = {
    "Corruption": "sdae.core.corruption",
    "DAEConfig": "sdae.core.autoencoder",
    "DenoisingAutoencoder": "sdae.core.autoencoder",
    "TrainConfig": "sdae.core.training",
    "History": "sdae.core.training",
    "train": "sdae.core.training",
    "train_autoencoder": "sdae.core.training",
    "StackedDenoisingAutoencoder": "sdae.core.stacking",
    "pretrain": "sdae.core.stacking",
    "finetune": "sdae.core.stacking",
    "finetune_unsupervised": "sdae.core.stacking",
    "save_model": "sdae.models",
    "load_model": "sdae.models",
    "load_dataset": "sdae.io.data",
    "SdaeError": "sdae.errors",
    "ConvDenoiser": "sdae.tasks.denoising",
    "PatchDenoiser": "sdae.tasks.denoising",
    "ImageNoise": "sdae.tasks.denoising",
    "train_denoiser": "sdae.tasks.denoising",
    "SubimageDenoiser": "sdae.tasks.denoising",
    "estimate_sigma": "sdae.tasks.denoising",
    "denoise": "sdae.pretrained",
    "shipped_denoiser": "sdae.pretrained",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sdae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
