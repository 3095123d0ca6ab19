"""sdae experiment outliers: the DAE detector on PyOD's benchmark, beside the usual ones."""

from __future__ import annotations

from .. import options as o
from .common import add_experiment, in_run_folder, print_report, resumed

METHODS = ("sdae", "IsolationForest", "LocalOutlierFactor", "OneClassSVM", "pyod AutoEncoder",
           "pyod IForest", "pyod INNE")  # experiments.outliers.METHODS


def add_parser(exp) -> None:
    e = add_experiment(exp, "outliers",
                       "sdae's DAE outlier detector against scikit-learn's and PyOD's on the "
                       "17 ODDS sets of PyOD's benchmark",
                       "PyOD's protocol on its 17 ODDS sets: per set and seed a random 60/40 "
                       "split standardised with the training part's statistics, each "
                       "detector fitted without labels, ROC-AUC and precision@n of its "
                       "test scores. Runs sdae's DAEOutlierDetector, scikit-learn's "
                       "IsolationForest, LocalOutlierFactor(novelty=True) and OneClassSVM, "
                       "and PyOD's AutoEncoder, IForest and INNE when pyod is installed "
                       "(pip install \"sdae[pyod]\"), all on the same splits. Writes "
                       "OUT/results.json, results.md (PyOD's published one-split numbers "
                       "beside) and roc_auc.png.",
                       handler=run, data="folder with odds/", out="runs/outliers")
    e.add_argument("--methods", nargs="+", default=None, choices=METHODS, metavar="METHOD",
                   help=f"a subset of the methods: {', '.join(METHODS)} (default: all "
                        "installed)")
    e.add_argument("--sets", nargs="+", default=None, metavar="SET",
                   help="a subset of the 17 sets (default: all)")
    e.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="the splits (default: 0 1 ... 9)")
    o.add_device(e)
    o.add_resume_options(e)


def run(args) -> None:
    from ...experiments import outliers as experiment
    from ...io.data.odds import ODDS_SETS

    args = resumed(args)
    settings = experiment.OutlierSettings()
    if args.sets:
        unknown = sorted(set(args.sets) - set(ODDS_SETS))
        if unknown:
            from ...errors import ConfigError

            raise ConfigError(f"unknown set {', '.join(unknown)}: the sets are "
                              f"{', '.join(ODDS_SETS)}")
        settings.sets = list(args.sets)
    if args.seeds:
        settings.seeds = list(args.seeds)
    _, out = in_run_folder(args, lambda out, checkpoints: experiment.run(
        out, settings, methods=args.methods or experiment.METHODS, data_dir=args.data_dir,
        device=args.device))
    print_report(out)
