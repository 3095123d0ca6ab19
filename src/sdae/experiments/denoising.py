"""Image denoising on the field's standard benchmark: train on Train400, test on BSD68 and
Set12 with additive white Gaussian noise of σ = 15, 25 and 50 (on the 0-255 scale).

sdae's denoisers trained here (convolutional and patch-based DAEs, each one blind model
for every σ, and a sub-image DAE told σ), and the denoiser shipped in the package as it is
(given σ; with σ estimated from the image: blind; and given σ, averaging 8 orientations of
each image: :mod:`sdae.tasks.denoising.ensemble`), are compared, in the same run and on
the same noisy images (made from a fixed seed), with scikit-image's non-local means, total
variation and wavelet (BayesShrink) denoisers and, when the ``bm3d`` package is installed,
BM3D. Every classic method is given the true σ; the free parameter of non-local means and
total variation is chosen per σ on training images, never on the test sets.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..core.training import TrainConfig
from ..errors import ConfigError, WarningsAbout
from ..io.atomic import atomic_write, write_json
from ..io.data.images import read_image_set
from ..io.data.registry import find_folder
from ..io.runs import machine_description
from ..measures.figures import plot_denoising_crops
from ..models import save_model
from ..pretrained import shipped_denoiser, shipped_header
from ..tasks.denoising import (
    ConvDenoiser,
    ImageNoise,
    PatchDenoiser,
    SubimageDenoiser,
    denoise,
    image_sigma,
    train_denoiser,
)

SETS = ("bsd68", "set12")
SIGMAS = (15, 25, 50)
SET_NAMES = {"bsd68": "BSD68", "set12": "Set12"}
CLASSIC = ("nlm", "tv", "wavelet", "bm3d")
MODELS = ("conv", "subimage", "patch")  # trained by the experiment
# the packaged denoiser: given σ, estimating it, and given σ over 8 orientations
SHIPPED = ("shipped", "shipped_blind", "shipped_ensemble")
ENSEMBLE = {"shipped_ensemble": 8}  # orientations averaged per image (1 where not named)
METHODS = MODELS + SHIPPED + CLASSIC
NAMES = {"conv": "sdae conv DAE", "subimage": "sdae sub-image DAE",
         "patch": "sdae patch DAE", "shipped": "sdae shipped denoiser",
         "shipped_blind": "sdae shipped denoiser, σ estimated",
         "shipped_ensemble": "sdae shipped denoiser, 8 orientations", "nlm": "non-local means",
         "tv": "total variation", "wavelet": "wavelet BayesShrink", "bm3d": "BM3D"}

# Mean PSNR (dB) on BSD68, from the DnCNN paper (Zhang et al., TIP 2017, table II).
PUBLISHED_BSD68 = {
    15: {"BM3D": 31.07, "TNRD": 31.42, "DnCNN": 31.73},
    25: {"BM3D": 28.57, "MLP": 28.96, "TNRD": 28.92, "DnCNN": 29.23},
    50: {"BM3D": 25.62, "MLP": 26.03, "TNRD": 25.97, "DnCNN": 26.23},
}


@dataclass
class DenoisingSettings:
    """The models, their training budgets and the benchmark's noise levels."""

    sigmas: list[int] = field(default_factory=lambda: list(SIGMAS))
    sigma_range: tuple[float, float] = (0.0, 55.0)  # the blind models' training noise
    conv: dict = field(default_factory=lambda: {"depth": 10, "width": 48, "target": "noise"})
    conv_train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=6, batch_size=64, lr=1e-3, optimizer="adam", lr_decay=0.6))
    crop: int = 40
    crop_stride: int = 16
    subimage: dict = field(default_factory=lambda: {"depth": 12, "width": 64, "target": "noise"})
    subimage_train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=8, batch_size=64, lr=1e-3, optimizer="adam", lr_decay=0.75))
    subimage_crop: int = 64  # its receptive field is 2·(2·depth + 1) pixels wide
    subimage_crop_stride: int = 29
    patch: dict = field(default_factory=lambda: {"patch_size": 13,
                                                 "hidden_sizes": [1024, 1024],
                                                 "target": "noise"})
    patch_train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=5, batch_size=128, lr=1e-3, optimizer="adam", lr_decay=0.6))
    patch_crop_stride: int = 4  # between training patches
    patch_stride: int = 3  # between the patches an image is cut into to denoise it
    n_valid: int = 20  # Train400 images held out for model selection
    n_tune: int = 8  # Train400 images the classic methods' parameters are chosen on
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


# -- the classic denoisers ----------------------------------------------------------------

def classic_denoisers() -> dict[str, Callable[[np.ndarray, float, float], np.ndarray]]:
    """name -> f(noisy, σ, parameter) for each classic method installed here (σ in [0, 1])."""
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

    methods = {
        "nlm": lambda y, s, c: denoise_nl_means(y, h=c * s, sigma=s, patch_size=5,
                                                patch_distance=6, fast_mode=True),
        "tv": lambda y, s, c: denoise_tv_chambolle(y, weight=c * s),
        "wavelet": lambda y, s, c: denoise_wavelet(y, sigma=s, wavelet=c, mode="soft",
                                                   method="BayesShrink", rescale_sigma=True),
    }
    try:
        import bm3d
    except ImportError:
        return methods
    methods["bm3d"] = lambda y, s, c: bm3d.bm3d(y, sigma_psd=s)
    return methods


# The values tried for each method's free parameter (h/σ, weight/σ, the wavelet).
PARAMETER_GRID = {"nlm": [0.4, 0.6, 0.8, 1.0, 1.2], "tv": [0.5, 1.0, 1.5, 2.0, 3.0],
                  "wavelet": ["db1", "db2", "sym4", "sym8"], "bm3d": [None]}


def psnr(clean: np.ndarray, restored: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(clean, np.clip(restored, 0, 1), data_range=1.0))


def ssim(clean: np.ndarray, restored: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(clean, np.clip(restored, 0, 1), data_range=1.0))


def noisy_copy(image: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``image`` with Gaussian noise of ``sigma`` (0-255 scale), the same for every method."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(image)[None]
    return ImageNoise("gaussian", sigma)(x, generator)[0].numpy()


def tune_classic(method: Callable, grid: Sequence, images: list[np.ndarray], sigma: float,
                 seed: int) -> tuple[object, dict]:
    """The parameter of ``grid`` with the best mean PSNR on ``images`` at ``sigma``."""
    if len(grid) == 1:  # nothing to choose (BM3D)
        return grid[0], {}
    noisy = [noisy_copy(x, sigma, seed + i) for i, x in enumerate(images)]
    scores = {}
    for value in grid:
        scores[value] = float(np.mean([psnr(x, method(y.astype(np.float64), sigma / 255, value))
                                       for x, y in zip(images, noisy, strict=True)]))
    best = max(scores, key=scores.get)
    return best, {str(k): round(v, 3) for k, v in scores.items()}


# -- the run ------------------------------------------------------------------------------

def load_sets(data_dir: str | os.PathLike | None = None) -> dict[str, list[np.ndarray]]:
    """Train400, BSD68 and Set12 as lists of grayscale float32 images in [0, 1]."""
    return {name: read_image_set(find_folder(name, data_dir))
            for name in ("train400", *SETS)}


def train_models(train: list[np.ndarray], valid: list[np.ndarray], settings: DenoisingSettings,
                 models: Sequence[str], out: Path, log: Callable[[str], None] = print,
                 checkpoints: Path | None = None) -> dict:
    """Train each sdae denoiser of ``models`` (a blind one for every σ); save them in ``out``.
    ``checkpoints``: a folder where each one's training checkpoints."""
    low, high = settings.sigma_range
    noise = ImageNoise("gaussian", low, high)
    generator = torch.Generator().manual_seed(settings.seed)
    trained = {}
    for name in models:
        crop = settings.crop
        if name == "conv":
            model = ConvDenoiser(**settings.conv, noise=noise, generator=generator)
            config, stride = settings.conv_train, settings.crop_stride
        elif name == "subimage":
            model = SubimageDenoiser(**settings.subimage, noise=noise, generator=generator)
            config, stride = settings.subimage_train, settings.subimage_crop_stride
            crop = settings.subimage_crop
        else:
            model = PatchDenoiser(**settings.patch, stride=settings.patch_stride, noise=noise,
                                  generator=generator)
            config, stride = settings.patch_train, settings.patch_crop_stride
        start = time.perf_counter()
        history = train_denoiser(model, train, config, patch_size=crop, stride=stride,
                                 valid_images=valid,
                                 checkpoint=Path(checkpoints) / f"{name}.ckpt"
                                 if checkpoints is not None else None)
        seconds = time.perf_counter() - start
        save_model(model, out / f"{name}.safetensors",
                   extra={"experiment": "denoising", "history": history.to_dict()})
        log(f"trained {NAMES[name]} in {seconds:.0f} s (best validation epoch "
            f"{history.best_epoch} of {len(history.train_loss)})")
        trained[name] = (model, {"seconds": seconds, "history": history.to_dict(),
                                 "parameters": sum(p.numel() for p in model.parameters())})
    return trained


def run(sets: dict[str, list[np.ndarray]], out: Path, settings: DenoisingSettings,
        methods: Sequence[str] = METHODS, device: str = "cpu",
        log: Callable[[str], None] = print, checkpoints: Path | None = None) -> dict:
    """Train, denoise every test image at every σ with every method, and write
    ``results.json``, ``results.md`` and ``crops.png`` to ``out``."""
    start = time.perf_counter()
    train = sets["train400"]
    held_out = train[-settings.n_valid:] if settings.n_valid else []
    train = train[: len(train) - settings.n_valid]
    for config in (settings.conv_train, settings.subimage_train, settings.patch_train):
        config.device = device
    classic = classic_denoisers()
    skipped = [m for m in methods if m in CLASSIC and m not in classic]
    if skipped and set(skipped) == set(methods):
        raise ConfigError(f"{', '.join(skipped)} not installed (pip install bm3d), and no "
                          "other method asked for: install it, or name other --methods")
    if skipped:
        log(f"skipped {', '.join(skipped)}: not installed (pip install bm3d)")
    shipped = [m for m in SHIPPED if m in methods]
    ready = shipped_denoiser(device) if shipped else None  # before training: fail fast
    trained = train_models(train, held_out, settings, [m for m in MODELS if m in methods],
                           out, log, checkpoints)
    models = {**{name: model for name, (model, _) in trained.items()},
              **{name: ready for name in shipped}}
    tuned = {}
    tune_images = train[: settings.n_tune]
    for name in [m for m in CLASSIC if m in methods and m in classic]:
        tuned[name] = {}
        for sigma in settings.sigmas:
            best, scores = tune_classic(classic[name], PARAMETER_GRID[name], tune_images, sigma,
                                        settings.seed)
            tuned[name][sigma] = {"parameter": best, "train_psnr": scores}

    def method_fn(name: str) -> Callable[[np.ndarray, float], np.ndarray]:
        if name in models:  # a model told σ gets the true one, as the classic methods do
            given = models[name].uses_sigma and name != "shipped_blind"
            return lambda y, sigma: denoise(models[name], y, sigma if given else None,
                                            ensemble=ENSEMBLE.get(name, 1))
        return lambda y, sigma: classic[name](y.astype(np.float64), sigma / 255,
                                              tuned[name][sigma]["parameter"])

    names = [*models, *tuned]
    results: dict = {name: {} for name in names}
    crops: dict = {}
    shown = ("set12", 25 if 25 in settings.sigmas else settings.sigmas[0])  # in the figure
    for set_name in SETS:
        images = sets[set_name]
        for sigma in settings.sigmas:
            noisy = [noisy_copy(x, sigma, settings.seed + 1000 * sigma + i)
                     for i, x in enumerate(images)]
            for name in names:
                fn = method_fn(name)
                scores, times, outputs = [], [], []
                # a warning (σ beyond a model's training) names the set, σ and method
                with WarningsAbout(f"{set_name} σ={sigma}, {NAMES[name]}"):
                    for clean, y in zip(images, noisy, strict=True):
                        t = time.perf_counter()
                        restored = fn(y, sigma)
                        times.append(time.perf_counter() - t)
                        scores.append((psnr(clean, restored), ssim(clean, restored)))
                        outputs.append(restored)
                p, s = np.mean(scores, axis=0)
                seconds = sum(times)
                big = [t for t, x in zip(times, images, strict=True) if x.shape == (512, 512)]
                results[name].setdefault(set_name, {})[sigma] = {
                    "psnr": round(float(p), 3), "ssim": round(float(s), 4),
                    "seconds": round(seconds, 2),
                    "seconds_per_image": round(seconds / len(images), 3),
                    "seconds_per_512x512_image": round(float(np.mean(big)), 3) if big else None,
                    "psnr_per_image": [round(float(v), 2) for v, _ in scores]}
                if name == "shipped_blind":  # how well σ was estimated, image by image
                    results[name][set_name][sigma].update(_sigma_estimates(noisy, sigma))
                log(f"{set_name} σ={sigma:<3} {NAMES[name]:<22} PSNR {p:6.2f} dB  SSIM {s:.4f}"
                    f"  ({seconds / len(images):.2f} s per image)")
                if (set_name, sigma) == shown:
                    crops[name] = outputs
            if (set_name, sigma) == shown:
                crops["clean"], crops["noisy"] = images, noisy
            _write(out, settings, trained, tuned, results, device, time.perf_counter() - start,
                   len(train), shipped)
    if crops:
        _plot_crops(crops, names, results, *shown, out / "crops.png")
    return _write(out, settings, trained, tuned, results, device, time.perf_counter() - start,
                  len(train), shipped)


def _sigma_estimates(noisy: list[np.ndarray], sigma: float) -> dict:
    """The σ estimated from each noisy image, and their mean relative error (%)."""
    estimates = [image_sigma(y) for y in noisy]
    return {"sigma_estimates": [round(e, 2) for e in estimates],
            "sigma_error_percent": round(100 * float(np.mean(
                [abs(e - sigma) / sigma for e in estimates])), 1)}


def _plot_crops(crops: dict, names: list[str], results: dict, set_name: str, sigma: int,
                path: Path) -> None:
    """The same crop (128 pixels square, from the middle) of the set's second image:
    clean, noisy, and each method's result."""
    k = min(1, len(crops["clean"]) - 1)
    clean = crops["clean"][k]
    h, w = clean.shape[:2]
    size = min(128, h, w)
    box = (slice((h - size) // 2, (h + size) // 2), slice((w - size) // 2, (w + size) // 2))
    panels = [("clean", clean[box]),
              (f"noisy ({psnr(clean, crops['noisy'][k]):.2f} dB)", crops["noisy"][k][box])]
    panels += [(f"{NAMES[n]} ({results[n][set_name][sigma]['psnr_per_image'][k]:.2f} dB)",
                crops[n][k][box]) for n in names]
    plot_denoising_crops(panels, path, title=f"{SET_NAMES[set_name]} image {k + 1}, σ = {sigma} "
                                             "(PSNR of the whole image)")


def _write(out: Path, settings, trained, tuned, results, device, seconds,
           n_train: int, shipped: Sequence[str] = ()) -> dict:
    doc = {
        "experiment": "denoising",
        "settings": settings.to_dict(),
        "train_images": n_train,
        "machine": machine_description(device),
        "seconds": round(seconds, 1),
        "training": {name: info for name, (_, info) in trained.items()},
        "shipped": _shipped_record() if shipped else None,
        "classic_parameters": tuned,
        "results": results,
        "published_bsd68": PUBLISHED_BSD68,
    }
    write_json(out / "results.json", doc)
    atomic_write(out / "results.md", markdown(doc).encode())
    return doc


def _shipped_record() -> dict:
    """What the shipped denoiser is and how it was trained (its file's own record)."""
    header = shipped_header()
    extra = header["extra"]
    return {"config": header["config"], "runs": len(extra.get("runs", [])) or 1,
            **{k: extra.get(k) for k in ("command", "data", "machine", "hours", "epochs")}}


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def markdown(doc: dict) -> str:
    """The results table: mean PSNR (dB) / SSIM per set and σ, published numbers beside."""
    results = doc["results"]
    sigmas = doc["settings"]["sigmas"]
    columns = [(s, sigma) for s in SETS for sigma in sigmas]
    head = " | ".join(f"{SET_NAMES[s]} σ={sigma}" for s, sigma in columns)
    lines = ["# Image denoising: mean PSNR (dB) / SSIM", "",
             f"| method | {head} | seconds per image (BSD68) | per 512×512 image (Set12) |",
             "|---" * (len(columns) + 3) + "|"]
    for name, by_set in results.items():
        cells = []
        for s, sigma in columns:
            r = by_set.get(s, {}).get(sigma)
            cells.append(f"{r['psnr']:.2f} / {r['ssim']:.3f}" if r else "")
        sigma = sigmas[len(sigmas) // 2]
        speed = by_set.get("bsd68", {}).get(sigma, {}).get("seconds_per_image")
        big = by_set.get("set12", {}).get(sigma, {}).get("seconds_per_512x512_image")
        lines.append(f"| {NAMES[name]} | {' | '.join(cells)} | {_seconds(speed)} | "
                     f"{_seconds(big)} |")
    for method in ("BM3D", "MLP", "TNRD", "DnCNN"):
        cells = [f"{PUBLISHED_BSD68[sigma][method]:.2f}" if s == "bsd68"
                 and method in PUBLISHED_BSD68.get(sigma, {}) else "" for s, sigma in columns]
        lines.append(f"| {method} (published, DnCNN paper) | {' | '.join(cells)} | | |")
    lines += ["", "Every method denoises the same noisy images (fixed seed); sdae's models "
              f"trained here are each one model trained on {doc['train_images']} Train400 "
              "images for every σ in "
              f"{doc['settings']['sigma_range']} (the conv and patch ones blind to σ, the "
              "sub-image one told it); the classic methods and models told σ get the true "
              "σ."]
    for name, info in doc["training"].items():
        lines.append(f"- {NAMES[name]}: {info['parameters']:,} parameters, trained "
                     f"{info['seconds'] / 60:.1f} min on {doc['machine']['device']} "
                     f"({doc['machine']['cpu_count']} CPUs).")
    if doc.get("shipped"):
        s = doc["shipped"]
        runs = s.get("runs", 1)
        last = f", the last on {s['machine']}, by" if runs > 1 else f" on {s['machine']} by"
        lines.append(f"- {NAMES['shipped']}: as shipped in the package, trained "
                     f"{s['hours'] or 0:.1f} h ({s['epochs']} epochs) in {runs} "
                     f"run{'s' if runs > 1 else ''}{last} `{s['command']}` (the file's "
                     "metadata holds every run).")
    if "shipped_blind" in results:
        estimates = [f"{SET_NAMES[s]} σ={sigma}: {r['sigma_error_percent']:.1f}%"
                     for s, sigma in columns
                     if "sigma_error_percent" in (r := results["shipped_blind"].get(s, {})
                                                  .get(sigma, {}))]
        lines.append("- σ estimated from each noisy image (shipped denoiser, σ estimated), "
                     f"mean error: {', '.join(estimates)}.")
    bm3d = PUBLISHED_BSD68.get(25, {}).get("BM3D")
    ours = (*MODELS, *SHIPPED)
    best = max((by_set.get("bsd68", {}).get(25, {}).get("psnr", -1), name)
               for name, by_set in results.items() if name in ours) if any(
        name in ours for name in results) else None
    if best and best[0] > 0 and bm3d:
        gap = best[0] - bm3d
        lines.append(f"- BSD68 σ=25: best sdae model {best[0]:.2f} dB, "
                     f"{'above' if gap >= 0 else 'below'} BM3D's published {bm3d} dB by "
                     f"{abs(gap):.2f} dB.")
    return "\n".join(lines) + "\n"
