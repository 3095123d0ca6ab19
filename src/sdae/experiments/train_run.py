"""What ``sdae train`` does once its options are read: pre-train a stack (then, if asked,
fine-tune it without and with labels), measure it, and write the run's files.

Kept out of the CLI so that the command only reads options, and so that the one decision
about the saved file (one layer without a classifier is saved as a plain DAE, anything
else as the stack) is made in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..core.stacking import (
    StackedDenoisingAutoencoder,
    finetune,
    finetune_unsupervised,
    pretrain,
)
from ..core.training import TrainConfig, batched, reconstruction_error
from ..io.atomic import write_json
from ..io.data import Dataset
from ..io.runs import machine_description
from ..measures.figures import plot_filter_panels, plot_reconstructions
from ..models import save_model
from ..tasks.sampling import walkback_objective
from .run_logs import live_metrics, tensorboard_log


@dataclass
class StackRun:
    """The phases of one ``sdae train`` run: pre-training with ``config`` (and
    ``walkback``), then ``unsupervised_epochs`` of the deep autoencoder, then supervised
    fine-tuning with ``finetune`` (None: none)."""

    config: TrainConfig
    walkback: float = 0.0
    unsupervised_epochs: int = 0
    finetune: TrainConfig | None = None
    metrics: dict = field(default_factory=dict)


def as_input(a, stream: bool):
    """A data set's array as the training functions take it: a streamed one stays on disk."""
    return a if stream or a is None else torch.from_numpy(a)


def train_stack(stack: StackedDenoisingAutoencoder, dataset: Dataset, run: StackRun,
                checkpoints: Path, *, stream: bool = False,
                log: Callable[[str], None] = print, out: Path | None = None,
                tensorboard: bool = False) -> dict:
    """Train ``stack`` through the phases of ``run``, each checkpointed in ``checkpoints``
    (a killed run continues from them); return the metrics, with every epoch of every
    phase as rows (``epochs``).

    With ``out`` (the run folder, None in a process that does not write), its
    ``metrics.json`` holds the epochs so far after every epoch, and with ``tensorboard``
    ``out/tensorboard`` gets the loss curves and, at the end, the first layer's filters."""
    board_folder = out / "tensorboard" if out is not None and tensorboard else None
    with (live_metrics(out / "metrics.json" if out is not None else None) as table,
          tensorboard_log(board_folder) as board):
        metrics = _train_phases(stack, dataset, run, checkpoints, stream, log)
        if board is not None and dataset.image_shape is not None:
            board.filters(stack.layers[0].weight.detach().cpu().numpy(), dataset.image_shape)
    return {**metrics, "status": "finished", "epochs": table.rows()}


def _train_phases(stack: StackedDenoisingAutoencoder, dataset: Dataset, run: StackRun,
                  checkpoints: Path, stream: bool, log: Callable[[str], None]) -> dict:
    """Pre-training, then the fine-tunings ``run`` asks for; the metrics."""
    config = run.config
    x, x_valid = as_input(dataset.x_train, stream), as_input(dataset.x_valid, stream)
    log(f"data: {dataset.describe()}")
    for k, layer in enumerate(stack.layers):
        log(f"layer {k + 1}: {layer.extra_repr()}")
    histories = pretrain(stack, x, config, x_valid=x_valid, checkpoint_dir=checkpoints,
                         objective=walkback_objective(run.walkback) if run.walkback else None,
                         check_input=False)  # checked by the caller, before writing
    metrics = {
        "data": dataset.describe(),
        "model": stack.config.to_dict(),
        "train": config.to_dict(),
        "walkback": run.walkback,
        "pretrain_history": [h.to_dict() for h in histories],
        "machine": machine_description(config.device),
    }
    # the reconstruction error of the pre-trained first layer, before fine-tuning changes W
    for split in ("valid", "test"):
        xs = getattr(dataset, f"x_{split}")
        if xs is not None:
            metrics[f"reconstruction_error_{split}_layer1"] = reconstruction_error(
                stack.layers[0], as_input(xs, stream))
    if run.unsupervised_epochs:
        deep_config = replace(config, epochs=run.unsupervised_epochs)
        history = finetune_unsupervised(stack, x, deep_config, x_valid=x_valid,
                                        checkpoint=checkpoints / "unsupervised.ckpt")
        metrics["unsupervised_finetune"] = deep_config.to_dict()
        metrics["unsupervised_finetune_history"] = history.to_dict()
        log(f"unsupervised fine-tuning: train loss {history.train_loss[-1]:.3f}"
            + (f", valid {history.valid_loss[-1]:.3f}" if history.valid_loss else ""))
    if run.finetune is not None:
        metrics.update(_finetune(stack, dataset, run.finetune, x, x_valid, checkpoints))
    stack.cpu()
    return metrics


def _finetune(stack, dataset: Dataset, config: TrainConfig, x, x_valid,
              checkpoints: Path) -> dict:
    """Supervised fine-tuning on the class indices of the stack's classes."""
    y = torch.from_numpy(class_indices(stack.classes, dataset.y_train))
    y_valid = (torch.from_numpy(class_indices(stack.classes, dataset.y_valid))
               if dataset.y_valid is not None else None)
    history = finetune(stack, x, y, config, x_valid=x_valid, y_valid=y_valid,
                       checkpoint=checkpoints / "finetune.ckpt")
    metrics = {"finetune": config.to_dict(), "finetune_history": history.to_dict()}
    stack.cpu()
    for split in ("valid", "test"):
        xs, ys = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
        if xs is not None and ys is not None:
            metrics[f"{split}_error"] = labelled_error(stack, xs, ys)
    return metrics


def labelled_error(stack: StackedDenoisingAutoencoder, x: np.ndarray, y: np.ndarray) -> float:
    """Share of ``x`` whose predicted class is not its label ``y`` (a label that no output
    names is an error)."""
    indices = batched(lambda v: stack(v).argmax(-1), torch.from_numpy(np.asarray(x)))
    return float(np.mean(np.asarray(stack.classes)[indices.numpy()] != y))


def class_indices(classes, labels: np.ndarray) -> np.ndarray:
    """The index of each label in ``classes`` (sorted, as np.unique gives them)."""
    return np.searchsorted(np.asarray(classes), labels).astype(np.int64)


def saved_model(stack: StackedDenoisingAutoencoder):
    """What a run saves: one layer without a classifier as a plain DAE, else the stack."""
    return stack.layers[0] if len(stack.layers) == 1 and stack.classifier is None else stack


def write_run(stack: StackedDenoisingAutoencoder, dataset: Dataset, out: Path, metrics: dict,
              run: StackRun, seed: int) -> None:
    """The model, its metrics, and for images its filters and reconstructions."""
    save_model(saved_model(stack), out / "model.safetensors",
               extra={"train": run.config.to_dict(), "walkback": run.walkback})
    write_json(out / "metrics.json", metrics)
    if dataset.image_shape is not None:
        draw_figures(stack.layers[0], dataset, out, seed)


def summary(metrics: dict) -> str:
    """One line: each layer's losses, then the classification errors."""
    # the training loss reconstructs corrupted inputs, the validation error clean ones
    lines = [f"layer {k + 1}: train loss {h['train_loss'][-1]:.3f} (corrupted input)"
             + (f", valid {h['valid_loss'][-1]:.3f} (clean)" if h["valid_loss"] else "")
             for k, h in enumerate(metrics["pretrain_history"])]
    lines += [f"{split} error {metrics[f'{split}_error']:.2%}" for split in ("valid", "test")
              if f"{split}_error" in metrics]
    return "; ".join(lines)


def draw_figures(layer, dataset: Dataset, out: Path, seed: int) -> None:
    plot_filter_panels([(layer.extra_repr().split(",")[0], layer.weight.detach().numpy())],
                       out / "filters.png", dataset.image_shape)
    source = dataset.x_valid if dataset.x_valid is not None else dataset.x_train
    sample = torch.from_numpy(np.array(source[:10]))  # a copy: the source may be on disk
    corrupted = layer.corrupt(sample, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        plot_reconstructions([("clean", sample.numpy()), ("corrupted", corrupted.numpy()),
                              ("reconstructed", layer(corrupted).numpy())],
                             out / "reconstructions.png", dataset.image_shape)
