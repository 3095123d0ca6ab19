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

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import ConfigError, check_int
from .denoisers import ImageDenoiser, _check_target
from .noise import ImageNoise, estimate_sigma


@dataclass
class SubimageDenoiserConfig:
    channels: int = 1
    depth: int = 12  # 3×3 convolutions on the sub-images; reach 2·depth pixels each side
    width: int = 64  # feature maps of the hidden layers
    target: str = "noise"
    noise: ImageNoise = field(
        default_factory=lambda: ImageNoise("gaussian", sigma=0.0, sigma_max=75.0))

    def __post_init__(self) -> None:
        if isinstance(self.noise, dict):
            self.noise = ImageNoise(**self.noise)
        self.channels = check_int(self.channels, "channels")
        self.depth = check_int(self.depth, "depth", minimum=2)
        self.width = check_int(self.width, "width")
        _check_target(self.target)
        if self.noise.kind != "gaussian":
            raise ConfigError("a sub-image denoiser is told the σ of Gaussian noise: train "
                              "it with gaussian noise, or use --model conv for "
                              f"{self.noise.kind}")

    def to_dict(self) -> dict:
        return asdict(self)


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
        # in: 4 sub-images per channel and the noise map; out: 4 sub-images per channel
        sizes = [4 * channels + 1] + [width] * (depth - 1) + [4 * channels]
        layers: list[nn.Module] = []
        for k in range(depth):
            conv = nn.Conv2d(sizes[k], sizes[k + 1], 3, padding=1)
            # He's initialisation keeps the signal's scale through the ReLUs; PyTorch's
            # default (3 times smaller a variance per layer) left a 15-layer model unable
            # to learn in 200 steps. The last layer starts at 0: the first estimate of the
            # noise is none, and the first steps do not add any
            if k < depth - 1:
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu", generator=generator)
            else:
                nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU()] if k < depth - 1 else [conv]
        self.net = nn.Sequential(*layers)

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
        out = F.pixel_shuffle(self.net(torch.cat([sub, level], 1)), 2)[..., :h, :w]
        return self._clean(noisy, out)

    restore = forward  # what training compares with the clean examples
