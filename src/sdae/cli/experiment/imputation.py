"""sdae experiment imputation: DAEImputer against scikit-learn's imputers on tables."""

from __future__ import annotations

from .. import options as o
from .common import add_experiment, in_run_folder, print_report, resumed


def add_parser(exp) -> None:
    e = add_experiment(exp, "imputation",
                       "DAEImputer against mean, KNN and iterative imputation on Letter, "
                       "Spam and Breast",
                       "Remove entries completely at random (each rate, each "
                       "seed), impute them with DAEImputer and scikit-learn's "
                       "imputers, and report the RMSE on the removed entries of "
                       "each min-max scaled table.",
                       handler=run,
                       data="folder holding tabular/", out="runs/imputation")
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
    e.add_argument("--jobs", type=o.positive_int, default=None,
                   help="imputations run at once, in separate processes sharing the CPU cores "
                        "(default: 1; the number of cores is fastest)")
    o.add_resume_options(e)


def run(args) -> None:
    from ...errors import ConfigError
    from ...experiments import imputation as experiment

    args = resumed(args)
    if not all(0 < rate < 1 for rate in args.rates):
        raise ConfigError(f"--rates must lie in (0, 1), got {args.rates}")
    _, out = in_run_folder(args, lambda out, checkpoints: experiment.run(
        out, args.data_dir, tables=args.tables, rates=args.rates, seeds=args.seeds,
        methods=args.methods or experiment.METHODS, jobs=args.jobs or 1,
        dae_options={"epochs": args.dae_epochs} if args.dae_epochs else None,
        checkpoints=checkpoints))
    print_report(out)
