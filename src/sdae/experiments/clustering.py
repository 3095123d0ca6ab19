"""Clustering without labels: MNIST (all 70 000 images) and USPS (all 9 298), as DEC, IDEC
and N2D report them.

Per data set and seed, the stack is trained once (greedy pre-training with masking noise,
then fine-tuning as a deep autoencoder: :func:`sdae.tasks.clustering.train_stack`) and every
method clusters its codes: k-means, DEC, IDEC, and when umap-learn is installed UMAP then a
Gaussian mixture; on request, DEC and IDEC started from that mixture's clusters, and DEC and
IDEC on images moved a little (DEC-DA's augmentation, :mod:`sdae.tasks.clustering.moves`).
With ``finetune_moves`` the stack's fine-tuning moves the images too. Beside them,
k-means on the pixels and on their first principal components (as many as the code has
units). ACC (under the best one-to-one map of clusters to classes), NMI and ARI against
the labels, which no method sees.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..core.epoch_log import labelled
from ..errors import ConfigError, WarningsAbout, check_int
from ..io.atomic import atomic_write, write_json
from ..io.data.registry import load_all_rows
from ..io.runs import machine_description
from ..measures.clustering import clustering_scores, draw_clusters
from ..tasks.clustering import ClusteringSettings, cluster, kmeans, train_stack, umap_installed
from .workers import executor

SETS = ("mnist", "usps")  # the papers'; any data set of the registry runs too
BASELINES = ("k-means on pixels", "k-means on PCA")
CODE_METHODS = ("k-means on codes", "DEC", "IDEC", "codes+UMAP+GMM", "DEC from UMAP+GMM",
                "IDEC from UMAP+GMM", "DEC with moves", "IDEC with moves")
METHODS = (*BASELINES, *CODE_METHODS)
# run only when named (--methods), so that the default run is the published comparison
# (k-means, DEC, IDEC, N2D's UMAP+GMM) and MNIST's fits in an hour on 2 cores (--jobs 2):
# DEC and IDEC from UMAP+GMM's clusters add about 22 minutes of one core per MNIST seed,
# and self-training on moved images rarely settles at the tolerance, so it runs all its
# steps (on MNIST, 10 000 steps are 25 minutes of one core)
ON_REQUEST = ("DEC from UMAP+GMM", "IDEC from UMAP+GMM", "DEC with moves", "IDEC with moves")
DEFAULT_METHODS = tuple(m for m in METHODS if m not in ON_REQUEST)
# each row: the task's method, and the settings it changes (where DEC and IDEC start, moves)
TASK_METHOD = {"k-means on codes": ("kmeans", {}), "DEC": ("dec", {}),
               "IDEC": ("idec", {}), "codes+UMAP+GMM": ("umap-gmm", {}),
               "DEC from UMAP+GMM": ("dec", {"init": "umap-gmm"}),
               "IDEC from UMAP+GMM": ("idec", {"init": "umap-gmm"}),
               "DEC with moves": ("dec", {"moves": 0.1}),
               "IDEC with moves": ("idec", {"moves": 0.1})}
FROM_UMAP = tuple(m for m, (_, changes) in TASK_METHOD.items()  # rows that start from
                  if changes.get("init") == "umap-gmm")           # UMAP+GMM's clusters
NEEDS_UMAP = ("codes+UMAP+GMM", *FROM_UMAP)
_UMAP_START = "UMAP+GMM's start"  # the part that finds them when that row is not asked for
# The published ACC on all the images (the sources: DEC, Xie et al. 2016; IDEC,
# Guo et al. 2017; N2D, McConville et al. 2020), beside the measured ones.
PUBLISHED_ACC = {
    "mnist": {"k-means on pixels": 0.53, "DEC": 0.843, "IDEC": 0.881, "codes+UMAP+GMM": 0.979},
    "usps": {"IDEC": 0.761, "codes+UMAP+GMM": 0.95},
}


@dataclass
class ClusteringExperiment:
    """What :func:`run` measures: data sets (MNIST and USPS by default; any name the data
    registry knows, e.g. ``digits`` or ``mnist-small`` for a quick run), seeds, the rows of
    :data:`METHODS`, and the recipe's settings."""

    sets: list[str] = field(default_factory=lambda: list(SETS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    settings: ClusteringSettings = field(default_factory=ClusteringSettings)

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ConfigError(f"methods must be some of {', '.join(METHODS)}; got "
                              f"{', '.join(map(repr, unknown)) or 'none'}")
        if not self.sets or not self.seeds:
            raise ConfigError("give at least one data set and one seed, e.g. "
                              "sets=['mnist'], seeds=[0]")
        self.seeds = [check_int(s, "seed", minimum=0) for s in self.seeds]

    def to_dict(self) -> dict:
        return {**asdict(self), "settings": self.settings.to_dict()}


def available(methods: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the methods that can run here, those left out: UMAP's when umap-learn is not
    installed)."""
    missing = [m for m in methods if m in NEEDS_UMAP and not umap_installed()]
    return [m for m in methods if m not in missing], missing


def baseline(method: str, x: np.ndarray, n_clusters: int, n_components: int,
             seed: int) -> np.ndarray:
    """The labels of k-means on the pixels, or on their first ``n_components`` principal
    components."""
    if method == "k-means on PCA":
        from sklearn.decomposition import PCA

        x = PCA(n_components, random_state=seed).fit_transform(x)
    return kmeans(x, n_clusters, seed, n_init=10)[0]


def row(method: str, settings: ClusteringSettings) -> tuple[str, ClusteringSettings]:
    """The task's method and settings of a row on codes: DEC's k-means start and no moves
    unless the row says otherwise, whatever ``settings`` say."""
    task_method, changes = TASK_METHOD[method]
    return task_method, replace(settings, **{"init": "kmeans", "moves": 0.0, **changes})


@dataclass(eq=False)  # parts are ordered by a seed's place in the run, not its fields
class _Seed:
    """One data set and seed in a run: the rows it lacks, and what its parts left so far."""

    name: str
    seed: int
    rows: dict  # row -> scores (those read back and those finished here), and "stack"
    todo: list[str]
    figures: bool  # whether to draw the figures of its best row when its rows are done
    stack: object = None  # once trained
    best: tuple | None = None  # (ACC, row, result) of the best row run here


_LOADED: dict = {}  # (set, data folder) -> (x, y, image shape), once per process


def _data(name: str, data_dir) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None]:
    """Every row of the set as float32, its labels and image shape: read once per process
    (a worker reads the set itself rather than receiving 220 MB of MNIST with each part)."""
    if (name, data_dir) not in _LOADED:
        x, y, image_shape = load_all_rows(name, data_dir)
        _LOADED[name, data_dir] = np.asarray(x, dtype=np.float32), y, image_shape
    return _LOADED[name, data_dir]


def _train_stack(name: str, data_dir, seed: int, settings: ClusteringSettings, device: str,
                 progress: bool | None, stack_dir: Path | None) -> tuple:
    """A part: the seed's stack and its record (:func:`train_stack`)."""
    with labelled(f"{name} seed {seed}"):  # its epoch lines say which run
        return train_stack(_data(name, data_dir)[0], settings, seed, device, progress,
                           checkpoint_dir=stack_dir)


def _baseline_row(name: str, data_dir, seed: int, method: str, n_components: int) -> tuple:
    """A part: a row on the pixels, its scores (and no result to draw)."""
    x, y, _ = _data(name, data_dir)
    start = time.perf_counter()
    labels = baseline(method, x, len(np.unique(y)), n_components, seed)
    return {**clustering_scores(y, labels),
            "seconds": round(time.perf_counter() - start, 1)}, None


def _code_row(name: str, data_dir, seed: int, method: str, settings: ClusteringSettings,
              stack, device: str, progress: bool | None, initial: tuple | None,
              about: str | None = None) -> tuple:
    """A part: a row on the seed's codes, its scores (with the warnings it gave, named by
    ``about``, the row by default) and its result (labels and model)."""
    x, y, _ = _data(name, data_dir)
    task_method, row_settings = row(method, settings)
    with labelled(f"{name} seed {seed}"), \
            WarningsAbout(f"{name} seed {seed}, {about or method}") as said:
        result = cluster(stack, x, len(np.unique(y)), task_method, row_settings, seed, device,
                         progress, initial=initial)
    scores = {**clustering_scores(y, result.labels), "seconds": result.record["seconds"]}
    if said:
        scores["warnings"] = said
    if "steps" in result.record:  # self-training: how long, and from where and how
        scores.update(steps=result.record["steps"], converged=result.record["converged"],
                      init=row_settings.init, moves=row_settings.moves)
    return scores, result


def _start(result) -> tuple[np.ndarray, np.ndarray]:
    """Where DEC and IDEC from UMAP+GMM start: that row's labels and centres."""
    return result.labels, result.model.centers.detach().numpy()


def _stack_dir(checkpoints: Path | None, name: str, seed: int) -> Path | None:
    """Where a seed's stack checkpoints, beside its piece of results."""
    return None if checkpoints is None else checkpoints / f"{name}-seed{seed}"


def _codes(model, x: np.ndarray) -> np.ndarray:
    import torch

    from ..core.training import batched

    return batched(model.encode, torch.as_tensor(x)).numpy()


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _line(name: str, seed: int, method: str, r: dict) -> str:
    return (f"{name:<6} seed {seed}  {method:<18} ACC {r['acc']:.4f}  NMI {r['nmi']:.4f}  "
            f"ARI {r['ari']:.4f}  ({r['seconds']:.1f} s)")


def run(out: Path, experiment: ClusteringExperiment,
        data_dir: str | os.PathLike | None = None, device: str = "cpu",
        checkpoints: Path | None = None, log: Callable[[str], None] = print,
        progress: bool | None = None, jobs: int = 1) -> dict:
    """Every set and seed; ``results.json`` and ``results.md`` rewritten as each row
    finishes, the figures of the first seed's best row in ``out/SET/``.

    The parts of the run are each seed's stack and each row (the rows on codes once their
    seed's stack is trained; DEC and IDEC from UMAP+GMM once that row's clusters are
    found). ``jobs`` of them run at once, in separate processes that share the cores
    (:mod:`sdae.experiments.workers`): the stacks first, the longest parts, then the rows
    as they become ready. One job runs them in this process, a seed at a time.

    A seed's rows in ``checkpoints`` (a file per seed, rewritten as each row finishes) are
    not rerun; the rows it lacks (a run killed, or resumed with more rows) are run on its
    checkpointed stack and added, and the figures drawn only if the first run drew none,
    of the best of the rows run now.
    ``progress``: bars, or epoch lines off a terminal (None), bars anywhere (True), neither
    (False); the workers of ``jobs`` > 1 write lines, not bars. A row's warnings (clusters
    left empty) name it, and are kept in its results."""
    jobs = check_int(jobs, "jobs", minimum=1)
    _, missing = available(experiment.methods)
    if missing:
        log(f"skipped {', '.join(missing)}: umap-learn is not installed (pip install "
            "\"sdae[umap]\")")
    start = time.perf_counter()
    _LOADED.clear()
    seeds = []
    for name in experiment.sets:
        x, y, _ = _data(name, data_dir)
        log(f"{name}: {len(x)} rows of {x.shape[1]} features, {len(np.unique(y))} classes")
        for seed in experiment.seeds:
            piece = None if checkpoints is None else checkpoints / f"{name}-seed{seed}.json"
            done = json.loads(piece.read_text()) if piece is not None and piece.is_file() \
                else {}
            todo = [m for m in available(experiment.methods)[0] if m not in done]
            stack_dir = _stack_dir(checkpoints, name, seed)
            if "stack" in done and any(m in CODE_METHODS for m in todo) and \
                    not stack_dir.is_dir():
                log(f"{name} seed {seed}: its stack's checkpoints are gone from {stack_dir}: "
                    "training the stack again for the rows it lacks")
            seeds.append(_Seed(name, seed, done, todo, figures="figures_method" not in done
                               and seed == experiment.seeds[0]))

    def write() -> dict:  # the seeds with a row so far
        per_seed: dict = {}
        for s in seeds:
            if any(m in s.rows for m in METHODS):
                per_seed.setdefault(s.name, {})[s.seed] = s.rows
        return _write(out, experiment, per_seed, device, time.perf_counter() - start, jobs)

    try:
        _run_parts(seeds, experiment, data_dir, device, checkpoints, log, progress, jobs,
                   out, write)
    finally:
        _LOADED.clear()
    return write()


def _run_parts(seeds: list[_Seed], experiment: ClusteringExperiment, data_dir, device: str,
               checkpoints: Path | None, log: Callable[[str], None], progress: bool | None,
               jobs: int, out: Path, write: Callable[[], dict]) -> None:
    """Run every part of every seed, ``jobs`` at once, each as soon as what it needs is
    done, and take each result as it comes (:func:`run` says in which order)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    settings = experiment.settings
    n_components = settings.hidden_sizes[-1]
    if jobs > 1 and progress:  # bars from several processes would overwrite each other
        progress = None  # a worker's stderr is not a terminal: lines
    ready: list = []  # (key, function, arguments, what to do with its result)
    # one job: a seed at a time, its rows in the table's order; more: the longest parts
    # first (the stacks), and UMAP+GMM's clusters before the other rows, so that the rows
    # that start from them can start
    order = {"baseline": 0, "stack": 1, "row": 2} if jobs == 1 else \
        {"stack": 0, "row": 1, "baseline": 2}

    def add(kind: str, s: _Seed, method: str, fn, args: tuple, then) -> None:
        position = METHODS.index(method) if method in METHODS else -1
        if jobs == 1:
            key = (seeds.index(s), order[kind], position)
        else:
            umap = method in ("codes+UMAP+GMM", _UMAP_START)
            key = (order[kind], -1 if umap else position, seeds.index(s))
        ready.append((key, fn, args, then))

    def finished_row(s: _Seed, method: str):
        def then(value: tuple) -> None:
            scores, result = value
            s.rows = {**s.rows, method: scores}
            log(_line(s.name, s.seed, method, scores))
            if method == "codes+UMAP+GMM":
                started_from_umap(s, _start(result), [])
            if result is not None and (s.best is None or scores["acc"] > s.best[0]):
                s.best = (scores["acc"], method, result)
            seed_progress(s)
        return then

    def started_from_umap(s: _Seed, start: tuple, said: list[str]) -> None:
        for method in [m for m in s.todo if m in FROM_UMAP]:
            def then(value, method=method):  # the start's warnings kept with the row
                scores, result = value
                if said:
                    scores["warnings"] = [f"start: {m}" for m in said] + \
                        scores.get("warnings", [])
                finished_row(s, method)((scores, result))
            add("row", s, method, _code_row, (s.name, data_dir, s.seed, method, settings,
                                              s.stack, device, progress, start), then)

    def trained(s: _Seed):
        def then(value: tuple) -> None:
            s.stack, record = value
            # a resumed seed keeps the record of the run that trained its stack
            s.rows = {"stack": {k: record[k] for k in ("pretrain_seconds",
                                                       "finetune_seconds")}, **s.rows}
            log(f"{s.name} seed {s.seed}: stack pre-trained in "
                f"{record['pretrain_seconds']:.0f} s, fine-tuned in "
                f"{record['finetune_seconds']:.0f} s")
            for method in [m for m in s.todo if m in CODE_METHODS and m not in FROM_UMAP]:
                add("row", s, method, _code_row, (s.name, data_dir, s.seed, method, settings,
                                                  s.stack, device, progress, None),
                    finished_row(s, method))
            if "codes+UMAP+GMM" not in s.todo and any(m in FROM_UMAP for m in s.todo):
                add("row", s, _UMAP_START, _code_row,  # its clusters found once more
                    (s.name, data_dir, s.seed, "codes+UMAP+GMM", settings, s.stack, device,
                     progress, None, _UMAP_START),
                    lambda value: started_from_umap(s, _start(value[1]),
                                                    value[0].get("warnings", [])))
        return then

    def seed_progress(s: _Seed) -> None:
        """After each row: the seed's piece and the results rewritten; its figures when it
        is whole."""
        whole = all(m in s.rows for m in s.todo)
        if whole and s.figures and s.best is not None:
            _, method, result = s.best
            x, _, image_shape = _data(s.name, data_dir)
            draw_clusters(x, _codes(result.model, x), result.model.centers.detach().numpy(),
                          result.labels, _folder(out / s.name), image_shape, s.seed,
                          title=f"{s.name}, {method}: ")
            s.rows = {**s.rows, "figures_method": method}
        if checkpoints is not None:
            write_json(checkpoints / f"{s.name}-seed{s.seed}.json", s.rows)
        if whole:
            s.stack = s.best = None  # free them
        write()

    for s in seeds:
        for method in [m for m in s.todo if m in BASELINES]:
            add("baseline", s, method, _baseline_row,
                (s.name, data_dir, s.seed, method, n_components), finished_row(s, method))
        if any(m in CODE_METHODS for m in s.todo):
            add("stack", s, "", _train_stack,
                (s.name, data_dir, s.seed, settings, device, progress,
                 _stack_dir(checkpoints, s.name, s.seed)), trained(s))
    with executor(jobs) as pool:
        running: dict = {}
        while ready or running:
            ready.sort(key=lambda part: part[0])
            while ready and len(running) < jobs:
                _, fn, args, then = ready.pop(0)
                running[pool.submit(fn, *args)] = then
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            failed = [f for f in finished if f.exception() is not None]
            for future in [f for f in finished if f not in failed]:  # kept before a failure
                running.pop(future)(future.result())
            if failed:
                raise failed[0].exception()


def summarise(per_seed: dict) -> dict:
    """set -> method -> mean and sd over the seeds of ACC, NMI, ARI and seconds."""
    summary: dict = {}
    for name, seeds in per_seed.items():
        methods = [m for m in METHODS if all(m in r for r in seeds.values())]
        summary[name] = {}
        for m in methods:
            values = {key: [seeds[s][m][key] for s in seeds]
                      for key in ("acc", "nmi", "ari", "seconds")}
            summary[name][m] = {key: {"mean": round(float(np.mean(v)), 4),
                                      "sd": round(float(np.std(v)), 4)}
                                for key, v in values.items()}
        stacks = [r["stack"] for r in seeds.values() if "stack" in r]
        if stacks:
            summary[name]["stack"] = {
                key: round(float(np.mean([s[key] for s in stacks])), 1)
                for key in ("pretrain_seconds", "finetune_seconds")}
    return summary


def _write(out: Path, experiment, per_seed: dict, device: str, seconds: float,
           jobs: int) -> dict:
    doc = {"experiment": "clustering", "settings": experiment.to_dict(),
           "machine": machine_description(device), "seconds": round(seconds, 1), "jobs": jobs,
           "per_seed": per_seed, "summary": summarise(per_seed),
           "published_acc": PUBLISHED_ACC}
    write_json(out / "results.json", doc)
    atomic_write(out / "results.md", markdown(doc).encode())
    return doc


def markdown(doc: dict) -> str:
    """Per set: ACC, NMI, ARI (mean ± sd over the seeds) and seconds of each method, with
    the published ACC beside; the time the stack took; the rows' warnings (a row marked
    ``(!)`` left clusters empty on some seed)."""
    seeds = len(doc["settings"]["seeds"])
    lines = [f"# Clustering without labels: mean ± sd over {seeds} seeds" if seeds > 1 else
             "# Clustering without labels: one seed", ""]
    for name, methods in doc["summary"].items():
        published = doc.get("published_acc", {}).get(name, {})
        lines += [f"## {name}", "", "| method | ACC | NMI | ARI | seconds | published ACC |",
                  "|---|---|---|---|---|---|"]
        warned = {(seed, m): r[m]["warnings"]
                   for seed, r in doc["per_seed"].get(name, {}).items()
                   for m in methods if isinstance(r.get(m), dict) and r[m].get("warnings")}
        for m, r in methods.items():
            if m == "stack":
                continue
            pub = f"{published[m]:.3f}" if m in published else ""
            mark = " (!)" if any(row == m for _, row in warned) else ""
            lines.append(f"| {m}{mark} | " + " | ".join(  # one seed has no spread to show
                f"{r[key]['mean']:.4f}" + (f" ± {r[key]['sd']:.4f}" if seeds > 1 else "")
                for key in ("acc", "nmi", "ari"))
                + f" | {r['seconds']['mean']:.0f} | {pub} |")
        if "stack" in methods:
            s = methods["stack"]
            moved = doc["settings"]["settings"].get("finetune_moves", 0)
            lines += ["", f"The stack (shared by the methods on codes; their seconds do not "
                          f"include it): pre-training {s['pretrain_seconds']:.0f} s, "
                          f"fine-tuning {s['finetune_seconds']:.0f} s per seed"
                          + (f", on images moved by up to {moved:g} of their side (finetune_"
                             "moves)." if moved else ".")]
        if any(m.endswith("from UMAP+GMM") for m in methods):
            lines += ["", "The rows \"from UMAP+GMM\" count the seconds of their "
                          "self-training: UMAP+GMM's clusters are found once per seed, and "
                          "take the seconds of the row codes+UMAP+GMM."]
        if warned:
            lines += ["", "(!) Warnings:"] + [f"- seed {seed}, {m}: {message}"
                                              for (seed, m), said in warned.items()
                                              for message in said]
        lines.append("")
    m = doc["machine"]
    jobs = doc.get("jobs", 1)
    lines.append(f"Measured in {doc['seconds'] / 60:.1f} min on {m['cpu_count']} CPUs"
                 + (f", {jobs} parts at once" if jobs > 1 else "")
                 + f" ({m['platform']}, torch {m['torch']}, device {m['device']}).")
    return "\n".join(lines) + "\n"
