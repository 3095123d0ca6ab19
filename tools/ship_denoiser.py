"""Write the denoiser shipped in the package (src/sdae/weights/denoiser-gray.safetensors) from
the checkpoint of its training run, with that run's record in its metadata, and draw
docs/denoiser-training.png (validation PSNR against training hours).

    python tools/ship_denoiser.py /work/denoiser-train/train.ckpt

The shipped training is long (hours on a CPU) and spans sessions: it is one
``sdae denoise train ... --checkpoint FILE`` command, continued by running it again, or,
where the checkpoint is gone (a new machine) or a new schedule is wanted, a new run started
from the shipped weights with ``--init shipped``. At any point this tool takes the best
parameters so far (lowest validation error) and records in the file: the command, the data,
the machine, the training hours and epochs, the validation PSNR after each epoch, and the
same for each earlier run the weights went through ("runs"). It then rewrites SHA256SUMS,
which the package checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import shlex
from itertools import groupby
from pathlib import Path

import numpy as np

from sdae.core.run_state import History
from sdae.io.atomic import atomic_write
from sdae.io.checkpoint import load_checkpoint
from sdae.io.runs import machine_description
from sdae.measures.figures import plot_curves
from sdae.models import save_model
from sdae.pretrained import DENOISER, WEIGHTS
from sdae.tasks.denoising import SubimageDenoiser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="the training run's --checkpoint FILE")
    parser.add_argument("--machine", default=None,
                        help="where it trained, in words, whole (a GPU run: its device, "
                             "cores and torch; default: this machine's CPU, threads and torch)")
    parser.add_argument("--threads", type=int, default=None,
                        help="the threads it trained with, where not this process's (a run "
                             "started with OMP_NUM_THREADS=1 beside other work)")
    parser.add_argument("--out", type=Path, default=WEIGHTS / DENOISER)
    parser.add_argument("--curve", type=Path, default=DOCS / "denoiser-training.png",
                        help="where to draw validation PSNR against training hours")
    args = parser.parse_args()
    state = load_checkpoint(args.checkpoint)
    record = json.loads(args.checkpoint.with_name(args.checkpoint.name + ".command.json")
                        .read_text())
    model = SubimageDenoiser.from_config(state["signature"]["model"])
    model.load_state_dict(state["best_state"] or state["model"])
    history = state["history"]
    # every epoch is the same work (the same crops, the same model): the fastest one is its
    # cost on the machine alone; the others were slower only while it was shared (or the
    # run was paused), so training hours are counted at that cost
    epoch_cost = min(history["epoch_seconds"])
    machine = machine_description()
    where = args.machine or (f"{_cpu_name()}, {args.threads or machine['torch_threads']} "
                             f"threads, torch {machine['torch']}")
    options = record["options"]
    this_run = {
        "command": "sdae " + shlex.join(record["argv"]),
        "machine": where,
        "epochs": state["epoch"],
        "epochs_planned": state["config"]["epochs"],
        "epoch_seconds_alone": round(epoch_cost, 1),
        "hours": round(epoch_cost * state["epoch"] / 3600, 3),
        "wall_hours": round(sum(history["epoch_seconds"]) / 3600, 3),
        "valid_psnr": _psnr(history["valid_loss"]),
    }
    runs = [*_earlier_runs(record), this_run]  # a run started with --init continues another
    valid_psnr = [p for run in runs for p in run["valid_psnr"]]
    extra = {
        **{k: this_run[k] for k in ("command", "machine", "epochs_planned",
                                    "epoch_seconds_alone", "wall_hours")},
        "data": {"images": [Path(p).name for p in options["images"]],
                 "held_out": options["hold_out"], "valid_sigma": options["valid_sigma"],
                 "crop": options["crop"], "stride": options["stride"]},
        "hours": round(sum(run["hours"] for run in runs), 3),  # of every run, the earlier too
        "epochs": len(valid_psnr),
        "best_epoch": history["best_epoch"],  # of this run
        "valid_psnr": valid_psnr,
        "runs": runs,
        "history": History(**history).to_dict(),
    }
    save_model(model, args.out, extra=extra)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    atomic_write(args.out.parent / "SHA256SUMS", f"{digest}  {args.out.name}\n".encode())
    hours = np.cumsum([run["epoch_seconds_alone"] / 3600 for run in runs
                       for _ in run["valid_psnr"]])
    plot_curves(_by_machine(runs, hours), args.curve,
                xlabel="training hours (each epoch at its machine's cost alone)",
                ylabel=f"PSNR (dB), held-out Train400 crops, σ = {options['valid_sigma']:g}",
                percent=False)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): epoch "
          f"{history['best_epoch']} of {state['epoch']} done ({state['config']['epochs']} "
          f"planned) of this run, {extra['hours']:.2f} h in all ({len(runs)} runs), "
          f"validation PSNR {max(this_run['valid_psnr']):.2f} dB")


def _earlier_runs(record: dict) -> list[dict]:
    """The runs before this one, when it started from another denoiser file (``--init``):
    that file's record of its runs (a file this tool wrote), or its one run."""
    if "init" not in record:
        return []
    extra = record["init"]["extra"]
    if "runs" in extra:
        return extra["runs"]
    if "command" in extra:  # shipped before files listed their runs: one run
        return [{k: extra[k] for k in ("command", "machine", "epochs", "epochs_planned",
                                       "epoch_seconds_alone", "hours", "wall_hours",
                                       "valid_psnr")}]
    history = extra["history"]  # a file 'sdae denoise train' wrote
    return [{"command": "sdae " + shlex.join(extra["argv"]), "machine": "unrecorded",
             "epochs": len(history["train_loss"]), "epochs_planned": len(history["train_loss"]),
             "epoch_seconds_alone": round(min(history["epoch_seconds"]), 1),
             "hours": round(extra["seconds"] / 3600, 3),
             "wall_hours": round(extra["seconds"] / 3600, 3),
             "valid_psnr": _psnr(history["valid_loss"])}]


def _by_machine(runs: list[dict], hours: np.ndarray) -> list[tuple]:
    """The validation curve in one part per machine, in order: (machine, PSNR, hours)."""
    parts, start = [], 0
    # the machine without its torch version: the legend fits in the figure
    for machine, group in groupby(runs, key=lambda run: run["machine"].split(", torch")[0]):
        psnr = [p for run in group for p in run["valid_psnr"]]
        parts.append((machine, psnr, list(hours[start : start + len(psnr)])))
        start += len(psnr)
    return parts


def _psnr(losses: list[float]) -> list[float]:
    """PSNR (dB) of each validation mean squared error (images in [0, 1])."""
    return [round(-10 * math.log10(v), 3) for v in losses]


def _cpu_name() -> str:
    """The CPU's model name and core count (Linux), else the architecture."""
    try:
        names = [line.split(":", 1)[1].strip() for line in
                 Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
    except OSError:
        names = []
    return f"{names[0]}, {len(names)} cores" if names else platform.machine()


if __name__ == "__main__":
    main()
