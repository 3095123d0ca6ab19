"""The seed's second experiment: filters learned on natural image patches.

Vincent et al. (2010, "feature detectors learnt from natural image patches"): on whitened
12×12 patches of natural images, a DAE trained with additive Gaussian noise learns
localised oriented edge detectors, like V1 simple cells and sparse coding (Olshausen &
Field 1996), while a plain autoencoder learns no such structure, weight decay gives blurry
global filters, and PCA gives global Fourier-like components. Every network here has the
same architecture, initialisation and schedule (tied weights, sigmoid code, linear
decoder, squared error); only the regularisation differs. How edge-like each set of
filters is, is measured by Gabor fits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..core.autoencoder import DenoisingAutoencoder
from ..core.training import TrainConfig, reconstruction_error, train_autoencoder
from ..errors import ConfigError
from ..io.atomic import write_json
from ..io.data.patches import natural_patches, read_images
from ..io.runs import machine_description
from ..measures.figures import plot_filter_panels
from ..measures.gabor import edge_statistics

DEFAULT_FOLDERS = ("natural", "train400")


@dataclass
class PatchModel:
    """One network of the comparison: its regularisation and its width."""

    name: str
    corruption: str = "none"
    noise_level: float = 0.0
    weight_decay: float = 0.0


@dataclass
class PatchSettings:
    patch_size: int = 12
    n_patches: int = 100_000
    whitening: str = "1/f"
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 256])  # under/over-complete
    gaussian_sigma: float = 2.0  # in units of the patches' standard deviation
    weight_decay: float = 1e-3
    other_noise: tuple[str, float] = ("masking", 0.5)
    # Small initial weights: random initial filters are noise themselves, and would linger
    # in any direction the data do not pull on. The same for every model.
    init_scale: float = 0.1
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=50, batch_size=100, lr=3e-3,
                                            optimizer="adam"))
    gabor_filters: int = 100  # filters fitted per model (all when fewer)
    gabor_starts: int = 6

    def check(self) -> None:
        """Fail before any work when an option makes no sense."""
        if self.patch_size < 5:
            raise ConfigError(f"patch size {self.patch_size} is too small for Gabor fits: "
                              "use 5 or more")
        for name in ("gaussian_sigma", "weight_decay"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name.replace('_', ' ')} must be >= 0, "
                                  f"got {getattr(self, name)}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ConfigError("hidden sizes must be positive integers")

    def models(self) -> list[PatchModel]:
        kind, level = self.other_noise
        return [
            PatchModel("AE (no noise)"),
            PatchModel(f"AE + weight decay {self.weight_decay:g}",
                       weight_decay=self.weight_decay),
            PatchModel(f"DAE (gaussian σ={self.gaussian_sigma:g})", "gaussian",
                       self.gaussian_sigma),
            PatchModel(f"DAE ({kind.replace('_', '-')} {level:g})", kind, level),
        ]

    def to_dict(self) -> dict:
        return asdict(self)


def run(
    folders: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    settings: PatchSettings | None = None,
    log: Callable[[str], None] = print,
    checkpoints: str | os.PathLike | None = None,
) -> dict:
    """Train every model at every width on the same patches; fit Gabors to their filters.

    ``checkpoints``: a folder where each model's training checkpoints (a killed run
    continues from them, with the results of a run never interrupted).

    Writes ``filters.png`` and ``results.json`` under ``out`` and returns the results.
    """
    settings = settings or PatchSettings()
    settings.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    size = settings.patch_size
    shape = (size, size)
    images = read_images(*folders)
    n_valid = max(1, settings.n_patches // 10)
    patches = natural_patches(images, size, settings.n_patches + n_valid, settings.whitening,
                              settings.train.seed)
    x, x_valid = torch.from_numpy(patches[n_valid:]), torch.from_numpy(patches[:n_valid])
    log(f"data: {settings.n_patches} patches {size}×{size} ({settings.whitening} whitening) "
        f"from {len(images)} images in {', '.join(map(str, folders))}")

    def measure(filters: np.ndarray) -> dict:
        chosen = filters[:settings.gabor_filters]
        return edge_statistics(chosen, shape, settings.gabor_starts, settings.train.seed)

    results_models, panels = [], [("data patches (held out)", patches[:100])]
    for n_hidden in settings.hidden_sizes:
        for spec in settings.models():
            config = replace(settings.train, weight_decay=spec.weight_decay)
            init = torch.Generator().manual_seed(config.seed)  # same initial W for all
            dae = DenoisingAutoencoder(size * size, n_hidden, corruption=spec.corruption,
                                       noise_level=spec.noise_level, decoder="linear",
                                       generator=init)
            with torch.no_grad():
                dae.weight.mul_(settings.init_scale)
            checkpoint = (Path(checkpoints) / f"{_slug(spec.name)}-{n_hidden}.ckpt"
                          if checkpoints is not None else None)
            history = train_autoencoder(dae, x, config, x_valid=x_valid,
                                        description=f"{spec.name}, {n_hidden} units",
                                        checkpoint=checkpoint)
            dae.cpu()
            weight = dae.weight.detach().numpy()
            stats = measure(weight)
            results_models.append(_entry(spec.name, n_hidden, spec, stats, history.seconds,
                                         reconstruction_error(dae, x_valid)))
            panels.append((f"{spec.name}, {n_hidden} units", weight))
            log(_describe(results_models[-1]))
        components = _pca(patches[n_valid:], min(n_hidden, size * size))
        stats = measure(components)
        results_models.append(_entry("PCA", len(components), None, stats, 0.0, None))
        log(_describe(results_models[-1]))
    panels.append((f"PCA, the first {len(components)} components", components))

    figure = plot_filter_panels(panels, out / "filters.png", shape, columns=3)
    results = {
        "experiment": "natural-patches",
        "data": {"folders": [str(f) for f in folders], "images": len(images),
                 "patches": settings.n_patches, "valid_patches": n_valid},
        "settings": settings.to_dict(),
        "models": results_models,
        "figure": figure.name,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine_description(settings.train.device),
    }
    write_json(out / "results.json", results)
    return results


def _slug(name: str) -> str:
    """A model's name as a file name."""
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def _pca(x: np.ndarray, n_components: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(n_components, random_state=0).fit(x).components_.astype(np.float32)


def _entry(name, n_hidden, spec, stats, seconds, recon) -> dict:
    return {
        "name": name,
        "hidden_units": n_hidden,
        "noise": None if spec is None or spec.corruption == "none"
        else {"corruption": spec.corruption, "level": spec.noise_level},
        "weight_decay": spec.weight_decay if spec is not None else 0.0,
        "edge_detector_fraction": stats["edge_detector_fraction"],
        "median_gabor_r2": stats["median_gabor_r2"],
        "orientation_spread": stats["orientation_spread"],
        "train_seconds": round(seconds, 1),
        "valid_reconstruction_error": recon,
        "gabor_fits": stats["fits"],
    }


def _describe(m: dict) -> str:
    spread = m["orientation_spread"]
    return (f"{m['name']}, {m['hidden_units']} units: edge detectors "
            f"{m['edge_detector_fraction']:.0%}, median R² {m['median_gabor_r2']:.2f}, "
            f"orientation spread {'-' if spread is None else f'{spread:.2f}'}, "
            f"{m['train_seconds']:.0f} s")
