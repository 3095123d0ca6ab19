"""Missing-value imputation on the tables of the imputation literature (GAIN, Yoon et al.
2018): Letter, Spam and Breast.

Each table is min-max scaled column by column to [0, 1] (on the complete data); entries
are removed completely at random at each rate, with one mask per seed shared by every
method; each method imputes, and the RMSE is measured on the removed entries only.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io.atomic import atomic_write, write_json
from ..io.data.registry import find_folder
from ..io.runs import machine_description
from ..tasks.imputation import ImputerSettings, impute_table
from .workers import executor, ready

TABLES = ("letter", "spam", "breast")
RATES = (0.2, 0.5, 0.8)
METHODS = ("DAEImputer", "mean", "KNN", "Iterative", "Iterative-ExtraTrees")


def load_table(name: str, data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """The complete table ``name`` (no missing values), float64 (n, p)."""
    folder = find_folder("tabular", data_dir)
    try:
        if name == "breast":  # id, diagnosis, then the 30 features
            return np.loadtxt(folder / "wdbc.data", delimiter=",", usecols=range(2, 32))
        return np.loadtxt(folder / f"{name}.csv", delimiter=",", skiprows=1)
    except (OSError, ValueError) as err:
        raise DataError(f"{folder}: cannot read the {name} table ({err})") from None


def min_max(x: np.ndarray) -> np.ndarray:
    low, high = x.min(0), x.max(0)
    return (x - low) / np.where(high > low, high - low, 1.0)


class DAEImpute:
    """The DAE imputer of the comparison, with the ``fit_transform`` of scikit-learn's: the
    task's :func:`~sdae.tasks.imputation.impute_table`, which gives the numbers of
    ``DAEImputer(random_state=seed, **options)``."""

    def __init__(self, seed: int, options: dict | None = None) -> None:
        self.seed, self.settings = seed, ImputerSettings(**(options or {}))

    def fit_transform(self, holed: np.ndarray) -> np.ndarray:
        return impute_table(holed, (), self.settings, random_state=self.seed)


def make_imputer(method: str, seed: int, dae_options: dict | None = None):
    """A fresh imputer of each kind compared (``dae_options``: DAEImputer parameters, as
    :class:`~sdae.tasks.imputation.ImputerSettings` names them)."""
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

    if method == "DAEImputer":
        return DAEImpute(seed, dae_options)
    if method == "mean":
        return SimpleImputer(strategy="mean")
    if method == "KNN":
        return KNNImputer()
    if method == "Iterative":
        return IterativeImputer(random_state=seed)
    if method == "Iterative-ExtraTrees":  # MissForest-like, with a bounded budget
        return IterativeImputer(ExtraTreesRegressor(n_estimators=10, random_state=seed),
                                max_iter=5, random_state=seed)
    raise DataError(f"unknown imputation method {method!r}: one of {', '.join(METHODS)}")


def impute_once(x: np.ndarray, rate: float, method: str, seed: int,
                dae_options: dict | None = None) -> tuple[float, float]:
    """Remove entries of the complete (scaled) table ``x`` at ``rate`` with ``seed``, fill
    them with ``method``; the RMSE on the removed entries and the seconds it took."""
    removed = np.random.default_rng(seed).random(x.shape) < rate
    holed = np.where(removed, np.nan, x)
    start = time.perf_counter()
    with warnings.catch_warnings():  # IterativeImputer's convergence notes
        warnings.simplefilter("ignore")
        filled = make_imputer(method, seed, dae_options).fit_transform(holed)
    seconds = time.perf_counter() - start
    filled = _with_all_columns(filled, holed)
    return float(np.sqrt(np.mean((filled[removed] - x[removed]) ** 2))), seconds


def run(
    out: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    *,
    tables: Sequence[str] = TABLES,
    rates: Sequence[float] = RATES,
    seeds: Sequence[int] = tuple(range(5)),
    methods: Sequence[str] = METHODS,
    dae_options: dict | None = None,
    loaded: dict[str, np.ndarray] | None = None,
    jobs: int = 1,
    log: Callable[[str], None] = print,
    checkpoints: str | os.PathLike | None = None,
) -> dict:
    """The whole comparison; writes ``results.json`` and ``results.md`` under ``out``.

    ``loaded``: tables given directly (name -> complete array) instead of read from disk.
    ``jobs``: imputations run at once, in separate processes sharing the cores (each one
    is a single small network or scikit-learn model that one core keeps busy).
    ``checkpoints``: a folder where each finished imputation (table, rate, method, seed)
    leaves its result; a killed run continues with the ones not there, to the same results.
    """
    out = Path(out)
    started = time.perf_counter()
    data = {}
    for name in tables:
        data[name] = min_max(loaded[name] if loaded and name in loaded
                             else load_table(name, data_dir))
        log(f"{name}: {data[name].shape[0]} rows × {data[name].shape[1]} columns")
    cells = [(name, rate, method) for name in tables for rate in rates for method in methods]
    done = _done_imputations(checkpoints, cells, seeds, dae_options)
    if done:
        log(f"{len(done)} of {len(cells) * len(seeds)} imputations read from {checkpoints}")
    with executor(jobs) as pool:
        futures = {cell: [_submit(pool, done, checkpoints, data[cell[0]], *cell, seed,
                                  dae_options) for seed in seeds]
                   for cell in cells}
        rows = []
        for (name, rate, method), pending in futures.items():
            errors, seconds = zip(*(f.result() for f in pending), strict=True)
            row = {"table": name, "rate": rate, "method": method,
                   "rmse_mean": float(np.mean(errors)), "rmse_std": float(np.std(errors)),
                   "rmse": list(errors), "seconds": float(np.mean(seconds))}
            log(f"  {name} {rate:.0%} {method:<22} RMSE {_spread(row)}  "
                f"({row['seconds']:.1f} s)")
            rows.append(row)
    results = {"experiment": "imputation", "tables": list(tables), "rates": list(rates),
               "seeds": list(seeds), "dae_options": dae_options or {}, "jobs": jobs,
               "results": rows, "seconds": round(time.perf_counter() - started, 1),
               "machine": machine_description()}
    write_json(out / "results.json", results)
    atomic_write(out / "results.md", markdown(results).encode())
    return results


def _cell_key(name: str, rate: float, method: str, seed: int, dae_options: dict | None) -> dict:
    """What one imputation's result depends on, kept in its file: a file whose key differs
    (another run's, by hand) is not taken for this one."""
    return {"table": name, "rate": rate, "method": method, "seed": seed,
            "dae_options": dae_options or {}}


def _cell_path(checkpoints: str | os.PathLike, name: str, rate: float, method: str,
               seed: int) -> Path:
    return Path(checkpoints) / "imputations" / f"{name}-{rate!r}-{method}-seed{seed}.json"


def _done_imputations(checkpoints, cells, seeds, dae_options) -> dict:
    """The (RMSE, seconds) of the imputations a killed run finished, by cell and seed."""
    done = {}
    if checkpoints is None:
        return done
    for name, rate, method in cells:
        for seed in seeds:
            try:
                saved = json.loads(_cell_path(checkpoints, name, rate, method, seed).read_text())
            except (OSError, ValueError):
                continue
            if saved.get("key") == _cell_key(name, rate, method, seed, dae_options):
                done[name, rate, method, seed] = (saved["rmse"], saved["seconds"])
    return done


def _submit(pool, done: dict, checkpoints, x, name, rate, method, seed, dae_options):
    """The future of one imputation: its saved result, or the imputation run in ``pool``
    (leaving its result in ``checkpoints`` as soon as it is finished)."""
    if (name, rate, method, seed) in done:
        return ready(done[name, rate, method, seed])
    if checkpoints is None:
        return pool.submit(impute_once, x, rate, method, seed, dae_options)
    return pool.submit(_durable, _cell_path(checkpoints, name, rate, method, seed),
                       _cell_key(name, rate, method, seed, dae_options), impute_once,
                       x, rate, method, seed, dae_options)


def _durable(path: Path, key: dict, impute, *args) -> tuple[float, float]:
    """``impute(*args)``, its result written atomically to ``path`` by the process that
    computed it: each one is durable the moment it is finished, whichever worker ran it."""
    rmse, seconds = impute(*args)
    write_json(path, {"key": key, "rmse": rmse, "seconds": seconds})
    return rmse, seconds


def _with_all_columns(filled: np.ndarray, holed: np.ndarray) -> np.ndarray:
    """scikit-learn's imputers drop a column with no observed value; put it back as 0."""
    if filled.shape == holed.shape:
        return filled
    kept = ~np.all(np.isnan(holed), axis=0)
    full = np.zeros(holed.shape)
    full[:, kept] = filled
    return full


def markdown(results: dict) -> str:
    """RMSE mean ± std per table and rate, the best of each row in bold."""
    methods = list(dict.fromkeys(r["method"] for r in results["results"]))
    lines = ["| table | missing | " + " | ".join(methods) + " |",
             "|---|---|" + "---|" * len(methods)]
    for name in results["tables"]:
        for rate in results["rates"]:
            cells = {r["method"]: r for r in results["results"]
                     if r["table"] == name and r["rate"] == rate}
            best = min(cells.values(), key=lambda r: r["rmse_mean"])["method"]
            lines.append(f"| {name} | {rate:.0%} | " + " | ".join(
                f"**{_spread(cells[m])}**" if m == best else _spread(cells[m])
                for m in methods) + " |")
    lines += ["", "Mean seconds per imputation (fit and transform):", "",
              "| table | missing | " + " | ".join(methods) + " |",
              "|---|---|" + "---|" * len(methods)]
    for name in results["tables"]:
        for rate in results["rates"]:
            cells = {r["method"]: r for r in results["results"]
                     if r["table"] == name and r["rate"] == rate}
            lines.append(f"| {name} | {rate:.0%} | "
                         + " | ".join(f"{cells[m]['seconds']:.1f}" for m in methods) + " |")
    lines += ["", f"RMSE on the removed entries of each min-max scaled table, mean ± std over "
              f"seeds {results['seeds']}; {results['seconds']:.0f} s in all on "
              f"{results['machine']['cpu_count']} CPU cores."]
    return "\n".join(lines) + "\n"


def _spread(row: dict) -> str:
    """Mean RMSE, ± the standard deviation over seeds when there are several."""
    return (f"{row['rmse_mean']:.4f}" if len(row["rmse"]) == 1
            else f"{row['rmse_mean']:.4f} ± {row['rmse_std']:.4f}")
