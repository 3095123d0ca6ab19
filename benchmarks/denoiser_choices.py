"""The choices behind the shipped denoiser, measured on held-out Train400 images.

    python benchmarks/denoiser_choices.py --data-dir ../shared/data --precision bf16 \
        --out runs/choices

Each variant is trained the same way (the same crops of the same 380 Train400 images, the
same epochs, Adam, σ drawn in [0, 75] per crop) and then denoises the 20 held-out Train400
images, whole, at σ = 15, 25 and 50 (σ given to models told it; the noise the same for
every variant). Never BSD68 or Set12: those are the test sets. Prints and writes
OUT/results.json: parameters, training seconds, seconds per 512×512 image and the PSNRs.

Two of the choices are not options of the library's model, so they are built here, and
join the library only if they pay: batch normalisation after every hidden convolution (as
in DnCNN and FFDNet), and a loss that weights each crop's squared error by 1/(σ² + 5²)
(on the 0-255 scale) so that every noise level counts alike, where the plain mean squared
error is dominated by the loudest crops.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sdae.core.training import PRECISIONS, TrainConfig, train
from sdae.experiments.denoising import load_sets, noisy_copy, psnr
from sdae.tasks.denoising import (
    ConvDenoiser,
    ImageNoise,
    SubimageDenoiser,
    denoise,
    train_denoiser,
)
from sdae.tasks.denoising.patches import training_patches

NOISE = ImageNoise("gaussian", 0.0, 75.0)
VARIANTS = {  # name -> (class, options, training crop, batch norm, σ-weighted loss)
    "sub12x64": (SubimageDenoiser, {"depth": 12, "width": 64}, 64, False, False),
    "sub15x64": (SubimageDenoiser, {"depth": 15, "width": 64}, 64, False, False),
    "sub15x64-bn": (SubimageDenoiser, {"depth": 15, "width": 64}, 64, True, False),
    "sub15x64-weighted": (SubimageDenoiser, {"depth": 15, "width": 64}, 64, False, True),
    "sub12x64-clean": (SubimageDenoiser, {"depth": 12, "width": 64, "target": "clean"}, 64,
                       False, False),
    "sub12x48": (SubimageDenoiser, {"depth": 12, "width": 48}, 64, False, False),
    "sub18x48": (SubimageDenoiser, {"depth": 18, "width": 48}, 64, False, False),
    "conv10x48": (ConvDenoiser, {"depth": 10, "width": 48, "target": "noise"}, 40, False,
                  False),
}
SIGMAS = (15, 25, 50)
N_VALID = 20
FLOOR = 5 / 255  # the weighted loss's σ floor: clean crops (σ = 0) keep a finite weight


def with_batch_norm(model: SubimageDenoiser) -> SubimageDenoiser:
    """``model`` with batch normalisation between each hidden convolution and its ReLU."""
    layers = []
    for layer in model.net:
        layers.append(layer)
        if isinstance(layer, nn.ReLU):
            conv = layers.pop(-2)
            layers[-1:-1] = [conv, nn.BatchNorm2d(conv.out_channels)]
    model.net = nn.Sequential(*layers)
    return model


def weighted_objective(model, batch, generator, rows=None):
    """Each crop's squared error over (σ² + FLOOR²), normalised to a mean weight of 1."""
    clean = batch[0]
    noisy, sigma = model.noise.draw(clean, generator)
    errors = (model.restore(noisy, sigma) - clean).square().mean(dim=(1, 2, 3))
    weights = 1 / (sigma.square() + FLOOR**2)
    return (errors * weights).sum() / weights.sum()

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--stride", type=int, default=29, help="between training crops")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="of the training steps (bf16: 5 times faster on CPUs with AMX)")
    parser.add_argument("--out", type=Path, default=Path("runs/denoiser-choices"))
    args = parser.parse_args()
    images = load_sets(args.data_dir)["train400"]
    images, valid = images[:-N_VALID], images[-N_VALID:]
    noisy = {s: [noisy_copy(x, s, 1000 * s + i) for i, x in enumerate(valid)] for s in SIGMAS}
    big = torch.rand(512, 512).numpy()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.variants:
        cls, options, crop, batch_norm, weighted = VARIANTS[name]
        model = cls(1, **options, noise=NOISE, generator=torch.Generator().manual_seed(0))
        if batch_norm:
            model = with_batch_norm(model)
        config = TrainConfig(epochs=args.epochs, batch_size=64, lr=1e-3, optimizer="adam",
                             lr_decay=0.5, precision=args.precision, progress=False)
        start = time.perf_counter()
        if weighted:
            train(model, weighted_objective, training_patches(images, crop, args.stride),
                  config)
        else:
            train_denoiser(model, images, config, patch_size=crop, stride=args.stride)
        seconds = time.perf_counter() - start
        model.eval()
        given = model.uses_sigma
        denoise(model, big, 25 if given else None)
        t = time.perf_counter()
        denoise(model, big, 25 if given else None)
        per_image = time.perf_counter() - t
        scores = {s: float(np.mean([psnr(x, denoise(model, y, s if given else None))
                                    for x, y in zip(valid, noisy[s], strict=True)]))
                  for s in SIGMAS}
        results[name] = {"options": options, "crop": crop, "batch_norm": batch_norm,
                         "sigma_weighted_loss": weighted,
                         "parameters": sum(p.numel() for p in model.parameters()),
                         "train_seconds": round(seconds, 1),
                         "seconds_per_512x512": round(per_image, 3),
                         "psnr": {s: round(v, 3) for s, v in scores.items()}}
        print(f"{name:<15} {results[name]['parameters']:>8,} parameters  train "
              f"{seconds / 60:5.1f} min  {per_image:.2f} s/512²  PSNR "
              + "  ".join(f"σ={s}: {v:.2f}" for s, v in scores.items()), flush=True)
        (args.out / "results.json").write_text(json.dumps(
            {"epochs": args.epochs, "stride": args.stride, "precision": args.precision,
             "threads": torch.get_num_threads(),
             "results": results}, indent=1))


if __name__ == "__main__":
    main()
