"""A hand-written backward for the paper's default layer: tied weights, sigmoid units,
sigmoid decoder, cross-entropy loss.

Autograd computes the same gradients, but on a CPU the elementwise work around the five
matrix products costs as much as a third of a training step. Written out, the gradient of
the tied weight is one product accumulated into another (``addmm``) instead of two products
and an addition, the sigmoid derivative is one fused kernel, and no intermediate of the
loss is kept. ``tests/test_fused.py`` checks it against autograd with ``gradcheck``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class _TiedSigmoidCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_tilde: Tensor, x: Tensor, weight: Tensor, bias: Tensor,
                decoder_bias: Tensor) -> Tensor:
        n = x.shape[0]
        y = torch.sigmoid(torch.addmm(bias, x_tilde, weight.t()))  # code (n, h)
        logits = torch.addmm(decoder_bias, y, weight)  # decoder pre-activation (n, d)
        ctx.save_for_backward(x_tilde, x, weight, y, logits)
        return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n

    @staticmethod
    def backward(ctx, grad: Tensor):
        x_tilde, x, weight, y, logits = ctx.saved_tensors
        # dL/dlogits = (z - x) / n, with z = sigmoid(logits)   (n, d)
        g_logits = torch.sigmoid(logits).sub_(x).mul_(grad / x.shape[0])
        # back through the decoder and the encoder's sigmoid    (n, h)
        g_pre = torch.ops.aten.sigmoid_backward(g_logits @ weight.t(), y)
        # W gets both halves, decoder (y^T g_logits) plus encoder (g_pre^T x̃), the second
        # accumulated in place by the matrix product itself   (h, d)
        g_weight = (y.t() @ g_logits).addmm_(g_pre.t(), x_tilde)
        return None, None, g_weight, g_pre.sum(0), g_logits.sum(0)


def tied_sigmoid_cross_entropy(x_tilde: Tensor, x: Tensor, weight: Tensor, bias: Tensor,
                               decoder_bias: Tensor) -> Tensor:
    """Mean over the batch of the cross-entropy of reconstructing clean ``x`` from
    ``x_tilde`` through y = s(W x̃ + b), z = s(Wᵀ y + b'). No gradient flows to the inputs."""
    return _TiedSigmoidCrossEntropy.apply(x_tilde, x, weight, bias, decoder_bias)
