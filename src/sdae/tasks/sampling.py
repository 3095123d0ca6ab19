"""Drawing samples from a trained DAE (Bengio, Yao, Alain & Vincent, NIPS 2013).

A DAE learns the reconstruction distribution P(x | x̃). Alternating the corruption C(x̃ | x)
it was trained with and a draw from P(x | x̃) is a Markov chain whose stationary
distribution estimates the data distribution:

    x̃_t ~ C(x̃ | x_t),    x_{t+1} ~ P(x | x̃_t)

P(x | x̃) is Bernoulli with the sigmoid outputs as means for a cross-entropy model (data in
[0, 1]) and Gaussian around the linear outputs for a squared-error model. Walkback training
makes the chain's own excursions part of training: from each example the walk continues
with probability ``p`` (corrupt, sample a reconstruction, corrupt again...) and every
corrupted point of the walk is trained to reconstruct the *original* example, which
removes spurious modes far from the data.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core.autoencoder import DECODERS
from ..core.training import Objective

# ``model`` below is a DAE layer or a stack: both answer ``layers`` (the first one corrupts
# and fixes the reconstruction distribution) and ``reconstruction_logits``.


def is_binary(model: nn.Module) -> bool:
    """Bernoulli reconstructions (cross-entropy model) or Gaussian ones (squared error)."""
    return model.layers[0].config.loss == "cross_entropy"


def draw(model: nn.Module, x_tilde: Tensor, generator: torch.Generator,
         sigma: float = 1.0) -> tuple[Tensor, Tensor]:
    """(sample, mean) of P(x | x̃)."""
    # the decoder's output: Bernoulli means for a cross-entropy model, else Gaussian ones
    mean = DECODERS[model.layers[0].config.decoder](model.reconstruction_logits(x_tilde))
    if is_binary(model):
        return torch.bernoulli(mean, generator=generator), mean
    noise = torch.randn(mean.shape, generator=generator, device=mean.device)
    return mean + sigma * noise, mean


def sample_chain(
    model: nn.Module,
    x0: Tensor,
    steps: int,
    generator: torch.Generator,
    *,
    every: int = 1,
    sigma: float = 1.0,
) -> Tensor:
    """Run one chain from each row of ``x0`` for ``steps`` steps.

    Returns the mean of P(x | x̃_t) (the cleanest picture of where the chain is) every
    ``every`` steps: shape (steps // every, n, d). ``sigma``: the standard deviation of
    the Gaussian reconstruction distribution of a squared-error model.
    """
    layer = model.layers[0]
    x, record = x0, []
    with torch.no_grad():
        for t in range(1, steps + 1):
            x, mean = draw(model, layer.corrupt(x, generator), generator, sigma)
            if t % every == 0:
                record.append(mean)
    return torch.stack(record)


def walkback_objective(p: float = 0.5, max_steps: int = 5) -> Objective:
    """The denoising objective with walkback: ``objective(model, batch, generator)``.

    Each example takes at least one step (the usual denoising criterion) and, with
    probability ``p`` after each, another one from a reconstruction sampled from the
    model, up to ``max_steps``; the loss averages every step's reconstruction of the
    original clean example. The walks themselves carry no gradient.
    """

    def objective(model, batch, generator, rows=slice(None)):
        x = batch[0]
        layer = model.layers[0]
        x_tilde = layer.corrupt(x, generator)
        walking = torch.arange(len(x), device=x.device)  # the examples still walking
        first, last, _ = rows.indices(len(x))  # this process's share of the batch
        total, count = 0.0, 0
        for step in range(max_steps):
            mine = (walking >= first) & (walking < last)
            per_example = _reconstruction_loss(model, x_tilde[mine], x[walking[mine]])
            total, count = total + per_example.sum(), count + len(walking)
            if step + 1 == max_steps:
                break
            # only the walkers go on: half the work of stepping every example at p = 0.5
            on = torch.rand(len(walking), generator=generator, device=x.device) < p
            walking, x_tilde = walking[on], x_tilde[on]
            if not len(walking):
                break
            with torch.no_grad():
                x_star, _ = draw(model, x_tilde, generator)
            x_tilde = layer.corrupt(x_star, generator)
        # the mean over every step of every example; with several processes, each one's
        # share of it, scaled so that the processes' average gradient is that of the mean
        return total / (count * (last - first) / len(x))

    return objective


def _reconstruction_loss(model: nn.Module, x_tilde: Tensor, x: Tensor) -> Tensor:
    return model.layers[0].reconstruction_error(model.reconstruction_logits(x_tilde), x)
