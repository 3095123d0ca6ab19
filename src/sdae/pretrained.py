"""Models shipped inside the package, ready on install: a grayscale image denoiser.

The weights are sdae model files under ``sdae/weights/`` (see its README.md: how each was
trained, on what, on which machine), checked against ``SHA256SUMS`` before they are read.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError, ModelFileError
from .io.model_files import read_model_file
from .models import model_from_file
from .tasks.denoising import ImageDenoiser
from .tasks.denoising import denoise as denoise_with

WEIGHTS = Path(__file__).parent / "weights"
DENOISER = "denoiser-gray.safetensors"


def shipped_path(name: str) -> Path:
    """The shipped file ``name``, after checking its checksum (a damaged install fails
    here with advice, not later with a confusing error)."""
    path = WEIGHTS / name
    try:
        sums = dict(line.split()[::-1] for line in
                    (WEIGHTS / "SHA256SUMS").read_text().splitlines() if line.strip())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, ValueError) as err:
        raise ModelFileError(f"the shipped model {path} or its checksum cannot be read "
                             f"({getattr(err, 'strerror', None) or err}): reinstall "
                             "sdae") from None
    if sums.get(name) != digest:
        raise ModelFileError(f"the shipped model {path} is damaged (its SHA-256 does not "
                             "match SHA256SUMS): reinstall sdae")
    return path


@cache
def _shipped_file(name: str) -> tuple[dict, dict]:
    """The header and weights of a shipped file, read and checked once."""
    return read_model_file(shipped_path(name))


def shipped_denoiser(device: str | torch.device = "cpu") -> ImageDenoiser:
    """The shipped grayscale denoiser (a :class:`~sdae.tasks.denoising.SubimageDenoiser`
    for Gaussian noise of σ in [0, 75]), a fresh module on ``device`` (the file is read and
    checked once per process)."""
    info, tensors = _shipped_file(DENOISER)
    return model_from_file(info, tensors, WEIGHTS / DENOISER).to(device).eval()


def shipped_header() -> dict:
    """The shipped denoiser's header (kind, config, and in ``extra`` its training record)."""
    return _shipped_file(DENOISER)[0]


def denoise(image: np.ndarray, model: ImageDenoiser | None = None, *,
            sigma: float | None = None, tile: int = 1024, ensemble: int = 1) -> np.ndarray:
    """Denoise ``image`` ((h, w) or (h, w, c); floats in [0, 1], or 8- or 16-bit integers),
    by default with the shipped denoiser; the result has its shape, as floats in [0, 1].

    Parameters
    ----------
    image : ndarray
    model : ImageDenoiser, optional
        A trained denoiser (``load_model``, ``train_denoiser``); default the shipped one.
    sigma : float, optional
        The Gaussian noise's standard deviation on the 0-255 scale, if known; by default it
        is estimated from the image (for models told the noise level, as the shipped one).
    tile : int
        Larger images are restored in tiles of this side, with margins, to bound memory.
    ensemble : {1, 2, 4, 8}
        Restore the image in that many orientations (quarter turns, mirror images) and
        average them: that many times slower; with the shipped denoiser, 8 gain 0.1-0.2 dB.
    """
    if isinstance(image, torch.nn.Module):
        raise ConfigError("sdae.denoise takes the image first: denoise(image, model), or "
                          "denoise(image) for the shipped denoiser")
    return denoise_with(model if model is not None else shipped_denoiser(), image, sigma,
                        tile, ensemble)
