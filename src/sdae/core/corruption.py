"""Corruption processes q_D(x̃ | x) of a denoising autoencoder.

Each process is one pure function ``f(x, noise_level, generator, *, clip, with_mask)`` in
:data:`CORRUPTIONS`: it draws its randomness from ``generator`` (on ``x``'s device), returns
a new tensor x̃ and never modifies ``x``. With ``with_mask=True`` it returns ``(x̃, mask)``,
``mask`` the boolean tensor of the components it chose to corrupt (what emphasised
denoising weighs); without, it makes no mask at all, for the hot path of training.
:class:`Corruption` binds a process to its noise level, so a model can store and replay the
corruption it was trained with; it dispatches through the registry and nothing else.

References: Vincent, Larochelle, Bengio & Manzagol (ICML 2008); Vincent et al. (JMLR 2010),
section 4.2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import torch
from torch import Tensor

from ..errors import ConfigError

Generator = torch.Generator | None
Clip = tuple[float, float] | None
Corrupted = Tensor | tuple[Tensor, Tensor]  # x̃, or (x̃, mask) when asked for the mask
CorruptionFn = Callable[[Tensor, float, Generator], Tensor]  # a user's own process


class Process(Protocol):
    def __call__(self, x: Tensor, noise_level: float | Tensor, generator: Generator = None,
                 *, clip: Clip = None, with_mask: bool = False) -> Corrupted: ...


def _coin(x: Tensor, p: float, generator: Generator) -> Tensor:
    """Boolean tensor shaped like ``x``, each entry True with probability ``p``.

    Four entries share one 64-bit random number: each compares a 16-bit slice of it with a
    threshold, so ``p`` is rounded to a multiple of 2^-16. PyTorch's CPU generator makes 32
    bits at a time; one float32 uniform per entry took 2.4 times as long on a CPU.
    """
    bits = torch.empty((x.numel() + 3) // 4, dtype=torch.int64, device=x.device)
    bits.random_(-(2**63), None, generator=generator)  # the full 64-bit range
    uniform = bits.view(torch.int16)[: x.numel()].view(x.shape)  # in [-2^15, 2^15)
    threshold = round(p * 65536) - 32768  # P(uniform < threshold) = p
    if threshold > 32767:
        return torch.ones(x.shape, dtype=torch.bool, device=x.device)
    return uniform < threshold


def _fixed_count_mask(x: Tensor, fraction: float, generator: Generator) -> Tensor:
    """Boolean mask with exactly ``round(fraction * d)`` True entries in each row."""
    rows = x.reshape(-1, x.shape[-1]) if x.dim() > 0 else x.reshape(1, 1)
    d = rows.shape[-1]
    k = round(fraction * d)
    mask = torch.zeros(rows.shape, dtype=torch.bool, device=x.device)
    if k > 0:
        # The k largest of d i.i.d. uniforms sit at a uniformly random k-subset of positions.
        scores = torch.rand(rows.shape, generator=generator, device=x.device)
        mask.scatter_(-1, scores.topk(k, dim=-1).indices, True)
    return mask.reshape(x.shape)


def _result(x_tilde: Tensor, mask: Callable[[], Tensor], with_mask: bool) -> Corrupted:
    """x̃ alone, or with its mask; ``mask`` is only made when asked for."""
    return (x_tilde, mask()) if with_mask else x_tilde


def no_noise(x: Tensor, noise_level: float = 0.0, generator: Generator = None, *,
             clip: Clip = None, with_mask: bool = False) -> Corrupted:
    """The identity: a plain (non-denoising) autoencoder."""
    return _result(x.clone(), lambda: torch.zeros(x.shape, dtype=torch.bool,
                                                  device=x.device), with_mask)


def masking(x: Tensor, noise_level: float, generator: Generator = None, *,
            clip: Clip = None, with_mask: bool = False) -> Corrupted:
    """Set each component to 0 independently with probability ``noise_level`` (q, to 2^-16).

    A boolean ``x`` works too: x̃ is then ``x`` and the kept components.
    """
    keep = _coin(x, 1 - noise_level, generator)
    # multiplying by the kept components is several times faster than masked_fill on CPU
    return _result(x * keep, lambda: ~keep, with_mask)


def fixed_masking(x: Tensor, noise_level: float, generator: Generator = None, *,
                  clip: Clip = None, with_mask: bool = False) -> Corrupted:
    """Set exactly ``round(ν·d)`` components of each example, chosen at random, to 0.

    The paper's fixed-count form of masking noise (ν = ``noise_level``, d = last dimension).
    """
    mask = _fixed_count_mask(x, noise_level, generator)
    return _result(x.masked_fill(mask, 0.0), lambda: mask, with_mask)


def gaussian(x: Tensor, noise_level: float | Tensor, generator: Generator = None, *,
             clip: Clip = None, with_mask: bool = False) -> Corrupted:
    """Additive isotropic Gaussian noise x̃ = x + N(0, σ²I), σ = ``noise_level``.

    σ may be a tensor that broadcasts against ``x``: a σ for each row, say (an image
    denoiser trained blind over a range of noise levels). ``clip=(low, high)`` clamps the
    result back into the data range. Every component is corrupted.
    """
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    out = x + noise_level * noise
    out = out.clamp(*clip) if clip is not None else out
    return _result(out, lambda: torch.ones(x.shape, dtype=torch.bool, device=x.device),
                   with_mask)


def salt_and_pepper(x: Tensor, noise_level: float, generator: Generator = None, *,
                    clip: Clip = None, with_mask: bool = False) -> Corrupted:
    """Set a fraction ν of the components of each example, chosen at random, to the low or
    the high end of the data range ``clip`` (default (0, 1)) with equal probability
    (ν = ``noise_level``)."""
    low, high = clip if clip is not None else (0.0, 1.0)
    hit = _fixed_count_mask(x, noise_level, generator)
    salt = _coin(x, 0.5, generator)
    out = x.masked_fill(hit & salt, high).masked_fill(hit & ~salt, low)
    return _result(out, lambda: hit, with_mask)


CORRUPTIONS: dict[str, Process] = {
    "none": no_noise,
    "masking": masking,
    "fixed_masking": fixed_masking,
    "gaussian": gaussian,
    "salt_and_pepper": salt_and_pepper,
}
PROBABILITIES = ("masking", "fixed_masking", "salt_and_pepper")  # levels in [0, 1]


def check_corruption(kind: str | CorruptionFn, noise_level: float) -> None:
    """Raise :class:`ConfigError` unless ``kind`` and ``noise_level`` make a process."""
    if isinstance(kind, str) and kind not in CORRUPTIONS:
        raise ConfigError(f"unknown corruption {kind!r}: choose one of {', '.join(CORRUPTIONS)}")
    if not isinstance(kind, str) and not callable(kind):
        raise ConfigError("corruption must be a name or a callable f(x, level, generator)")
    if not noise_level >= 0:
        raise ConfigError(f"noise level must be >= 0, got {noise_level}")
    if kind in PROBABILITIES and noise_level > 1:
        raise ConfigError(f"noise level of {kind} is a probability: "
                          f"use a value in [0, 1], got {noise_level}")


def _user_process(fn: CorruptionFn, x: Tensor, noise_level: float, generator: Generator = None,
                  *, clip: Clip = None, with_mask: bool = False) -> Corrupted:
    """A user's ``fn(x, level, generator) -> x̃`` as a process: the mask is where x̃ ≠ x."""
    x_tilde = fn(x, noise_level, generator)
    return _result(x_tilde, lambda: x_tilde != x, with_mask)


@dataclass(frozen=True)
class Corruption:
    """A corruption process bound to its noise level.

    Parameters
    ----------
    kind : str or callable
        A name in :data:`CORRUPTIONS`, or a user function ``f(x, noise_level, generator)``.
    noise_level : float
        q or ν (a probability in [0, 1]) for masking and salt-and-pepper; σ for Gaussian.
    clip : (float, float), optional
        Data range: clamps Gaussian noise, and gives salt-and-pepper its two values.
    """

    kind: str | CorruptionFn = "masking"
    noise_level: float = 0.0
    clip: Clip = None

    def __post_init__(self) -> None:
        check_corruption(self.kind, self.noise_level)

    @property
    def name(self) -> str:
        return self.kind if isinstance(self.kind, str) else getattr(self.kind, "__name__", "custom")

    @property
    def is_identity(self) -> bool:
        return self.kind == "none" or (self.noise_level == 0 and isinstance(self.kind, str))

    @property
    def process(self) -> Process:
        """The registry's function for this kind (a user callable wrapped as one)."""
        if isinstance(self.kind, str):
            return CORRUPTIONS[self.kind]
        return partial(_user_process, self.kind)

    def __call__(self, x: Tensor, generator: Generator = None) -> Tensor:
        """x̃ ~ q_D(x̃ | x); for the identity this is ``x`` itself (no copy is made)."""
        if self.is_identity:
            return x
        return self.process(x, self.noise_level, generator, clip=self.clip)

    def with_mask(self, x: Tensor, generator: Generator = None) -> tuple[Tensor, Tensor]:
        """x̃ and the boolean mask of the components the process chose to corrupt.

        The same draw as :meth:`__call__` from the same generator. A masked pixel that was
        already 0 is still a corrupted component; Gaussian noise corrupts every component.
        """
        if self.is_identity:
            return x, torch.zeros(x.shape, dtype=torch.bool, device=x.device)
        return self.process(x, self.noise_level, generator, clip=self.clip, with_mask=True)
