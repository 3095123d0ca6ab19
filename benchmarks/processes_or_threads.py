"""Several parts at once: one process with every core, or one process per core?

Fine-tunes DEC's 784-500-500-2000-10 stack (the clustering recipe's, sdae.tasks.clustering)
on the first ROWS MNIST images, first in one process with every core, then in P processes
of one thread each started together (as ``sdae experiment clustering --jobs P`` runs its
parts), and prints the images per second of each, in all.

    python benchmarks/processes_or_threads.py --data-dir DIR [--rows 20000] [--epochs 2]
"""

import argparse
import json
import os
import subprocess
import sys
import time

ONE_RUN = """
import json, sys
import numpy as np
from sdae.io.data.registry import load_all_rows
from sdae.tasks.clustering import ClusteringSettings, train_stack
rows, epochs = int(sys.argv[1]), int(sys.argv[2])
x = np.asarray(load_all_rows("mnist")[0][:rows], dtype=np.float32)
settings = ClusteringSettings(pretrain_epochs=0, finetune_epochs=epochs)
_, record = train_stack(x, settings, seed=0, progress=False)
print(json.dumps(record["finetune_seconds"]))
"""


def images_per_second(processes: int, threads: int, rows: int, epochs: int) -> float:
    """All the images the ``processes`` fine-tuned, per second of wall time."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-c", ONE_RUN, str(rows), str(epochs)],
                                env=env, stdout=subprocess.PIPE, text=True)
               for _ in range(processes)]
    seconds = [json.loads(p.communicate()[0]) for p in running]
    print(f"  {processes} process(es) of {threads} thread(s): fine-tuning "
          f"{', '.join(f'{s:.1f}' for s in seconds)} s "
          f"(wall {time.perf_counter() - start:.1f} s with start-up)", flush=True)
    return processes * rows * epochs / max(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("SDAE_DATA_DIR"))
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    args = parser.parse_args()
    if args.data_dir:
        os.environ["SDAE_DATA_DIR"] = args.data_dir
    cores = os.cpu_count() or 1
    one = images_per_second(1, cores, args.rows, args.epochs)
    alone = images_per_second(1, 1, args.rows, args.epochs)
    many = images_per_second(args.processes, max(1, cores // args.processes), args.rows,
                             args.epochs)
    print(f"1 process, {cores} threads: {one:,.0f} images/s; 1 process, 1 thread: "
          f"{alone:,.0f}; {args.processes} processes at once: {many:,.0f} in all "
          f"({many / one:.2f}x one process with every core)")


if __name__ == "__main__":
    main()
