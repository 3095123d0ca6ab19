"""Image denoising: a DAE is, literally, a learned denoiser.

Trained to map x̃ ~ q(x̃ | x) back to the clean x, a DAE on images restores noisy photographs.
Two architectures, both trained by :func:`sdae.training.train` on clean patches of
photographs corrupted on the fly by an :class:`ImageNoise`:

- :class:`PatchDenoiser`: a stacked, fully connected DAE on p×p patches (Burger et al.,
  CVPR 2012; Xie et al., NIPS 2012). An image is cut into overlapping patches, each is
  denoised, and the overlapping reconstructions are averaged back into the image.
- :class:`ConvDenoiser`: a fully convolutional DAE (Jain & Seung, NIPS 2008; Zhang et al.,
  TIP 2017), for images of any size.

Either predicts the clean image, or (``target="noise"``) the noise, which is subtracted:
the same squared error to the clean image, but the network learns a residual.
Images are float tensors in [0, 1] of shape (n, c, h, w).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.corruption import masking, salt_and_pepper
from ..core.stacking import StackedDenoisingAutoencoder, pretrain
from ..core.training import History, TrainConfig, batched, resolve_device, train
from ..errors import ConfigError, DataError, check_int

NOISES = ("gaussian", "salt_and_pepper", "masking")
TARGETS = ("clean", "noise")


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
        n = len(x)
        if self.kind == "gaussian":
            shape = (n,) + (1,) * (x.dim() - 1)
            sigma = torch.full(shape, self.sigma, device=x.device, dtype=x.dtype)
            if self.sigma_max is not None:
                u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
                sigma = sigma + (self.sigma_max - self.sigma) * u
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            return x + sigma / 255.0 * noise
        flat = x.reshape(n, -1)
        process = salt_and_pepper if self.kind == "salt_and_pepper" else masking
        return process(flat, self.fraction, generator).reshape(x.shape)

    def describe(self) -> str:
        if self.kind != "gaussian":
            return f"{self.kind} {self.fraction:g}"
        if self.sigma_max is None:
            return f"gaussian σ={self.sigma:g}"
        return f"gaussian σ∈[{self.sigma:g}, {self.sigma_max:g}]"


# -- patches ------------------------------------------------------------------------------

def patch_starts(length: int, size: int, stride: int) -> Tensor:
    """First index of each patch along an axis: every ``stride``, plus one flush with the
    end, so that every pixel is covered."""
    if size > length:
        raise DataError(f"the image is smaller ({length} pixels) than the {size}-pixel patches")
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return torch.tensor(starts)


def _patch_index(h: int, w: int, size: int, stride: int) -> tuple[Tensor, Tensor]:
    """Row and column index of every pixel of every patch: each (ny, nx, size, size)."""
    offsets = torch.arange(size)
    rows = patch_starts(h, size, stride)[:, None] + offsets  # (ny, size)
    cols = patch_starts(w, size, stride)[:, None] + offsets  # (nx, size)
    return rows[:, None, :, None].expand(-1, len(cols), -1, size), \
        cols[None, :, None, :].expand(len(rows), -1, size, -1)


def extract_patches(images: Tensor, size: int, stride: int = 1) -> Tensor:
    """Overlapping ``size``×``size`` patches; (n, c, h, w) -> (n, L, c·size·size)."""
    n, _, h, w = images.shape
    rows, cols = _patch_index(h, w, size, stride)
    patches = images[:, :, rows.to(images.device), cols.to(images.device)]  # (n,c,ny,nx,p,p)
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(n, rows.shape[0] * rows.shape[1], -1)


def assemble_patches(patches: Tensor, channels: int, h: int, w: int, size: int,
                     stride: int = 1) -> Tensor:
    """Inverse of :func:`extract_patches`: each pixel is the mean of the patches covering
    it; (n, L, c·size·size) -> (n, c, h, w)."""
    n = len(patches)
    rows, cols = _patch_index(h, w, size, stride)
    index = (rows * w + cols).flatten().to(patches.device)  # pixel of every patch entry
    values = patches.reshape(n, -1, channels, size * size).transpose(1, 2).reshape(
        n, channels, -1)
    total = patches.new_zeros(n, channels, h * w).index_add_(2, index, values)
    count = patches.new_zeros(h * w).index_add_(0, index, patches.new_ones(len(index)))
    return (total / count).reshape(n, channels, h, w)


# -- models -------------------------------------------------------------------------------

def channel_kind(channels: int) -> str:
    """'grayscale', 'colour' or 'N-channel', for messages."""
    return {1: "grayscale", 3: "colour"}.get(channels, f"{channels}-channel")


def _check_target(target: str) -> str:
    if target not in TARGETS:
        raise ConfigError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    return target


class ImageDenoiser(nn.Module):
    """What every denoiser shares: its training noise, its channels and its output."""

    config: ConvDenoiserConfig | PatchDenoiserConfig

    @property
    def channels(self) -> int:
        return self.config.channels

    @property
    def noise(self) -> ImageNoise:
        return self.config.noise

    def _clean(self, noisy: Tensor, out: Tensor) -> Tensor:
        """The clean estimate from the network's output ``out`` (see ``target``)."""
        return noisy - out if self.config.target == "noise" else out


@dataclass
class ConvDenoiserConfig:
    channels: int = 1
    depth: int = 10  # convolution layers; the receptive field is 2·depth + 1 pixels wide
    width: int = 48  # feature maps of the hidden layers
    target: str = "clean"
    noise: ImageNoise = field(default_factory=ImageNoise)

    def __post_init__(self) -> None:
        if isinstance(self.noise, dict):
            self.noise = ImageNoise(**self.noise)
        self.channels = check_int(self.channels, "channels")
        self.depth = check_int(self.depth, "depth", minimum=2)
        self.width = check_int(self.width, "width")
        _check_target(self.target)

    def to_dict(self) -> dict:
        return asdict(self)


class ConvDenoiser(ImageDenoiser):
    """A fully convolutional DAE: ``depth`` 3×3 convolutions with ReLUs between them.

    Parameters
    ----------
    channels : int
        1 for grayscale models (applied to each channel of a colour image), 3 for colour.
    depth, width : int
        Number of convolution layers, and of feature maps in the hidden ones.
    target : {"clean", "noise"}
        What the network outputs (see the module docstring).
    noise : ImageNoise
        The corruption it is trained with.
    generator : torch.Generator, optional
        Source of the initial weights.
    """

    def __init__(self, channels: int = 1, depth: int = 10, width: int = 48, *,
                 target: str = "clean", noise: ImageNoise | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = ConvDenoiserConfig(channels, depth, width, target, noise or ImageNoise())
        sizes = [channels] + [width] * (depth - 1) + [channels]
        layers: list[nn.Module] = []
        for k in range(depth):
            conv = nn.Conv2d(sizes[k], sizes[k + 1], 3, padding=1)
            # PyTorch's default scale (a = √5), 2.4 times smaller than He's ReLU init, which
            # was 1 dB worse after 200 steps here (its first noise estimates are too loud)
            nn.init.kaiming_uniform_(conv.weight, a=math.sqrt(5), generator=generator)
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU()] if k < depth - 1 else [conv]
        self.net = nn.Sequential(*layers)

    @classmethod
    def from_config(cls, config: ConvDenoiserConfig | dict) -> ConvDenoiser:
        c = config if isinstance(config, ConvDenoiserConfig) else ConvDenoiserConfig(**config)
        return cls(c.channels, c.depth, c.width, target=c.target, noise=c.noise)

    @property
    def reach(self) -> int:
        """How far (in pixels) an output pixel sees: one per 3×3 convolution."""
        return self.config.depth

    def forward(self, noisy: Tensor) -> Tensor:
        """The clean image estimated from ``noisy``; (n, c, h, w) -> (n, c, h, w)."""
        return self._clean(noisy, self.net(noisy))

    restore = forward  # what training compares with the clean examples


@dataclass
class PatchDenoiserConfig:
    channels: int = 1
    patch_size: int = 13
    hidden_sizes: list[int] = field(default_factory=lambda: [1024, 1024])
    activation: str = "tanh"
    stride: int = 3  # between the patches an image is cut into (1: every patch)
    target: str = "clean"
    noise: ImageNoise = field(default_factory=ImageNoise)
    stack: dict | None = None  # the stack's own config, filled in by the model

    def __post_init__(self) -> None:
        if isinstance(self.noise, dict):
            self.noise = ImageNoise(**self.noise)
        self.channels = check_int(self.channels, "channels")
        self.patch_size = check_int(self.patch_size, "patch size")
        self.stride = check_int(self.stride, "stride")
        self.hidden_sizes = [check_int(h, "hidden size") for h in self.hidden_sizes]
        _check_target(self.target)

    def to_dict(self) -> dict:
        return asdict(self)


class PatchDenoiser(ImageDenoiser):
    """A stacked, fully connected DAE on overlapping p×p patches.

    The stack (a :class:`~sdae.stacking.StackedDenoisingAutoencoder` with untied layers
    and a linear output) maps a noisy patch to a clean one; it can be pre-trained layer by
    layer as DAEs (with Gaussian noise of the model's σ) before the whole deep
    autoencoder is trained to denoise (Xie et al. 2012).

    Parameters
    ----------
    channels, target, noise, generator
        As for :class:`ConvDenoiser`.
    patch_size : int
    hidden_sizes : sequence of int
        Widths of the encoder layers; the decoder mirrors them.
    activation : str
        Of the hidden units (see :data:`sdae.autoencoder.ACTIVATIONS`).
    stride : int
        Between the patches an image is cut into when denoising it: 1 averages every
        patch (best, slowest); the default 3 costs a ninth of that.
    """

    def __init__(self, channels: int = 1, patch_size: int = 13,
                 hidden_sizes: tuple[int, ...] | list[int] = (1024, 1024), *,
                 activation: str = "tanh", stride: int = 3, target: str = "clean",
                 noise: ImageNoise | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        noise = noise or ImageNoise()
        config = PatchDenoiserConfig(channels, patch_size, list(hidden_sizes), activation,
                                     stride, target, noise)
        level = (noise.sigma if noise.sigma_max is None else
                 (noise.sigma + noise.sigma_max) / 2) / 255.0
        self.stack = StackedDenoisingAutoencoder(
            channels * patch_size**2, config.hidden_sizes, corruption="gaussian",
            noise_levels=level, tied=False, activation=activation, decoder="linear",
            generator=generator)
        config.stack = self.stack.config.to_dict()
        self.config = config

    @classmethod
    def from_config(cls, config: PatchDenoiserConfig | dict) -> PatchDenoiser:
        c = config if isinstance(config, PatchDenoiserConfig) else PatchDenoiserConfig(**config)
        model = cls(c.channels, c.patch_size, c.hidden_sizes, activation=c.activation,
                    stride=c.stride, target=c.target, noise=c.noise)
        if c.stack is not None:
            model.stack = StackedDenoisingAutoencoder.from_config(c.stack)
        return model

    @property
    def reach(self) -> int:
        """How far (in pixels) an output pixel sees: across the patches covering it."""
        return self.config.patch_size

    def restore(self, noisy: Tensor) -> Tensor:
        """Clean patches estimated from noisy ones; (n, c·p·p) -> (n, c·p·p)."""
        # a linear output layer: its logits are the output
        return self._clean(noisy, self.stack.reconstruction_logits(noisy))

    def forward(self, noisy: Tensor) -> Tensor:
        """The clean image estimated from ``noisy``; (n, c, h, w) -> (n, c, h, w)."""
        _, c, h, w = noisy.shape
        p, stride = self.config.patch_size, self.config.stride
        patches = extract_patches(noisy, p, stride)
        restored = torch.cat([self.restore(chunk) for chunk in
                              patches.reshape(-1, c * p * p).split(16384)])
        return assemble_patches(restored.reshape(patches.shape), c, h, w, p, stride)


def denoising_objective(model: ImageDenoiser, batch, generator: torch.Generator | None,
                        rows: slice | None = None) -> Tensor:
    """Corrupt the clean examples with the model's noise, restore, mean squared error."""
    clean = batch[0]
    noisy = model.noise(clean, generator)
    rows = slice(None) if rows is None else rows
    return F.mse_loss(model.restore(noisy[rows]), clean[rows])


# -- data and use -------------------------------------------------------------------------

def as_image_tensor(image: np.ndarray) -> Tensor:
    """An (h, w) or (h, w, c) array as a (1, c, h, w) float tensor; integer images (8- or
    16-bit, say) scaled by their type's maximum to [0, 1]."""
    if np.issubdtype(image.dtype, np.integer):
        image = image / np.iinfo(image.dtype).max
    a = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    return a[None, None] if a.dim() == 2 else a.permute(2, 0, 1)[None]


def training_patches(images: list[np.ndarray], size: int, stride: int,
                     seed: int = 0) -> Tensor:
    """Every ``size``×``size`` patch at ``stride`` of each image, each flipped and rotated
    by one of the 8 symmetries of the square at random; (N, c, size, size)."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for image in images:
        x = as_image_tensor(image)
        c = x.shape[1]
        patches = extract_patches(x, size, stride)[0].reshape(-1, c, size, size)
        turns = torch.randint(4, (len(patches),), generator=generator)
        flips = torch.randint(2, (len(patches),), generator=generator).bool()
        for k in range(4):
            patches[turns == k] = patches[turns == k].rot90(k, dims=(2, 3))
        patches[flips] = patches[flips].flip(3)
        out.append(patches)
    return torch.cat(out)


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


def train_denoiser(
    model: ImageDenoiser,
    images: list[np.ndarray],
    config: TrainConfig,
    *,
    patch_size: int = 40,
    stride: int = 10,
    valid_images: list[np.ndarray] | None = None,
    pretrain_config: TrainConfig | None = None,
    checkpoint: str | os.PathLike | None = None,
) -> History:
    """Train ``model`` to restore clean patches of ``images`` from copies corrupted with
    its noise, drawn afresh for every batch.

    A :class:`ConvDenoiser` trains on ``patch_size``×``patch_size`` crops at ``stride``;
    a :class:`PatchDenoiser` on its own patches, with ``pretrain_config`` first pre-training
    its stack layer by layer as DAEs. ``valid_images``: the squared error on their patches
    (noise drawn once, from a fixed seed) is recorded after each epoch, and the model ends
    with the parameters of the epoch where it was lowest.
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
        clean = examples(valid_images, config.seed + 1).to(resolve_device(config.device))
        noisy = model.noise(clean, torch.Generator(clean.device).manual_seed(config.seed + 1))

        def evaluate(m: nn.Module) -> float:
            return float(F.mse_loss(batched(m.restore, noisy, 256), clean))

    return train(model, denoising_objective, x, config, evaluate=evaluate,
                 keep_best=evaluate is not None, checkpoint=checkpoint,
                 description=f"train {type(model).__name__}")
