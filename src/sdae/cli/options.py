"""What every command shares: the parser class, argument types, and the option groups
declared once (data, training, run, output), each with its one reader.

Only argparse is imported here: ``sdae --help`` must answer at once.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

EXIT_USAGE = 2


class Help(argparse.HelpFormatter):
    """States an option's default where its help does not."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text, default = action.help or "", action.default
        if (not action.option_strings or "default" in text or default is None
                or default is False or default is argparse.SUPPRESS):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else default
        return f"{text} (default: {shown})".replace("%", "%%").lstrip()


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (what is wrong, where to read more), no usage dump,
    and every default in the help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def positive_int(text: str, minimum: int = 1) -> int:
    kind = "a positive" if minimum == 1 else "a non-negative"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {kind} integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {kind} integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    return positive_int(text, minimum=0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def fraction(text: str) -> float:
    """A share in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def add_data_options(p, default: str) -> None:
    """--data, --label-column, --data-dir and --no-download: a data set by name or path."""
    p.add_argument("--data", default=default,
                   help="'mnist', 'mnist-small' (10 000 MNIST images shipped with sdae), "
                        "'usps', 'digits' (scikit-learn's 8×8), 'auto' (MNIST if found, else "
                        "mnist-small), or a path: .npy, .npz (x, y), .csv, a folder of images, "
                        "or a folder of class folders (root/CLASS/*.png: images and their "
                        f"labels) (default: {default})")
    p.add_argument("--label-column", metavar="NAME|INDEX", default=None,
                   help="a CSV table's column of labels (numbers or text), by header name "
                        "or index from 0 (-1: the last); the other columns are the inputs")
    add_data_dir(p)
    add_no_download(p)


def add_data_dir(p, help: str = "folder with the data sets (default: $SDAE_DATA_DIR, then "
                                "the user cache)") -> None:
    p.add_argument("--data-dir", type=Path, default=None, help=help)


def add_no_download(p, what: str = "the data") -> None:
    p.add_argument("--no-download", action="store_true",
                   help=f"never download: fail if {what} {'is' if what != 'the data' else 'are'}"
                        " not on disk")


def add_device(p) -> None:
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")


def add_seed(p, help: str = "seed of initialisation, shuffling and noise") -> None:
    p.add_argument("--seed", type=int, default=0, help=help)


def add_progress(p) -> None:
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress bars (default: only on a terminal; elsewhere epoch "
                        "lines on stderr: each phase's first and last, and at most one every "
                        "10 s between; --no-progress: neither)")


def add_tensorboard(p) -> None:
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard event files to OUT/tensorboard: the loss "
                        "curves of every phase, the first layer's filters (needs pip "
                        "install \"sdae[tensorboard]\")")


def add_precision(p) -> None:
    p.add_argument("--precision", choices=("fp32", "bf16", "tf32"), default="fp32",
                   help="matrix products in float32, bfloat16 (autocast) or TF32 (CUDA); "
                        "'sdae bench' shows which is fastest here (default: fp32)")


def add_run_options(p) -> None:
    """--seed, --device and --progress, as every training command has them."""
    add_seed(p)
    add_device(p)
    add_progress(p)


def run_config(config, args, **changes):
    """``config`` (a TrainConfig) with what :func:`add_run_options` reads (seed, device,
    progress) and ``changes``."""
    from dataclasses import replace

    return replace(config, seed=args.seed, device=args.device, progress=args.progress,
                   **changes)


def add_train_options(p, *, epochs: int, batch_size: int, lr: float) -> None:
    """The options of one training schedule; :func:`train_config` reads them."""
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=epochs, help=f"(default: {epochs})")
    g.add_argument("--batch-size", type=positive_int, default=batch_size,
                   help=f"(default: {batch_size})")
    g.add_argument("--lr", type=float, default=lr, help=f"learning rate (default: {lr})")
    g.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                   help="(default: sgd)")
    g.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default: 0)")
    g.add_argument("--weight-decay", type=float, default=0.0,
                   help="L2 penalty λ·Σ‖W‖² on the weights (default: 0)")
    add_seed(g, "seed of initialisation, shuffling and noise (default: 0)")
    add_device(g)
    add_precision(g)
    add_progress(g)


def train_config(args):
    """The TrainConfig of :func:`add_train_options`."""
    from ..core.training import TrainConfig

    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       optimizer=args.optimizer, momentum=args.momentum,
                       weight_decay=args.weight_decay, seed=args.seed, device=args.device,
                       precision=args.precision, progress=args.progress)


def add_out(p, default: str | None, help: str | None = None) -> None:
    """--out: the run folder."""
    p.add_argument("--out", type=Path, default=None if default is None else Path(default),
                   help=help or f"output folder (default: {default})")


def add_resume_options(p) -> None:
    """--resume and --overwrite: what to do with an unfinished run's folder."""
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", default=None,
                   help="continue a stopped or killed run exactly where it stopped, with the "
                        "options it was started with (give no others)")
    add_overwrite(p, "start afresh in a folder holding an unfinished run, deleting its "
                     "checkpoints (without it, the same command continues that run and "
                     "other options are refused)")


def add_overwrite(p, help: str) -> None:
    p.add_argument("--overwrite", action="store_true", help=help)
