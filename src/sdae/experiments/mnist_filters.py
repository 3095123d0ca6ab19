"""The seed's first experiment: filters of a plain AE against 25% and 50% masking DAEs.

Vincent et al. (2008, figure 3; 2010, figure 6): with the same architecture (784-500,
tied, sigmoid, cross-entropy), initialisation and number of epochs, a plain autoencoder
learns noise-like filters, while denoising autoencoders learn pen-stroke detectors that
widen as the noise grows, and their codes make better features for a linear classifier.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..core.autoencoder import DenoisingAutoencoder
from ..core.training import TrainConfig, batched, reconstruction_error, train_autoencoder
from ..io.atomic import write_json
from ..io.data import Dataset
from ..io.runs import machine_description
from ..measures.analysis import low_frequency_energy, probe_error
from ..measures.figures import plot_filter_panels, plot_reconstructions
from ..models import save_model


def model_name(noise_level: float, corruption: str = "masking") -> str:
    if noise_level == 0:
        return "AE (no noise)"
    return f"DAE ({noise_level:.0%} {corruption.replace('_', '-')})"


def run(
    dataset: Dataset,
    out: str | os.PathLike,
    *,
    noise_levels: Sequence[float] = (0.0, 0.25, 0.5),
    n_hidden: int = 500,
    corruption: str = "masking",
    train_config: TrainConfig | None = None,
    probe_max_iter: int = 200,
    n_filters: int = 100,
    log: Callable[[str], None] = print,
    checkpoints: str | os.PathLike | None = None,
) -> dict:
    """Train one autoencoder per noise level on ``dataset`` and compare them.

    Writes ``filters.png``, ``reconstructions.png``, ``results.json`` and the model files
    under ``out``; returns the results. With ``checkpoints``, each model's training
    checkpoints in a file of its own there: a killed run continues where it stopped, with
    the results of a run never interrupted (each model has its own seeded streams).
    """
    config = train_config or TrainConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shape = dataset.image_shape
    x_test = torch.from_numpy(dataset.x_test)
    started = time.perf_counter()
    log(f"data: {dataset.describe()}")

    t = time.perf_counter()
    raw_error = probe_error(dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test,
                            probe_max_iter, config.seed)
    log(f"raw pixels: probe test error {raw_error:.2%} ({time.perf_counter() - t:.0f} s)")

    models, panels, recon_rows = [], [], []
    examples = x_test[:10]
    for level in noise_levels:
        dae, result = _train_one(dataset, level, n_hidden, corruption, config, probe_max_iter,
                                 out, checkpoints)
        models.append(result)
        panels.append((result["name"], dae.weight.detach().numpy()))
        gen = torch.Generator().manual_seed(config.seed + 1)
        corrupted = dae.corrupt(examples, gen)
        with torch.no_grad():
            recon_rows += [(f"{result['name']}\n{'corrupted' if level else 'input'}",
                            corrupted.numpy()), ("reconstructed", dae(corrupted).numpy())]
        log(f"{result['name']}: {result['train_seconds']:.0f} s, test reconstruction error "
            f"{result['reconstruction_error_test']:.2f}, probe test error "
            f"{result['probe_test_error']:.2%}, low-frequency energy "
            f"{result['filter_low_frequency_energy']:.3f}")

    plot_filter_panels(panels, out / "filters.png", shape, n_filters)
    plot_reconstructions([("clean", examples.numpy()), *recon_rows],
                         out / "reconstructions.png", shape)
    results = {
        "experiment": "mnist-filters",
        "dataset": dataset.describe(),
        "train_config": config.to_dict(),
        "raw_pixels": {"probe_test_error": raw_error},
        "models": models,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine_description(config.device),
    }
    write_json(out / "results.json", results)
    return results


def _train_one(dataset: Dataset, level: float, n_hidden: int, corruption: str,
               config: TrainConfig, probe_max_iter: int, out: Path,
               checkpoints: str | os.PathLike | None):
    """One autoencoder, from the initial weights every model shares; saved under ``out``.
    Returns it and what was measured of it."""
    x_train = torch.from_numpy(dataset.x_train)
    x_valid = torch.from_numpy(dataset.x_valid) if dataset.x_valid is not None else None
    x_test = torch.from_numpy(dataset.x_test)
    name = model_name(level, corruption)
    slug = f"dae_{corruption}_{round(level * 100)}" if level else "ae"
    init = torch.Generator().manual_seed(config.seed)  # the same initial W for every model
    dae = DenoisingAutoencoder(dataset.n_features, n_hidden, corruption=corruption,
                               noise_level=level, generator=init)
    checkpoint = Path(checkpoints) / f"{slug}.ckpt" if checkpoints is not None else None
    history = train_autoencoder(dae, x_train, config, x_valid=x_valid, description=name,
                                checkpoint=checkpoint)
    dae.cpu()
    t = time.perf_counter()
    codes_train = batched(dae.encode, x_train).numpy()
    codes_test = batched(dae.encode, x_test).numpy()
    probe = probe_error(codes_train, dataset.y_train, codes_test, dataset.y_test,
                        probe_max_iter, config.seed)
    result = {
        "name": name,
        "corruption": corruption,
        "noise_level": level,
        "n_hidden": n_hidden,
        "epochs": config.epochs,
        "train_seconds": round(history.seconds, 2),
        "train_loss": history.train_loss,
        "valid_reconstruction_error": history.valid_loss,
        "reconstruction_error_test": reconstruction_error(dae, x_test),
        "probe_test_error": probe,
        "probe_seconds": round(time.perf_counter() - t, 2),
        "filter_low_frequency_energy": low_frequency_energy(dae.weight.detach().numpy(),
                                                            dataset.image_shape),
    }
    save_model(dae, out / "models" / f"{slug}.safetensors", extra={"train": config.to_dict()})
    return dae, result


def demo_config(dataset: Dataset, seed: int = 0) -> tuple[Dataset, dict]:
    """A short version of the experiment that runs in about a minute on 2 cores."""
    if dataset.name == "mnist":
        small = dataset.subset(n_train=20_000, n_eval=5_000)
        return small, {"n_hidden": 500, "train_config": TrainConfig(epochs=5, seed=seed)}
    return dataset, {"n_hidden": 100, "train_config": TrainConfig(epochs=40, seed=seed)}

