"""What does data-parallel training (torchrun, DistributedDataParallel) buy on this machine?

Runs the same ``sdae train`` command (one 784->1000 layer pre-trained on MNIST, then
fine-tuned with labels, at the same global batch size) in one process with every core,
and under ``torchrun`` in P processes sharing the cores (gloo on a CPU, NCCL on GPUs), and
prints the fastest epoch of each phase, examples per second and the speed-up.

    python benchmarks/data_parallel.py --data-dir DIR [--processes 2] [--batch-size 128]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def run(processes: int, threads: int, options: list[str], out: Path) -> dict:
    """Seconds of the fastest epoch of pre-training and of fine-tuning, from metrics.json."""
    launch = [sys.executable, "-m", "sdae.cli"]
    if processes > 1:
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                  "--nproc-per-node", str(processes), "-m", "sdae.cli"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([*launch, *options, "--out", str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    return {"pretrain": min(metrics["pretrain_history"][0]["epoch_seconds"]),
            "finetune": min(metrics["finetune_history"]["epoch_seconds"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("SDAE_DATA_DIR"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        import torch

        gpus = torch.cuda.device_count()
        if args.processes > gpus:
            parser.error(f"--processes {args.processes} needs as many GPUs, one a process; "
                         f"this machine has {gpus}")
        args.device = "cuda"  # each process takes the GPU of its local rank
    options = ["train", "--data", "mnist", "--no-download", "--hidden", "1000",
               "--epochs", str(args.epochs), "--finetune-epochs", str(args.epochs),
               "--batch-size", str(args.batch_size), "--device", args.device, "--no-progress"]
    if args.data_dir:
        options += ["--data-dir", args.data_dir]
    with tempfile.TemporaryDirectory() as scratch:
        one = run(1, args.cores, options, Path(scratch) / "one")
        many = run(args.processes, max(1, args.cores // args.processes), options,
                   Path(scratch) / "many")
    examples = 50_000 // args.batch_size * args.batch_size  # MNIST's training split
    print(f"{'phase':10s} {'1 process':>22s} {f'{args.processes} processes':>22s} speed-up")
    for phase in ("pretrain", "finetune"):
        print(f"{phase:10s} {one[phase]:8.2f} s {examples / one[phase]:7.0f} ex/s "
              f"{many[phase]:8.2f} s {examples / many[phase]:7.0f} ex/s "
              f"{one[phase] / many[phase]:6.2f}×")
    print(json.dumps({"cores": args.cores, "processes": args.processes,
                      "batch_size": args.batch_size, "device": args.device,
                      "one_process_seconds": one, "data_parallel_seconds": many}))


if __name__ == "__main__":
    main()
