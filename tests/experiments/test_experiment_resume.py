"""A killed experiment continues with --resume OUT to the results of a run never killed."""

import json

import pytest
from conftest import run_killed, without_timings

from sdae.cli import main


def test_a_killed_sda_experiment_resumes_to_the_uninterrupted_results(tmp_path, capsys):
    from conftest import SHARED_DATA

    if not (SHARED_DATA / "usps" / "usps.h5").exists():
        pytest.skip("USPS not found: set SDAE_DATA_DIR to the shared data folder")
    options = ["experiment", "sda-mnist", "--dataset", "usps", "--data-dir", str(SHARED_DATA),
               "--hidden", "16", "16", "--pretrain-epochs", "2", "--finetune-epochs", "2",
               "--models", "SdA", "--no-progress"]
    assert main([*options, "--out", str(tmp_path / "whole")]) == 0
    killed = tmp_path / "killed"
    # SIGKILL after the 3rd checkpoint: the first epoch of the SdA's second layer
    run_killed([*options, "--out", str(killed)], tmp_path, after=3)
    assert not (killed / "results.json").exists()
    capsys.readouterr()
    assert main(["experiment", "sda-mnist", "--resume", str(killed)]) == 0
    assert (f"continuing the unfinished run in {killed}: sda seed0 pretrain layer 2 from epoch 2"
            in capsys.readouterr().out)
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    resumed = json.loads((killed / "results.json").read_text())
    assert without_timings(resumed) == without_timings(whole)
    assert json.loads((killed / "command.json").read_text())["argv"][:2] == options[:2]


def test_a_killed_clustering_experiment_resumes_with_more_jobs_to_the_same_rows(tmp_path):
    import torch
    from threadpoolctl import threadpool_limits

    options = ["experiment", "clustering", "--sets", "digits", "--seeds", "0", "--methods",
               "k-means on codes", "DEC", "--pretrain-epochs", "1", "--finetune-epochs", "2",
               "--self-training-steps", "28", "--no-progress"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each worker of --jobs 2 on 2 cores: the same sums
    try:
        with threadpool_limits(1):
            assert main([*options, "--out", str(tmp_path / "whole")]) == 0
    finally:
        torch.set_num_threads(threads)
    killed = tmp_path / "killed"
    # SIGKILL once the first row's scores are written, before DEC
    run_killed([*options, "--out", str(killed)], tmp_path, after=1,
               target="sdae.experiments.clustering.write_json")
    piece = json.loads((killed / "checkpoints" / "digits-seed0.json").read_text())
    assert "k-means on codes" in piece and "DEC" not in piece
    assert main(["experiment", "clustering", "--resume", str(killed), "--jobs", "2"]) == 0
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    resumed = json.loads((killed / "results.json").read_text())
    assert (whole["jobs"], resumed["jobs"]) == (1, 2)  # the resume's own --jobs
    for row in ("k-means on codes", "DEC"):
        assert without_timings(resumed["per_seed"]["digits"]["0"][row]) == \
            without_timings(whole["per_seed"]["digits"]["0"][row])
