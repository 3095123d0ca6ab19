"""sdae experiment: the papers' experiments. Each writes a run folder (sdae.io.runs) whose
training phases checkpoint, so that a killed experiment continues (--resume OUT, or the
same command again)."""

from __future__ import annotations

from pathlib import Path

from . import experiment_sda
from . import options as o


def add_parser(sub) -> None:
    p = sub.add_parser("experiment", help="reproduce an experiment of the papers")
    exp = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for add in (_add_mnist_filters, _add_natural_patches, experiment_sda.add_parser,
                _add_imputation, _add_sampling, _add_denoising):
        add(exp)


def in_run_folder(args, work):
    """Run ``work(out, checkpoints)`` in the run folder ``args.out`` by the resume rule;
    return its results and the folder."""
    from .run_folder import hint, open_run

    command = ["experiment", args.experiment]
    folder = open_run(args, command)
    with folder.guard(hint(command, folder.out)):
        results = work(folder.out, folder.checkpoints)
    folder.finish()
    return results, folder.out


def resumed(args):
    from .run_folder import resumed_args

    return resumed_args(args, ["experiment", args.experiment])


def _add_mnist_filters(exp) -> None:
    e = exp.add_parser("mnist-filters", help="AE vs 25%% and 50%% masking DAE filters on MNIST",
                       description="Train a plain AE and masking DAEs (784-500, tied, sigmoid, "
                                   "cross-entropy, same initialisation and epochs) on MNIST; "
                                   "write filters.png, reconstructions.png and results.json.")
    o.add_data_dir(e, "folder with MNIST")
    o.add_no_download(e, "MNIST")
    o.add_out(e, "runs/mnist-filters", "output folder (default: runs/mnist-filters)")
    e.add_argument("--hidden", type=o.positive_int, default=500, help="hidden units")
    e.add_argument("--noise-level", "--noise-levels", dest="noise_levels", type=float,
                   nargs="+", default=[0.0, 0.25, 0.5], metavar="LEVEL",
                   help="one model per level; 0 is the plain autoencoder (default: 0 0.25 0.5)")
    e.add_argument("--corruption", default="masking",
                   choices=("masking", "fixed_masking", "salt_and_pepper"),
                   help="corruption process of the DAEs")
    o.add_train_options(e, epochs=15, batch_size=20, lr=0.1)
    o.add_resume_options(e)
    e.set_defaults(handler=mnist_filters)


def mnist_filters(args) -> None:
    from ..experiments import mnist_filters
    from ..io.data import load_mnist

    args = resumed(args)
    dataset = load_mnist(args.data_dir, download=not args.no_download)
    results, out = in_run_folder(args, lambda out, checkpoints: mnist_filters.run(
        dataset, out, noise_levels=args.noise_levels, n_hidden=args.hidden,
        corruption=args.corruption, train_config=o.train_config(args),
        checkpoints=checkpoints))
    print_filters_summary(results, out)


def print_filters_summary(results: dict, out: Path) -> None:
    print(f"\n{'model':<24}{'probe error':>12}{'recon. error':>14}{'low-freq.':>11}{'seconds':>9}")
    print(f"{'raw pixels':<24}{results['raw_pixels']['probe_test_error']:>12.2%}")
    for m in results["models"]:
        print(f"{m['name']:<24}{m['probe_test_error']:>12.2%}"
              f"{m['reconstruction_error_test']:>14.2f}{m['filter_low_frequency_energy']:>11.3f}"
              f"{m['train_seconds']:>9.0f}")
    print(f"\nwrote {out}/filters.png, reconstructions.png, results.json "
          f"({results['seconds']:.0f} s in all)")


def _add_natural_patches(exp) -> None:
    e = exp.add_parser("natural-patches", help="edge detectors from natural image patches: "
                                               "DAE vs AE, weight decay and PCA",
                       description="Train a plain AE, an AE with weight decay, a Gaussian DAE "
                                   "and a masking DAE (tied, sigmoid code, linear decoder, "
                                   "squared error; same initialisation and schedule) at two "
                                   "widths on whitened natural image patches, and PCA; fit a "
                                   "Gabor function to every filter. Writes filters.png and "
                                   "results.json.")
    o.add_data_dir(e, "folder holding natural/ and train400/ (default: $SDAE_DATA_DIR)")
    e.add_argument("--images", type=Path, nargs="+", default=None,
                   help="image files or folders to use instead (PNG, JPEG, TIFF; 16-bit "
                        "images are log-transformed)")
    o.add_out(e, "runs/natural-patches")
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
    e.set_defaults(handler=natural_patches)


def natural_patches(args) -> None:
    from dataclasses import replace

    from ..experiments import natural_patches
    from ..io.data.registry import find_folder

    args = resumed(args)
    folders = args.images or [find_folder(name, args.data_dir)
                              for name in natural_patches.DEFAULT_FOLDERS]
    settings = natural_patches.PatchSettings(
        patch_size=args.patch_size, n_patches=args.patches, whitening=args.whitening,
        hidden_sizes=list(args.hidden), gaussian_sigma=args.sigma,
        weight_decay=args.weight_decay)
    settings.train = replace(settings.train, epochs=args.epochs, seed=args.seed,
                             device=args.device, progress=args.progress)
    settings.check()
    results, out = in_run_folder(args, lambda out, checkpoints: natural_patches.run(
        folders, out, settings, checkpoints=checkpoints))
    print(f"\n{'model':<36}{'units':>6}{'edge detectors':>16}{'median R²':>11}{'seconds':>9}")
    for m in results["models"]:
        print(f"{m['name']:<36}{m['hidden_units']:>6}{m['edge_detector_fraction']:>16.0%}"
              f"{m['median_gabor_r2']:>11.2f}{m['train_seconds']:>9.0f}")
    print(f"\nwrote {out}/filters.png, results.json ({results['seconds']:.0f} s in all)")


def _add_imputation(exp) -> None:
    e = exp.add_parser("imputation", help="DAEImputer against mean, KNN and iterative "
                                          "imputation on Letter, Spam and Breast",
                       description="Remove entries completely at random (each rate, each "
                                   "seed), impute them with DAEImputer and scikit-learn's "
                                   "imputers, and report the RMSE on the removed entries of "
                                   "each min-max scaled table.")
    o.add_data_dir(e, "folder holding tabular/")
    o.add_out(e, "runs/imputation")
    e.add_argument("--tables", nargs="+", choices=("letter", "spam", "breast"),
                   default=["letter", "spam", "breast"], help="tables")
    e.add_argument("--rates", type=float, nargs="+", default=[0.2, 0.5, 0.8],
                   help="shares of entries removed (default: 0.2 0.5 0.8)")
    e.add_argument("--seeds", type=o.non_negative_int, nargs="+", default=[0, 1, 2, 3, 4],
                   help="one draw of the removed entries per seed")
    e.add_argument("--methods", nargs="+", default=None,
                   choices=("DAEImputer", "mean", "KNN", "Iterative", "Iterative-ExtraTrees"),
                   help="(default: all)")
    e.add_argument("--dae-epochs", type=o.positive_int, default=None,
                   help="DAEImputer epochs (default: about 80 000 updates, at most 2000 epochs)")
    e.add_argument("--jobs", type=o.positive_int, default=1,
                   help="imputations run at once, in separate processes sharing the CPU cores "
                        "(default: 1; the number of cores is fastest)")
    o.add_resume_options(e)
    e.set_defaults(handler=imputation)


def imputation(args) -> None:
    from ..errors import ConfigError
    from ..experiments import imputation

    args = resumed(args)
    if not all(0 < rate < 1 for rate in args.rates):
        raise ConfigError(f"--rates must lie in (0, 1), got {args.rates}")
    _, out = in_run_folder(args, lambda out, checkpoints: imputation.run(
        out, args.data_dir, tables=args.tables, rates=args.rates, seeds=args.seeds,
        methods=args.methods or imputation.METHODS, jobs=args.jobs,
        dae_options={"epochs": args.dae_epochs} if args.dae_epochs else None,
        checkpoints=checkpoints))
    print()
    print((out / "results.md").read_text())


def _add_sampling(exp) -> None:
    e = exp.add_parser("sampling", help="samples of a walkback DAE trained on MNIST, judged "
                                        "by a classifier",
                       description="Train a DAE with walkback on MNIST, run chains from "
                                   "noise, and measure the samples: the share a classifier "
                                   "labels with confidence >= 0.9, the class histogram, and "
                                   "the distance to the nearest training image.")
    o.add_data_dir(e, "folder with MNIST")
    o.add_out(e, "runs/sampling")
    e.add_argument("--epochs", type=o.positive_int, default=5, help="(default: 5)")
    e.add_argument("--walkback", type=float, default=0.5,
                   help="probability of one more walkback step (default: 0.5; 0: none)")
    o.add_run_options(e)
    o.add_resume_options(e)
    e.set_defaults(handler=sampling)


def sampling(args) -> None:
    from dataclasses import replace

    from ..experiments import sampling
    from ..io.data import load_mnist
    from .train import check_walkback

    args = resumed(args)
    check_walkback(args.walkback)
    settings = sampling.SamplingSettings(walkback=args.walkback, seed=args.seed)
    settings.train = replace(settings.train, epochs=args.epochs, seed=args.seed,
                             device=args.device, progress=args.progress)
    dataset = load_mnist(args.data_dir)
    _, out = in_run_folder(args, lambda out, checkpoints: sampling.run(
        dataset, out, settings, checkpoints=checkpoints))
    print(f"wrote {out}/model.safetensors, chains.png, samples.png, samples.npy (the "
          "recorded chains), results.json")


def _add_denoising(exp) -> None:
    e = exp.add_parser("denoising", help="sdae's image denoisers against non-local means, "
                                         "total variation, wavelets and BM3D on BSD68 / Set12",
                       description="Train a convolutional and a patch-based DAE denoiser (each "
                                   "one blind model for σ in 0-55) on Train400, then denoise "
                                   "BSD68 and Set12 at σ = 15, 25, 50 with them and with "
                                   "scikit-image's non-local means, total variation and "
                                   "wavelet denoisers (and BM3D when the bm3d package is "
                                   "installed), all on the same noisy images. Writes "
                                   "OUT/results.json, results.md, crops.png and the models.")
    o.add_data_dir(e, "folder with train400/, bsd68/ and set12/")
    o.add_out(e, "runs/denoising")
    e.add_argument("--methods", nargs="+", default=None,
                   choices=("conv", "patch", "nlm", "tv", "wavelet", "bm3d"),
                   help="a subset of the methods (default: all)")
    e.add_argument("--sigmas", type=o.positive_int, nargs="+", default=None,
                   help="noise levels on the 0-255 scale (default: 15 25 50)")
    e.add_argument("--epochs", type=o.positive_int, default=None,
                   help="training epochs of both sdae models (default: 6 for the "
                        "convolutional one, 5 for the patch one; about 35 minutes in all on "
                        "2 CPU cores)")
    e.add_argument("--train-images", type=o.positive_int, default=None,
                   help="train on only the first N Train400 images (a quick check)")
    o.add_run_options(e)
    o.add_resume_options(e)
    e.set_defaults(handler=denoising)


def denoising(args) -> None:
    from dataclasses import replace

    from ..experiments import denoising

    args = resumed(args)
    settings = denoising.DenoisingSettings(seed=args.seed)
    if args.sigmas:
        settings.sigmas = list(args.sigmas)
    common = {"seed": args.seed, "progress": args.progress}
    if args.epochs:
        common["epochs"] = args.epochs
    settings.conv_train = replace(settings.conv_train, **common)
    settings.patch_train = replace(settings.patch_train, **common)
    sets = denoising.load_sets(args.data_dir)
    if args.train_images:
        sets["train400"] = sets["train400"][: args.train_images + settings.n_valid]
    _, out = in_run_folder(args, lambda out, checkpoints: denoising.run(
        sets, out, settings, methods=args.methods or denoising.MODELS + denoising.CLASSIC,
        device=args.device, checkpoints=checkpoints))
    print()
    print((out / "results.md").read_text())
