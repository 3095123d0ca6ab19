"""The papers' classification results: stacked DAEs against stacked plain autoencoders, a
randomly initialised deep network and logistic regression (Vincent et al. 2010, table 3).

Every deep model has the same architecture, the same fine-tuning schedule and the same seed;
only the initialisation differs: DAE pre-training (SdA), plain-autoencoder pre-training
(SAE), or none (MLP).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..core.batches import steps_per_epoch
from ..core.epoch_log import labelled
from ..core.stacking import (
    StackedDenoisingAutoencoder,
    classification_error,
    finetune,
    finetune_unsupervised,
    pretrain,
)
from ..core.training import TrainConfig, batched
from ..io.atomic import atomic_write, write_json
from ..io.data import Dataset
from ..io.runs import machine_description
from ..measures.analysis import fit_probe, probe_error
from ..measures.figures import plot_curves
from ..models import save_model
from .sda_report import markdown_table, summarise

# a schedule for the optional fine-tuning of the deep autoencoder (SdaSettings.unsupervised)
DEEP_AUTOENCODER = TrainConfig(epochs=10, batch_size=64, lr=0.1, momentum=0.9)


@dataclass
class SdaSettings:
    """Architecture and schedules shared by every model of the comparison."""

    hidden_sizes: list[int] = field(default_factory=lambda: [1000, 1000, 1000])
    noise_levels: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.3])
    # when set, the SdA's level of each layer is chosen among these instead (see noise_score)
    noise_candidates: list[float] | None = None
    corruption: str = "masking"
    # 40 epochs per layer: on MNIST, 15 gave 1.50 / 1.37 % test error (seeds 0, 1), 40 gave
    # 1.36 / 1.36 % (validation 1.39 / 1.36 -> 1.25 / 1.32 %), for 2 x 200 s more (README)
    pretrain: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=40, batch_size=64, lr=0.1))
    # then, optionally, the whole deep autoencoder on reconstruction (SdA and SAE alike),
    # e.g. DEEP_AUTOENCODER; off by default: on USPS it helped SAE more than SdA
    unsupervised: TrainConfig | None = None
    # batch 32 with one epoch of warm-up: on the same 40-epoch stacks, batch 64 gave
    # validation 1.25 / 1.32 % (seeds 0, 1; test 1.36 / 1.36), batch 32 1.25 / 1.20 %
    # (test 1.29 / 1.34), but without warm-up the SAE-3 saturated in its first epoch (81 %)
    finetune: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=30, batch_size=32, lr=0.3, momentum=0.9,
                                            lr_decay=0.95, warmup_epochs=1, patience=10))
    # small data sets get more epochs, not fewer updates: per layer in pre-training (USPS's
    # 6291 images: 103 epochs instead of 40), in all for fine-tuning (small label sets)
    min_pretrain_updates: int = 10_000
    min_finetune_updates: int = 2000
    probe_examples: int = 10_000
    probe_max_iter: int = 100
    logistic_max_iter: int = 200

    def to_dict(self) -> dict:
        return asdict(self)

    def pretrain_config(self, n_examples: int, seed: int) -> TrainConfig:
        """The pre-training schedule of each layer for ``n_examples`` images: at least
        ``min_pretrain_updates`` updates (on USPS, DAE layers trained 15 epochs were no
        better than plain ones; trained 100, they were: README)."""
        base = self.pretrain
        steps = steps_per_epoch(n_examples, base.batch_size)
        epochs = max(base.epochs, math.ceil(self.min_pretrain_updates / steps))
        return replace(base, seed=seed, epochs=epochs)

    def finetune_config(self, n_examples: int, seed: int) -> TrainConfig:
        """The fine-tuning schedule for ``n_examples`` labels.

        With few labels an epoch is a handful of updates, so the batch shrinks (to a tenth
        of the data, at least 10) and the epochs grow until there are at least
        ``min_finetune_updates`` updates; the learning rate decays over the same span.
        """
        base = self.finetune
        batch = min(base.batch_size, max(10, n_examples // 10), n_examples)
        steps = n_examples // batch
        epochs = max(base.epochs, math.ceil(self.min_finetune_updates / steps))
        return replace(base, seed=seed, batch_size=batch, epochs=epochs,
                       lr_decay=base.lr_decay ** (base.epochs / epochs),
                       patience=None if base.patience is None
                       else math.ceil(base.patience * epochs / base.epochs))


MODELS = ("SdA", "SAE", "MLP", "logistic")


def balanced_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of ``n`` examples, as equal a number from every class as ``n`` allows."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    counts = [n // len(classes) + (i < n % len(classes)) for i in range(len(classes))]
    return np.sort(np.concatenate([idx[:k] for idx, k in zip(per_class, counts, strict=True)]))


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run_one(
    dataset: Dataset,
    settings: SdaSettings,
    seed: int = 0,
    label_counts: Sequence[int | None] = (None,),
    models: Sequence[str] = MODELS,
    out: Path | None = None,
    log: Callable[[str], None] = print,
    checkpoints: Path | None = None,
) -> list[dict]:
    """Train and evaluate each model with ``seed``; one result per model and label count.

    A stack is pre-trained once (on every training image) and then fine-tuned separately
    for each entry of ``label_counts`` (None: all labels). With ``checkpoints``, every
    training phase checkpoints in a file of its own there, so that a killed run continues
    where it stopped and a finished phase replays at once; each phase draws from its own
    seeded streams, so the results are those of a run never interrupted.
    """
    depth = len(settings.hidden_sizes)
    subsets = {n: balanced_subset(dataset.y_train, n, seed) if n else
               np.arange(len(dataset.x_train)) for n in label_counts}
    results = []
    for kind in models:
        name = f"{kind}-{depth}" if kind != "logistic" else "logistic regression (raw pixels)"
        base = {"name": name, "seed": seed,
                "noise_levels": settings.noise_levels if kind == "SdA" else
                [0.0] * depth if kind == "SAE" else None,
                "pretrain_seconds": 0.0, "unsupervised_seconds": 0.0}
        if kind == "logistic":
            results += _logistic(dataset, settings, seed, subsets, base, log)
            continue
        folder = checkpoints / f"{kind.lower()}-seed{seed}" if checkpoints is not None else None
        stack = _initial_stack(dataset, settings, kind, seed)
        with labelled(f"{name} seed {seed}"):  # its epoch lines say which model and seed
            if kind in ("SdA", "SAE"):
                base.update(_pretrain(stack, dataset, settings, kind, seed, folder, log))
            for n, idx in subsets.items():
                with labelled(f"{n} labels") if n else contextlib.nullcontext():
                    result, model = _finetune(stack, dataset, settings, seed, idx, base,
                                              folder, n, log)
                if out is not None:
                    suffix = f"_labels{n}" if n else ""
                    save_model(model, out / "models" /
                               f"{kind.lower()}_seed{seed}{suffix}.safetensors")
                results.append(result)
    return results


def _logistic(dataset: Dataset, settings: SdaSettings, seed: int, subsets: dict, base: dict,
              log: Callable[[str], None]) -> list[dict]:
    """Logistic regression on the raw pixels of each label subset."""
    results = []
    for idx in subsets.values():
        clf, secs = _timed(lambda idx=idx: fit_probe(
            dataset.x_train[idx], dataset.y_train[idx], settings.logistic_max_iter, seed))
        valid_err = float(np.mean(clf.predict(dataset.x_valid) != dataset.y_valid))
        test_err = float(np.mean(clf.predict(dataset.x_test) != dataset.y_test))
        results.append({**base, "n_labels": len(idx), "valid_error": valid_err,
                        "test_error": test_err, "finetune_seconds": round(secs, 1)})
        log(f"{base['name']} ({len(idx)} labels): valid {valid_err:.2%}, test {test_err:.2%}")
    return results


def _initial_stack(dataset: Dataset, settings: SdaSettings, kind: str,
                   seed: int) -> StackedDenoisingAutoencoder:
    """The same initial weights for every kind of model with ``seed``."""
    return StackedDenoisingAutoencoder(
        dataset.n_features, settings.hidden_sizes, int(dataset.y_train.max()) + 1,
        corruption=settings.corruption,
        noise_levels=settings.noise_levels if kind == "SdA" and not settings.noise_candidates
        else 0.0,  # with a search, each layer's level is set when it is chosen
        generator=torch.Generator().manual_seed(seed))


def _pretrain(stack, dataset: Dataset, settings: SdaSettings, kind: str, seed: int,
              folder: Path | None, log: Callable[[str], None]) -> dict:
    """Greedy pre-training (with the noise search, if asked for, for SdA), the linear
    probes of each layer, then the optional deep-autoencoder phase; what they measured."""
    x = torch.from_numpy(dataset.x_train)
    xv = torch.from_numpy(dataset.x_valid)
    name, depth = f"{kind}-{len(stack.layers)}", len(stack.layers)
    config = settings.pretrain_config(len(x), seed)
    search, scores, measured = {}, [], {}
    candidates = settings.noise_candidates if kind == "SdA" else None
    if candidates:
        search = {"noise_candidates": candidates,
                  "score": noise_score(dataset, settings, seed, scores, log)}
    histories, secs = _timed(lambda: pretrain(stack, x, config, x_valid=xv,
                                              checkpoint_dir=folder, **search))
    measured["noise_levels"] = [layer.config.noise_level for layer in stack.layers]
    if candidates:  # one {level: validation probe error} per layer
        k = len(candidates)
        measured["noise_search"] = [dict(zip(map(str, candidates), scores[i:i + k],
                                             strict=True))
                                    for i in range(0, len(scores), k)]
    measured["pretrain_seconds"] = round(secs, 1)
    measured["pretrain_valid_reconstruction"] = [h.valid_loss[-1] for h in histories]
    log(f"{name}: pre-trained {depth} layers in {secs:.0f} s")
    measured["layer_probe_test_error"] = layer_probes(stack, dataset, settings, seed)
    log(f"{name}: linear probe test error per layer "
        + ", ".join(f"{e:.2%}" for e in measured["layer_probe_test_error"]))
    if settings.unsupervised is not None:
        history, secs = _timed(lambda: finetune_unsupervised(
            stack, x, replace(settings.unsupervised, seed=seed), x_valid=xv,
            checkpoint=folder / "unsupervised.ckpt" if folder is not None else None))
        measured["unsupervised_seconds"] = round(secs, 1)
        measured["unsupervised_valid_reconstruction"] = min(history.valid_loss)
        log(f"{name}: fine-tuned the deep autoencoder {len(history.valid_loss)} epochs "
            f"in {secs:.0f} s; validation reconstruction {min(history.valid_loss):.2f}")
    return measured


def _finetune(stack, dataset: Dataset, settings: SdaSettings, seed: int, idx: np.ndarray,
              base: dict, folder: Path | None, n: int | None, log: Callable[[str], None]):
    """A copy of ``stack`` fine-tuned on the labels ``idx``; its result and the model."""
    x = torch.from_numpy(dataset.x_train)
    xv, yv = torch.from_numpy(dataset.x_valid), torch.from_numpy(dataset.y_valid)
    xt, yt = torch.from_numpy(dataset.x_test), torch.from_numpy(dataset.y_test)
    model = copy.deepcopy(stack)
    config = settings.finetune_config(len(idx), seed)
    checkpoint = (folder / f"finetune{f'-labels{n}' if n else ''}.ckpt"
                  if folder is not None else None)
    history = finetune(model, x[idx], torch.from_numpy(dataset.y_train[idx]), config,
                       x_valid=xv, y_valid=yv, checkpoint=checkpoint)
    model.cpu()
    elapsed = np.cumsum(history.epoch_seconds)
    result = {
        **base,
        "n_labels": len(idx),
        "valid_error": min(history.valid_loss),
        "test_error": classification_error(model, xt, yt),
        "finetune_seconds": round(history.seconds, 1),
        "finetune_epochs": len(history.valid_loss),
        "best_epoch": history.best_epoch,
        "seconds_to_best": round(float(elapsed[history.best_epoch - 1]), 1),
        "valid_error_curve": history.valid_loss,
    }
    log(f"{base['name']} ({len(idx)} labels): fine-tuned {result['finetune_epochs']} epochs "
        f"in {history.seconds:.0f} s; valid {result['valid_error']:.2%}, "
        f"test {result['test_error']:.2%}")
    return result, model


def noise_score(dataset: Dataset, settings: SdaSettings, seed: int, scores: list[float],
                log: Callable[[str], None]) -> Callable:
    """Score of a candidate layer for the noise search: the validation error of a linear
    probe on its code (trained on the first ``probe_examples`` training codes).

    Cheap next to fine-tuning a whole network per candidate, and it measures what the
    layer was trained for: a representation that separates the classes. Each score is
    appended to ``scores``.
    """
    n = settings.probe_examples

    def score(layer, code, valid_code) -> float:
        error = probe_error(code[:n].cpu().numpy(), dataset.y_train[:n],
                            valid_code.cpu().numpy(), dataset.y_valid,
                            settings.probe_max_iter, seed)
        scores.append(error)
        log(f"  noise {layer.config.noise_level:g} on {layer.n_visible} inputs: validation "
            f"probe error {error:.2%}")
        return error

    return score


def layer_probes(stack, dataset: Dataset, settings: SdaSettings, seed: int) -> list[float]:
    """Test error of logistic regression on each layer's clean code (after pre-training)."""
    n = settings.probe_examples
    xs, ys = torch.from_numpy(dataset.x_train[:n]), dataset.y_train[:n]
    xt = torch.from_numpy(dataset.x_test)
    stack.cpu()
    errors = []
    for depth in range(1, len(stack.layers) + 1):
        def encode(v, depth=depth):
            return stack.encode(v, depth)

        errors.append(probe_error(batched(encode, xs).numpy(), ys, batched(encode, xt).numpy(),
                                  dataset.y_test, settings.probe_max_iter, seed))
    return errors


def run(
    dataset: Dataset,
    out: str | os.PathLike,
    settings: SdaSettings | None = None,
    *,
    seeds: Sequence[int] = (0,),
    label_counts: Sequence[int | None] = (None,),
    models: Sequence[str] = MODELS,
    log: Callable[[str], None] = print,
    checkpoints: str | os.PathLike | None = None,
) -> dict:
    """The whole comparison; writes ``results.json`` and ``results.md`` under ``out``.

    ``checkpoints``: a folder where every training phase checkpoints (see :func:`run_one`).
    """
    settings = settings or SdaSettings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log(f"data: {dataset.describe()}")
    runs = []
    for seed in seeds:
        runs += run_one(dataset, settings, seed, label_counts, models, out, log,
                        Path(checkpoints) if checkpoints is not None else None)
    summary = summarise(runs)
    results = {
        "experiment": f"sda-{dataset.name}",
        "dataset": dataset.describe(),
        "label_counts": [n or len(dataset.x_train) for n in label_counts],
        "n_train": len(dataset.x_train),
        "seeds": list(seeds),
        "settings": settings.to_dict(),
        "models": summary,
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine_description(settings.finetune.device),
    }
    write_json(out / "results.json", results)
    atomic_write(out / "results.md", markdown_table(results, dataset.name).encode())
    first = [r for r in runs if r["seed"] == seeds[0] and "valid_error_curve" in r]
    if first:
        plot_curves([(f"{r['name']}, {r['n_labels']} labels", r["valid_error_curve"])
                     for r in first], out / "curves.png", ylabel="validation error")
    return results
