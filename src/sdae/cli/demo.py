"""sdae demo: a one-minute version of mnist-filters."""

from __future__ import annotations

from . import options as o

COMMAND = ["demo"]


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the main job: a one-minute version of mnist-filters",
                       description="Train a plain AE and 25% / 50% masking DAEs and compare "
                                   "their filters and features: on MNIST when it is on disk, "
                                   "otherwise on the digits bundled with scikit-learn (offline).")
    o.add_data_dir(p, "where to look for MNIST")
    o.add_out(p, "runs/demo")
    o.add_seed(p)
    o.add_progress(p)
    o.add_resume_options(p)
    p.set_defaults(handler=run)


def run(args) -> None:
    from dataclasses import replace

    from ..experiments import mnist_filters
    from ..io.data import load_dataset
    from .experiment import print_filters_summary
    from .run_folder import hint, open_run, resumed_args

    args = resumed_args(args, COMMAND)
    dataset = load_dataset("auto", args.data_dir)
    if dataset.name != "mnist":
        print(f"MNIST was not found, so the demo uses {dataset.name} (8×8 images, too small "
              "for pen-stroke filters): give --data-dir a folder with MNIST for the real one")
    dataset, options = mnist_filters.demo_config(dataset, args.seed)
    options["train_config"] = replace(options["train_config"], progress=args.progress)
    folder = open_run(args, COMMAND, dataset.name)
    with folder.guard(hint(COMMAND, folder.out)):
        results = mnist_filters.run(dataset, folder.out, checkpoints=folder.checkpoints,
                                    **options)
    folder.finish()
    print_filters_summary(results, folder.out)
