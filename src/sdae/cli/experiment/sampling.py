"""sdae experiment sampling: a walkback DAE's samples, judged by a classifier."""

from __future__ import annotations

from .. import options as o
from .common import add_experiment, in_run_folder, resumed


def add_parser(exp) -> None:
    e = add_experiment(exp, "sampling",
                       "samples of a walkback DAE trained on MNIST, judged by a classifier",
                       "Train a DAE with walkback on MNIST, run chains from "
                       "noise, and measure the samples: the share a classifier "
                       "labels with confidence >= 0.9, the class histogram, and "
                       "the distance to the nearest training image.",
                       handler=run,
                       data="folder with MNIST", out="runs/sampling")
    e.add_argument("--epochs", type=o.positive_int, default=5, help="(default: 5)")
    e.add_argument("--walkback", type=float, default=0.5,
                   help="probability of one more walkback step (default: 0.5; 0: none)")
    o.add_run_options(e)
    o.add_resume_options(e)


def run(args) -> None:
    from ...experiments import sampling as experiment
    from ...io.data import load_mnist
    from ..train import check_walkback

    args = resumed(args)
    check_walkback(args.walkback)
    settings = experiment.SamplingSettings(walkback=args.walkback, seed=args.seed)
    settings.train = o.run_config(settings.train, args, epochs=args.epochs)
    dataset = load_mnist(args.data_dir)
    _, out = in_run_folder(args, lambda out, checkpoints: experiment.run(
        dataset, out, settings, checkpoints=checkpoints))
    print(f"wrote {out}/model.safetensors, chains.png, samples.png, samples.npy (the "
          "recorded chains), results.json")
