"""The choices behind the shipped denoiser, measured on held-out Train400 images.

    python benchmarks/denoiser_choices.py --data-dir ../shared/data --out runs/choices

Each variant is trained the same way (the same crops of the same 380 Train400 images, the
same epochs, Adam, σ drawn in [0, 75] per crop) and then denoises the 20 held-out Train400
images, whole, at σ = 15, 25 and 50 (σ given to models told it; the noise the same for
every variant). Never BSD68 or Set12: those are the test sets. Prints and writes
OUT/results.json: parameters, training seconds, seconds per 512×512 image and the PSNRs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from sdae.core.training import TrainConfig
from sdae.experiments.denoising import load_sets, noisy_copy, psnr
from sdae.tasks.denoising import (
    ConvDenoiser,
    ImageNoise,
    SubimageDenoiser,
    denoise,
    train_denoiser,
)

NOISE = ImageNoise("gaussian", 0.0, 75.0)
VARIANTS = {  # name -> (class, options, training crop)
    "sub12x64": (SubimageDenoiser, {"depth": 12, "width": 64}, 64),
    "sub15x64": (SubimageDenoiser, {"depth": 15, "width": 64}, 64),
    "sub12x64-clean": (SubimageDenoiser, {"depth": 12, "width": 64, "target": "clean"}, 64),
    "sub12x48": (SubimageDenoiser, {"depth": 12, "width": 48}, 64),
    "sub18x48": (SubimageDenoiser, {"depth": 18, "width": 48}, 64),
    "conv10x48": (ConvDenoiser, {"depth": 10, "width": 48, "target": "noise"}, 40),
}
SIGMAS = (15, 25, 50)
N_VALID = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--stride", type=int, default=29, help="between training crops")
    parser.add_argument("--out", type=Path, default=Path("runs/denoiser-choices"))
    args = parser.parse_args()
    train = load_sets(args.data_dir)["train400"]
    train, valid = train[:-N_VALID], train[-N_VALID:]
    noisy = {s: [noisy_copy(x, s, 1000 * s + i) for i, x in enumerate(valid)] for s in SIGMAS}
    big = torch.rand(512, 512).numpy()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.variants:
        cls, options, crop = VARIANTS[name]
        model = cls(1, **options, noise=NOISE, generator=torch.Generator().manual_seed(0))
        config = TrainConfig(epochs=args.epochs, batch_size=64, lr=1e-3, optimizer="adam",
                             lr_decay=0.5, progress=False)
        start = time.perf_counter()
        train_denoiser(model, train, config, patch_size=crop, stride=args.stride)
        seconds = time.perf_counter() - start
        given = model.uses_sigma
        denoise(model, big, 25 if given else None)
        t = time.perf_counter()
        denoise(model, big, 25 if given else None)
        per_image = time.perf_counter() - t
        scores = {s: float(np.mean([psnr(x, denoise(model, y, s if given else None))
                                    for x, y in zip(valid, noisy[s], strict=True)]))
                  for s in SIGMAS}
        results[name] = {"options": options, "crop": crop,
                         "parameters": sum(p.numel() for p in model.parameters()),
                         "train_seconds": round(seconds, 1),
                         "seconds_per_512x512": round(per_image, 3),
                         "psnr": {s: round(v, 3) for s, v in scores.items()}}
        print(f"{name:<15} {results[name]['parameters']:>8,} parameters  train "
              f"{seconds / 60:5.1f} min  {per_image:.2f} s/512²  PSNR "
              + "  ".join(f"σ={s}: {v:.2f}" for s, v in scores.items()), flush=True)
        (args.out / "results.json").write_text(json.dumps(
            {"epochs": args.epochs, "stride": args.stride, "threads": torch.get_num_threads(),
             "results": results}, indent=1))


if __name__ == "__main__":
    main()
