"""sdae detect: flag the outliers of a table with an ensemble of DAEs."""

from __future__ import annotations

from pathlib import Path

from . import options as o


def add_parser(sub) -> None:
    p = sub.add_parser("detect", help="score and flag the outliers of a table",
                       usage="sdae detect (--train DATA | MODEL DATA) --out SCORES.csv "
                             "[options]",
                       description="Fit an outlier detector (an ensemble of denoising "
                                   "autoencoders: a row is abnormal when it is "
                                   "reconstructed badly and its code lies where few others "
                                   "do) on a table without labels, or load one fitted "
                                   "before, and write each row's outlier score (higher is "
                                   "more abnormal) and flag (1 for an outlier).")
    p.add_argument("paths", type=Path, nargs="*", metavar="[MODEL] DATA",
                   help="a detector saved with --save and the table to score (.csv, .npy, "
                        ".npz); with --train, the table to score besides the training one "
                        "(default: the training table itself)")
    p.add_argument("--train", type=Path, default=None, metavar="DATA",
                   help="fit the detector on this table (rows that may contain outliers)")
    p.add_argument("--out", type=Path, required=True,
                   help="a .csv with the columns score and outlier, a row per input row "
                        "(or .npy: the scores)")
    p.add_argument("--save", type=Path, default=None, metavar="MODEL",
                   help="with --train: also write the fitted detector (.safetensors)")
    p.add_argument("--contamination", default="auto",
                   help="the share of outliers expected in the training table, in (0, 0.5], "
                        "which sets the flagging threshold; 'auto' (default): Tukey's rule, "
                        "scores beyond the upper quartile + 1.5 interquartile ranges")
    p.add_argument("--models", type=o.positive_int, default=None,
                   help="DAEs in the ensemble (default: 20)")
    o.add_seed(p)
    o.add_device(p)
    p.set_defaults(handler=run)


def _contamination(text: str):
    from ..errors import ConfigError

    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--contamination {text!r}: give 'auto' or a share such as "
                          "0.05") from None


def run(args) -> None:
    import time

    import numpy as np

    from ..errors import ConfigError, ModelFileError
    from ..io.data.files import load_array
    from ..io.outputs import refuse_overwrite, write_array
    from ..models import load_model, save_model
    from ..tasks.outliers import (
        DetectorSettings,
        OutlierDetector,
        check_contamination,
        check_table,
        fit_detector,
        outlier_scores,
        outlier_threshold,
        saved_threshold,
    )

    contamination = check_contamination(_contamination(args.contamination))
    if args.out.suffix.lower() not in {".csv", ".npy"}:
        raise ConfigError(f"--out {args.out}: name a .csv or a .npy file")
    if args.train is None and len(args.paths) != 2:
        raise ConfigError("give --train DATA to fit a detector, or a saved MODEL and the DATA "
                          "to score")
    if args.train is not None and len(args.paths) > 1:
        raise ConfigError("with --train, give at most one more table to score")
    if args.save is not None and args.train is None:
        raise ConfigError("--save writes a detector fitted with --train")
    if args.train is None and (args.models or args.contamination != "auto"):
        raise ConfigError("--models and --contamination are for fitting (--train); a saved "
                          "detector keeps its own")
    if args.save is not None and args.save.suffix != ".safetensors":
        raise ConfigError(f"--save {args.save}: name a .safetensors file")
    refuse_overwrite(args.out, *args.paths, *[p for p in (args.train,) if p])
    start = time.perf_counter()
    if args.train is not None:
        X_train = check_table(load_array(args.train)[0], str(args.train))
        data = args.paths[0] if args.paths else args.train
        # the rows to score are read and checked before the fit, which takes a while
        X = X_train if data == args.train else check_table(
            load_array(data)[0], str(data), n_features=X_train.shape[1])
        settings = DetectorSettings(**({"n_models": args.models} if args.models else {}))
        detector, training_scores = fit_detector(X_train, settings, args.seed, args.device)
        threshold = outlier_threshold(training_scores, contamination)
        if args.save is not None:
            save_model(detector, args.save, extra={"threshold": threshold,
                                                   "contamination": contamination,
                                                   "argv": args.argv})
        print(f"fitted {len(detector.daes)} DAEs on {len(X_train)} rows of {args.train} in "
              f"{time.perf_counter() - start:.1f} s" +
              (f"; saved the detector to {args.save}" if args.save else ""))
        scores = training_scores if data == args.train else outlier_scores(detector, X)
    else:
        model_path, data = args.paths
        detector, header = load_model(model_path, with_header=True)
        if not isinstance(detector, OutlierDetector):
            raise ModelFileError(f"{model_path} is a {header['kind']} model, not an outlier "
                                 "detector: fit one with 'sdae detect --train DATA --save "
                                 "MODEL'")
        threshold = saved_threshold(header.get("extra") or {}, model_path)
        scores = outlier_scores(detector, check_table(load_array(data)[0], str(data)))
    flags = (scores > threshold).astype(int)
    if args.out.suffix.lower() == ".csv":
        cells = np.array([[f"{v:.6g}", str(f)] for v, f in zip(scores, flags, strict=True)],
                         dtype=object).reshape(-1, 2)
        write_array(args.out, cells, header=["score", "outlier"])
    else:
        write_array(args.out, scores)
    print(f"{flags.sum()} of {len(scores)} rows of {data} flagged as outliers (score above "
          f"{threshold:.3g}); wrote {args.out}")
