"""sdae bench: training speed against this machine's matmul ceiling."""

from __future__ import annotations

from pathlib import Path

from . import options as o


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="training speed against this machine's matmul ceiling",
                       description="Measure examples/s and GFLOP/s of DAE layers at several "
                                   "batch sizes beside the time of their bare matrix products "
                                   "and beside a plain DataLoader loop; epoch time against data "
                                   "size and width; each precision. Writes OUT/results.json "
                                   "and OUT/results.md.")
    o.add_device(p)
    p.add_argument("--quick", action="store_true",
                   help="one tiny layer and batch: a check that the benchmark runs (seconds)")
    p.add_argument("--sda-mnist", action="store_true",
                   help="also time the default 'sdae experiment sda-mnist', phase by phase "
                        "(about 20 minutes on 2 CPU cores)")
    o.add_data_dir(p, "folder with MNIST (--sda-mnist)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"),
                   help="output folder (default: runs/bench)")
    p.set_defaults(handler=run)


def run(args) -> None:
    from dataclasses import replace

    from .. import bench
    from ..core.training import resolve_device
    from ..io.atomic import atomic_write, write_json
    from ..io.data import load_mnist
    from ..io.runs import prepare_folder

    resolve_device(args.device)
    dataset = load_mnist(args.data_dir, download=False) if args.sda_mnist else None
    out = prepare_folder(args.out)
    results = bench.run(args.device, quick=args.quick)
    if dataset is not None:
        from ..experiments import sda

        settings = sda.SdaSettings()
        for phase in ("pretrain", "finetune"):
            setattr(settings, phase, replace(getattr(settings, phase), device=args.device))
        runs = sda.run(dataset, out / "sda-mnist", settings)["runs"]
        results["sda_mnist"] = [{k: r[k] for k in ("name", "pretrain_seconds",
                                                   "unsupervised_seconds", "finetune_seconds",
                                                   "seconds_to_best", "test_error") if k in r}
                                for r in runs]
    write_json(out / "results.json", results)
    atomic_write(out / "results.md", bench.markdown(results).encode())
    print(f"\n{bench.markdown(results)}\nwrote {out}/results.json, results.md "
          f"({results['seconds']:.0f} s)")
