"""Training an image denoiser: clean patches of photographs, corrupted afresh for every
batch by the model's noise, restored, compared with the clean ones."""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...core.stacking import pretrain
from ...core.training import History, TrainConfig, batched, train
from ...errors import DataError
from .denoisers import ImageDenoiser, PatchDenoiser
from .noise import ImageNoise
from .patches import training_patches


def denoising_objective(model: ImageDenoiser, batch, generator: torch.Generator | None,
                        rows: slice | None = None) -> Tensor:
    """Corrupt the clean examples with the model's noise, restore (telling the model the
    noise's σ, which only a model with a noise-level input uses), mean squared error."""
    clean = batch[0]
    noisy, sigma = model.noise.draw(clean, generator)
    rows = slice(None) if rows is None else rows
    return F.mse_loss(model.restore(noisy[rows], None if sigma is None else sigma[rows]),
                      clean[rows])


def train_denoiser(
    model: ImageDenoiser,
    images: list[np.ndarray],
    config: TrainConfig,
    *,
    patch_size: int = 40,
    stride: int = 10,
    valid_images: list[np.ndarray] | None = None,
    valid_noise: ImageNoise | None = None,
    pretrain_config: TrainConfig | None = None,
    checkpoint: str | os.PathLike | None = None,
) -> History:
    """Train ``model`` to restore clean patches of ``images`` from copies corrupted with
    its noise, drawn afresh for every batch.

    A :class:`ConvDenoiser` trains on ``patch_size``×``patch_size`` crops at ``stride``;
    a :class:`PatchDenoiser` on its own patches, with ``pretrain_config`` first pre-training
    its stack layer by layer as DAEs. ``valid_images``: the squared error on their patches
    (noise drawn once, from a fixed seed: ``valid_noise``, default the model's) is recorded
    after each epoch, and the model ends with the parameters of the epoch where it was
    lowest.
    """
    patch = model.config.patch_size if isinstance(model, PatchDenoiser) else patch_size
    flat = isinstance(model, PatchDenoiser)

    def examples(source: list[np.ndarray], seed: int) -> Tensor:
        x = training_patches(source, patch, stride, seed)
        if x.shape[1] != model.channels:
            raise DataError(f"the images have {x.shape[1]} channels but the model has "
                            f"{model.channels}: give images of one kind")
        return x.reshape(len(x), -1) if flat else x

    x = examples(images, config.seed)
    if flat and pretrain_config is not None:
        pretrain(model.stack, x, pretrain_config)
    evaluate = None
    if valid_images:
        clean = examples(valid_images, config.seed + 1).to(config.torch_device)
        noisy, sigma = (valid_noise or model.noise).draw(
            clean, torch.Generator(clean.device).manual_seed(config.seed + 1))

        def evaluate(m: nn.Module) -> float:
            return float(F.mse_loss(batched(m.restore, noisy, 256, sigma), clean))

    return train(model, denoising_objective, x, config, evaluate=evaluate,
                 keep_best=evaluate is not None, checkpoint=checkpoint,
                 description=f"train {type(model).__name__}")
