"""Small random moves of images: DEC-DA's data augmentation (Guo, Zhu, Liu & Yin, ACML 2018).

A digit shifted by two pixels or turned by ten degrees is the same digit. Self-training
with moves (``ClusteringSettings.moves``) keeps DEC's target P computed from the images as
they are, and trains the soft assignment Q (and IDEC's reconstruction of the clean image)
on the same images moved a little: the encoder learns to give a digit the same cluster
wherever it sits in the frame. In the DAE's terms the move is one more corruption q_D,
one that needs the rows to be images, which is why it lives here and not among the
pixel-wise processes of :mod:`sdae.core.corruption`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ...errors import ConfigError

# DEC-DA moves by up to 10% of the side and turns by up to 10 degrees: ``moves=0.1``.
DEGREES_PER_MOVE = 100.0


def square_side(n_features: int, option: str = "moves") -> int:
    """The side of the square images whose pixels are the ``n_features`` columns (the
    error names the ``option`` that asked for moves)."""
    side = math.isqrt(n_features)
    if side * side != n_features or side < 2:
        raise ConfigError(f"moves need rows that are square images (side x side pixels), "
                          f"but the rows have {n_features} features: leave {option} at 0 "
                          f"(--{option.replace('_', '-')} 0)")
    return side


def random_moves(x: Tensor, moves: float, generator: torch.Generator | None = None) -> Tensor:
    """Each row of ``x`` (n, side²) as an image, shifted by up to ``moves`` × side pixels
    along each axis and turned by up to ``100 × moves`` degrees about its centre, each row
    its own draw; bilinear, with zeros (the background) brought in at the edges.
    (n, side²) -> (n, side²); ``x`` is left as it is."""
    n, side = len(x), square_side(x.shape[1])
    u = torch.rand(n, 3, generator=generator, device=x.device, dtype=x.dtype) * 2 - 1
    angle = u[:, 0] * math.radians(DEGREES_PER_MOVE * moves)
    shift = u[:, 1:] * 2 * moves  # in affine_grid's coordinates the side is 2 long
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)  # (n, 2, 3)
    images = x.reshape(n, 1, side, side)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False).reshape(n, -1)
