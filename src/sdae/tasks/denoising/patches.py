"""Images and their patches: cutting an image into overlapping patches and averaging the
patches back into an image, and the training patches of a set of photographs.

Images are float tensors in [0, 1] of shape (n, c, h, w).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ...errors import DataError

# Floats above this are not on the [0, 1] scale; noisy images in [0, 1] reach about
# 1 + 6σ = 2.8 at σ = 75 (on the 0-255 scale), and 8-bit values as floats reach 255.
FLOAT_IMAGE_LIMIT = 4.0


def as_image_tensor(image: np.ndarray) -> Tensor:
    """An (h, w) or (h, w, c) array as a (1, c, h, w) float tensor; integer images (8- or
    16-bit, say) scaled by their type's maximum to [0, 1]. Float images must already be on
    that scale (noise may take them a little outside it): 8-bit values as floats would
    otherwise come back as a white image, without a word."""
    if np.issubdtype(image.dtype, np.integer):
        image = image / np.iinfo(image.dtype).max
    elif image.size and (top := float(np.nanmax(np.abs(image)))) > FLOAT_IMAGE_LIMIT:
        raise DataError(f"the image's float values reach {top:g}: give floats on the [0, 1] "
                        "scale (divide 8-bit values by 255), or the integer image itself")
    a = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    return a[None, None] if a.dim() == 2 else a.permute(2, 0, 1)[None]


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

