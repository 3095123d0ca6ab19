import json

import numpy as np
from conftest import run_killed, without_timings

from sdae.cli import main
from sdae.experiments import imputation


def correlated(n=300, seed=0):
    t = np.random.default_rng(seed).random(n)
    return np.column_stack([t, 1 - t, t ** 2, np.cos(2 * t), 3 * t + 1])


def test_every_method_on_the_same_holes(tmp_path):
    results = imputation.run(tmp_path, tables=["toy"], rates=[0.2], seeds=[0, 1],
                             dae_options={"hidden_sizes": (32,), "epochs": 300},
                             loaded={"toy": correlated()}, log=lambda _: None)
    rows = {r["method"]: r for r in results["results"]}
    assert set(rows) == set(imputation.METHODS)
    for row in rows.values():
        assert len(row["rmse"]) == 2 and row["rmse_mean"] == np.mean(row["rmse"])
        assert row["seconds"] > 0
    assert rows["DAEImputer"]["rmse_mean"] < rows["mean"]["rmse_mean"]
    table = (tmp_path / "results.md").read_text()
    assert "| toy | 20% |" in table and "**" in table


def test_jobs_in_parallel_processes_give_the_same_results(tmp_path):
    options = dict(tables=["toy"], rates=[0.3], seeds=[0, 1], methods=["mean", "DAEImputer"],
                   dae_options={"hidden_sizes": (8,), "epochs": 5},
                   loaded={"toy": correlated()}, log=lambda _: None)
    alone = imputation.run(tmp_path / "one", **options)
    pooled = imputation.run(tmp_path / "two", jobs=2, **options)
    for a, b in zip(alone["results"], pooled["results"], strict=True):
        assert (a["table"], a["method"]) == (b["table"], b["method"])
        np.testing.assert_allclose(a["rmse"], b["rmse"], rtol=1e-5)


def breast_table(data_dir):
    """A small stand-in for the Breast table in ``data_dir``/tabular."""
    folder = data_dir / "tabular"
    folder.mkdir()
    x = correlated(120)
    rows = [f"{i},{'M' if i % 2 else 'B'}," + ",".join(f"{v:.5f}" for v in row)
            for i, row in enumerate(np.tile(x, (1, 6)))]  # id, diagnosis, 30 features
    (folder / "wdbc.data").write_text("\n".join(rows) + "\n")


def test_cli_reads_the_tabular_folder(tmp_path):
    breast_table(tmp_path)
    out = tmp_path / "out"
    assert main(["experiment", "imputation", "--data-dir", str(tmp_path), "--out", str(out),
                 "--tables", "breast", "--rates", "0.5", "--seeds", "0",
                 "--methods", "mean", "DAEImputer", "--dae-epochs", "20"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [(r["table"], r["method"]) for r in results["results"]] == [
        ("breast", "mean"), ("breast", "DAEImputer")]


def test_cli_rejects_a_rate_outside_0_1(tmp_path, capsys):
    assert main(["experiment", "imputation", "--rates", "1.2", "--out", str(tmp_path)]) == 2
    assert "--rates" in capsys.readouterr().err


def test_a_killed_experiment_resumes_to_the_uninterrupted_results(tmp_path, monkeypatch, capsys):
    breast_table(tmp_path)
    options = ["experiment", "imputation", "--data-dir", str(tmp_path), "--tables", "breast",
               "--rates", "0.2", "--seeds", "0", "1", "--methods", "mean", "DAEImputer",
               "--dae-epochs", "2"]
    assert main([*options, "--out", str(tmp_path / "whole")]) == 0
    killed = tmp_path / "killed"
    # SIGKILL once two of the four imputations are written
    run_killed([*options, "--out", str(killed)], tmp_path, after=2,
               target="sdae.experiments.imputation.write_json")
    assert not (killed / "results.json").exists()
    ran = []
    impute_once = imputation.impute_once
    monkeypatch.setattr(imputation, "impute_once", lambda *a: ran.append(a[2:4]) or impute_once(*a))
    capsys.readouterr()
    assert main(["experiment", "imputation", "--resume", str(killed)]) == 0
    assert "2 of 4 imputations read from" in capsys.readouterr().out
    assert ran == [("DAEImputer", 0), ("DAEImputer", 1)]  # mean's two were kept
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    resumed = json.loads((killed / "results.json").read_text())
    assert without_timings(resumed) == without_timings(whole)
