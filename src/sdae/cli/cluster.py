"""sdae cluster: group the rows of a data set without labels, on stacked-DAE codes."""

from __future__ import annotations

from pathlib import Path

from . import options as o

COMMAND = ["cluster"]
METHODS = ("auto", "kmeans", "gmm", "umap-gmm", "dec", "idec")  # tasks.clustering.METHODS


def add_parser(sub) -> None:
    p = sub.add_parser(
        "cluster", help="cluster the rows of a data set on stacked-DAE codes",
        usage="sdae cluster (DATA --n-clusters K | MODEL DATA) --out OUT [options] | --resume OUT",
        description="Train a stack of denoising autoencoders on a data set without labels "
                    "(DEC's recipe: greedy layer-wise pre-training with masking noise, then "
                    "fine-tuning as a deep autoencoder), cluster its codes, and write OUT/"
                    "labels.csv (the cluster of each row), OUT/model.safetensors, "
                    "OUT/codes_map.png (the codes on the plane, coloured by cluster), "
                    "OUT/nearest.png (the rows nearest each centre) and OUT/clustering.json "
                    "(sizes, seconds, scores). With a MODEL saved before, label DATA with "
                    "its clusters instead: each row goes to the nearest centre in code "
                    "space (for umap-gmm and gmm that agrees with the fitted labels on most "
                    "rows, not all: clustering.json's nearest_centre_agrees). When the data "
                    "have labels, ACC, NMI and ARI against them are printed.")
    p.add_argument("paths", nargs="*", metavar="[MODEL] DATA",
                   help="the data: 'mnist' (all 70 000 images), 'mnist-small', 'usps' (all "
                        "9 298), 'digits', or a path (.npy, .npz with x and y, .csv, a folder "
                        "of images); before it, a model saved by an earlier run")
    p.add_argument("--n-clusters", type=o.positive_int, default=None, metavar="K",
                   help="the number of clusters (needed to fit)")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="how the codes are clustered: k-means, a Gaussian mixture, UMAP then "
                        "a Gaussian mixture (N2D; needs pip install \"sdae[umap]\"), or DEC's "
                        "/ IDEC's self-training from k-means; auto: umap-gmm when umap-learn "
                        "is installed, else idec (default: auto)")
    g = p.add_argument_group("the stack and its training (DEC's by default)")
    g.add_argument("--hidden", type=o.positive_int, nargs="+", default=[500, 500, 2000, 10],
                   help="layer widths, bottom first; the last is the code (default: 500 500 "
                        "2000 10)")
    g.add_argument("--activation", choices=["sigmoid", "relu"], default="sigmoid",  # UNITS
                   help="the hidden units: sigmoid (the SdA papers') or relu (DEC's); the "
                        "code is linear (default: sigmoid)")
    g.add_argument("--noise-level", type=o.fraction, default=0.2,
                   help="masking noise of pre-training (default: 0.2)")
    g.add_argument("--pretrain-epochs", type=o.non_negative_int, default=25,
                   help="per layer (default: 25)")
    g.add_argument("--finetune-epochs", type=o.non_negative_int, default=40,
                   help="of the deep autoencoder (default: 40)")
    g.add_argument("--self-training-steps", type=o.non_negative_int, default=20_000,
                   help="at most, for dec and idec, rounded up to whole epochs; they stop "
                        "earlier when fewer than 0.1%% of the assignments change (default: "
                        "20000)")
    g.add_argument("--init", choices=["kmeans", "umap-gmm"], default="kmeans",  # INITS
                   help="where dec and idec start: k-means on the codes (theirs), or the "
                        "clusters of umap-gmm (default: kmeans)")
    g.add_argument("--moves", type=o.non_negative_float, default=0.0, metavar="FRACTION",
                   help="for dec and idec on square images: self-train on images shifted by "
                        "up to this fraction of the side and turned by up to 100 × FRACTION "
                        "degrees (DEC-DA's augmentation; 0.1 is theirs; default: 0, none)")
    g.add_argument("--finetune-moves", type=o.non_negative_float, default=0.0,
                   metavar="FRACTION",
                   help="for square images: fine-tune the stack on images moved in the same "
                        "way, drawn afresh for each batch, reconstructing them as moved (as "
                        "DEC-DA trains its autoencoder; default: 0, none)")
    g.add_argument("--update-interval", type=o.positive_int, default=None,
                   help="steps between two updates of DEC's target (default: once per "
                        "epoch, at least every 140 steps)")
    g.add_argument("--batch-size", type=o.positive_int, default=256, help="(default: 256)")
    o.add_precision(g)
    p.add_argument("--image-shape", type=o.positive_int, nargs=2, metavar=("H", "W"),
                   default=None, help="show rows as H×W images in nearest.png (default: "
                                      "square images when the width is a square)")
    p.add_argument("--label-column", metavar="NAME|INDEX", default=None,
                   help="a CSV table's column of labels, left out of the clustering and used "
                        "only to score it")
    o.add_data_dir(p)
    o.add_out(p, None, "output folder (required)")
    o.add_run_options(p)
    o.add_resume_options(p)
    p.set_defaults(handler=run)


def run(args) -> None:
    from ..errors import ConfigError
    from .run_folder import resumed_args

    args = resumed_args(args, COMMAND)
    if not 1 <= len(args.paths) <= 2:
        raise ConfigError("give the DATA to cluster, or a saved MODEL and the DATA")
    if args.out is None:
        raise ConfigError("give the output folder: --out OUT")
    if len(args.paths) == 1 and args.n_clusters is None:
        raise ConfigError("give the number of clusters: --n-clusters K (or a saved MODEL "
                          "before the DATA)")
    if len(args.paths) == 2 and args.n_clusters is not None:
        raise ConfigError("a saved model keeps its own clusters: leave out --n-clusters")
    if len(args.paths) == 2:
        _label(args)
    else:
        _fit(args)


def _read(args, name: str):
    from ..io.data.registry import load_all_rows

    return load_all_rows(name, args.data_dir, label_column=args.label_column)


def _fit(args) -> None:
    import numpy as np

    from ..errors import WarningsAbout
    from ..io.data.registry import NAMED
    from ..models import save_model
    from ..tasks.clustering import (
        ClusteringSettings,
        check_clustering_data,
        check_method,
        fit_clustering,
    )
    from .run_folder import hint, open_run

    data = args.paths[0]
    settings = ClusteringSettings(
        hidden_sizes=tuple(args.hidden), activation=args.activation,
        noise_level=args.noise_level,
        pretrain_epochs=args.pretrain_epochs, finetune_epochs=args.finetune_epochs,
        self_training_steps=args.self_training_steps,
        update_interval=args.update_interval, init=args.init, moves=args.moves,
        finetune_moves=args.finetune_moves, batch_size=args.batch_size, precision=args.precision)
    x, y, shape = _read(args, data)
    x = np.asarray(x, dtype=np.float32)
    check_clustering_data(x, args.n_clusters)  # before the folder is made
    check_method(args.method, settings, x.shape[1])
    folder = open_run(args, COMMAND, data if data in NAMED else str(Path(data).resolve()))
    with folder.guard(hint(COMMAND, folder.out)):
        with WarningsAbout(None) as said:  # shown as they come, and kept in clustering.json
            result = fit_clustering(x, args.n_clusters, args.method, settings, args.seed,
                                    args.device, args.progress,
                                    checkpoint_dir=folder.checkpoints)
        if said:
            result.record["warnings"] = said
        save_model(result.model, folder.out / "model.safetensors",
                   extra={"method": result.method, "argv": args.argv})
        _write(args, folder.out, x, y, shape, result.model, result.labels, result.record)
    folder.finish()


def _label(args) -> None:
    import numpy as np
    import torch

    from ..core.training import batched
    from ..errors import ModelFileError
    from ..io.data.files import check_features
    from ..models import load_model
    from ..tasks.clustering import ClusteringModel

    model_path, data = args.paths
    model, header = load_model(model_path, with_header=True)
    if not isinstance(model, ClusteringModel):
        raise ModelFileError(f"{model_path} is a {header['kind']} model, not a clustering: "
                             "fit one with 'sdae cluster DATA --n-clusters K --out OUT'")
    x, y, shape = _read(args, data)
    x = check_features(np.asarray(x, dtype=np.float32), str(data))
    if x.shape[1] != model.n_visible:
        from ..errors import DataError

        raise DataError(f"{data} has {x.shape[1]} features but {model_path} clusters rows "
                        f"of {model.n_visible}")
    from ..io.runs import prepare_folder

    out = prepare_folder(args.out)
    labels = batched(model.predict, torch.as_tensor(x)).numpy()
    record = {"method": (header.get("extra") or {}).get("method"), "model": str(model_path)}
    empty = model.n_clusters - len(np.unique(labels))
    if empty:
        from ..errors import warn

        message = f"{empty} of the model's {model.n_clusters} clusters hold none of {data}'s rows"
        warn(message)
        record["warnings"] = [message]  # kept in clustering.json, as a fitted run's are
    _write(args, out, x, y, shape, model, labels, record)


def self_training_line(record: dict) -> str:
    """Whether DEC's or IDEC's self-training settled, from its record: it stops when fewer
    than ``tol`` of the assignments change between two updates of the target, or at
    ``self_training_steps``."""
    changed = record.get("changed") or [float("nan")]
    method, steps = str(record.get("method")).upper(), record["steps"]
    settings = record.get("settings", {})
    if record.get("converged"):
        return (f"{method} self-training settled after {steps} steps: {changed[-1]:.2%} of "
                f"the assignments changed at the last update (under the tolerance, "
                f"{settings.get('tol', 0.001):.1%})")
    return (f"{method} self-training stopped after {steps} steps, its limit (--self-training-"
            f"steps, rounded up to whole epochs), with {changed[-1]:.2%} of the assignments "
            "still changing at the last update")


def _write(args, out: Path, x, y, shape, model, labels, record: dict) -> None:
    """labels.csv, the figures and clustering.json; the scores printed when ``y`` exists."""
    import numpy as np
    import torch

    from ..core.training import batched
    from ..io.atomic import write_json
    from ..io.outputs import write_array
    from ..measures.clustering import clustering_scores, draw_clusters

    write_array(out / "labels.csv", labels.reshape(-1, 1).astype(np.int64), header=["cluster"])
    codes = batched(model.encode, torch.as_tensor(x)).numpy()
    sizes = np.bincount(labels, minlength=model.n_clusters)
    shape = tuple(args.image_shape) if args.image_shape else shape
    figures = draw_clusters(x, codes, model.centers.detach().numpy(), labels, out, shape,
                            args.seed)
    summary = {"rows": len(x), "n_clusters": model.n_clusters, "sizes": sizes.tolist(),
               **record}
    if y is not None:
        summary["scores"] = clustering_scores(y, labels)
    write_json(out / "clustering.json", summary)
    written = ["labels.csv", "clustering.json", *(f.name for f in figures)]
    if (out / "model.safetensors").is_file():
        written.insert(1, "model.safetensors")
    print(f"{len(x)} rows in {model.n_clusters} clusters by {record.get('method')} (sizes "
          f"{' '.join(map(str, sizes))}); wrote {', '.join(written)} in {out}")
    if "steps" in record:  # DEC's or IDEC's self-training: did it settle?
        print(self_training_line(record))
    if y is not None:
        s = summary["scores"]
        print(f"against the data's labels: ACC {s['acc']:.4f}, NMI {s['nmi']:.4f}, "
              f"ARI {s['ari']:.4f}")
