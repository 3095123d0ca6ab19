"""Denoising one image with a trained denoiser, tile by tile when it is large."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ...errors import ConfigError, DataError, warn
from .denoisers import ImageDenoiser, channel_kind
from .ensemble import check_orientations, self_ensemble
from .noise import estimate_sigma
from .patches import as_image_tensor


def denoise(model: ImageDenoiser, image: np.ndarray, sigma: float | None = None,
            tile: int = 1024, ensemble: int = 1) -> np.ndarray:
    """Denoise one image, (h, w) or (h, w, c) in [0, 1] (or of an integer type, scaled by
    its maximum); the result has its shape, as floats in [0, 1].

    ``sigma``: the noise's standard deviation on the 0-255 scale, for a model told the noise
    level (:class:`SubimageDenoiser`); ``None`` estimates it from the image
    (:func:`image_sigma`, once, before any tiling). A model blind to the noise level
    refuses it.

    A grayscale model restores each channel of a colour image on its own. Images larger
    than ``tile``×``tile`` are restored tile by tile, each seen with a margin as wide as
    the model's reach, so memory stays bounded (for a convolutional model the result is
    the same as in one piece).

    ``ensemble``: restore the image in that many orientations (1, 2, 4 or 8: turned by
    quarter turns, and mirrored) and average them, turned back (:mod:`.ensemble`); that
    many times the work, for a PSNR 0.1-0.2 dB higher with the shipped denoiser.
    """
    if not isinstance(model, ImageDenoiser):
        raise ConfigError(f"a {type(model).__name__} is not a denoiser: train one with "
                          "train_denoiser or 'sdae denoise train'")
    if sigma is not None and not model.uses_sigma:
        raise ConfigError(f"this {type(model).__name__} is blind to the noise level (trained "
                          f"with {model.noise.describe()}): leave sigma out, or use a "
                          "sub-image denoiser")
    if sigma is not None and not (math.isfinite(sigma) and sigma >= 0):
        raise ConfigError(f"sigma must be >= 0 (on the 0-255 scale), got {sigma}")
    if tile < 1:
        raise ConfigError(f"tile must be >= 1 pixel, got {tile}")
    check_orientations(ensemble)
    x = as_image_tensor(image)
    if model.uses_sigma or model.noise.kind == "gaussian":  # a blind model's σ: a check only
        given = sigma is not None
        sigma = sigma if given else _tensor_sigma(x)
        _warn_beyond_training(model, sigma, given)
    c = x.shape[1]
    if model.channels == 1 and c > 1:
        x = x.transpose(0, 1)  # the channels as a batch of grayscale images
    elif model.channels != c:
        raise DataError(f"the image is {channel_kind(c)} but the model was trained on "
                        f"{channel_kind(model.channels)} images: use a model trained on "
                        "images like this one")
    device = next(model.parameters()).device
    x = x.to(device)
    level = torch.full((len(x),), sigma / 255.0, device=device) if model.uses_sigma else None
    was_training = model.training
    model.eval()
    with torch.no_grad():
        y = self_ensemble(lambda t: _restore_tiled(model, t, level, tile), x, ensemble)
        y = y.clamp_(0, 1).cpu()
    model.train(was_training)
    y = y.transpose(0, 1) if model.channels == 1 and c > 1 else y
    out = y[0].permute(1, 2, 0).numpy()
    return out[..., 0] if image.ndim == 2 else out


_TEXTURE_SIGMA = 12.0  # what a photograph's own texture adds to the σ estimate, at most


def _warn_beyond_training(model: ImageDenoiser, sigma: float, given: bool) -> None:
    """A :class:`SdaeWarning` when σ is clearly above every noise level the model was
    trained on: it still restores the image, but it never learnt noise that strong (a
    model blind to the noise level, trained at one σ, leaves much of it in).

    "Clearly": a given σ by more than 5%; an estimate by more than it reads on a textured
    photograph. On BSD68 and Set12 with noise of σ = 5 to 50 added, the estimate read up to
    8% high, plus texture worth up to about 12 grey levels in quadrature (on a clean
    image, up to 8; at σ = 15, up to 19.3)."""
    top = model.noise.sigma if model.noise.sigma_max is None else model.noise.sigma_max
    if sigma > (1.05 * top if given else 1.1 * math.hypot(top, _TEXTURE_SIGMA)):
        how = "" if given else "estimated "
        warn(f"the {how}noise level σ={sigma:.1f} is above the largest this denoiser was "
             f"trained on ({top:g}): expect a smoother, weaker result, or train a model for "
             f"such noise (sdae denoise train --model subimage --sigma 0 --sigma-max "
             f"{math.ceil(sigma)} --images DIR --out MODEL.safetensors)")


def image_sigma(image: np.ndarray) -> float:
    """The σ of an image's additive Gaussian noise on the 0-255 scale, (h, w) or (h, w, c)
    (integer images scaled by their type's maximum): the mean of its channels' estimates
    (:func:`.noise.estimate_sigma`)."""
    return _tensor_sigma(as_image_tensor(image))


def _tensor_sigma(x: Tensor) -> float:
    """:func:`image_sigma` of an image already made a (1, c, h, w) tensor."""
    return float(estimate_sigma(x.transpose(0, 1)).mean()) * 255


def _restore_tiled(model: ImageDenoiser, x: Tensor, sigma: Tensor | None, tile: int) -> Tensor:
    h, w = x.shape[-2:]
    if h * w <= tile * tile:
        return model(x, sigma)
    margin = model.reach
    y = torch.empty_like(x)
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            # even corners: a sub-image model then sees the same pixel grid in every tile
            t0, l0 = max(top - margin, 0) // 2 * 2, max(left - margin, 0) // 2 * 2
            piece = model(x[..., t0 : top + tile + margin, l0 : left + tile + margin], sigma)
            y[..., top : top + tile, left : left + tile] = \
                piece[..., top - t0 : top - t0 + tile, left - l0 : left - l0 + tile]
    return y
