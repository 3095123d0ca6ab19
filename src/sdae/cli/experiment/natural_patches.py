"""sdae experiment natural-patches: edge detectors from whitened natural image patches."""

from __future__ import annotations

from pathlib import Path

from .. import options as o
from .common import add_experiment, in_run_folder, resumed


def add_parser(exp) -> None:
    e = add_experiment(exp, "natural-patches",
                       "edge detectors from natural image patches: DAE vs AE, weight decay "
                       "and PCA",
                       "Train a plain AE, an AE with weight decay, a Gaussian DAE "
                       "and a masking DAE (tied, sigmoid code, linear decoder, "
                       "squared error; same initialisation and schedule) at two "
                       "widths on whitened natural image patches, and PCA; fit a "
                       "Gabor function to every filter. Writes filters.png and "
                       "results.json.",
                       handler=run,
                       data="folder holding natural/ and train400/ (default: $SDAE_DATA_DIR)",
                       out="runs/natural-patches")
    e.add_argument("--images", type=Path, nargs="+", default=None,
                   help="image files or folders to use instead (PNG, JPEG, TIFF; 16-bit "
                        "images are log-transformed)")
    e.add_argument("--patch-size", type=o.positive_int, default=12, help="(default: 12)")
    e.add_argument("--patches", type=o.positive_int, default=100_000,
                   help="training patches (default: 100000)")
    e.add_argument("--whitening", choices=("none", "zca", "1/f"), default="1/f",
                   help="ZCA on the patches, or Olshausen & Field's 1/f filter on the "
                        "images (default: 1/f)")
    e.add_argument("--hidden", type=o.positive_int, nargs="+", default=[64, 256],
                   help="hidden layer widths (default: 64 256)")
    e.add_argument("--sigma", type=float, default=2.0,
                   help="Gaussian noise σ, in units of the patches' standard deviation "
                        "(default: 2)")
    e.add_argument("--weight-decay", type=float, default=1e-3,
                   help="λ of the weight-decay AE (default: 0.001)")
    e.add_argument("--epochs", type=o.positive_int, default=50, help="(default: 50)")
    o.add_run_options(e)
    o.add_resume_options(e)


def run(args) -> None:
    from ...experiments import natural_patches as experiment
    from ...io.data.registry import find_folder

    args = resumed(args)
    folders = args.images or [find_folder(name, args.data_dir)
                              for name in experiment.DEFAULT_FOLDERS]
    settings = experiment.PatchSettings(
        patch_size=args.patch_size, n_patches=args.patches, whitening=args.whitening,
        hidden_sizes=list(args.hidden), gaussian_sigma=args.sigma,
        weight_decay=args.weight_decay)
    settings.train = o.run_config(settings.train, args, epochs=args.epochs)
    settings.check()
    results, out = in_run_folder(args, lambda out, checkpoints: experiment.run(
        folders, out, settings, checkpoints=checkpoints))
    print(f"\n{'model':<36}{'units':>6}{'edge detectors':>16}{'median R²':>11}{'seconds':>9}")
    for m in results["models"]:
        print(f"{m['name']:<36}{m['hidden_units']:>6}{m['edge_detector_fraction']:>16.0%}"
              f"{m['median_gabor_r2']:>11.2f}{m['train_seconds']:>9.0f}")
    print(f"\nwrote {out}/filters.png, results.json ({results['seconds']:.0f} s in all)")
