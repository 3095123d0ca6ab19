"""sdae impute: fill the missing cells of a CSV table with a DAE."""

from __future__ import annotations

from pathlib import Path

from . import options as o


def add_parser(sub) -> None:
    p = sub.add_parser("impute", help="fill the missing cells of a CSV table with a DAE",
                       description="Train a denoising autoencoder on the observed cells of a "
                                   "CSV table (missing: empty, NA, N/A, NaN, null, None or ?) "
                                   "and write the table with every missing cell filled; "
                                   "observed cells and the header are kept as they are. "
                                   "Columns of numbers are numeric, any other is categorical.")
    p.add_argument("data", type=Path, help="a .csv table")
    p.add_argument("--out", type=Path, required=True, help="the completed .csv to write")
    p.add_argument("--hidden", type=o.positive_int, nargs="+", default=[256, 256],
                   help="encoder widths (default: 256 256)")
    p.add_argument("--noise-level", type=float, default=0.25,
                   help="share of observed columns masked in training (default: 0.25)")
    p.add_argument("--emphasis", type=float, nargs=2, default=[0.75, 0.25],
                   metavar=("ALPHA", "BETA"),
                   help="loss weights of the cells the training noise masked and of those the "
                        "network saw (default: 0.75 0.25)")
    p.add_argument("--epochs", type=o.positive_int, default=None,
                   help="(default: about 80 000 updates, at most 2000 epochs)")
    p.add_argument("--n-imputations", type=o.positive_int, default=1,
                   help="average this many random draws instead of one deterministic pass")
    o.add_run_options(p)
    p.set_defaults(handler=run)


def run(args) -> None:
    from ..errors import ConfigError
    from ..io.data.tables import read_typed_csv
    from ..io.outputs import write_completed_table
    from ..tasks.imputation import ImputerSettings, impute_table

    if args.out.suffix.lower() != ".csv":
        raise ConfigError(f"--out {args.out}: name a .csv file")
    table = read_typed_csv(args.data)  # refuses ragged rows, empty columns, infinities
    settings = ImputerSettings(hidden_sizes=tuple(args.hidden), noise_level=args.noise_level,
                               emphasis=tuple(args.emphasis), n_imputations=args.n_imputations,
                               epochs=args.epochs, device=args.device,
                               progress=bool(args.progress))
    filled = impute_table(table.values, table.categorical, settings, random_state=args.seed)
    write_completed_table(args.out, table.header, table.cells, filled, table.missing)
    print(f"filled {int(table.missing.sum())} missing cells of {table.missing.size} "
          f"({len(table.categorical)} categorical column{'s' * (len(table.categorical) != 1)}); "
          f"wrote {args.out}")
