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
from ...errors import ConfigError, DataError

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
        return self.draw(x, generator)[0]

    def draw(self, x: Tensor, generator: torch.Generator | None = None
             ) -> tuple[Tensor, Tensor | None]:
        """A noisy copy of ``x`` and, for Gaussian noise, the σ of each row on the [0, 1]
        scale, (n,): what a denoiser told the noise level is given."""
        rows = x.reshape(len(x), -1)  # (n, c·h·w): the processes corrupt each row
        if self.kind != "gaussian":
            return CORRUPTIONS[self.kind](rows, self.fraction, generator).reshape(x.shape), None
        sigma = self._sigmas(rows, generator)
        return CORRUPTIONS[self.kind](rows, sigma, generator).reshape(x.shape), sigma[:, 0]

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


MAD_TO_SIGMA = 0.6745  # median |z| of a standard normal z


def estimate_sigma(images: Tensor, flat_share: float = 0.25) -> Tensor:
    """The σ of additive white Gaussian noise in each image, on its own scale; (n, c, h, w)
    -> (n,).

    Donoho's robust estimate on the flattest blocks: the diagonal Haar coefficient of a
    2×2 block of a natural image is mostly noise, and the median of its absolute value over
    the blocks is 0.6745 σ. Edges and texture add large coefficients, which bias it high
    (by 11% at σ = 15 on BSD68). So only the ``flat_share`` of blocks with the least
    horizontal and vertical detail count: under white noise the four Haar coefficients of
    a block are independent, so choosing blocks by the other two does not bias the noise's
    share, while it drops most texture (bias 6% at σ = 15, 3% at σ = 25 on BSD68). Blocks
    that touch the image's extreme values are left out too: where noise was clipped (black
    or blown-out regions of an 8-bit file) they are flat for want of noise, not of detail.
    """
    x = images[..., : images.shape[-2] // 2 * 2, : images.shape[-1] // 2 * 2]
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise DataError("an image must be at least 2×2 pixels to estimate its noise: give "
                        "its σ (sigma=, --sigma)")
    a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    n = len(x)
    diagonal = ((a - b - c + d) / 2).reshape(n, -1)  # of variance σ² under white noise
    detail = ((a + b - c - d).abs() + (a - b + c - d).abs()).reshape(n, -1)
    low = x.reshape(n, -1).amin(dim=1)[:, None, None, None]
    high = x.reshape(n, -1).amax(dim=1)[:, None, None, None]
    corners = torch.stack([a, b, c, d])
    clipped = ((corners == low) | (corners == high)).any(dim=0).reshape(n, -1)
    clipped &= ~clipped.all(dim=1, keepdim=True)  # an image of nothing else: keep them all
    detail = detail.masked_fill(clipped, math.inf)
    eligible = (~clipped).sum(dim=1, keepdim=True)
    k = (flat_share * eligible).round().clamp(min=1).long()
    threshold = detail.sort(dim=1).values.gather(1, k - 1)
    flat = (detail <= threshold) & ~clipped
    # the median of |diagonal| over each image's flat blocks (NaN elsewhere)
    chosen = torch.where(flat, diagonal.abs(), diagonal.new_tensor(float("nan")))
    return chosen.nanmedian(dim=1).values / MAD_TO_SIGMA
