"""A hand-written backward for the paper's default layer: tied weights, sigmoid units,
sigmoid decoder, cross-entropy loss.

Autograd computes the same gradients, but on a CPU the elementwise work around the five
matrix products costs as much as a third of a training step. Written out, the gradient of
the tied weight is one product accumulated into another (``addmm``) instead of two products
and an addition, the sigmoid derivative is one fused kernel, and no intermediate of the
loss is kept. ``tests/core/test_fused.py`` checks it against autograd with ``gradcheck``.

With plain SGD (no momentum, no weight decay) the update itself goes into the products:
:func:`sgd_step_` accumulates -lr times each half of the weight gradient straight into W,
so no gradient is stored, no optimiser runs and autograd records nothing. The training loop
takes that step for an objective that declares it (:mod:`sdae.core.steps`), as the
denoising criterion does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class _TiedSigmoidCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_tilde: Tensor, x: Tensor, weight: Tensor, bias: Tensor,
                decoder_bias: Tensor) -> Tensor:
        y, logits, loss = _forward(x_tilde, x, weight, bias, decoder_bias)
        ctx.save_for_backward(x_tilde, x, weight, y, logits)
        return loss

    @staticmethod
    def backward(ctx, grad: Tensor):
        x_tilde, x, weight, y, logits = ctx.saved_tensors
        g_logits, g_pre = _backward(x, weight, y, logits, grad / x.shape[0])
        # W gets both halves, decoder (y^T g_logits) plus encoder (g_pre^T x̃), the second
        # accumulated in place by the matrix product itself   (h, d)
        g_weight = (y.t() @ g_logits).addmm_(g_pre.t(), x_tilde)
        return None, None, g_weight, g_pre.sum(0), g_logits.sum(0)


def _forward(x_tilde, x, weight, bias, decoder_bias):
    """Code, decoder pre-activation and mean loss over the batch."""
    y = torch.sigmoid_(torch.addmm(bias, x_tilde, weight.t()))  # code (n, h)
    logits = torch.addmm(decoder_bias, y, weight)  # decoder pre-activation (n, d)
    # cross-entropy with logits a: Σ softplus(a) - x·a, two passes where
    # binary_cross_entropy_with_logits makes several
    loss = (F.softplus(logits).sum() - torch.dot(x.flatten(), logits.flatten())) / x.shape[0]
    return y, logits, loss


def _backward(x, weight, y, logits, scale=None, overwrite=False):
    """Gradients of ``scale`` (default 1) times the summed loss with respect to the decoder
    and the encoder pre-activations (``overwrite``: reuse the memory of ``logits``)."""
    # dL/dlogits = (z - x) * scale, with z = sigmoid(logits)   (n, d)
    z = torch.sigmoid_(logits) if overwrite else torch.sigmoid(logits)
    g_logits = z.sub_(x) if scale is None else z.sub_(x).mul_(scale)
    # back through the decoder and the encoder's sigmoid        (n, h)
    g_pre = torch.ops.aten.sigmoid_backward(g_logits @ weight.t(), y)
    return g_logits, g_pre


def tied_sigmoid_cross_entropy(x_tilde: Tensor, x: Tensor, weight: Tensor, bias: Tensor,
                               decoder_bias: Tensor) -> Tensor:
    """Mean over the batch of the cross-entropy of reconstructing clean ``x`` from
    ``x_tilde`` through y = s(W x̃ + b), z = s(Wᵀ y + b'). No gradient flows to the inputs."""
    return _TiedSigmoidCrossEntropy.apply(x_tilde, x, weight, bias, decoder_bias)


@torch.no_grad()
def sgd_step_(x_tilde: Tensor, x: Tensor, weight: Tensor, bias: Tensor, decoder_bias: Tensor,
              lr: float) -> Tensor:
    """One plain-SGD step on :func:`tied_sigmoid_cross_entropy`, applied to the parameters
    in place; returns the loss of the batch before the step.

    Equal to computing the gradients and then the update, up to the order of floating-point
    additions: every use of W comes before W changes.
    """
    y, logits, loss = _forward(x_tilde, x, weight, bias, decoder_bias)
    g_logits, g_pre = _backward(x, weight, y, logits, overwrite=True)
    step = -lr / x.shape[0]  # of the mean loss, folded into the products
    weight.addmm_(y.t(), g_logits, alpha=step).addmm_(g_pre.t(), x_tilde, alpha=step)
    bias.add_(g_pre.sum(0), alpha=step)
    decoder_bias.add_(g_logits.sum(0), alpha=step)
    return loss
