"""A denoiser built for the CPU: a convolutional DAE on the four half-resolution sub-images
of the image, told the noise level by an extra input channel (after FFDNet, Zhang, Zuo &
Zhang, TIP 2018).

Why this shape:

- **Sub-images.** ``pixel_unshuffle`` splits an h×w image into four (h/2)×(w/2) sub-images
  stacked as channels. Every convolution then runs on a quarter of the positions, and each
  3×3 kernel spans 6×6 pixels of the image: the receptive field per operation doubles.
  ``pixel_shuffle`` puts the four restored sub-images back.
- **A noise-level map.** The noise's σ (on the [0, 1] scale) is a constant extra channel, so
  one network serves every σ it was trained on, given σ (non-blind) or with σ estimated
  from the image (blind, :func:`.noise.estimate_sigma`); a user can also turn the knob,
  trading detail for smoothness.
- **A residual target** by default (``target="noise"``): the network outputs the noise,
  which is subtracted, as in the other denoisers.

The image's side is padded (by reflection) to an even size and cropped back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from ...errors import ConfigError
from .denoisers import ConvDenoiserConfig, ImageDenoiser, channels_last, conv_stack
from .noise import ImageNoise, estimate_sigma


@dataclass
class SubimageDenoiserConfig(ConvDenoiserConfig):
    """A :class:`ConvDenoiserConfig` with this model's defaults, for Gaussian noise only."""

    depth: int = 12  # 3×3 convolutions on the sub-images; reach 2·depth pixels each side
    width: int = 64  # feature maps of the hidden layers
    target: str = "noise"
    noise: ImageNoise = field(
        default_factory=lambda: ImageNoise("gaussian", sigma=0.0, sigma_max=75.0))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.noise.kind != "gaussian":
            raise ConfigError("a sub-image denoiser is told the σ of Gaussian noise: train "
                              "it with gaussian noise, or use --model conv for "
                              f"{self.noise.kind}")


class SubimageDenoiser(ImageDenoiser):
    """A convolutional DAE on the four 2×-downsampled sub-images, with a noise-level map.

    Parameters
    ----------
    channels : int
        1 for grayscale models (applied to each channel of a colour image), 3 for colour.
    depth, width : int
        Number of 3×3 convolutions, and of feature maps in the hidden ones.
    target : {"noise", "clean"}
        What the network outputs: the noise to subtract (default) or the clean image.
    noise : ImageNoise
        The Gaussian noise it is trained with; σ drawn per image in [sigma, sigma_max].
    generator : torch.Generator, optional
        Source of the initial weights.
    """

    uses_sigma = True

    def __init__(self, channels: int = 1, depth: int = 12, width: int = 64, *,
                 target: str = "noise", noise: ImageNoise | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = SubimageDenoiserConfig(
            channels, depth, width, target,
            noise or ImageNoise("gaussian", sigma=0.0, sigma_max=75.0))
        # in: 4 sub-images per channel and the noise map; out: 4 sub-images per channel.
        # He's initialisation keeps the signal's scale through the ReLUs; PyTorch's default
        # (3 times smaller a variance per layer) left a 15-layer model unable to learn in 200
        # steps. The last layer starts at 0: the first estimate of the noise is none
        self.net = conv_stack([4 * channels + 1] + [width] * (depth - 1) + [4 * channels],
                              generator, he=True)

    @classmethod
    def from_config(cls, config: SubimageDenoiserConfig | dict) -> SubimageDenoiser:
        c = (config if isinstance(config, SubimageDenoiserConfig)
             else SubimageDenoiserConfig(**config))
        return cls(c.channels, c.depth, c.width, target=c.target, noise=c.noise)

    @property
    def reach(self) -> int:
        """How far (in pixels) an output pixel sees: two per 3×3 convolution, and the
        sub-image grid."""
        return 2 * self.config.depth + 2

    def forward(self, noisy: Tensor, sigma: Tensor | float | None = None) -> Tensor:
        """The clean image estimated from ``noisy``; (n, c, h, w) -> (n, c, h, w).

        ``sigma``: the noise's standard deviation on the [0, 1] scale, one number or one
        per image (n,); ``None`` estimates it from each image.
        """
        n, _, h, w = noisy.shape
        if sigma is None:
            sigma = estimate_sigma(noisy)
        sigma = torch.as_tensor(sigma, dtype=noisy.dtype, device=noisy.device)
        sigma = sigma.expand(n) if sigma.dim() == 0 else sigma.reshape(n)
        # reflect to even sides (replicate where an image is a single pixel wide)
        padded = F.pad(noisy, (0, w % 2, 0, h % 2), mode="reflect" if min(h, w) > 1
                       else "replicate")
        sub = F.pixel_unshuffle(padded, 2)  # (n, 4c, h/2, w/2)
        level = sigma[:, None, None, None].expand(n, 1, *sub.shape[-2:])
        out = F.pixel_shuffle(self.net(channels_last(torch.cat([sub, level], 1))), 2)[..., :h, :w]
        return self._clean(noisy, out)

    restore = forward  # what training compares with the clean examples
