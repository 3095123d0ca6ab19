"""Outlier detection on PyOD's benchmark: the 17 ODDS sets, PyOD's protocol, many splits.

For each set and seed: a random 60/40 train/test split (``train_test_split`` with that
seed), both parts standardised with the training part's mean and standard deviation, every
detector fitted on the training part without labels, then the ROC-AUC and the precision at
n (n = the number of outliers in the test part) of its scores on the test part. Every
detector sees the same splits. PyOD's published table is one split of the same protocol;
it is put beside the measured means, not compared with them as if it were one of them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..io.atomic import atomic_write, write_json
from ..io.data.odds import ODDS_SETS, load_odds, published_roc
from ..io.runs import machine_description
from ..tasks.outliers import DetectorSettings, fit_detector, outlier_scores

SDAE = "sdae"
SKLEARN = ("IsolationForest", "LocalOutlierFactor", "OneClassSVM")
PYOD = ("pyod AutoEncoder", "pyod IForest", "pyod INNE")
METHODS = (SDAE, *SKLEARN, *PYOD)
PUBLISHED_NAME = {"IsolationForest": "IForest", "LocalOutlierFactor": "LOF",
                  "OneClassSVM": "OCSVM", "pyod AutoEncoder": "AutoEncoder",
                  "pyod IForest": "IForest", "pyod INNE": "INNE"}

Scorer = Callable[[np.ndarray, np.ndarray, int], np.ndarray]  # (train, test, seed) -> scores


@dataclass
class OutlierSettings:
    sets: list[str] = field(default_factory=lambda: list(ODDS_SETS))
    seeds: list[int] = field(default_factory=lambda: list(range(10)))
    test_size: float = 0.4
    detector: DetectorSettings = field(default_factory=DetectorSettings)

    def to_dict(self) -> dict:
        return asdict(self)


def detectors(settings: OutlierSettings, device: str = "cpu") -> dict[str, Scorer]:
    """name -> scorer for every method installed here; each scorer returns test scores,
    higher for more abnormal."""
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor
    from sklearn.svm import OneClassSVM

    def ours(train, test, seed):
        return outlier_scores(fit_detector(train, settings.detector, seed, device)[0], test)

    def sklearn_scorer(make):
        return lambda train, test, seed: -make(seed).fit(train).score_samples(test)

    methods: dict[str, Scorer] = {
        SDAE: ours,
        "IsolationForest": sklearn_scorer(lambda s: IsolationForest(random_state=s)),
        "LocalOutlierFactor": sklearn_scorer(lambda s: LocalOutlierFactor(novelty=True)),
        "OneClassSVM": sklearn_scorer(lambda s: OneClassSVM()),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.iforest import IForest
        from pyod.models.inne import INNE
    except ImportError:
        return methods

    def pyod_scorer(make):
        return lambda train, test, seed: make(seed).fit(train).decision_function(test)

    methods["pyod AutoEncoder"] = pyod_scorer(
        lambda s: AutoEncoder(random_state=s, verbose=0))
    methods["pyod IForest"] = pyod_scorer(lambda s: IForest(random_state=s))
    methods["pyod INNE"] = pyod_scorer(lambda s: INNE(random_state=s))
    return methods


def split(X: np.ndarray, y: np.ndarray, seed: int, test_size: float):
    """PyOD's split: random 60/40, standardised with the training part's statistics."""
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size,
                                                        random_state=seed)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


def precision_at_n(y: np.ndarray, scores: np.ndarray) -> float:
    """The share of outliers among the n highest scores, n = the number of outliers."""
    n = int(y.sum())
    return float(y[np.argsort(-scores, kind="stable")[:n]].mean()) if n else float("nan")


def run(out: Path, settings: OutlierSettings, methods: Sequence[str] = METHODS,
        data_dir: str | os.PathLike | None = None, device: str = "cpu",
        log: Callable[[str], None] = print) -> dict:
    """Every method on every set and seed; writes ``results.json``, ``results.md`` and
    ``roc_auc.png`` to ``out`` (the files after each set, so a long run can be watched)."""
    from sklearn.metrics import roc_auc_score

    available = detectors(settings, device)
    missing = [m for m in methods if m not in available]
    if missing and set(missing) == set(methods):
        raise ConfigError(f"{', '.join(missing)} not installed (pip install \"sdae[pyod]\"), "
                          "and no other method asked for: install it, or name other methods")
    if missing:
        log(f"skipped {', '.join(missing)}: not installed (pip install \"sdae[pyod]\")")
    names = [m for m in methods if m in available]
    start = time.perf_counter()
    results: dict = {name: {} for name in names}
    for set_name in settings.sets:
        X, y = load_odds(set_name, data_dir)
        for name in names:
            roc, prec, seconds = [], [], 0.0
            for seed in settings.seeds:
                X_train, X_test, _, y_test = split(X, y, seed, settings.test_size)
                t = time.perf_counter()
                scores = available[name](X_train, X_test, seed)
                seconds += time.perf_counter() - t
                roc.append(float(roc_auc_score(y_test, scores)))
                prec.append(precision_at_n(y_test, scores))
            results[name][set_name] = {
                "roc_auc": _summary(roc), "precision_at_n": _summary(prec),
                "seconds": round(seconds, 2), "roc_auc_per_seed": [round(v, 4) for v in roc]}
            log(f"{set_name:<11} {name:<20} ROC-AUC {np.mean(roc):.4f} ± {np.std(roc):.4f}  "
                f"P@n {np.mean(prec):.4f}  ({seconds:.1f} s)")
        doc = _write(out, settings, results, data_dir, device, time.perf_counter() - start)
    plot_roc(doc, out / "roc_auc.png")
    return doc


def _summary(values: list[float]) -> dict:
    return {"mean": round(float(np.mean(values)), 4), "sd": round(float(np.std(values)), 4)}


def against(results: dict, method: str, baseline: str) -> dict[str, str]:
    """Per set, whether ``method`` wins, ties or loses against ``baseline`` over the seeds:
    a win or a loss when the mean paired difference of ROC-AUC is more than two standard
    errors from 0."""
    verdicts = {}
    for set_name, entry in results[method].items():
        other = results[baseline].get(set_name)
        if other is None:
            continue
        diff = np.subtract(entry["roc_auc_per_seed"], other["roc_auc_per_seed"])
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
        verdicts[set_name] = ("win" if diff.mean() > 2 * se and diff.mean() > 0 else
                              "loss" if diff.mean() < -2 * se and diff.mean() < 0 else "tie")
    return verdicts


def _write(out: Path, settings, results, data_dir, device, seconds) -> dict:
    try:
        published = published_roc(data_dir)
    except DataError:  # the published table is context, not a result
        published = {}
    doc = {"experiment": "outliers", "settings": settings.to_dict(),
           "machine": machine_description(device), "seconds": round(seconds, 1),
           "results": results, "published_roc": published}
    if SDAE in results and "IsolationForest" in results:
        doc["sdae_against_isolation_forest"] = against(results, SDAE, "IsolationForest")
    write_json(out / "results.json", doc)
    atomic_write(out / "results.md", markdown(doc).encode())
    return doc


def markdown(doc: dict) -> str:
    """Mean ROC-AUC (± sd over the seeds) per set and method, PyOD's published one-split
    numbers beside, the means over the sets, and the seconds each method took."""
    results, published = doc["results"], doc.get("published_roc") or {}
    names = list(results)
    sets = [s for s in doc["settings"]["sets"] if all(s in results[n] for n in names)]
    seeds = len(doc["settings"]["seeds"])
    head = " | ".join(names)
    pub = list(dict.fromkeys(PUBLISHED_NAME[n] for n in names if n in PUBLISHED_NAME))
    pub_head = " | ".join(f"{p} (PyOD, 1 split)" for p in pub)
    lines = [f"# Outlier detection: ROC-AUC on the ODDS sets, mean ± sd over {seeds} splits",
             "", f"| set | {head} | {pub_head} |", "|---" * (len(names) + len(pub) + 1) + "|"]
    for s in sets:
        cells = [f"{results[n][s]['roc_auc']['mean']:.3f} ± {results[n][s]['roc_auc']['sd']:.3f}"
                 for n in names]
        best = max(range(len(names)), key=lambda i: results[names[i]][s]["roc_auc"]["mean"])
        cells[best] = f"**{cells[best]}**"
        pubs = [f"{published[s][p]:.3f}" if p in published.get(s, {}) else "" for p in pub]
        lines.append(f"| {s} | {' | '.join(cells)} | {' | '.join(pubs)} |")
    if sets:
        means = [np.mean([results[n][s]["roc_auc"]["mean"] for s in sets]) for n in names]
        pmeans = [np.mean([published[s][p] for s in sets])
                  if all(p in published.get(s, {}) for s in sets) else None for p in pub]
        lines.append(f"| **mean** | {' | '.join(f'**{m:.4f}**' for m in means)} | "
                     f"{' | '.join('' if m is None else f'{m:.4f}' for m in pmeans)} |")
        prec = [np.mean([results[n][s]["precision_at_n"]["mean"] for s in sets]) for n in names]
        lines.append(f"| precision@n, mean | {' | '.join(f'{m:.4f}' for m in prec)} | "
                     f"{' | '.join('' for _ in pub)} |")
        secs = [sum(results[n][s]["seconds"] for s in sets) for n in names]
        lines.append(f"| seconds, all sets and splits | {' | '.join(f'{t:.0f}' for t in secs)} "
                     f"| {' | '.join('' for _ in pub)} |")
    verdicts = doc.get("sdae_against_isolation_forest")
    if verdicts:
        counts = {v: sum(1 for x in verdicts.values() if x == v) for v in ("win", "tie", "loss")}
        lost = [s for s, v in verdicts.items() if v == "loss"]
        lines += ["", f"sdae against IsolationForest, per set (paired over the splits, two "
                      f"standard errors): {_count(counts['win'], 'win')}, "
                      f"{_count(counts['tie'], 'tie')}, {_count(counts['loss'], 'loss')}"
                  + (f" ({', '.join(lost)})" if lost else "")
                  + "."]
    if published:
        best = max(((np.mean([published[s][d] for s in published]), d) for d in
                    next(iter(published.values()))
                    if all(d in published[s] for s in published)), default=None)
        if best:
            lines.append(f"The best mean in PyOD's published table (one split) is "
                         f"{best[1]}'s {best[0]:.4f}.")
    lines.append(f"Measured in {doc['seconds'] / 60:.1f} min on {doc['machine']['cpu_count']} "
                 f"CPUs ({doc['machine']['platform']}, torch {doc['machine']['torch']}).")
    return "\n".join(lines) + "\n"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")


def plot_roc(doc: dict, path: Path) -> Path:
    """Per-set mean ROC-AUC, the methods side by side."""
    from ..measures.figures import plot_grouped_bars

    results = doc["results"]
    names = list(results)
    sets = [s for s in doc["settings"]["sets"] if all(s in results[n] for n in names)]
    return plot_grouped_bars(
        sets, {n: [results[n][s]["roc_auc"]["mean"] for s in sets] for n in names}, path,
        ylabel="ROC-AUC (mean over splits)", ylim=(0.3, 1.0))
