"""Sampling from a DAE trained on MNIST (Bengio, Yao, Alain & Vincent 2013).

A DAE layer is trained with walkback; chains started from uniform noise alternate its
corruption and a Bernoulli draw from its reconstruction. Samples are judged by a
classifier trained on MNIST (how many it labels with confidence, which classes), and by
their distance to the nearest training image (are they copies?), beside the same distance
for real test images.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..core.autoencoder import DenoisingAutoencoder
from ..core.training import TrainConfig, train
from ..io.atomic import write_json
from ..io.data import Dataset
from ..io.runs import machine_description
from ..measures.figures import plot_image_grid
from ..models import save_model
from ..tasks.sampling import sample_chain, walkback_objective


@dataclass
class SamplingSettings:
    n_hidden: int = 1000
    corruption: str = "salt_and_pepper"
    noise_level: float = 0.4
    walkback: float = 0.5  # probability of taking one more step of the walk
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=5, batch_size=100, lr=0.05, momentum=0.9))
    n_chains: int = 100
    burn_in: int = 100
    every: int = 20  # steps between two recorded samples of a chain
    per_chain: int = 10  # samples recorded from each chain after the burn-in
    classifier_examples: int = 20_000
    confidence: float = 0.9
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def nearest_distances(samples: np.ndarray, reference: np.ndarray,
                      chunk: int = 1000) -> np.ndarray:
    """Euclidean distance of each sample to its nearest row of ``reference``."""
    ref = torch.from_numpy(reference.astype(np.float32))
    ref_sq = (ref * ref).sum(1)
    out = []
    for i in range(0, len(samples), chunk):
        s = torch.from_numpy(samples[i:i + chunk].astype(np.float32))
        d2 = (s * s).sum(1, keepdim=True) - 2 * s @ ref.T + ref_sq
        out.append(d2.min(1).values.clamp(min=0).sqrt())
    return torch.cat(out).numpy()


def run(dataset: Dataset, out: str | os.PathLike, settings: SamplingSettings | None = None,
        log: Callable[[str], None] = print,
        checkpoints: str | os.PathLike | None = None) -> dict:
    """Train, sample, judge; writes model.safetensors, chains.png, samples.png,
    samples.npy and results.json under ``out``. ``checkpoints``: a folder where the
    training checkpoints (a killed run continues from it)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    settings = settings or SamplingSettings()
    out = Path(out)
    started = time.perf_counter()
    x = torch.from_numpy(dataset.x_train)
    dae = DenoisingAutoencoder(x.shape[1], settings.n_hidden, corruption=settings.corruption,
                               noise_level=settings.noise_level,
                               generator=torch.Generator().manual_seed(settings.seed))
    history = train(dae, walkback_objective(settings.walkback), x, settings.train,
                    description="DAE with walkback",
                    checkpoint=Path(checkpoints) / "walkback.ckpt" if checkpoints else None)
    log(f"trained {dae.extra_repr()} with walkback {settings.walkback}: "
        f"{history.seconds:.0f} s, final loss {history.train_loss[-1]:.2f}")
    dae.cpu().eval()
    save_model(dae, out / "model.safetensors", extra={"walkback": settings.walkback})

    g = torch.Generator().manual_seed(settings.seed + 1)
    start = torch.rand(settings.n_chains, x.shape[1], generator=g)
    steps = settings.burn_in + settings.every * settings.per_chain
    record = sample_chain(dae, start, steps, g, every=settings.every)  # (T, chains, d)
    chains = record[: steps // settings.every].numpy()
    samples = record[settings.burn_in // settings.every:].reshape(-1, x.shape[1]).numpy()
    np.save(out / "samples.npy", chains)
    shape = dataset.image_shape
    plot_image_grid(chains[:, :10].transpose(1, 0, 2).reshape(-1, x.shape[1]),
                    out / "chains.png", shape, n_cols=len(chains),
                    title=f"10 chains from noise, one column every {settings.every} steps")
    plot_image_grid(samples[-settings.n_chains:], out / "samples.png", shape,
                    title=f"the last sample of {settings.n_chains} chains")

    rng = np.random.default_rng(settings.seed)
    pick = rng.permutation(len(dataset.x_train))[: settings.classifier_examples]
    classifier = MLPClassifier(hidden_layer_sizes=(256,), max_iter=30, random_state=0)
    with warnings.catch_warnings():  # 30 epochs on purpose: 97 % is enough to label digits
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(dataset.x_train[pick], dataset.y_train[pick])
    test_accuracy = float(classifier.score(dataset.x_test, dataset.y_test))
    proba = classifier.predict_proba(samples)
    labels = proba.argmax(1)
    confident = proba.max(1) >= settings.confidence
    histogram = np.bincount(labels, minlength=10)
    confident_histogram = np.bincount(labels[confident], minlength=10)
    sample_nn = nearest_distances(samples, dataset.x_train)
    test_nn = nearest_distances(dataset.x_test[:len(samples)], dataset.x_train)
    results = {
        "experiment": "sampling-mnist",
        "settings": settings.to_dict(),
        "train_seconds": round(history.seconds, 1),
        "n_samples": len(samples),
        "classifier_test_accuracy": test_accuracy,
        "confident_fraction": float(confident.mean()),
        "class_histogram": histogram.tolist(),
        "confident_class_histogram": confident_histogram.tolist(),
        "classes_seen": int((histogram > 0).sum()),
        "classes_seen_confidently": int((confident_histogram > 0).sum()),
        "nearest_train_distance_samples": float(sample_nn.mean()),
        "nearest_train_distance_test_images": float(test_nn.mean()),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine_description(settings.train.device),
    }
    write_json(out / "results.json", results)
    log(f"{len(samples)} samples: {results['confident_fraction']:.0%} labelled with "
        f"confidence >= {settings.confidence} by a classifier of test accuracy "
        f"{test_accuracy:.1%}; classes {histogram.tolist()} ({results['classes_seen']} of 10); "
        f"nearest training image at {sample_nn.mean():.2f} (test images: {test_nn.mean():.2f})")
    return results
