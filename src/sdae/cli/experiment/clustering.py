"""sdae experiment clustering: stacked-DAE codes clustered on MNIST and USPS, beside the
published deep-clustering results."""

from __future__ import annotations

from .. import options as o
from .common import add_experiment, in_run_folder, print_report, resumed

# experiments.clustering's rows (not imported: the CLI loads the experiment only to run it)
METHODS = ("k-means on pixels", "k-means on PCA", "k-means on codes", "DEC", "IDEC",
           "codes+UMAP+GMM", "DEC from UMAP+GMM", "IDEC from UMAP+GMM", "DEC with moves",
           "IDEC with moves")


def add_parser(exp) -> None:
    e = add_experiment(exp, "clustering",
                       "clustering MNIST (all 70 000) and USPS (all 9 298) on stacked-DAE "
                       "codes: k-means, DEC, IDEC, UMAP+GMM",
                       "Per data set and seed, train DEC's stack once (greedy pre-training "
                       "with masking noise, then fine-tuning as a deep autoencoder) and "
                       "cluster its codes with k-means, DEC, IDEC and, when umap-learn is "
                       "installed (pip install \"sdae[umap]\"), UMAP then a Gaussian mixture "
                       "(N2D); on request (--methods), DEC and IDEC started from its "
                       "clusters, and DEC and IDEC on images moved a little (DEC-DA's "
                       "augmentation). Beside them "
                       "k-means on the pixels and on as many principal components as the "
                       "code has units. Reports ACC, NMI and ARI against "
                       "the labels (mean ± sd over the seeds) with the published ACC beside. "
                       "Writes OUT/results.json, results.md and, per set, codes_map.png and "
                       "nearest.png of the first seed's best method.",
                       handler=run,
                       data="folder with mnist/ and usps/; --sets digits and mnist-small "
                            "need none",
                       out="runs/clustering")
    e.add_argument("--sets", nargs="+", choices=("mnist", "usps", "mnist-small", "digits"),
                   default=["mnist", "usps"], help="(default: mnist usps)")
    e.add_argument("--seeds", type=o.non_negative_int, nargs="+", default=[0, 1, 2],
                   help="(default: 0 1 2)")
    e.add_argument("--methods", nargs="+", choices=METHODS, default=None, metavar="METHOD",
                   help=f"a subset of: {', '.join(METHODS)}, each in quotes, e.g. "
                        "--methods \"k-means on codes\" IDEC (default: the published "
                        "comparison, the first six; UMAP's when umap-learn is installed. "
                        "The rows from UMAP+GMM and with moves run when named: each adds "
                        "10-25 minutes of one core per MNIST seed)")
    e.add_argument("--activation", choices=("sigmoid", "relu"), default=None,  # UNITS
                   help="the stack's hidden units: sigmoid (the SdA papers') or relu (DEC's) "
                        "(default: sigmoid)")
    e.add_argument("--pretrain-epochs", type=o.non_negative_int, default=None,
                   help="per layer (default: 25)")
    e.add_argument("--finetune-epochs", type=o.non_negative_int, default=None,
                   help="of the deep autoencoder (default: 40)")
    e.add_argument("--self-training-steps", type=o.non_negative_int, default=None,
                   help="at most, for DEC and IDEC (default: 20000)")
    e.add_argument("--finetune-moves", type=o.non_negative_float, default=None,
                   metavar="FRACTION",
                   help="fine-tune the stack on images shifted by up to this fraction of the "
                        "side and turned by up to 100 × FRACTION degrees, reconstructing "
                        "them as moved (as DEC-DA trains its autoencoder; default: 0, none)")
    e.add_argument("--jobs", type=o.positive_int, default=None,
                   help="parts run at once (the seeds' stacks, then the rows), in separate "
                        "processes sharing the CPU cores (default: 1; on 2 cores, 2 is "
                        "faster: one process cannot keep both busy)")
    o.add_precision(e)
    o.add_device(e)
    o.add_progress(e)
    o.add_resume_options(e)


def run(args) -> None:
    from ...experiments import clustering as experiment
    from ...tasks.clustering import ClusteringSettings

    args = resumed(args)
    given = {name: getattr(args, name, None)
             for name in ("activation", "pretrain_epochs", "finetune_epochs",
                          "self_training_steps", "finetune_moves")}
    settings = ClusteringSettings(precision=args.precision,
                                  **{k: v for k, v in given.items() if v is not None})
    plan = experiment.ClusteringExperiment(sets=list(args.sets), seeds=list(args.seeds),
                                           methods=list(args.methods or experiment.DEFAULT_METHODS),
                                           settings=settings)
    _, out = in_run_folder(args, lambda out, checkpoints: experiment.run(
        out, plan, args.data_dir, args.device, checkpoints, progress=args.progress,
        jobs=args.jobs or 1))
    print_report(out)
