"""Parts of an experiment run at once, in separate processes that share the cores.

Matrix products on a few cores do not scale well: on the 2-core developer machine one
process fine-tunes DEC's stack on 3 810 MNIST images a second with one thread and 5 970 with
two, while two one-thread processes at once do 7 767 in all
(``benchmarks/processes_or_threads.py``).
An experiment whose parts are independent (the imputation experiment's imputations; the
clustering experiment's stacks and rows) runs ``jobs`` of them at once with
:func:`executor`, and one job runs in the calling process, through the same interface.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import Future

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def executor(jobs: int) -> Iterator:
    """A pool of ``jobs`` processes, each given its share of the cores (:func:`share_cores`),
    or with one job an executor that runs each part in this process when it is submitted.
    If the block fails (Ctrl-C, SIGTERM, an error), the workers are stopped rather than
    waited for: a stack's training checkpoints every epoch, so a resumed run loses little."""
    if jobs == 1:
        yield Inline()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // jobs)
    # spawn, not fork: a forked copy of a process that already ran OpenMP threads can hang
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=share_cores, initargs=(threads,))
    try:
        yield pool
    except BaseException:
        # this pool's own workers (ProcessPoolExecutor has no public way to name them
        # before Python 3.14's terminate_workers)
        for worker in list(getattr(pool, "_processes", {}).values()):
            worker.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def share_cores(threads: int) -> None:
    """A worker's setup: ``threads`` threads for torch, OpenMP, BLAS and UMAP's numba (so
    that the workers do not oversubscribe the cores), Ctrl-C left to the parent, which
    stops its workers with SIGTERM, and that ending a worker as Ctrl-C does (a training
    writes its last finished epoch); epoch lines rather than progress bars, which several
    processes would draw over each other."""
    for name in THREAD_VARIABLES:  # read by the libraries loaded from now on (scikit-learn's)
        os.environ[name] = str(threads)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)  # those loaded already
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    if sys.stderr is not None:
        sys.stderr = _NotATerminal(sys.stderr)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class _NotATerminal:
    """A stream that says it is not a terminal, so that training writes epoch lines
    (:func:`sdae.core.epoch_log.shows_lines`) and no bar."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class Inline:
    """The executor interface, run in this process: one job needs no pool."""

    def submit(self, fn, *args) -> Future:
        return ready(fn(*args))


def ready(result) -> Future:
    """A future already holding ``result``."""
    future: Future = Future()
    future.set_result(result)
    return future
