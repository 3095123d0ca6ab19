"""The noise an image denoiser is trained to undo, drawn by the registry's processes.

:class:`ImageNoise` is a model's description of its noise (stored in its file); each draw
goes through :data:`sdae.core.corruption.CORRUPTIONS`, with the image conventions on top:
σ on the 0-255 scale, one σ per image for a blind model, one image per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ...core.corruption import CORRUPTIONS
from ...errors import ConfigError

NOISES = ("gaussian", "salt_and_pepper", "masking")


@dataclass(frozen=True)
class ImageNoise:
    """Noise for images in [0, 1].

    ``gaussian``: additive white Gaussian noise of standard deviation ``sigma`` on the 0-255
    scale, not clipped (the benchmark convention); with ``sigma_max``, σ is drawn uniformly
    in [sigma, sigma_max] for each image: one blind model for a range of noise levels.
    ``salt_and_pepper``: a ``fraction`` of the pixels set to 0 or 1. ``masking``: a
    ``fraction`` of the pixels set to 0 (missing pixels to fill in: inpainting).
    """

    kind: str = "gaussian"
    sigma: float = 25.0
    sigma_max: float | None = None
    fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.kind not in NOISES:
            raise ConfigError(f"unknown image noise {self.kind!r}: choose one of "
                              f"{', '.join(NOISES)}")
        if not (self.sigma >= 0 and math.isfinite(self.sigma)):
            raise ConfigError(f"sigma must be >= 0 (on the 0-255 scale), got {self.sigma}")
        if self.sigma_max is not None and not self.sigma <= self.sigma_max < math.inf:
            raise ConfigError(f"sigma_max (--sigma-max) must be >= sigma ({self.sigma}), "
                              f"got {self.sigma_max}")
        if not 0 <= self.fraction <= 1:
            raise ConfigError(f"fraction of pixels must be in [0, 1], got {self.fraction}")

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A noisy copy of ``x``: (n, ...) images or flattened patches, one per row."""
        rows = x.reshape(len(x), -1)  # (n, c·h·w): the processes corrupt each row
        level = self._sigmas(rows, generator) if self.kind == "gaussian" else self.fraction
        return CORRUPTIONS[self.kind](rows, level, generator).reshape(x.shape)

    def _sigmas(self, rows: Tensor, generator: torch.Generator | None) -> Tensor:
        """σ of each row on the [0, 1] scale, (n, 1): drawn in [sigma, sigma_max] if blind."""
        sigma = torch.full((len(rows), 1), self.sigma, device=rows.device, dtype=rows.dtype)
        if self.sigma_max is not None:
            u = torch.rand(sigma.shape, generator=generator, device=rows.device,
                           dtype=rows.dtype)
            sigma = sigma + (self.sigma_max - self.sigma) * u
        return sigma / 255.0

    def describe(self) -> str:
        if self.kind != "gaussian":
            return f"{self.kind} {self.fraction:g}"
        if self.sigma_max is None:
            return f"gaussian σ={self.sigma:g}"
        return f"gaussian σ∈[{self.sigma:g}, {self.sigma_max:g}]"
