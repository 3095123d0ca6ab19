"""Patches of natural images, and the whitening used in the filter experiments.

Natural-image patch experiments (Olshausen & Field 1996; Vincent et al. 2010, figure 6)
train on small grayscale patches with their mean removed. Raw photographs are dominated
by low frequencies (their power falls as 1/f²), so a model fitting them spends its
capacity on smooth blobs; whitening (flattening the spectrum) lets edge structure show.
Two standard ways are offered: ZCA on the patches, and the 1/f filter Olshausen & Field
apply to whole images before cutting patches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError, DataError
from .images import image_files, read_gray_image

WHITENING = ("none", "zca", "1/f")


def read_images(*paths: str | os.PathLike, log_16bit: bool = True) -> list[np.ndarray]:
    """Every image under ``paths`` (files or folders) as grayscale float32 in [0, 1].

    Images may differ in size; 8- and 16-bit files alike (PNG, JPEG, TIFF...). 16-bit
    images are taken as linear luminance and log-transformed (see ``read_gray_image``).
    """
    return [read_gray_image(f, log_16bit) for f in image_files(*paths)]


def whiten_image(image: np.ndarray, cutoff: float = 0.4) -> np.ndarray:
    """Olshausen & Field's whitening filter: R(f) = f·exp(-(f/f₀)⁴) in the Fourier domain.

    The ramp f undoes the 1/f amplitude spectrum of natural images; the exponential
    removes the highest frequencies, where noise and aliasing live. ``cutoff`` is f₀ in
    cycles per pixel (0.4: their 200 cycles on a 512-pixel image). The image is mirrored
    at its borders first, so the FFT's wrap-around adds no false edges there. The result
    is scaled to unit variance.
    """
    h, w = image.shape
    pad = (h // 4, w // 4)
    padded = np.pad(image - image.mean(), (pad[:1] * 2, pad[1:] * 2), mode="reflect")
    fy = np.fft.fftfreq(padded.shape[0])[:, None]  # cycles per pixel, the same on both axes
    fx = np.fft.fftfreq(padded.shape[1])[None, :]
    f = np.hypot(fy, fx)
    spectrum = np.fft.fft2(padded) * f * np.exp(-((f / cutoff) ** 4))
    out = np.real(np.fft.ifft2(spectrum))[pad[0]:pad[0] + h, pad[1]:pad[1] + w]
    return (out / (out.std() + 1e-12)).astype(np.float32)


def sample_patches(
    images: list[np.ndarray], size: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` random ``size``×``size`` patches, flattened, shape (n, size²).

    Images are chosen in proportion to the number of patch positions they hold, so every
    position of every image is equally likely.
    """
    if size < 2:
        raise ConfigError(f"patch size must be at least 2, got {size}")
    positions = np.array([(h - size + 1) * (w - size + 1) if h >= size and w >= size else 0
                          for h, w in (im.shape for im in images)], dtype=np.float64)
    if not positions.sum():
        raise DataError(f"no image is at least {size}×{size} pixels: use a smaller patch size")
    which = rng.choice(len(images), size=n, p=positions / positions.sum())
    out = np.empty((n, size * size), dtype=np.float32)
    for i, k in enumerate(which):
        h, w = images[k].shape
        r, c = rng.integers(h - size + 1), rng.integers(w - size + 1)
        out[i] = images[k][r:r + size, c:c + size].ravel()
    return out


@dataclass
class ZCA:
    """Zero-phase whitening: rotate to principal axes, scale to unit variance, rotate back.

    Unlike PCA whitening, the result stays in pixel space (a whitened patch still looks
    like a patch). ``epsilon`` regularises the small eigenvalues, a fraction of the mean one.
    """

    epsilon: float = 0.01
    mean_: np.ndarray | None = None
    matrix_: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> ZCA:
        if len(x) < 2:
            raise DataError(f"ZCA needs at least 2 examples to estimate a covariance, got {len(x)}")
        self.mean_ = x.mean(axis=0)
        eigvals, eigvecs = np.linalg.eigh(np.cov(x, rowvar=False))
        floor = self.epsilon * max(eigvals.mean(), 1e-12)  # constant data: no division by 0
        scale = 1.0 / np.sqrt(np.maximum(eigvals, 0) + floor)
        self.matrix_ = (eigvecs * scale) @ eigvecs.T
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.matrix_ is None:
            raise ConfigError("ZCA is not fitted: call fit first")
        return ((x - self.mean_) @ self.matrix_).astype(np.float32)


def natural_patches(
    images: list[np.ndarray],
    size: int = 12,
    n: int = 100_000,
    whitening: str = "none",
    seed: int = 0,
) -> np.ndarray:
    """Patches ready for training: sampled, per-patch mean removed, whitened, unit variance.

    ``whitening`` is "none", "zca" (on the patches) or "1/f" (each image filtered first).
    """
    if whitening not in WHITENING:
        raise ConfigError(f"unknown whitening {whitening!r}: choose one of {', '.join(WHITENING)}")
    rng = np.random.default_rng(seed)
    if whitening == "1/f":
        images = [whiten_image(im) for im in images]
    x = sample_patches(images, size, n, rng)
    x -= x.mean(axis=1, keepdims=True)
    if whitening == "zca":
        x = ZCA().fit(x).transform(x)
    return (x / (x.std() + 1e-12)).astype(np.float32)
