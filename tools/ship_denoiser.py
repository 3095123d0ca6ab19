"""Write the denoiser shipped in the package (src/sdae/weights/denoiser-gray.safetensors) from
the checkpoint of its training run, with that run's record in its metadata, and draw
docs/denoiser-training.png (validation PSNR against training hours).

    python tools/ship_denoiser.py /work/denoiser-train/train.ckpt

The shipped training is long (hours on a CPU) and spans sessions: it is one
``sdae denoise train ... --checkpoint FILE`` command, continued by running it again. At any
point this tool takes the best parameters so far (lowest validation error) and records in
the file: the command, the data, the machine, the training hours and epochs, and the
validation PSNR after each epoch. It then rewrites SHA256SUMS, which the package checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import shlex
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
                        help="where it trained, in words (default: this machine's CPU)")
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
    seconds = epoch_cost * state["epoch"]
    valid_psnr = [round(-10 * math.log10(v), 3) for v in history["valid_loss"]]
    machine = machine_description()
    machine["cpu"] = args.machine or _cpu_name()
    options = record["options"]
    extra = {
        "command": "sdae " + shlex.join(record["argv"]),
        "data": {"images": [Path(p).name for p in options["images"]],
                 "held_out": options["hold_out"], "valid_sigma": options["valid_sigma"],
                 "crop": options["crop"], "stride": options["stride"]},
        "machine": machine["cpu"] + f", {machine['torch_threads']} threads, torch "
                                    f"{machine['torch']}",
        "hours": round(seconds / 3600, 3),
        "epoch_seconds_alone": round(epoch_cost, 1),
        "wall_hours": round(sum(history["epoch_seconds"]) / 3600, 3),
        "epochs": state["epoch"],
        "epochs_planned": state["config"]["epochs"],
        "best_epoch": history["best_epoch"],
        "valid_psnr": valid_psnr,
        "history": History(**history).to_dict(),
    }
    save_model(model, args.out, extra=extra)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    atomic_write(args.out.parent / "SHA256SUMS", f"{digest}  {args.out.name}\n".encode())
    hours = np.arange(1, len(valid_psnr) + 1) * epoch_cost / 3600
    plot_curves([(f"shipped denoiser, validation σ = {options['valid_sigma']:g}", valid_psnr)],
                args.curve, xlabel=f"training hours ({extra['machine']})",
                ylabel="PSNR (dB) on held-out Train400 crops", percent=False, x=hours)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): epoch "
          f"{history['best_epoch']} of {state['epoch']} done ({state['config']['epochs']} "
          f"planned), {seconds / 3600:.2f} h, validation PSNR {max(valid_psnr):.2f} dB")


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
