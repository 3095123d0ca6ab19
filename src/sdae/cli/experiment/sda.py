"""sdae experiment sda-mnist: SdA against SAE, MLP and logistic regression."""

from __future__ import annotations

from pathlib import Path

from .. import options as o
from .common import in_run_folder, print_report, resumed

NOISE_CANDIDATES = (0.1, 0.25, 0.4)  # --noise-search without values


def add_parser(exp) -> None:
    e = exp.add_parser("sda-mnist", help="SdA-3 vs SAE-3 vs MLP-3 vs logistic regression",
                       description="Vincent et al. (2010), table 3: a deep network pre-trained "
                                   "with stacked DAEs (SdA), with stacked plain autoencoders "
                                   "(SAE), or randomly initialised (MLP), all with the same "
                                   "architecture and fine-tuning, and logistic regression on "
                                   "raw pixels. Writes results.json and results.md.")
    e.add_argument("--dataset", choices=("mnist", "usps"), default="mnist", help="data set")
    o.add_data_dir(e, "folder with the data set")
    o.add_out(e, None, "(default: runs/sda-DATASET)")
    e.add_argument("--hidden", type=o.positive_int, nargs="+", default=None,
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
    e.add_argument("--labels", type=o.positive_int, nargs="+", default=None,
                   help="fine-tune on only N labelled training examples, balanced over "
                        "classes (several N: one pre-training, one fine-tuning each); "
                        "pre-training still uses every training image")
    e.add_argument("--seeds", type=o.non_negative_int, nargs="+", default=[0],
                   help="repeat with these seeds and report mean and spread (default: 0)")
    e.add_argument("--models", nargs="+", choices=("SdA", "SAE", "MLP", "logistic"),
                   default=["SdA", "SAE", "MLP", "logistic"],
                   help="which models to train and compare (default: all four)")
    e.add_argument("--pretrain-epochs", type=o.positive_int, default=None,
                   help="epochs per layer (default: 40, more on small data sets so that each "
                        "layer gets at least 10 000 updates: 103 on USPS)")
    e.add_argument("--unsupervised-epochs", type=o.non_negative_int, default=0,
                   help="after greedy pre-training, epochs of fine-tuning the whole deep "
                        "autoencoder on reconstruction (SGD, batch 64, lr 0.1, momentum "
                        "0.9), for SdA and SAE alike (default: 0, the papers' protocol)")
    e.add_argument("--finetune-epochs", type=o.positive_int, default=None,
                   help="most epochs of supervised fine-tuning, early stopping on the "
                        "validation error (default: 30, more on small label sets so that "
                        "each model gets at least 2000 updates; a number given is kept)")
    o.add_device(e)
    o.add_precision(e)
    o.add_progress(e)
    o.add_resume_options(e)
    e.set_defaults(handler=run)


def _noise(args, settings) -> None:
    """The SdA's noise levels, or the candidates of a search; checked before the data are
    read."""
    from ...core.stacking import per_layer
    from ...errors import ConfigError

    if args.hidden:
        settings.hidden_sizes = list(args.hidden)
        levels = settings.noise_levels  # the default, cut or extended to the depth
        settings.noise_levels = [levels[min(k, len(levels) - 1)] for k in range(len(args.hidden))]
    if args.noise:
        settings.noise_levels = per_layer(args.noise, len(settings.hidden_sizes), "--noise-level")
    if args.noise_search is not None:
        if args.noise:
            raise ConfigError("give --noise-level or --noise-search, not both")
        settings.noise_candidates = list(args.noise_search or NOISE_CANDIDATES)
    for level in [*settings.noise_levels, *(settings.noise_candidates or [])]:
        if not 0 <= level <= 1:
            raise ConfigError(f"masking noise level {level} is outside [0, 1]")


def settings_of(args):
    """The experiment's settings, with what the options change."""
    from dataclasses import replace

    from ...experiments import sda

    settings = sda.SdaSettings()
    _noise(args, settings)
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
    return settings


def run(args) -> None:
    import numpy as np

    from ...errors import ConfigError
    from ...experiments import sda
    from ...io.data import load_dataset

    args = resumed(args)
    settings = settings_of(args)
    dataset = load_dataset(args.dataset, args.data_dir)
    classes, n = len(np.unique(dataset.y_train)), len(dataset.y_train)
    for count in args.labels or []:
        if not classes <= count <= n:
            raise ConfigError(f"--labels {count}: give between {classes} (one per class) and "
                              f"{n} (the {args.dataset} training labels)")
    args.out = args.out or Path(f"runs/sda-{args.dataset}")
    _, out = in_run_folder(args, lambda out, checkpoints: sda.run(
        dataset, out, settings, seeds=args.seeds, label_counts=args.labels or [None],
        models=args.models, checkpoints=checkpoints))
    print_report(out)
