"""Fine-tuning a stack end to end, the second phase after greedy pre-training.

Once pre-training is over the corruption is never used again (Vincent et al. 2010, section
3.5): the stack is a deterministic encoder, fine-tuned with its softmax output layer on the
labels (supervised) or with its mirrored decoders on reconstruction (unsupervised). The
unsupervised fine-tuning may augment the data (``augment``: new variants of each batch to
reconstruct, such as images moved a little); that is a change of the data, not a
corruption: the target is the changed row itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError, DataError
from .streaming import inputs_on, row_chunks
from .training import History, TrainConfig, train

if TYPE_CHECKING:
    from .stacking import StackedDenoisingAutoencoder


def classification_error(model: nn.Module, x: Tensor | np.ndarray, y: Tensor,
                         batch_size: int = 4096) -> float:
    """Fraction of ``x`` (a tensor, or an array on disk) whose predicted class differs from
    ``y``."""
    device = next(model.parameters()).device
    wrong, start = 0, 0
    with torch.no_grad():
        for part in row_chunks(x, device, batch_size):
            labels = y[start:start + len(part)].to(device)
            wrong += int((model(part).argmax(-1) != labels).sum())
            start += len(part)
    return wrong / len(x)


def _supervised_objective(model, batch, generator, rows=slice(None)):
    x, y = (t[rows] for t in batch)
    return F.cross_entropy(model(x), y)


def finetune(
    stack: StackedDenoisingAutoencoder,
    x: Tensor,
    y: Tensor,
    config: TrainConfig,
    *,
    x_valid: Tensor | None = None,
    y_valid: Tensor | None = None,
    checkpoint: str | os.PathLike | None = None,
) -> History:
    """Supervised fine-tuning of every layer on the negative log-likelihood.

    With validation data, the parameters of the epoch with the lowest validation error are
    kept (and ``config.patience`` stops early), as in the paper and the classic tutorial.
    ``checkpoint``: a file to checkpoint to and resume from (see :func:`sdae.training.train`).
    """
    if stack.classifier is None:
        raise ConfigError("fine-tuning needs an output layer: build the stack with n_classes")
    n_classes = stack.classifier.out_features
    y = torch.as_tensor(y, dtype=torch.long)
    if len(y) != len(x):
        raise DataError(f"{len(y)} labels for {len(x)} examples: they must match")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"labels must be integers in [0, {n_classes - 1}]")
    evaluate = None
    if x_valid is not None and y_valid is not None:
        device = config.torch_device
        xv = inputs_on(x_valid, device)
        yv = torch.as_tensor(y_valid, dtype=torch.long).to(device)

        def evaluate(model: nn.Module) -> float:
            return classification_error(model, xv, yv)

    return train(stack, _supervised_objective, (x, y), config, evaluate=evaluate,
                 keep_best=evaluate is not None, checkpoint=checkpoint, description="fine-tune")


def deep_reconstruction_loss(stack: StackedDenoisingAutoencoder, x: Tensor) -> Tensor:
    """Per-example loss of the deep autoencoder (every encoder, then the mirrored decoders)
    reconstructing clean ``x``, in the bottom layer's loss; shape (n,)."""
    return stack.layers[0].reconstruction_error(stack.reconstruction_logits(x), x)


def _reconstruction_objective(augment: Callable[[Tensor, torch.Generator], Tensor] | None):
    """The deep autoencoder's loss on each batch, or on each batch changed by ``augment``."""
    def objective(model, batch, generator, rows=slice(None)):
        x = batch[0]
        if augment is not None:
            # drawn for the whole batch, as a corruption is, so that every process of a
            # data-parallel run sees its share of the same draw; in the data's precision,
            # not in the step's autocast (bfloat16 would move the pixels by up to 0.05)
            with torch.autocast(x.device.type, enabled=False):
                x = augment(x, generator)
        return deep_reconstruction_loss(model, x[rows]).mean()

    return objective


def finetune_unsupervised(
    stack: StackedDenoisingAutoencoder,
    x: Tensor,
    config: TrainConfig,
    *,
    x_valid: Tensor | None = None,
    checkpoint: str | os.PathLike | None = None,
    augment: Callable[[Tensor, torch.Generator], Tensor] | None = None,
) -> History:
    """Fine-tune the deep autoencoder (encoders, then mirrored decoders) on reconstruction.

    ``augment``: a random change of a batch, ``augment(batch, generator)`` (n, d) -> (n, d),
    drawn afresh at every step (data augmentation, e.g. images moved a little): the deep
    autoencoder then learns to reconstruct the changed rows, so its codes cover the rows
    and their likely variants, not the training rows alone."""
    evaluate = None
    if x_valid is not None:
        device = config.torch_device
        xv = inputs_on(x_valid, device)

        def evaluate(model: nn.Module) -> float:
            total = sum(deep_reconstruction_loss(model, part).sum()
                        for part in row_chunks(xv, device))
            return float(total) / len(xv)

    return train(stack, _reconstruction_objective(augment), x, config, evaluate=evaluate,
                 keep_best=evaluate is not None, checkpoint=checkpoint,
                 description="fine-tune (unsupervised)")
