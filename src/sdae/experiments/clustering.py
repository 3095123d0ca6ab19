"""Clustering without labels: MNIST (all 70 000 images) and USPS (all 9 298), as DEC, IDEC
and N2D report them.

Per data set and seed, the stack is trained once (greedy pre-training with masking noise,
then fine-tuning as a deep autoencoder: :func:`sdae.tasks.clustering.train_stack`) and every
method clusters its codes: k-means, DEC, IDEC, and when umap-learn is installed UMAP then a
Gaussian mixture, and DEC and IDEC started from that mixture's clusters; on request, DEC and
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

SETS = ("mnist", "usps")  # the papers'; any data set of the registry runs too
BASELINES = ("k-means on pixels", "k-means on PCA")
CODE_METHODS = ("k-means on codes", "DEC", "IDEC", "codes+UMAP+GMM", "DEC from UMAP+GMM",
                "IDEC from UMAP+GMM", "DEC with moves", "IDEC with moves")
METHODS = (*BASELINES, *CODE_METHODS)
# run only when named (--methods): self-training on moved images rarely settles at the
# tolerance, so it runs all its steps (on MNIST, 10 000 steps are 25 minutes on one core)
ON_REQUEST = ("DEC with moves", "IDEC with moves")
DEFAULT_METHODS = tuple(m for m in METHODS if m not in ON_REQUEST)
# each row: the task's method, and the settings it changes (where DEC and IDEC start, moves)
TASK_METHOD = {"k-means on codes": ("kmeans", {}), "DEC": ("dec", {}),
               "IDEC": ("idec", {}), "codes+UMAP+GMM": ("umap-gmm", {}),
               "DEC from UMAP+GMM": ("dec", {"init": "umap-gmm"}),
               "IDEC from UMAP+GMM": ("idec", {"init": "umap-gmm"}),
               "DEC with moves": ("dec", {"moves": 0.1}),
               "IDEC with moves": ("idec", {"moves": 0.1})}
NEEDS_UMAP = ("codes+UMAP+GMM", "DEC from UMAP+GMM", "IDEC from UMAP+GMM")
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


def run_seed(name: str, x: np.ndarray, y: np.ndarray, seed: int,
             experiment: ClusteringExperiment, out: Path, device: str,
             checkpoints: Path | None, log: Callable[[str], None],
             image_shape: tuple[int, int] | None = None, figures: bool = True,
             progress: bool | None = None) -> dict:
    """Every method on one data set with one seed: method -> scores and seconds (and for
    the first seed, unless ``figures`` is false, the figures of its best method in
    ``out/NAME/``). ``progress`` as in :func:`run`."""
    k = len(np.unique(y))
    settings = experiment.settings
    methods, _ = available(experiment.methods)
    results: dict = {}
    for method in [m for m in methods if m in BASELINES]:
        start = time.perf_counter()
        labels = baseline(method, x, k, settings.hidden_sizes[-1], seed)
        results[method] = {**clustering_scores(y, labels),
                           "seconds": round(time.perf_counter() - start, 1)}
        log(_line(name, seed, method, results[method]))
    # in CODE_METHODS' order: the UMAP+GMM row before the rows that start from its clusters
    code_methods = [m for m in CODE_METHODS if m in methods]
    if not code_methods:
        return results
    stack, record = train_stack(x, settings, seed, device, progress,
                                checkpoint_dir=_stack_dir(checkpoints, name, seed))
    results["stack"] = {k: record[k] for k in ("pretrain_seconds", "finetune_seconds")}
    log(f"{name} seed {seed}: stack pre-trained in {record['pretrain_seconds']:.0f} s, "
        f"fine-tuned in {record['finetune_seconds']:.0f} s")
    best, umap_gmm = None, None
    for method in code_methods:
        task_method, row_settings = row(method, settings)
        said: list[str] = []  # the row's warnings, named when said (WarningsAbout)
        # DEC and IDEC from UMAP+GMM start from that row's clusters (found here once if the
        # row itself was not asked for), rather than from a UMAP each
        if row_settings.init == "umap-gmm" and umap_gmm is None:
            with WarningsAbout(f"{name} seed {seed}, {method}'s start") as start_said:
                start = cluster(stack, x, k, *row("codes+UMAP+GMM", settings), seed, device,
                                progress)
            umap_gmm = start.labels, start.model.centers.detach().numpy()
            said += [f"start: {message}" for message in start_said]
        initial = umap_gmm if row_settings.init == "umap-gmm" else None
        with WarningsAbout(f"{name} seed {seed}, {method}") as row_said:
            result = cluster(stack, x, k, task_method, row_settings, seed, device, progress,
                             initial=initial)
        said += row_said
        if task_method == "umap-gmm":
            umap_gmm = result.labels, result.model.centers.detach().numpy()
        results[method] = {**clustering_scores(y, result.labels),
                           "seconds": result.record["seconds"]}
        if said:
            results[method]["warnings"] = said
        if "steps" in result.record:  # self-training: how long, and from where and how
            results[method].update(steps=result.record["steps"],
                                   converged=result.record["converged"],
                                   init=row_settings.init, moves=row_settings.moves)
        log(_line(name, seed, method, results[method]))
        if best is None or results[method]["acc"] > best[0]:
            best = (results[method]["acc"], method, result)
    if figures and seed == experiment.seeds[0]:  # the figures of the first seed's best method
        _, method, result = best
        codes = _codes(result.model, x)
        draw_clusters(x, codes, result.model.centers.detach().numpy(), result.labels,
                      _folder(out / name), image_shape, seed, title=f"{name}, {method}: ")
        results["figures_method"] = method
    return results


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
        progress: bool | None = None) -> dict:
    """Every set and seed; ``results.json`` and ``results.md`` rewritten after each, the
    figures in ``out/SET/``. A seed whose results are in ``checkpoints`` is not rerun; the
    rows it lacks (a run resumed with more rows) are run on its checkpointed stack and
    added, and the figures drawn only if the first run drew none. ``progress``: bars, or
    epoch lines off a terminal (None), bars anywhere (True), neither (False). A row's
    warnings (clusters left empty) name it, and are kept in its results."""
    _, missing = available(experiment.methods)
    if missing:
        log(f"skipped {', '.join(missing)}: umap-learn is not installed (pip install "
            "\"sdae[umap]\")")
    start = time.perf_counter()
    per_seed: dict = {}
    for name in experiment.sets:
        x, y, image_shape = load_all_rows(name, data_dir)
        x = np.asarray(x, dtype=np.float32)
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
            if todo:
                with labelled(f"{name} seed {seed}"):  # its epoch lines say which run
                    results = run_seed(name, x, y, seed, replace(experiment, methods=todo),
                                       out, device, checkpoints, log, image_shape,
                                       figures="figures_method" not in done,
                                       progress=progress)
                done = {**results, **done}  # the rows added; the stack's record kept
                if piece is not None:
                    write_json(piece, done)
            per_seed.setdefault(name, {})[seed] = done
            _write(out, experiment, per_seed, device, time.perf_counter() - start)
    return _write(out, experiment, per_seed, device, time.perf_counter() - start)


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


def _write(out: Path, experiment, per_seed: dict, device: str, seconds: float) -> dict:
    doc = {"experiment": "clustering", "settings": experiment.to_dict(),
           "machine": machine_description(device), "seconds": round(seconds, 1),
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
    lines.append(f"Measured in {doc['seconds'] / 60:.1f} min on {m['cpu_count']} CPUs "
                 f"({m['platform']}, torch {m['torch']}, device {m['device']}).")
    return "\n".join(lines) + "\n"
