"""sdae train: a DAE, or a stack of them, on a data set; a run folder that a killed run
continues from."""

from __future__ import annotations

from . import options as o

COMMAND = ["train"]


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a DAE, or a stack of them, on a data set",
                       description="Train a denoising autoencoder, or a stack of them layer by "
                                   "layer (several --hidden sizes) and optionally fine-tune it "
                                   "with labels; write a run folder with the model, its "
                                   "metrics and figures.")
    o.add_data_options(p, default="auto")
    p.add_argument("--valid-fraction", type=o.fraction, default=0.1,
                   help="share of a user's file held out for validation (default: 0.1)")
    p.add_argument("--stream", action="store_true",
                   help="leave a .npy file on disk (memory-mapped) and stream it to the device "
                        "in chunks: data larger than memory; the last --valid-fraction of its "
                        "rows is the validation set")
    _add_model_options(p)
    o.add_train_options(p, epochs=15, batch_size=20, lr=0.1)
    _add_finetune_options(p)
    o.add_out(p, "runs/train", "run folder (default: runs/train); every phase checkpoints there")
    p.add_argument("--checkpoint-every", type=o.positive_int, default=1, metavar="N",
                   help="write the checkpoint every N epochs, at the end of each phase, and "
                        "on Ctrl-C or SIGTERM (default: 1)")
    o.add_tensorboard(p)
    o.add_resume_options(p)
    p.set_defaults(handler=run)


def _add_model_options(p) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--hidden", type=o.positive_int, nargs="+", default=[500],
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
    g.add_argument("--decoder", choices=("sigmoid", "linear", "relu"), default="sigmoid",
                   help="sigmoid for data in [0, 1], linear for real-valued data, relu for "
                        "data >= 0 without an upper bound")
    g.add_argument("--loss", choices=("cross_entropy", "squared_error"), default=None,
                   help="default: cross_entropy with a sigmoid decoder, else squared_error")
    g.add_argument("--emphasis", type=float, nargs=2, metavar=("ALPHA", "BETA"),
                   help="weights of the loss on corrupted / other components")
    g.add_argument("--walkback", type=float, default=0.0, metavar="P",
                   help="walkback training for a model to sample from (sdae sample): each "
                        "example walks on with probability P, every step trained to "
                        "reconstruct it (Bengio et al. 2013; default: 0, none)")


def _add_finetune_options(p) -> None:
    g = p.add_argument_group("unsupervised fine-tuning")
    g.add_argument("--unsupervised-epochs", type=int, default=0,
                   help="after pre-training, epochs of training the whole deep autoencoder "
                        "(every encoder, then the mirrored decoders) on reconstruction of "
                        "the clean input, with the training options above (default: 0)")
    g = p.add_argument_group("supervised fine-tuning (needs labels: an .npz with y, a CSV "
                             "with --label-column, class folders, or mnist)")
    g.add_argument("--finetune-epochs", type=int, default=0,
                   help="epochs of fine-tuning with a softmax layer on top; the parameters of "
                        "the best validation epoch are kept (default: 0, none)")
    g.add_argument("--finetune-lr", type=float, default=0.1, help="(default: 0.1)")
    g.add_argument("--finetune-momentum", type=float, default=None,
                   help="(default: 0.9 with SGD, none with Adam)")
    g.add_argument("--finetune-warmup", type=float, default=1.0, metavar="EPOCHS",
                   help="raise the learning rate linearly from 0 over this many epochs, so "
                        "that the first momentum steps do not saturate the units (default: 1)")


def check_walkback(p: float) -> None:
    from ..errors import ConfigError

    if not 0 <= p < 1:
        raise ConfigError(f"--walkback is a probability below 1, got {p}")


def _check(args) -> None:
    from ..errors import ConfigError

    for option in ("finetune_epochs", "unsupervised_epochs"):
        if getattr(args, option) < 0:
            raise ConfigError(f"--{option.replace('_', '-')} must be >= 0")
    check_walkback(args.walkback)
    if args.walkback and args.corruption == "none":
        raise ConfigError("--walkback walks by corrupting: give a --corruption")
    if args.tensorboard:  # a missing package fails before anything is written
        from ..experiments.run_logs import summary_writer_class

        summary_writer_class()
    if args.unsupervised_epochs and len(args.hidden) < 2:
        raise ConfigError("--unsupervised-epochs fine-tunes a deep autoencoder: give two or "
                          "more --hidden sizes (on one layer it would only undo the denoising)")


def _phases(args):
    from dataclasses import replace

    from ..experiments.train_run import StackRun

    config = replace(o.train_config(args), checkpoint_every=args.checkpoint_every)
    finetune = None
    if args.finetune_epochs > 0:
        momentum = args.finetune_momentum if args.finetune_momentum is not None \
            else 0.9 if config.optimizer == "sgd" else 0.0
        finetune = replace(config, epochs=args.finetune_epochs, lr=args.finetune_lr,
                           momentum=momentum, warmup_epochs=args.finetune_warmup)
    return StackRun(config, args.walkback, args.unsupervised_epochs, finetune)


def _labels(args, dataset):
    """The classes the training labels name (np.unique), for fine-tuning."""
    import numpy as np

    from ..errors import DataError

    if dataset.y_train is None:
        if args.stream:
            raise DataError("--finetune-epochs needs labels, and a streamed .npy holds only "
                            "inputs: leave out --stream and give an .npz with arrays x and y")
        raise DataError(f"--finetune-epochs needs labels, and {args.data} has none: "
                        "give an .npz with arrays x and y, a CSV table with "
                        "--label-column, or a folder of class folders")
    classes = np.unique(dataset.y_train)
    if len(classes) < 2:
        raise DataError(f"--finetune-epochs needs labels of two or more classes, and the "
                        f"training labels of {args.data} are all {dataset.y_train[0]}")
    return classes.tolist()


def _data_name(args, dataset) -> str:
    """The data as a name or an absolute path: a resume reads them from any folder."""
    from pathlib import Path

    from ..io.data.registry import NAMED

    return (args.data if args.data in NAMED else dataset.name if args.data == "auto"
            else str(Path(args.data).resolve()))


def run(args) -> None:
    import contextlib
    import io

    import torch

    from ..core.distributed import join_process_group
    from ..core.stacking import StackedDenoisingAutoencoder
    from ..core.training import check_batch_size, check_inputs
    from ..experiments import train_run
    from ..io.data import load_dataset
    from .run_folder import hint, open_run, resumed_args

    args = resumed_args(args, COMMAND)
    phases = _phases(args)
    writes = join_process_group(phases.config.device) == 0  # under torchrun, rank 0 writes
    _check(args)
    dataset = load_dataset(args.data, args.data_dir, valid_fraction=args.valid_fraction,
                           download=not args.no_download, seed=args.seed, stream=args.stream,
                           label_column=args.label_column)
    classes = _labels(args, dataset) if phases.finetune is not None else None
    levels = args.noise_level if args.corruption != "none" else [0.0]
    stack = StackedDenoisingAutoencoder(
        dataset.n_features, args.hidden, corruption=args.corruption,
        noise_levels=levels[0] if len(levels) == 1 else levels, classes=classes,
        generator=torch.Generator().manual_seed(args.seed), tied=not args.untied,
        activation=args.activation, decoder=args.decoder, clip=args.clip, loss=args.loss,
        emphasis=args.emphasis)
    x = train_run.as_input(dataset.x_train, args.stream)
    check_inputs(stack.layers[0], x, "training data")  # before anything is written
    if dataset.x_valid is not None:
        check_inputs(stack.layers[0], train_run.as_input(dataset.x_valid, args.stream),
                     "validation data")
    check_batch_size(args.batch_size, len(x))  # the library's rule, before anything is written
    folder = open_run(args, COMMAND, _data_name(args, dataset), writes=writes)
    quiet = contextlib.nullcontext() if writes else contextlib.redirect_stdout(io.StringIO())
    with folder.guard(hint(COMMAND, folder.out)), quiet:
        metrics = train_run.train_stack(stack, dataset, phases, folder.checkpoints,
                                        stream=args.stream, out=folder.out if writes else None,
                                        tensorboard=args.tensorboard)
        if not writes:
            return
        train_run.write_run(stack, dataset, folder.out, metrics, phases, args.seed)
        folder.finish()
        print(train_run.summary(metrics) + f"\nwrote {folder.out}/")
