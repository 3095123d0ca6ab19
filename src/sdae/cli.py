"""The ``sdae`` command: a thin layer over the library.

Only argparse is imported at start-up (``sdae --help`` answers at once); each command
imports torch and the library when it runs. Errors a user can fix are printed as one line
and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

EXIT_USAGE = 2
NOISE_CANDIDATES = (0.1, 0.25, 0.4)  # sda-mnist --noise-search without values
SHOWN_CHAINS = 10  # sdae sample draws the first ten chains: a grid of a hundred is unreadable


class _Help(argparse.HelpFormatter):
    """States an option's default where its help does not."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text, default = action.help or "", action.default
        if (not action.option_strings or "default" in text or default is None
                or default is False or default is argparse.SUPPRESS):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else default
        return f"{text} (default: {shown})".replace("%", "%%").lstrip()


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (what is wrong, where to read more), no usage dump,
    and every default in the help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str, minimum: int = 1) -> int:
    kind = "a positive" if minimum == 1 else "a non-negative"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {kind} integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {kind} integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    return _positive_int(text, minimum=0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _fraction(text: str) -> float:
    """A share in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def _add_data_options(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--data", default=default,
                   help="'mnist', 'usps', 'digits' (bundled, offline), 'auto' (MNIST if "
                        "found, else digits), or a path: .npy, .npz (x, y), .csv, or a folder "
                        f"of images (default: {default})")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with the data sets (default: $SDAE_DATA_DIR, then the user cache)")
    p.add_argument("--no-download", action="store_true",
                   help="never download: fail if the data are not on disk")


def _add_train_options(p: argparse.ArgumentParser, *, epochs: int, batch_size: int,
                       lr: float) -> None:
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=_positive_int, default=epochs, help=f"(default: {epochs})")
    g.add_argument("--batch-size", type=_positive_int, default=batch_size,
                   help=f"(default: {batch_size})")
    g.add_argument("--lr", type=float, default=lr, help=f"learning rate (default: {lr})")
    g.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                   help="(default: sgd)")
    g.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default: 0)")
    g.add_argument("--weight-decay", type=float, default=0.0,
                   help="L2 penalty λ·Σ‖W‖² on the weights (default: 0)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of initialisation, shuffling and noise (default: 0)")
    g.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    _add_precision_option(g)
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress bars (default: only on a terminal)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """--seed, --device and --progress, as every training command has them."""
    p.add_argument("--seed", type=int, default=0,
                   help="seed of initialisation, shuffling and noise")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress bars (default: only on a terminal)")


def _add_precision_option(p) -> None:
    p.add_argument("--precision", choices=("fp32", "bf16", "tf32"), default="fp32",
                   help="matrix products in float32, bfloat16 (autocast) or TF32 (CUDA); "
                        "'sdae bench' shows which is fastest here (default: fp32)")


def _train_config(args):
    from .core.training import TrainConfig

    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       optimizer=args.optimizer, momentum=args.momentum,
                       weight_decay=args.weight_decay, seed=args.seed, device=args.device,
                       precision=args.precision, progress=args.progress)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="sdae",
        description="Denoising and stacked denoising autoencoders (Vincent et al. 2008, 2010).",
        epilog="Run 'sdae COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"sdae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", help="train a DAE, or a stack of them, on a data set",
                       description="Train a denoising autoencoder, or a stack of them layer by "
                                   "layer (several --hidden sizes) and optionally fine-tune it "
                                   "with labels; write a run folder with the model, its "
                                   "metrics and figures.")
    _add_data_options(p, default="auto")
    p.add_argument("--valid-fraction", type=_fraction, default=0.1,
                   help="share of a user's file held out for validation (default: 0.1)")
    p.add_argument("--stream", action="store_true",
                   help="leave a .npy file on disk (memory-mapped) and stream it to the device "
                        "in chunks: data larger than memory; the last --valid-fraction of its "
                        "rows is the validation set")
    g = p.add_argument_group("model")
    g.add_argument("--hidden", type=_positive_int, nargs="+", default=[500],
                   help="hidden units; several values train a stack, bottom layer first; a "
                        "layer may be wider than its input (default: 500)")
    g.add_argument("--corruption", default="masking",
                   choices=("none", "masking", "fixed_masking", "gaussian", "salt_and_pepper"),
                   help="corruption process q_D (default: masking)")
    g.add_argument("--noise-level", type=float, nargs="+", default=[0.25],
                   help="q or ν for masking and salt-and-pepper, σ for gaussian; one value, "
                        "or one per layer (default: 0.25)")
    g.add_argument("--clip", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="data range: clamps gaussian noise, salt-and-pepper values")
    g.add_argument("--untied", action="store_true", help="learn W' instead of using Wᵀ")
    g.add_argument("--activation", choices=("sigmoid", "tanh", "relu"), default="sigmoid",
                   help="of the hidden units (default: sigmoid)")
    g.add_argument("--decoder", choices=("sigmoid", "linear"), default="sigmoid",
                   help="sigmoid for data in [0, 1], linear for real-valued data")
    g.add_argument("--loss", choices=("cross_entropy", "squared_error"), default=None,
                   help="default: cross_entropy with a sigmoid decoder, else squared_error")
    g.add_argument("--emphasis", type=float, nargs=2, metavar=("ALPHA", "BETA"),
                   help="weights of the loss on corrupted / other components")
    g.add_argument("--walkback", type=float, default=0.0, metavar="P",
                   help="walkback training for a model to sample from (sdae sample): each "
                        "example walks on with probability P, every step trained to "
                        "reconstruct it (Bengio et al. 2013; default: 0, none)")
    _add_train_options(p, epochs=15, batch_size=20, lr=0.1)
    g = p.add_argument_group("unsupervised fine-tuning")
    g.add_argument("--unsupervised-epochs", type=int, default=0,
                   help="after pre-training, epochs of training the whole deep autoencoder "
                        "(every encoder, then the mirrored decoders) on reconstruction of "
                        "the clean input, with the training options above (default: 0)")
    g = p.add_argument_group("supervised fine-tuning (needs labels: an .npz with y, or mnist)")
    g.add_argument("--finetune-epochs", type=int, default=0,
                   help="epochs of fine-tuning with a softmax layer on top; the parameters of "
                        "the best validation epoch are kept (default: 0, none)")
    g.add_argument("--finetune-lr", type=float, default=0.1, help="(default: 0.1)")
    g.add_argument("--finetune-momentum", type=float, default=None,
                   help="(default: 0.9 with SGD, none with Adam)")
    g.add_argument("--finetune-warmup", type=float, default=1.0, metavar="EPOCHS",
                   help="raise the learning rate linearly from 0 over this many epochs, so "
                        "that the first momentum steps do not saturate the units (default: 1)")
    p.add_argument("--out", type=Path, default=Path("runs/train"),
                   help="run folder (default: runs/train); every phase checkpoints there")
    p.add_argument("--checkpoint-every", type=_positive_int, default=1, metavar="N",
                   help="write the checkpoint every N epochs, at the end of each phase, and "
                        "on Ctrl-C or SIGTERM (default: 1)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", default=None,
                   help="continue a stopped or killed run exactly where it stopped, with the "
                        "options it was started with (give no others)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("filters", help="draw the filters W_i/‖W_i‖ of a saved model",
                       description="Write the filters of a saved model as a tiled image.")
    p.add_argument("model", type=Path, help="a .safetensors model file")
    p.add_argument("--out", type=Path, default=Path("filters.png"),
                   help="PNG to write (default: filters.png)")
    p.add_argument("-n", "--n-filters", type=_positive_int, default=100,
                   help="how many filters (default: 100)")
    p.add_argument("--image-shape", type=_positive_int, nargs=2, metavar=("H", "W"),
                   help="input image shape (default: square)")
    p.set_defaults(handler=cmd_filters)

    p = sub.add_parser("info", help="what a model file holds",
                       description="Print the kind, layers, options and training record of "
                                   "a model file (as JSON with --json).")
    p.add_argument("model", type=Path, help="a .safetensors model file")
    p.add_argument("--json", action="store_true", help="print the whole header as JSON")
    p.set_defaults(handler=cmd_info)

    for name, what in (("encode", "the code of each example (the top layer's for a stack)"),
                       ("reconstruct", "the clean reconstruction of each example"),
                       ("predict", "the class of each example (a fine-tuned stack)")):
        p = sub.add_parser(name, help=f"write {what}",
                           description=f"Apply a saved model to data and write {what} as "
                                       ".npy (or .csv when --out ends in .csv).")
        p.add_argument("model", type=Path, help="a .safetensors model file")
        p.add_argument("data", type=Path,
                       help=".npy, .npz (array x), .csv, or a folder of images")
        p.add_argument("--out", type=Path, required=True, help="output .npy or .csv file")
        if name == "encode":
            p.add_argument("--depth", type=_positive_int, default=None,
                           help="for a stack: the code of the first DEPTH layers (default: all)")
        if name == "predict":
            p.add_argument("--proba", action="store_true",
                           help="write each class's probability instead (a row per example)")
        p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
        p.set_defaults(handler=cmd_apply)

    p = sub.add_parser("impute", help="fill the missing cells of a CSV table with a DAE",
                       description="Train a denoising autoencoder on the observed cells of a "
                                   "CSV table (missing: empty, NA, N/A, NaN, null, None or ?) "
                                   "and write the table with every missing cell filled; "
                                   "observed cells and the header are kept as they are. "
                                   "Columns of numbers are numeric, any other is categorical.")
    p.add_argument("data", type=Path, help="a .csv table")
    p.add_argument("--out", type=Path, required=True, help="the completed .csv to write")
    p.add_argument("--hidden", type=_positive_int, nargs="+", default=[256, 256],
                   help="encoder widths (default: 256 256)")
    p.add_argument("--noise-level", type=float, default=0.25,
                   help="share of observed columns masked in training (default: 0.25)")
    p.add_argument("--emphasis", type=float, nargs=2, default=[0.75, 0.25],
                   metavar=("ALPHA", "BETA"),
                   help="loss weights of the cells the training noise masked and of those the "
                        "network saw (default: 0.75 0.25)")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="(default: about 80 000 updates, at most 2000 epochs)")
    p.add_argument("--n-imputations", type=_positive_int, default=1,
                   help="average this many random draws instead of one deterministic pass")
    _add_run_options(p)
    p.set_defaults(handler=cmd_impute)

    p = sub.add_parser("denoise", help="train an image denoiser, or apply one to an image")
    den = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    d = den.add_parser("train", help="train a denoiser on clean images",
                       description="Train a convolutional or patch-based DAE to restore "
                                   "clean images from copies corrupted on the fly, on crops "
                                   "of the images in --images (any size; all grayscale or "
                                   "all colour). Writes a .safetensors model.")
    d.add_argument("--images", type=Path, nargs="+", required=True, metavar="DIR",
                   help="folders (or files) of clean training images")
    d.add_argument("--valid-images", type=Path, nargs="+", default=None, metavar="DIR",
                   help="held-out images: the epoch with the lowest error on them is kept")
    d.add_argument("--out", type=Path, required=True, help="the .safetensors model to write")
    g = d.add_argument_group("noise")
    g.add_argument("--corruption", "--noise", dest="corruption",
                   choices=("gaussian", "salt_and_pepper", "masking"),
                   default="gaussian", help="corruption process (default: gaussian)")
    g.add_argument("--sigma", type=float, default=25.0,
                   help="Gaussian σ on the 0-255 scale (default: 25)")
    g.add_argument("--sigma-max", type=float, default=None,
                   help="train one blind model for every σ in [--sigma, --sigma-max]")
    g.add_argument("--fraction", type=float, default=0.2,
                   help="share of pixels hit by salt-and-pepper or masking (default: 0.2)")
    g = d.add_argument_group("model")
    g.add_argument("--model", choices=("conv", "patch"), default="conv",
                   help="fully convolutional, or stacked fully connected on patches "
                        "(default: conv)")
    g.add_argument("--target", choices=("clean", "noise"), default="noise",
                   help="what the network outputs: the noise to subtract from the input "
                        "(residual learning: far better on a short schedule), or the clean "
                        "image (default: noise)")
    g.add_argument("--depth", type=_positive_int, default=10,
                   help="conv: convolution layers (default: 10)")
    g.add_argument("--width", type=_positive_int, default=48,
                   help="conv: feature maps per hidden layer (default: 48)")
    g.add_argument("--patch-size", type=_positive_int, default=13,
                   help="patch: patch side in pixels (default: 13)")
    g.add_argument("--hidden", type=_positive_int, nargs="+", default=[1024, 1024],
                   help="patch: encoder widths (default: 1024 1024)")
    g.add_argument("--pretrain-epochs", type=int, default=0,
                   help="patch: epochs of greedy layer-wise DAE pre-training (default: 0)")
    g.add_argument("--channels", type=_positive_int, default=None,
                   help="1 for grayscale, 3 for colour (default: that of the images)")
    g = d.add_argument_group("training")
    g.add_argument("--epochs", type=_positive_int, default=5, help="(default: 5)")
    g.add_argument("--batch-size", type=_positive_int, default=64, help="(default: 64)")
    g.add_argument("--lr", type=float, default=1e-3, help="Adam's step size (default: 0.001)")
    g.add_argument("--lr-decay", type=float, default=0.6,
                   help="learning-rate factor after every epoch (default: 0.6)")
    g.add_argument("--crop", type=_positive_int, default=40,
                   help="conv: side of the training crops (default: 40)")
    g.add_argument("--stride", type=_positive_int, default=10,
                   help="between training crops or patches (default: 10)")
    g.add_argument("--checkpoint", type=Path, default=None, metavar="FILE",
                   help="save the training there after every epoch and on Ctrl-C; run the "
                        "same command again to continue from it (default: none)")
    _add_run_options(g)
    d.set_defaults(handler=cmd_denoise_train)

    d = den.add_parser("apply", help="denoise an image with a trained model",
                       description="Denoise one image (grayscale or colour, 8- or 16-bit, any "
                                   "size) with a model from 'sdae denoise train'; a grayscale "
                                   "model restores each channel of a colour image.")
    d.add_argument("model", type=Path, help="a denoiser .safetensors file")
    d.add_argument("image", type=Path, help="the noisy image (PNG, TIFF, JPEG...)")
    d.add_argument("--out", type=Path, required=True,
                   help="the image to write (.png, .tif, ...)")
    d.add_argument("--bits", type=int, choices=(8, 16), default=None,
                   help="bits per channel of the output (default: those of the input)")
    d.add_argument("--stride", type=_positive_int, default=None,
                   help="patch models: between patches; 1 is best and slowest "
                        "(default: the model's)")
    d.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    d.set_defaults(handler=cmd_denoise_apply)

    p = sub.add_parser("sample", help="draw samples from a trained DAE (a Markov chain)",
                       description="Run Markov chains that alternate the model's training "
                                   "corruption and a draw from its reconstruction "
                                   "distribution (Bernoulli for a cross-entropy model, "
                                   "Gaussian otherwise), from noise or from data (Bengio et "
                                   "al. 2013). Writes the chains as a .npy array and the first "
                                   f"{SHOWN_CHAINS} as a grid image (a row per chain, a "
                                   "column every --every steps).")
    p.add_argument("model", type=Path, help="a .safetensors model file (a DAE or a stack)")
    p.add_argument("--n", type=_positive_int, default=100, help="number of chains (default: 100)")
    p.add_argument("--steps", type=_positive_int, default=200, help="steps of each chain "
                                                                    "(default: 200)")
    p.add_argument("--every", type=_positive_int, default=None,
                   help="record the chains every this many steps (default: 20, or --steps "
                        "when smaller)")
    p.add_argument("--start", type=Path, default=None, metavar="DATA",
                   help="start the chains from the first --n rows of this .npy/.npz/.csv "
                        "(default: uniform noise)")
    p.add_argument("--sigma", type=_positive_float, default=None,
                   help="standard deviation of a squared-error model's Gaussian "
                        "reconstructions (default: its noise level)")
    p.add_argument("--out", type=Path, default=Path("samples.png"),
                   help="grid image to write; the array goes beside it as .npy (default: "
                        "samples.png)")
    p.add_argument("--image-shape", type=_positive_int, nargs=2, metavar=("H", "W"),
                   default=None, help="(default: square images)")
    p.add_argument("--seed", type=int, default=0, help="seed of the chains")
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("demo", help="the main job: a one-minute version of mnist-filters",
                       description="Train a plain AE and 25% / 50% masking DAEs and compare "
                                   "their filters and features: on MNIST when it is on disk, "
                                   "otherwise on the digits bundled with scikit-learn (offline).")
    p.add_argument("--data-dir", type=Path, default=None, help="where to look for MNIST")
    p.add_argument("--out", type=Path, default=Path("runs/demo"),
                   help="output folder (default: runs/demo)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of initialisation, shuffling and noise")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress bars (default: only on a terminal)")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("bench", help="training speed against this machine's matmul ceiling",
                       description="Measure examples/s and GFLOP/s of DAE layers at several "
                                   "batch sizes beside the time of their bare matrix products "
                                   "and beside a plain DataLoader loop; epoch time against data "
                                   "size and width; each precision. Writes OUT/results.json "
                                   "and OUT/results.md.")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--quick", action="store_true",
                   help="one tiny layer and batch: a check that the benchmark runs (seconds)")
    p.add_argument("--sda-mnist", action="store_true",
                   help="also time the default 'sdae experiment sda-mnist', phase by phase "
                        "(about 20 minutes on 2 CPU cores)")
    p.add_argument("--data-dir", type=Path, default=None, help="folder with MNIST (--sda-mnist)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"),
                   help="output folder (default: runs/bench)")
    p.set_defaults(handler=cmd_bench)

    p = sub.add_parser("experiment", help="reproduce an experiment of the papers")
    exp = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    e = exp.add_parser("mnist-filters", help="AE vs 25%% and 50%% masking DAE filters on MNIST",
                       description="Train a plain AE and masking DAEs (784-500, tied, sigmoid, "
                                   "cross-entropy, same initialisation and epochs) on MNIST; "
                                   "write filters.png, reconstructions.png and results.json.")
    e.add_argument("--data-dir", type=Path, default=None, help="folder with MNIST")
    e.add_argument("--no-download", action="store_true",
                   help="never download: fail if MNIST is not on disk")
    e.add_argument("--out", type=Path, default=Path("runs/mnist-filters"),
                   help="output folder (default: runs/mnist-filters)")
    e.add_argument("--hidden", type=_positive_int, default=500, help="hidden units")
    e.add_argument("--noise-level", "--noise-levels", dest="noise_levels", type=float,
                   nargs="+", default=[0.0, 0.25, 0.5], metavar="LEVEL",
                   help="one model per level; 0 is the plain autoencoder (default: 0 0.25 0.5)")
    e.add_argument("--corruption", default="masking",
                   choices=("masking", "fixed_masking", "salt_and_pepper"),
                   help="corruption process of the DAEs")
    _add_train_options(e, epochs=15, batch_size=20, lr=0.1)
    e.set_defaults(handler=cmd_mnist_filters)

    e = exp.add_parser("natural-patches", help="edge detectors from natural image patches: "
                                               "DAE vs AE, weight decay and PCA",
                       description="Train a plain AE, an AE with weight decay, a Gaussian DAE "
                                   "and a masking DAE (tied, sigmoid code, linear decoder, "
                                   "squared error; same initialisation and schedule) at two "
                                   "widths on whitened natural image patches, and PCA; fit a "
                                   "Gabor function to every filter. Writes filters.png and "
                                   "results.json.")
    e.add_argument("--data-dir", type=Path, default=None,
                   help="folder holding natural/ and train400/ (default: $SDAE_DATA_DIR)")
    e.add_argument("--images", type=Path, nargs="+", default=None,
                   help="image files or folders to use instead (PNG, JPEG, TIFF; 16-bit "
                        "images are log-transformed)")
    e.add_argument("--out", type=Path, default=Path("runs/natural-patches"),
                   help="output folder (default: runs/natural-patches)")
    e.add_argument("--patch-size", type=_positive_int, default=12, help="(default: 12)")
    e.add_argument("--patches", type=_positive_int, default=100_000,
                   help="training patches (default: 100000)")
    e.add_argument("--whitening", choices=("none", "zca", "1/f"), default="1/f",
                   help="ZCA on the patches, or Olshausen & Field's 1/f filter on the "
                        "images (default: 1/f)")
    e.add_argument("--hidden", type=_positive_int, nargs="+", default=[64, 256],
                   help="hidden layer widths (default: 64 256)")
    e.add_argument("--sigma", type=float, default=2.0,
                   help="Gaussian noise σ, in units of the patches' standard deviation "
                        "(default: 2)")
    e.add_argument("--weight-decay", type=float, default=1e-3,
                   help="λ of the weight-decay AE (default: 0.001)")
    e.add_argument("--epochs", type=_positive_int, default=50, help="(default: 50)")
    _add_run_options(e)
    e.set_defaults(handler=cmd_natural_patches)

    e = exp.add_parser("sda-mnist", help="SdA-3 vs SAE-3 vs MLP-3 vs logistic regression",
                       description="Vincent et al. (2010), table 3: a deep network pre-trained "
                                   "with stacked DAEs (SdA), with stacked plain autoencoders "
                                   "(SAE), or randomly initialised (MLP), all with the same "
                                   "architecture and fine-tuning, and logistic regression on "
                                   "raw pixels. Writes results.json and results.md.")
    e.add_argument("--dataset", choices=("mnist", "usps"), default="mnist", help="data set")
    e.add_argument("--data-dir", type=Path, default=None, help="folder with the data set")
    e.add_argument("--out", type=Path, default=None, help="(default: runs/sda-DATASET)")
    e.add_argument("--hidden", type=_positive_int, nargs="+", default=None,
                   help="layer sizes (default: 1000 1000 1000)")
    e.add_argument("--noise-level", "--noise", dest="noise", type=float, nargs="+",
                   default=None, metavar="LEVEL",
                   help="masking noise of each layer of the SdA (default: 0.1 0.2 0.3, cut "
                        "or extended with its last value to the number of layers)")
    e.add_argument("--noise-search", type=float, nargs="*", default=None, metavar="LEVEL",
                   help="choose each SdA layer's noise level among these instead (no values: "
                        f"{' '.join(map(str, NOISE_CANDIDATES))}), greedily, by the "
                        "validation error of a linear probe on the layer's code; costs one "
                        "layer pre-training per candidate; the probe uses the labels of the "
                        "first 10000 training images, even with --labels")
    e.add_argument("--labels", type=_positive_int, nargs="+", default=None,
                   help="fine-tune on only N labelled training examples, balanced over "
                        "classes (several N: one pre-training, one fine-tuning each); "
                        "pre-training still uses every training image")
    e.add_argument("--seeds", type=_non_negative_int, nargs="+", default=[0],
                   help="repeat with these seeds and report mean and spread (default: 0)")
    e.add_argument("--models", nargs="+", choices=("SdA", "SAE", "MLP", "logistic"),
                   default=["SdA", "SAE", "MLP", "logistic"],
                   help="which models to train and compare (default: all four)")
    e.add_argument("--pretrain-epochs", type=_positive_int, default=None,
                   help="epochs per layer (default: 40, more on small data sets so that each "
                        "layer gets at least 10 000 updates: 103 on USPS)")
    e.add_argument("--unsupervised-epochs", type=_non_negative_int, default=0,
                   help="after greedy pre-training, epochs of fine-tuning the whole deep "
                        "autoencoder on reconstruction (SGD, batch 64, lr 0.1, momentum "
                        "0.9), for SdA and SAE alike (default: 0, the papers' protocol)")
    e.add_argument("--finetune-epochs", type=_positive_int, default=None,
                   help="most epochs of supervised fine-tuning, early stopping on the "
                        "validation error (default: 30, more on small label sets so that "
                        "each model gets at least 2000 updates; a number given is kept)")
    e.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    _add_precision_option(e)
    e.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress bars (default: only on a terminal)")
    e.set_defaults(handler=cmd_sda)

    e = exp.add_parser("imputation", help="DAEImputer against mean, KNN and iterative "
                                          "imputation on Letter, Spam and Breast",
                       description="Remove entries completely at random (each rate, each "
                                   "seed), impute them with DAEImputer and scikit-learn's "
                                   "imputers, and report the RMSE on the removed entries of "
                                   "each min-max scaled table.")
    e.add_argument("--data-dir", type=Path, default=None, help="folder holding tabular/")
    e.add_argument("--out", type=Path, default=Path("runs/imputation"),
                   help="output folder (default: runs/imputation)")
    e.add_argument("--tables", nargs="+", choices=("letter", "spam", "breast"),
                   default=["letter", "spam", "breast"], help="tables")
    e.add_argument("--rates", type=float, nargs="+", default=[0.2, 0.5, 0.8],
                   help="shares of entries removed (default: 0.2 0.5 0.8)")
    e.add_argument("--seeds", type=_non_negative_int, nargs="+", default=[0, 1, 2, 3, 4],
                   help="one draw of the removed entries per seed")
    e.add_argument("--methods", nargs="+", default=None,
                   choices=("DAEImputer", "mean", "KNN", "Iterative", "Iterative-ExtraTrees"),
                   help="(default: all)")
    e.add_argument("--dae-epochs", type=_positive_int, default=None,
                   help="DAEImputer epochs (default: about 80 000 updates, at most 2000 epochs)")
    e.add_argument("--jobs", type=_positive_int, default=1,
                   help="imputations run at once, in separate processes sharing the CPU cores "
                        "(default: 1; the number of cores is fastest)")
    e.set_defaults(handler=cmd_imputation)

    e = exp.add_parser("sampling", help="samples of a walkback DAE trained on MNIST, judged "
                                        "by a classifier",
                       description="Train a DAE with walkback on MNIST, run chains from "
                                   "noise, and measure the samples: the share a classifier "
                                   "labels with confidence >= 0.9, the class histogram, and "
                                   "the distance to the nearest training image.")
    e.add_argument("--data-dir", type=Path, default=None, help="folder with MNIST")
    e.add_argument("--out", type=Path, default=Path("runs/sampling"),
                   help="output folder (default: runs/sampling)")
    e.add_argument("--epochs", type=_positive_int, default=5, help="(default: 5)")
    e.add_argument("--walkback", type=float, default=0.5,
                   help="probability of one more walkback step (default: 0.5; 0: none)")
    _add_run_options(e)
    e.set_defaults(handler=cmd_sampling)

    e = exp.add_parser("denoising", help="sdae's image denoisers against non-local means, "
                                         "total variation, wavelets and BM3D on BSD68 / Set12",
                       description="Train a convolutional and a patch-based DAE denoiser (each "
                                   "one blind model for σ in 0-55) on Train400, then denoise "
                                   "BSD68 and Set12 at σ = 15, 25, 50 with them and with "
                                   "scikit-image's non-local means, total variation and "
                                   "wavelet denoisers (and BM3D when the bm3d package is "
                                   "installed), all on the same noisy images. Writes "
                                   "OUT/results.json, results.md, crops.png and the models.")
    e.add_argument("--data-dir", type=Path, default=None,
                   help="folder with train400/, bsd68/ and set12/")
    e.add_argument("--out", type=Path, default=Path("runs/denoising"),
                   help="output folder (default: runs/denoising)")
    e.add_argument("--methods", nargs="+", default=None,
                   choices=("conv", "patch", "nlm", "tv", "wavelet", "bm3d"),
                   help="a subset of the methods (default: all)")
    e.add_argument("--sigmas", type=_positive_int, nargs="+", default=None,
                   help="noise levels on the 0-255 scale (default: 15 25 50)")
    e.add_argument("--epochs", type=_positive_int, default=None,
                   help="training epochs of both sdae models (default: 6 for the "
                        "convolutional one, 5 for the patch one; about 35 minutes in all on "
                        "2 CPU cores)")
    e.add_argument("--train-images", type=_positive_int, default=None,
                   help="train on only the first N Train400 images (a quick check)")
    _add_run_options(e)
    e.set_defaults(handler=cmd_denoising)
    return parser


def cmd_train(args) -> None:
    import json
    from dataclasses import replace

    import torch

    from .core.distributed import join_process_group
    from .core.stacking import (
        StackedDenoisingAutoencoder,
        classification_error,
        finetune,
        finetune_unsupervised,
        pretrain,
    )
    from .core.training import check_inputs, reconstruction_error, resolve_device
    from .errors import ConfigError, DataError
    from .io.atomic import write_json
    from .io.data import load_dataset
    from .io.runs import machine_description
    from .models import save_model
    from .tasks.sampling import walkback_objective

    if args.resume is not None:
        run = args.resume
        defaults = vars(build_parser().parse_args(["train"]))
        others = [f"--{k.replace('_', '-')}" for k, v in vars(args).items()
                  if k not in ("resume", "progress", "argv") and v != defaults.get(k)]
        if others:
            raise ConfigError(f"--resume continues a run with the options it started with, "
                              f"and {' '.join(others)} would be ignored: give --resume "
                              "RUN_DIR alone")
        # an unfinished run's command lies with its checkpoints, a finished one's beside its model
        try:
            record = next(json.loads(path.read_text()) for path in
                          (run / "checkpoints" / "command.json", run / "command.json")
                          if path.exists())
            argv = record["argv"]
        except (StopIteration, OSError, ValueError, KeyError, TypeError):
            raise ConfigError(f"{run} is not a run folder of sdae train (no readable "
                              "command.json): give the --out folder of the run") from None
        args = build_parser().parse_args(argv)
        args.argv, args.out, args.resume = argv, run, run
        # the data the run started with, wherever and however the resume is started
        args.data = record.get("data", args.data)
        if record.get("data_dir"):
            args.data_dir = Path(record["data_dir"])
    config = replace(_train_config(args), checkpoint_every=args.checkpoint_every)
    writes = join_process_group(config.device) == 0  # under torchrun, rank 0 writes
    resolve_device(config.device)  # before anything is written
    for option in ("finetune_epochs", "unsupervised_epochs"):
        if getattr(args, option) < 0:
            raise ConfigError(f"--{option.replace('_', '-')} must be >= 0")
    _check_walkback(args.walkback)
    if args.walkback and args.corruption == "none":
        raise ConfigError("--walkback walks by corrupting: give a --corruption")
    if args.unsupervised_epochs and len(args.hidden) < 2:
        raise ConfigError("--unsupervised-epochs fine-tunes a deep autoencoder: give two or "
                          "more --hidden sizes (on one layer it would only undo the denoising)")
    supervised = args.finetune_epochs > 0
    ft_config = (replace(config, epochs=args.finetune_epochs, lr=args.finetune_lr,
                         momentum=args.finetune_momentum if args.finetune_momentum is not None
                         else 0.9 if config.optimizer == "sgd" else 0.0,
                         warmup_epochs=args.finetune_warmup)
                 if supervised else None)
    dataset = load_dataset(args.data, args.data_dir, valid_fraction=args.valid_fraction,
                           download=not args.no_download, seed=args.seed,
                           stream=args.stream)
    if supervised and dataset.y_train is None:
        if args.stream:
            raise DataError("--finetune-epochs needs labels, and a streamed .npy holds only "
                            "inputs: leave out --stream and give an .npz with arrays x and y")
        raise DataError(f"--finetune-epochs needs labels, and {args.data} has none: "
                        "give an .npz with arrays x and y")
    if supervised and len(set(dataset.y_train.tolist())) < 2:
        raise DataError(f"--finetune-epochs needs labels of two or more classes, and the "
                        f"training labels of {args.data} are all {dataset.y_train[0]}")
    n_classes = int(dataset.y_train.max()) + 1 if supervised else None
    levels = args.noise_level if args.corruption != "none" else [0.0]
    stack = StackedDenoisingAutoencoder(
        dataset.n_features, args.hidden, n_classes, corruption=args.corruption,
        noise_levels=levels[0] if len(levels) == 1 else levels,
        generator=torch.Generator().manual_seed(args.seed), tied=not args.untied,
        activation=args.activation, decoder=args.decoder, clip=args.clip, loss=args.loss,
        emphasis=args.emphasis)
    def tensor(a):  # a streamed array stays on disk
        return a if args.stream or a is None else torch.from_numpy(a)

    x, x_valid = tensor(dataset.x_train), tensor(dataset.x_valid)
    check_inputs(stack.layers[0], x, "training data")  # before anything is written
    if x_valid is not None:
        check_inputs(stack.layers[0], x_valid, "validation data")
    if args.batch_size > len(x):
        raise ConfigError(f"batch size {args.batch_size} is larger than the {len(x)} training "
                          "examples: use a smaller --batch-size")
    out = _prepare_out(args.out)
    checkpoints = out / "checkpoints"
    if args.resume is None:
        record = {"argv": args.argv, **_data_source(args, dataset)}
    fresh = args.resume is None and writes
    if fresh:  # start from scratch, record how to resume; the files of an earlier run in the
        # folder stay as they were until this one has finished
        shutil.rmtree(checkpoints, ignore_errors=True)
        write_json(checkpoints / "command.json", record)
    quiet = contextlib.nullcontext() if writes else contextlib.redirect_stdout(io.StringIO())
    with (_resume_hint(f"continue with: sdae train --resume {out}"), quiet,
          _discarded_on_error(checkpoints if fresh else None)):
        print(f"data: {dataset.describe()}")
        for k, layer in enumerate(stack.layers):
            print(f"layer {k + 1}: {layer.extra_repr()}")
        histories = pretrain(stack, x, config, x_valid=x_valid, checkpoint_dir=checkpoints,
                             objective=walkback_objective(args.walkback) if args.walkback
                             else None, check_input=False)  # checked above
        metrics = {
            "data": dataset.describe(),
            "model": stack.config.to_dict(),
            "train": config.to_dict(),
            "walkback": args.walkback,
            "pretrain_history": [h.to_dict() for h in histories],
            "machine": machine_description(args.device),
        }
        # the reconstruction error of the pre-trained first layer, before fine-tuning changes W
        for split in ("valid", "test"):
            xs = getattr(dataset, f"x_{split}")
            if xs is not None:
                metrics[f"reconstruction_error_{split}_layer1"] = reconstruction_error(
                    stack.layers[0], tensor(xs))
        if args.unsupervised_epochs:
            deep_config = replace(config, epochs=args.unsupervised_epochs)
            history = finetune_unsupervised(stack, x, deep_config, x_valid=x_valid,
                                            checkpoint=checkpoints / "unsupervised.ckpt")
            metrics["unsupervised_finetune"] = deep_config.to_dict()
            metrics["unsupervised_finetune_history"] = history.to_dict()
            print(f"unsupervised fine-tuning: train loss {history.train_loss[-1]:.3f}"
                  + (f", valid {history.valid_loss[-1]:.3f}" if history.valid_loss else ""))
        if supervised:
            y = torch.from_numpy(dataset.y_train)
            y_valid = torch.from_numpy(dataset.y_valid) if dataset.y_valid is not None else None
            history = finetune(stack, x, y, ft_config, x_valid=x_valid, y_valid=y_valid,
                               checkpoint=checkpoints / "finetune.ckpt")
            metrics["finetune"] = ft_config.to_dict()
            metrics["finetune_history"] = history.to_dict()
        stack.cpu()
        # one layer without fine-tuning is saved as a plain DAE; anything else as the stack
        model = stack.layers[0] if len(stack.layers) == 1 and not supervised else stack
        for split in ("valid", "test"):
            xs, ys = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
            if supervised and xs is not None and ys is not None:
                metrics[f"{split}_error"] = classification_error(
                    stack, torch.from_numpy(xs), torch.from_numpy(ys))
        if not writes:
            return
        save_model(model, out / "model.safetensors",
                   extra={"train": config.to_dict(), "walkback": args.walkback})
        write_json(out / "metrics.json", metrics)
        write_json(out / "command.json", record)
        if dataset.image_shape is not None:
            _draw_run_figures(stack.layers[0], dataset, out, args.seed)
        # the training loss reconstructs corrupted inputs, the validation error clean ones
        summary = [f"layer {k + 1}: train loss {h.train_loss[-1]:.3f} (corrupted input)"
                   + (f", valid {h.valid_loss[-1]:.3f} (clean)" if h.valid_loss else "")
                   for k, h in enumerate(histories)]
        summary += [f"{split} error {metrics[f'{split}_error']:.2%}" for split in ("valid", "test")
                    if f"{split}_error" in metrics]
        print("; ".join(summary) + f"\nwrote {out}/")


def _draw_run_figures(layer, dataset, out: Path, seed: int) -> None:
    import numpy as np
    import torch

    from .measures.figures import plot_filter_panels, plot_reconstructions

    plot_filter_panels([(layer.extra_repr().split(",")[0], layer.weight.detach().numpy())],
                       out / "filters.png", dataset.image_shape)
    source = dataset.x_valid if dataset.x_valid is not None else dataset.x_train
    sample = torch.from_numpy(np.array(source[:10]))  # a copy: the source may be on disk
    corrupted = layer.corrupt(sample, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        plot_reconstructions([("clean", sample.numpy()), ("corrupted", corrupted.numpy()),
                              ("reconstructed", layer(corrupted).numpy())],
                             out / "reconstructions.png", dataset.image_shape)


def cmd_filters(args) -> None:
    from .measures.figures import infer_shape, plot_filter_panels
    from .models import load_autoencoder

    model = load_autoencoder(args.model)
    if hasattr(model, "layers"):  # a stack: the filters of its first layer
        model = model.layers[0]
    shape = tuple(args.image_shape) if args.image_shape else infer_shape(model.n_visible)
    if shape[0] * shape[1] != model.n_visible:
        from .errors import ConfigError

        raise ConfigError(f"--image-shape {shape[0]} {shape[1]} does not fit the model's "
                          f"{model.n_visible} inputs")
    path = plot_filter_panels([(args.model.stem, model.weight.detach().numpy())], args.out,
                              shape, args.n_filters)
    print(f"wrote {path}")


def cmd_info(args) -> None:
    import json

    from .models import read_model_file

    header, tensors = read_model_file(args.model)
    if args.json:
        print(json.dumps(header, indent=2))
        return
    config = header["config"]
    n_params = sum(t.numel() for t in tensors.values())
    print(f"{args.model}: {header['kind']} (sdae format {header.get('format_version', '?')}), "
          f"{n_params:,} parameters")
    if header["kind"].endswith("denoiser"):
        from .tasks.denoising import ImageNoise, channel_kind

        noise = ImageNoise(**config["noise"]).describe()
        colour = channel_kind(config["channels"])
        if header["kind"] == "conv-denoiser":
            shape = f"{config['depth']} 3×3 convolutions of {config['width']} feature maps"
        else:
            shape = (f"{config['patch_size']}×{config['patch_size']} patches, hidden "
                     f"{config['hidden_sizes']}, {config['activation']}, stride "
                     f"{config['stride']}")
        print(f"  {colour} images; {shape}; predicts the {config['target']}; trained with "
              f"{noise}")
    else:
        layers = config.get("layers", [config])
        for k, c in enumerate(layers):
            noise = "no noise" if c["corruption"] == "none" or not c["noise_level"] else \
                f"{c['corruption']} {c['noise_level']:g}"
            print(f"  layer {k + 1}: {c['n_visible']} -> {c['n_hidden']}, {c['activation']}, "
                  f"{'tied' if c['tied'] else 'untied'}, {c['decoder']} decoder, "
                  f"{c['loss'] or 'auto'} loss, trained with {noise}")
        if config.get("n_classes"):
            print(f"  softmax output: {config['n_classes']} classes")
    extra = header.get("extra") or {}
    if "train" in extra:
        t = extra["train"]
        print(f"  training: {_count(t['epochs'], 'epoch')}, batch {t['batch_size']}, "
              f"{t['optimizer']} lr {t['lr']:g}, seed {t['seed']}, {t['device']}, "
              f"{t.get('precision', 'fp32')}")
    if "history" in extra:
        h = extra["history"]
        best = f", best at epoch {h['best_epoch']}" if h.get("best_epoch") else ""
        print(f"  {_count(len(h['train_loss']), 'epoch')} in {h['seconds']:.0f} s, final "
              f"training loss {h['train_loss'][-1]:.4g}{best}")
    if "estimator" in extra:
        print(f"  saved by sdae.sklearn.{extra['estimator']}")
    if "classes" in extra:
        print(f"  classes: {extra['classes']}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def cmd_apply(args) -> None:
    import io

    import numpy as np
    import torch

    from .core.training import batched, resolve_device
    from .errors import ConfigError, DataError
    from .io.atomic import atomic_write
    from .io.data.files import load_array
    from .models import load_autoencoder

    if args.out.suffix.lower() not in {".npy", ".csv"}:
        raise ConfigError(f"--out {args.out}: name a .npy or a .csv file")
    device = resolve_device(args.device)
    model = load_autoencoder(args.model).to(device)
    x, _, _ = load_array(args.data)
    if x.shape[1] != model.n_visible:
        raise DataError(f"{args.data} has {x.shape[1]} features but the model expects "
                        f"{model.n_visible}: give data of the kind it was trained on")
    stack = hasattr(model, "layers")
    if args.command == "predict":
        if not stack or model.classifier is None:
            raise ConfigError(f"{args.model} has no classifier: fine-tune one with 'sdae train "
                              "--finetune-epochs N' on labelled data")
        fn = model.predict_proba if args.proba else model.predict
    elif args.command == "encode":
        if args.depth and not stack:
            raise ConfigError("--depth is for stacks; this model has one layer")
        if args.depth and args.depth > len(model.layers):
            raise ConfigError(f"--depth {args.depth}: the stack has {len(model.layers)} layers")
        fn = (lambda v: model.encode(v, args.depth)) if stack else model.encode
    else:
        fn = (lambda v: model.decode(model.encode(v))) if stack else model
    out = batched(lambda v: fn(v.to(device)).cpu(), torch.from_numpy(x)).numpy()
    buffer = io.BytesIO()
    if args.out.suffix.lower() == ".csv":
        np.savetxt(buffer, out, delimiter=",", fmt="%.7g")
    else:
        np.save(buffer, out)
    try:
        atomic_write(args.out, buffer.getvalue())
    except OSError as err:
        raise ConfigError(f"cannot write {args.out}: {err.strerror}") from None
    print(f"wrote {args.out}: {' × '.join(map(str, out.shape))}")


def cmd_impute(args) -> None:
    import csv

    from .errors import ConfigError
    from .io.atomic import atomic_write
    from .io.data.files import read_typed_csv
    from .sklearn import DAEImputer

    if args.out.suffix.lower() != ".csv":
        raise ConfigError(f"--out {args.out}: name a .csv file")
    table = read_typed_csv(args.data)
    imputer = DAEImputer(hidden_sizes=tuple(args.hidden), noise_level=args.noise_level,
                         emphasis=tuple(args.emphasis), categorical_features=table.categorical,
                         n_imputations=args.n_imputations, epochs=args.epochs,
                         random_state=args.seed, device=args.device, verbose=bool(args.progress))
    try:
        filled = imputer.fit_transform(table.values)
    except ValueError as err:  # scikit-learn's validation, as one line
        raise ConfigError(str(err).splitlines()[0]) from None
    missing = table.missing
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    if table.header is not None:
        writer.writerow(table.header)
    for i, row in enumerate(table.cells):  # observed cells are written back verbatim
        writer.writerow([_cell(filled[i, j]) if missing[i, j] else c for j, c in enumerate(row)])
    try:
        atomic_write(args.out, text.getvalue().encode())
    except OSError as err:
        raise ConfigError(f"cannot write {args.out}: {err.strerror}") from None
    print(f"filled {int(missing.sum())} missing cells of {missing.size} "
          f"({_count(len(table.categorical), 'categorical column')}); wrote {args.out}")


def _cell(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def cmd_denoise_train(args) -> None:
    import time

    import torch

    from .core.training import TrainConfig
    from .errors import ConfigError
    from .io.data.files import read_image_set
    from .models import save_model
    from .tasks.denoising import ConvDenoiser, ImageNoise, PatchDenoiser, train_denoiser

    if args.out.suffix != ".safetensors":
        raise ConfigError(f"--out {args.out}: name a .safetensors file")
    if args.model == "conv" and args.pretrain_epochs:
        raise ConfigError("--pretrain-epochs is for --model patch")
    images = read_image_set(*args.images)
    valid = read_image_set(*args.valid_images) if args.valid_images else None
    channels = args.channels or (images[0].shape[2] if images[0].ndim == 3 else 1)
    noise = ImageNoise(args.corruption, args.sigma, args.sigma_max, args.fraction)
    generator = torch.Generator().manual_seed(args.seed)
    if args.model == "conv":
        model = ConvDenoiser(channels, args.depth, args.width, target=args.target, noise=noise,
                             generator=generator)
    else:
        model = PatchDenoiser(channels, args.patch_size, args.hidden, target=args.target,
                              noise=noise, generator=generator)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         optimizer="adam", lr_decay=args.lr_decay, seed=args.seed,
                         device=args.device, progress=args.progress)
    pretrain_config = None
    if args.pretrain_epochs:
        pretrain_config = TrainConfig(epochs=args.pretrain_epochs, batch_size=args.batch_size,
                                      lr=args.lr, optimizer="adam", seed=args.seed,
                                      device=args.device, progress=args.progress)
    _prepare_out(args.out.parent)
    if args.checkpoint is not None:
        _prepare_out(args.checkpoint.parent)
    if args.checkpoint is not None and args.checkpoint.exists():
        print(f"continuing from {args.checkpoint}")
    start = time.perf_counter()
    hint = (f"continue by running the same command (checkpoint {args.checkpoint})"
            if args.checkpoint is not None else "give --checkpoint FILE to be able to continue")
    with _resume_hint(hint):
        history = train_denoiser(model, images, config, patch_size=args.crop,
                                 stride=args.stride, valid_images=valid,
                                 pretrain_config=pretrain_config, checkpoint=args.checkpoint)
    seconds = time.perf_counter() - start
    save_model(model, args.out, extra={"argv": args.argv, "history": history.to_dict(),
                                       "seconds": seconds})
    best = (f", best validation error {min(history.valid_loss):.3g} at epoch "
            f"{history.best_epoch}" if history.valid_loss else "")
    print(f"trained a {args.model} denoiser ({noise.describe()}) on {len(images)} images in "
          f"{seconds:.0f} s: final training error {history.train_loss[-1]:.3g}{best}; "
          f"wrote {args.out}")


def cmd_denoise_apply(args) -> None:
    import time

    from .errors import ConfigError
    from .io.data.files import read_image, write_image
    from .models import load_model
    from .tasks.denoising import denoise

    model, header = load_model(args.model, args.device, with_header=True)
    if not header["kind"].endswith("denoiser"):
        raise ConfigError(f"{args.model} is a {header['kind']} model, not a denoiser: train "
                          "one with 'sdae denoise train'")
    if args.stride is not None:
        if header["kind"] != "patch-denoiser":
            raise ConfigError("--stride is for patch models")
        model.config.stride = args.stride
    image, bits = read_image(args.image)
    start = time.perf_counter()
    restored = denoise(model, image)
    seconds = time.perf_counter() - start
    try:
        write_image(args.out, restored, args.bits or bits)
    except OSError as err:
        raise ConfigError(f"cannot write {args.out}: {err.strerror}") from None
    shape = "×".join(map(str, image.shape))
    print(f"denoised {args.image} ({shape}, {bits}-bit) in {seconds:.2f} s; wrote {args.out}")


def cmd_sample(args) -> None:
    import numpy as np
    import torch

    from .errors import ConfigError, DataError
    from .io.atomic import atomic_write
    from .io.data.files import load_array
    from .measures.figures import plot_image_grid
    from .models import load_autoencoder
    from .tasks.sampling import sample_chain

    if args.every is None:
        args.every = min(20, args.steps)
    if args.every > args.steps:
        raise ConfigError(f"--every {args.every} is more than --steps {args.steps}")
    if args.out.suffix.lower() != ".png":
        raise ConfigError(f"--out {args.out}: name a .png file")
    model = load_autoencoder(args.model)
    d = model.n_visible
    generator = torch.Generator().manual_seed(args.seed)
    if args.start is None:
        start = torch.rand(args.n, d, generator=generator)
    else:
        x, _, _ = load_array(args.start)
        if x.shape[1] != d:
            raise DataError(f"{args.start} has {x.shape[1]} features but the model expects {d}")
        if len(x) < args.n:
            raise DataError(f"{args.start} has {len(x)} rows, fewer than --n {args.n} "
                            "chains: give a smaller --n")
        start = torch.from_numpy(x[:args.n])
    layer = model.layers[0]
    sigma = args.sigma if args.sigma is not None else max(layer.config.noise_level, 1e-3)
    chains = sample_chain(model, start, args.steps, generator, every=args.every,
                          sigma=sigma).numpy()  # (steps // every, n, d)
    shown = chains[:, :SHOWN_CHAINS].transpose(1, 0, 2).reshape(-1, d)
    if layer.config.loss != "cross_entropy":  # real-valued data: stretch to [0, 1] to show
        shown = (shown - shown.min()) / max(shown.max() - shown.min(), 1e-12)
    plot_image_grid(shown, args.out, tuple(args.image_shape) if args.image_shape else None,
                    n_cols=len(chains), title=f"{_first(args.n, SHOWN_CHAINS)} chains, "
                                              f"a column every {args.every} steps")
    buffer = io.BytesIO()
    np.save(buffer, chains)
    atomic_write(args.out.with_suffix(".npy"), buffer.getvalue())
    print(f"wrote {args.out} and {args.out.with_suffix('.npy')} "
          f"({chains.shape[0]} record{'s' * (len(chains) > 1)} × {chains.shape[1]} chains "
          f"× {d})")


def _first(n: int, shown: int) -> str:
    return f"{n}" if n <= shown else f"the first {shown} of {n}"


def cmd_sampling(args) -> None:
    from dataclasses import replace

    from .experiments import sampling
    from .io.data import load_mnist

    _check_walkback(args.walkback)
    settings = sampling.SamplingSettings(walkback=args.walkback, seed=args.seed)
    settings.train = replace(settings.train, epochs=args.epochs, seed=args.seed,
                             device=args.device, progress=args.progress)
    dataset = load_mnist(args.data_dir)
    out = _prepare_out(args.out)
    sampling.run(dataset, out, settings)
    print(f"wrote {out}/model.safetensors, chains.png, samples.png, samples.npy (the "
          "recorded chains), results.json")


def cmd_denoising(args) -> None:
    from dataclasses import replace

    from .experiments import denoising

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
    out = _prepare_out(args.out)
    denoising.run(sets, out, settings, methods=args.methods or denoising.MODELS
                  + denoising.CLASSIC, device=args.device)
    print()
    print((out / "results.md").read_text())


def cmd_demo(args) -> None:
    from dataclasses import replace

    from .experiments import mnist_filters
    from .io.data import load_dataset

    dataset = load_dataset("auto", args.data_dir)
    if dataset.name != "mnist":
        print(f"MNIST was not found, so the demo uses {dataset.name} (8×8 images, too small "
              "for pen-stroke filters): give --data-dir a folder with MNIST for the real one")
    dataset, options = mnist_filters.demo_config(dataset, args.seed)
    options["train_config"] = replace(options["train_config"], progress=args.progress)
    out = _prepare_out(args.out)
    results = mnist_filters.run(dataset, out, **options)
    _print_summary(results, out)


def cmd_mnist_filters(args) -> None:
    from .experiments import mnist_filters
    from .io.data import load_mnist

    dataset = load_mnist(args.data_dir, download=not args.no_download)
    out = _prepare_out(args.out)
    results = mnist_filters.run(dataset, out, noise_levels=args.noise_levels,
                                n_hidden=args.hidden, corruption=args.corruption,
                                train_config=_train_config(args))
    _print_summary(results, out)


def cmd_natural_patches(args) -> None:
    from dataclasses import replace

    from .experiments import natural_patches
    from .io.data.registry import find_folder

    folders = args.images or [find_folder(name, args.data_dir)
                              for name in natural_patches.DEFAULT_FOLDERS]
    settings = natural_patches.PatchSettings(
        patch_size=args.patch_size, n_patches=args.patches, whitening=args.whitening,
        hidden_sizes=list(args.hidden), gaussian_sigma=args.sigma,
        weight_decay=args.weight_decay)
    settings.train = replace(settings.train, epochs=args.epochs, seed=args.seed,
                             device=args.device, progress=args.progress)
    settings.check()
    out = _prepare_out(args.out)
    results = natural_patches.run(folders, out, settings)
    print(f"\n{'model':<36}{'units':>6}{'edge detectors':>16}{'median R²':>11}{'seconds':>9}")
    for m in results["models"]:
        print(f"{m['name']:<36}{m['hidden_units']:>6}{m['edge_detector_fraction']:>16.0%}"
              f"{m['median_gabor_r2']:>11.2f}{m['train_seconds']:>9.0f}")
    print(f"\nwrote {out}/filters.png, results.json ({results['seconds']:.0f} s in all)")


def cmd_sda(args) -> None:
    from dataclasses import replace

    import numpy as np

    from .core.stacking import per_layer
    from .errors import ConfigError
    from .experiments import sda
    from .io.data import load_dataset

    settings = sda.SdaSettings()
    if args.hidden:
        settings.hidden_sizes = list(args.hidden)
        levels = settings.noise_levels  # the default, cut or extended to the depth
        settings.noise_levels = [levels[min(k, len(levels) - 1)] for k in range(len(args.hidden))]
    if args.noise:  # checked here, before the data are read
        settings.noise_levels = per_layer(args.noise, len(settings.hidden_sizes), "--noise-level")
    if args.noise_search is not None:
        if args.noise:
            raise ConfigError("give --noise-level or --noise-search, not both")
        settings.noise_candidates = list(args.noise_search or NOISE_CANDIDATES)
    for level in [*settings.noise_levels, *(settings.noise_candidates or [])]:
        if not 0 <= level <= 1:
            raise ConfigError(f"masking noise level {level} is outside [0, 1]")
    common = {"device": args.device, "precision": args.precision, "progress": args.progress}
    settings.pretrain = replace(settings.pretrain, **common,
                                epochs=args.pretrain_epochs or settings.pretrain.epochs)
    if args.pretrain_epochs:  # as many as asked for, even on a small data set
        settings.min_pretrain_updates = 0
    settings.finetune = replace(settings.finetune, **common,
                                epochs=args.finetune_epochs or settings.finetune.epochs)
    if args.finetune_epochs:  # likewise
        settings.min_finetune_updates = 0
    if args.unsupervised_epochs:
        settings.unsupervised = replace(sda.DEEP_AUTOENCODER, **common,
                                        epochs=args.unsupervised_epochs)
    dataset = load_dataset(args.dataset, args.data_dir)
    classes, n = len(np.unique(dataset.y_train)), len(dataset.y_train)
    for count in args.labels or []:
        if not classes <= count <= n:
            raise ConfigError(f"--labels {count}: give between {classes} (one per class) and "
                              f"{n} (the {args.dataset} training labels)")
    out = _prepare_out(args.out or Path(f"runs/sda-{args.dataset}"))
    sda.run(dataset, out, settings, seeds=args.seeds, label_counts=args.labels or [None],
            models=args.models)
    print()
    print((out / "results.md").read_text())


def cmd_bench(args) -> None:
    from dataclasses import replace

    from . import bench
    from .core.training import resolve_device
    from .io.atomic import atomic_write, write_json
    from .io.data import load_mnist

    resolve_device(args.device)
    dataset = load_mnist(args.data_dir, download=False) if args.sda_mnist else None
    out = _prepare_out(args.out)
    results = bench.run(args.device, quick=args.quick)
    if dataset is not None:
        from .experiments import sda

        settings = sda.SdaSettings()
        for phase in ("pretrain", "finetune"):
            setattr(settings, phase, replace(getattr(settings, phase), device=args.device))
        runs = sda.run(dataset, out / "sda-mnist", settings)["runs"]
        results["sda_mnist"] = [{k: r[k] for k in ("name", "pretrain_seconds",
                                                   "unsupervised_seconds", "finetune_seconds",
                                                   "seconds_to_best", "test_error") if k in r}
                                for r in runs]
    write_json(out / "results.json", results)
    atomic_write(out / "results.md", bench.markdown(results).encode())
    print(f"\n{bench.markdown(results)}\nwrote {out}/results.json, results.md "
          f"({results['seconds']:.0f} s)")


def cmd_imputation(args) -> None:
    from .errors import ConfigError
    from .experiments import imputation

    if not all(0 < rate < 1 for rate in args.rates):
        raise ConfigError(f"--rates must lie in (0, 1), got {args.rates}")
    out = _prepare_out(args.out)
    imputation.run(out, args.data_dir, tables=args.tables, rates=args.rates, seeds=args.seeds,
                   methods=args.methods or imputation.METHODS, jobs=args.jobs,
                   dae_options={"epochs": args.dae_epochs} if args.dae_epochs else None)
    print()
    print((out / "results.md").read_text())


def _print_summary(results: dict, out: Path) -> None:
    print(f"\n{'model':<24}{'probe error':>12}{'recon. error':>14}{'low-freq.':>11}{'seconds':>9}")
    print(f"{'raw pixels':<24}{results['raw_pixels']['probe_test_error']:>12.2%}")
    for m in results["models"]:
        print(f"{m['name']:<24}{m['probe_test_error']:>12.2%}"
              f"{m['reconstruction_error_test']:>14.2f}{m['filter_low_frequency_energy']:>11.3f}"
              f"{m['train_seconds']:>9.0f}")
    print(f"\nwrote {out}/filters.png, reconstructions.png, results.json "
          f"({results['seconds']:.0f} s in all)")


def _data_source(args, dataset) -> dict:
    """Where the data of a run came from, as absolute paths and a resolved name, so that a
    resume reads the same data from any folder and whatever $SDAE_DATA_DIR says then."""
    from .io.data.registry import NAMED

    data = (args.data if args.data in NAMED else dataset.name if args.data == "auto"
            else str(Path(args.data).resolve()))
    data_dir = args.data_dir or os.environ.get("SDAE_DATA_DIR")
    return {"data": data, "data_dir": str(Path(data_dir).resolve()) if data_dir else None}


def _check_walkback(p: float) -> None:
    from .errors import ConfigError

    if not 0 <= p < 1:
        raise ConfigError(f"--walkback is a probability below 1, got {p}")


def _prepare_out(path: Path) -> Path:
    """Create the output folder now, so an unwritable one fails before any training (and
    is removed again if the command fails and leaves it empty)."""
    from .errors import ConfigError

    try:
        _made_folders.extend(p for p in (path, *path.parents) if not p.exists())
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create output folder {path}: {err.strerror}") from None
    try:  # a file, not os.access: root may write anywhere, but not in /proc or read-only mounts
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        raise ConfigError(f"output folder {path} is not writable: choose another --out") from None
    return path


@contextlib.contextmanager
def _discarded_on_error(folder: Path | None):
    """A run that fails (divergence, say) removes the checkpoints it made: continuing it
    would fail again. An interrupted one keeps them, to continue."""
    from .errors import SdaeError

    try:
        yield
    except SdaeError:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise


_made_folders: list[Path] = []  # by _prepare_out in this command, the deepest first


def _remove_empty_made_folders() -> None:
    for folder in _made_folders:
        with contextlib.suppress(OSError):  # not empty, or gone
            folder.rmdir()
    _made_folders.clear()


@contextlib.contextmanager
def _resume_hint(hint: str):
    """An interruption inside this block tells the user how to continue the run."""
    try:
        yield
    except KeyboardInterrupt:
        raise KeyboardInterrupt(hint) from None


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM ends a run like Ctrl-C: checkpoints stay, files whole


def main(argv: list[str] | None = None) -> int:
    import signal

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    from .core.distributed import under_torchrun
    from .errors import ConfigError, SdaeError

    if hasattr(sys.stdout, "reconfigure"):  # progress lines appear at once in logs and pipes
        sys.stdout.reconfigure(line_buffering=True)

    import threading

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    _made_folders.clear()
    try:
        if under_torchrun() and args.command != "train":
            raise ConfigError(f"sdae {args.command} runs in one process; under torchrun, run "
                              "sdae train")
        args.handler(args)
    except SdaeError as err:
        _remove_empty_made_folders()
        print(f"sdae {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        hint = f"; {interrupt}" if str(interrupt) else ""
        print(f"sdae {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
