"""sdae demo: a one-minute version of mnist-filters."""

from __future__ import annotations

from . import options as o

COMMAND = ["demo"]


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the main job: a one-minute version of mnist-filters",
                       description="Train a plain AE and 25% / 50% masking DAEs and compare "
                                   "their filters and features: on full MNIST when it is on "
                                   "disk (or with --download), otherwise on the 10 000-image "
                                   "MNIST subset shipped with sdae (offline).")
    o.add_data_dir(p, "where to look for full MNIST (default: $SDAE_DATA_DIR, then the user "
                      "cache)")
    p.add_argument("--download", action="store_true",
                   help="download full MNIST (about 11 MB, checked against its SHA-256) into "
                        "the user cache if it is not on disk, and use it")
    o.add_out(p, "runs/demo")
    o.add_seed(p)
    o.add_progress(p)
    o.add_resume_options(p)
    p.set_defaults(handler=run)


def run(args) -> None:
    from dataclasses import replace

    from ..experiments import mnist_filters
    from ..io.data import load_dataset
    from .experiment import in_run_folder, print_filters_summary
    from .run_folder import resumed_args

    args = resumed_args(args, COMMAND)
    if getattr(args, "download", False):
        print("full MNIST: looking on disk, else downloading it into the user cache", flush=True)
        dataset = load_dataset("mnist", args.data_dir, download=True)
    else:
        dataset = load_dataset("auto", args.data_dir)
    print(data_message(dataset.name), flush=True)
    dataset, options = mnist_filters.demo_config(dataset, args.seed)
    options["train_config"] = replace(options["train_config"], progress=args.progress)
    results, out = in_run_folder(args, lambda out, checkpoints: mnist_filters.run(
        dataset, out, checkpoints=checkpoints, **options), COMMAND, dataset.name)
    print_filters_summary(results, out)


def data_message(name: str) -> str:
    """Which data the demo uses, and how to use full MNIST instead."""
    if name == "mnist":
        return "full MNIST found: the demo uses its first 20 000 training and 5 000 test images"
    return ("full MNIST not found, so the demo uses the 10 000-image MNIST subset shipped with "
            "sdae (offline). For full MNIST: sdae demo --download, or point --data-dir or "
            "$SDAE_DATA_DIR at a folder with its four IDX files")
