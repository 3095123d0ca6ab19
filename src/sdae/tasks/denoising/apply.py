"""Denoising one image with a trained denoiser, tile by tile when it is large."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ...errors import ConfigError, DataError
from .denoisers import ImageDenoiser, channel_kind
from .patches import as_image_tensor


def denoise(model: ImageDenoiser, image: np.ndarray, tile: int = 1024) -> np.ndarray:
    """Denoise one image, (h, w) or (h, w, c) in [0, 1] (or of an integer type, scaled by
    its maximum); the result has its shape, as floats in [0, 1].

    A grayscale model restores each channel of a colour image on its own. Images larger
    than ``tile``×``tile`` are restored tile by tile, each seen with a margin as wide as
    the model's reach, so memory stays bounded (for a convolutional model the result is
    the same as in one piece).
    """
    if not isinstance(model, ImageDenoiser):
        raise ConfigError(f"a {type(model).__name__} is not a denoiser: train one with "
                          "train_denoiser or 'sdae denoise train'")
    x = as_image_tensor(image)
    c = x.shape[1]
    if model.channels == 1 and c > 1:
        x = x.transpose(0, 1)  # the channels as a batch of grayscale images
    elif model.channels != c:
        raise DataError(f"the image is {channel_kind(c)} but the model was trained on "
                        f"{channel_kind(model.channels)} images: use a model trained on "
                        "images like this one")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        y = _restore_tiled(model, x.to(device), tile).clamp_(0, 1).cpu()
    model.train(was_training)
    y = y.transpose(0, 1) if model.channels == 1 and c > 1 else y
    out = y[0].permute(1, 2, 0).numpy()
    return out[..., 0] if image.ndim == 2 else out


def _restore_tiled(model: ImageDenoiser, x: Tensor, tile: int) -> Tensor:
    h, w = x.shape[-2:]
    if h * w <= tile * tile:
        return model(x)
    margin = model.reach
    y = torch.empty_like(x)
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            t0, l0 = max(top - margin, 0), max(left - margin, 0)
            piece = model(x[..., t0 : top + tile + margin, l0 : left + tile + margin])
            y[..., top : top + tile, left : left + tile] = \
                piece[..., top - t0 : top - t0 + tile, left - l0 : left - l0 + tile]
    return y
