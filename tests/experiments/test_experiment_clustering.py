"""sdae experiment clustering on scikit-learn's digits, tiny budgets: the files and the
summary over seeds."""

import json
import shutil
from dataclasses import replace

import pytest

from sdae.experiments import clustering
from sdae.tasks.clustering import ClusteringSettings, umap_installed

TINY = ClusteringSettings(hidden_sizes=(32, 8), pretrain_epochs=1, finetune_epochs=3,
                          self_training_steps=28, batch_size=64)


def test_every_method_on_every_seed_with_a_summary(tmp_path):
    plan = clustering.ClusteringExperiment(
        sets=["digits"], seeds=[0, 1], settings=TINY,
        methods=["k-means on pixels", "k-means on PCA", "k-means on codes", "DEC", "IDEC",
                 "DEC with moves", "IDEC with moves"])
    doc = clustering.run(tmp_path, plan, checkpoints=tmp_path / "checkpoints",
                         log=lambda s: None)
    summary = doc["summary"]["digits"]
    rows = doc["per_seed"]["digits"][0]  # each self-training row says what it changed
    assert (rows["DEC"]["moves"], rows["DEC with moves"]["moves"]) == (0.0, 0.1)
    assert rows["IDEC with moves"]["init"] == "kmeans"
    assert set(summary) == {*plan.methods, "stack"}
    for method in plan.methods:
        for key in ("acc", "nmi", "ari"):
            assert 0 <= summary[method][key]["mean"] <= 1
    # k-means on pixels finds digits far better than chance (0.1)
    assert summary["k-means on pixels"]["acc"]["mean"] > 0.6
    table = (tmp_path / "results.md").read_text()
    assert "| k-means on codes |" in table and "pre-training" in table
    assert "| DEC with moves |" in table and "| IDEC with moves |" in table
    assert (tmp_path / "digits" / "codes_map.png").stat().st_size > 0
    assert (tmp_path / "digits" / "nearest.png").stat().st_size > 0
    # a finished seed is read back, not rerun
    piece = tmp_path / "checkpoints" / "digits-seed1.json"
    assert json.loads(piece.read_text())["IDEC"]["acc"] == \
        doc["per_seed"]["digits"][1]["IDEC"]["acc"]
    again = clustering.run(tmp_path / "again", plan, checkpoints=tmp_path / "checkpoints",
                           log=lambda s: None)
    for seed in (0, 1):
        assert again["per_seed"]["digits"][seed] == \
            json.loads(json.dumps(doc["per_seed"]["digits"][seed]))


def test_a_run_resumed_with_more_rows_runs_only_those(tmp_path, monkeypatch):
    plan = clustering.ClusteringExperiment(sets=["digits"], seeds=[0], settings=TINY,
                                           methods=["k-means on codes"])
    checkpoints = tmp_path / "checkpoints"
    first = clustering.run(tmp_path, plan, checkpoints=checkpoints, log=lambda s: None)
    figure = (tmp_path / "digits" / "codes_map.png").read_bytes()
    ran = []
    cluster = clustering.cluster
    monkeypatch.setattr(clustering, "cluster",
                        lambda stack, x, k, method, *a, **kw: ran.append(method) or
                        cluster(stack, x, k, method, *a, **kw))
    more = clustering.run(tmp_path, replace(plan, methods=["k-means on codes", "DEC"]),
                          checkpoints=checkpoints, log=lambda s: None)
    assert ran == ["dec"]  # the finished row is read back, the new one run and added
    rows = more["per_seed"]["digits"][0]
    assert rows["k-means on codes"] == first["per_seed"]["digits"][0]["k-means on codes"]
    assert rows["stack"] == first["per_seed"]["digits"][0]["stack"]  # its record kept
    assert set(more["summary"]["digits"]) == {"k-means on codes", "DEC", "stack"}
    assert json.loads((checkpoints / "digits-seed0.json").read_text())["DEC"] == rows["DEC"]
    assert (tmp_path / "digits" / "codes_map.png").read_bytes() == figure
    # its stack's checkpoints deleted: the stack is trained again, and the log says so
    shutil.rmtree(checkpoints / "digits-seed0")
    said = []
    clustering.run(tmp_path, replace(plan, methods=["k-means on codes", "DEC", "IDEC"]),
                   checkpoints=checkpoints, log=said.append)
    assert any("checkpoints are gone" in line for line in said)


def test_the_rows_that_need_umap_are_left_out_without_it(monkeypatch):
    monkeypatch.setattr(clustering, "umap_installed", lambda: False)
    kept, missing = clustering.available(clustering.METHODS)
    assert missing == ["codes+UMAP+GMM", "DEC from UMAP+GMM", "IDEC from UMAP+GMM"]
    assert kept == [m for m in clustering.METHODS if m not in missing]


@pytest.mark.skipif(not umap_installed(), reason="umap-learn not installed")
def test_dec_and_idec_from_umap_gmm_start_from_that_rows_clusters(tmp_path, monkeypatch):
    from sdae.tasks.clustering import fitting

    calls = []
    cluster_codes = fitting.cluster_codes
    monkeypatch.setattr(fitting, "cluster_codes",
                        lambda codes, k, method, seed: calls.append(method) or
                        cluster_codes(codes, k, method, seed))
    # with no self-training steps each row keeps its start: UMAP+GMM's labels, or k-means'
    plan = clustering.ClusteringExperiment(
        sets=["digits"], seeds=[0], settings=replace(TINY, self_training_steps=0),
        methods=["k-means on codes", "DEC", "codes+UMAP+GMM", "DEC from UMAP+GMM",
                 "IDEC from UMAP+GMM"])
    rows = clustering.run(tmp_path, plan, log=lambda s: None)["per_seed"]["digits"][0]
    scores = {row: (r["acc"], r["nmi"], r["ari"]) for row, r in rows.items() if row in
              plan.methods}
    assert scores["DEC"] == scores["k-means on codes"] != scores["codes+UMAP+GMM"]
    assert scores["DEC from UMAP+GMM"] == scores["IDEC from UMAP+GMM"] == \
        scores["codes+UMAP+GMM"]
    assert calls == ["kmeans", "umap-gmm"]  # UMAP once, its clusters shared by the rows
    assert "count the seconds of their self-training" in (tmp_path / "results.md").read_text()
    calls.clear()  # without the UMAP+GMM row, and whatever the order: still one UMAP
    plan = replace(plan, methods=["IDEC from UMAP+GMM", "DEC from UMAP+GMM"])
    rows = clustering.run(tmp_path / "without", plan, log=lambda s: None)["per_seed"]["digits"][0]
    assert (rows["DEC from UMAP+GMM"]["acc"], rows["IDEC from UMAP+GMM"]["acc"]) == \
        (scores["DEC from UMAP+GMM"][0],) * 2
    assert calls == ["umap-gmm"]
    assert clustering.TASK_METHOD["DEC from UMAP+GMM"] == ("dec", {"init": "umap-gmm"})


def test_the_published_comparison_is_the_default_and_the_other_rows_run_when_named():
    assert clustering.ClusteringExperiment().methods == [
        "k-means on pixels", "k-means on PCA", "k-means on codes", "DEC", "IDEC",
        "codes+UMAP+GMM"]
    for row, method, changes in (("DEC with moves", "dec", {"moves": 0.1}),
                                 ("IDEC with moves", "idec", {"moves": 0.1}),
                                 ("DEC from UMAP+GMM", "dec", {"init": "umap-gmm"}),
                                 ("IDEC from UMAP+GMM", "idec", {"init": "umap-gmm"})):
        assert row in clustering.METHODS
        assert row not in clustering.ClusteringExperiment().methods
        assert clustering.TASK_METHOD[row] == (method, changes)


def test_the_commands_list_of_rows_is_the_experiments():
    from sdae.cli.experiment import clustering as command

    assert command.METHODS == clustering.METHODS


@pytest.mark.parametrize("changes, message", [
    ({"methods": ["kmeans"]}, "methods must be some of .*'kmeans'"),
    ({"methods": []}, "methods must be some of .*none"),
    ({"sets": []}, "at least one data set and one seed"),
    ({"seeds": [-1]}, "seed must be an integer >= 0"),
])
def test_a_plan_with_unknown_rows_or_nothing_to_run_is_refused(changes, message):
    from sdae.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        clustering.ClusteringExperiment(**changes)


def test_each_row_sets_its_own_start_and_moves_whatever_the_plans_settings():
    settings = replace(TINY, moves=0.1, init="umap-gmm")
    method, own = clustering.row("codes+UMAP+GMM", settings)
    assert (method, own.init, own.moves) == ("umap-gmm", "kmeans", 0.0)
    method, own = clustering.row("IDEC with moves", settings)
    assert (method, own.init, own.moves, own.hidden_sizes) == ("idec", "kmeans", 0.1, (32, 8))


def test_a_rows_warnings_name_it_and_are_kept_and_progress_can_be_silenced(tmp_path, capsys,
                                                                          monkeypatch):
    from sdae.errors import SdaeWarning, warn

    real = clustering.cluster

    def clusters_left_empty(stack, x, k, method, *args, **kwargs):
        result = real(stack, x, k, method, *args, **kwargs)
        if method == "dec":
            warn(f"1 of the {k} clusters is empty")  # as the library says it
        return result

    monkeypatch.setattr(clustering, "cluster", clusters_left_empty)
    monkeypatch.setattr(clustering, "draw_clusters", lambda *args, **kwargs: None)  # time
    plan = clustering.ClusteringExperiment(sets=["digits"], seeds=[0, 1], settings=TINY,
                                           methods=["k-means on codes", "DEC"])
    with pytest.warns(SdaeWarning) as said:
        doc = clustering.run(tmp_path, plan, log=lambda s: None, progress=False)
    assert [str(w.message) for w in said if w.category is SdaeWarning] == [
        f"digits seed {seed}, DEC: 1 of the 10 clusters is empty" for seed in (0, 1)]
    assert doc["per_seed"]["digits"][1]["DEC"]["warnings"] == ["1 of the 10 clusters is empty"]
    assert "warnings" not in doc["per_seed"]["digits"][1]["k-means on codes"]
    table = (tmp_path / "results.md").read_text()  # a reader of the table sees them too
    assert "| DEC (!) |" in table and "| k-means on codes |" in table
    assert "- seed 1, DEC: 1 of the 10 clusters is empty" in table
    assert "epoch" not in capsys.readouterr().err  # --no-progress
    with pytest.warns(SdaeWarning, match="digits seed 0, DEC: 1 of the 10"):
        clustering.run(tmp_path / "lines", replace(plan, seeds=[0]), log=lambda s: None)
    # off a terminal, each line says which set and seed it trains
    assert "\ndigits seed 0, DEC self-training: epoch 1/" in capsys.readouterr().err
    one_seed = (tmp_path / "lines" / "results.md").read_text()
    assert "one seed" in one_seed and "±" not in one_seed


def test_parts_run_in_parallel_processes_give_the_rows_of_one_process(tmp_path):
    import torch
    from threadpoolctl import threadpool_limits

    methods = ["k-means on pixels", "k-means on codes", "IDEC"]
    if umap_installed():  # a row that waits for another row of its seed
        methods.append("DEC from UMAP+GMM")
    plan = clustering.ClusteringExperiment(sets=["digits"], seeds=[0, 1], settings=TINY,
                                           methods=methods)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each of two workers on 2 cores: the same sums, bit for bit
    try:
        with threadpool_limits(1):
            alone = clustering.run(tmp_path / "one", plan, log=lambda s: None, progress=False)
    finally:
        torch.set_num_threads(threads)
    said = []
    pooled = clustering.run(tmp_path / "two", plan, log=said.append, jobs=2,
                            checkpoints=tmp_path / "checkpoints")
    for seed in (0, 1):
        for method in methods:
            one, two = (doc["per_seed"]["digits"][seed][method] for doc in (alone, pooled))
            assert (one["acc"], one["nmi"], one["ari"]) == (two["acc"], two["nmi"], two["ari"])
        assert "stack" in pooled["per_seed"]["digits"][seed]
        assert json.loads((tmp_path / "checkpoints" / f"digits-seed{seed}.json").read_text()) \
            == json.loads(json.dumps(pooled["per_seed"]["digits"][seed]))
    assert sum("stack pre-trained" in line for line in said) == 2
    assert (tmp_path / "two" / "digits" / "nearest.png").stat().st_size > 0
    assert set(pooled["summary"]["digits"]) == {*methods, "stack"}
    assert pooled["jobs"] == 2 and \
        ", 2 parts at once (" in (tmp_path / "two" / "results.md").read_text()


def test_jobs_must_be_a_positive_count(tmp_path):
    from sdae.errors import ConfigError

    plan = clustering.ClusteringExperiment(sets=["digits"], seeds=[0], settings=TINY,
                                           methods=["k-means on pixels"])
    with pytest.raises(ConfigError, match="jobs must be a positive integer, got 0"):
        clustering.run(tmp_path, plan, jobs=0)
