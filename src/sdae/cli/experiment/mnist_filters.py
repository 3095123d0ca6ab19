"""sdae experiment mnist-filters: AE against masking DAEs, their filters on MNIST."""

from __future__ import annotations

from pathlib import Path

from .. import options as o
from .common import add_experiment, in_run_folder, resumed


def add_parser(exp) -> None:
    e = add_experiment(exp, "mnist-filters",
                       "AE vs 25%% and 50%% masking DAE filters on MNIST",
                       "Train a plain AE and masking DAEs (784-500, tied, sigmoid, "
                       "cross-entropy, same initialisation and epochs) on MNIST; "
                       "write filters.png, reconstructions.png and results.json.",
                       handler=run,
                       data="folder with MNIST", no_download="MNIST",
                       out="runs/mnist-filters",
                       out_help="output folder (default: runs/mnist-filters)")
    e.add_argument("--hidden", type=o.positive_int, default=500, help="hidden units")
    e.add_argument("--noise-level", "--noise-levels", dest="noise_levels", type=float,
                   nargs="+", default=[0.0, 0.25, 0.5], metavar="LEVEL",
                   help="one model per level; 0 is the plain autoencoder (default: 0 0.25 0.5)")
    e.add_argument("--corruption", default="masking",
                   choices=("masking", "fixed_masking", "salt_and_pepper"),
                   help="corruption process of the DAEs")
    o.add_train_options(e, epochs=15, batch_size=20, lr=0.1)
    o.add_resume_options(e)


def run(args) -> None:
    from ...experiments import mnist_filters as experiment
    from ...io.data import load_mnist

    args = resumed(args)
    dataset = load_mnist(args.data_dir, download=not args.no_download)
    results, out = in_run_folder(args, lambda out, checkpoints: experiment.run(
        dataset, out, noise_levels=args.noise_levels, n_hidden=args.hidden,
        corruption=args.corruption, train_config=o.train_config(args),
        checkpoints=checkpoints))
    print_filters_summary(results, out)


def print_filters_summary(results: dict, out: Path) -> None:
    """The table of the models compared (this command's and sdae demo's)."""
    print(f"\n{'model':<24}{'probe error':>12}{'recon. error':>14}{'low-freq.':>11}{'seconds':>9}")
    print(f"{'raw pixels':<24}{results['raw_pixels']['probe_test_error']:>12.2%}")
    for m in results["models"]:
        print(f"{m['name']:<24}{m['probe_test_error']:>12.2%}"
              f"{m['reconstruction_error_test']:>14.2f}{m['filter_low_frequency_energy']:>11.3f}"
              f"{m['train_seconds']:>9.0f}")
    print(f"\nwrote {out}/filters.png, reconstructions.png, results.json "
          f"({results['seconds']:.0f} s in all)")
