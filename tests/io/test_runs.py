"""sdae.io.runs: the run folder and its resume rule."""

import json

import pytest

from sdae.errors import ConfigError
from sdae.io.checkpoint import save_checkpoint
from sdae.io.runs import (
    continuing_command,
    describe_progress,
    prepare_folder,
    read_record,
    remove_empty_made_folders,
    start_run,
)


def record(**options):
    return {"command": "train", "argv": ["train"], "options": options, "data": "digits",
            "data_dir": None}


def test_a_fresh_run_records_its_command_and_finishing_moves_it_beside_the_results(tmp_path):
    run = start_run(tmp_path / "out", record(epochs=2), log=lambda s: None)
    assert run.fresh and read_record(run.out) == record(epochs=2)
    run.finish()
    assert json.loads((run.out / "command.json").read_text()) == record(epochs=2)
    assert json.loads((run.checkpoints / "command.json").read_text())["finished"]


def test_the_same_run_continues_and_says_from_where(tmp_path):
    start_run(tmp_path, record(epochs=9))
    save_checkpoint(tmp_path / "checkpoints" / "pretrain-layer2.ckpt",
                    {"epoch": 6, "config": {"epochs": 9}})
    said = []
    run = start_run(tmp_path, record(epochs=9), log=said.append)
    assert not run.fresh
    assert said == [f"continuing the unfinished run in {tmp_path}: pretrain layer 2 from "
                    "epoch 7"]
    assert describe_progress(tmp_path / "missing") == "from the start"


def test_an_option_added_by_a_newer_sdae_does_not_stop_a_run_continuing(tmp_path):
    start_run(tmp_path, record(epochs=9))
    run = start_run(tmp_path, record(epochs=9, precision="fp32"), log=lambda s: None)
    assert not run.fresh
    with pytest.raises(ConfigError, match="other options"):
        start_run(tmp_path, record(epochs=8, precision="fp32"))


def test_other_options_are_refused_and_overwrite_deletes_the_checkpoints(tmp_path):
    start_run(tmp_path, record(epochs=9))
    ckpt = save_checkpoint(tmp_path / "checkpoints" / "pretrain-layer1.ckpt", {"epoch": 1})
    with pytest.raises(ConfigError, match=f"--resume {tmp_path}, or start afresh with "
                                          "--overwrite"):
        start_run(tmp_path, record(epochs=3))
    assert ckpt.exists()
    run = start_run(tmp_path, record(epochs=3), overwrite=True)
    assert run.fresh and not ckpt.exists() and read_record(tmp_path) == record(epochs=3)


def test_a_finished_runs_folder_starts_afresh(tmp_path):
    start_run(tmp_path, record(epochs=9)).finish()
    ckpt = save_checkpoint(tmp_path / "checkpoints" / "a.ckpt", {"epoch": 9})
    run = start_run(tmp_path, record(epochs=3))
    assert run.fresh and not ckpt.exists()
    assert json.loads((tmp_path / "command.json").read_text()) == record(epochs=9)  # kept


def test_a_failed_fresh_run_removes_its_checkpoints_an_interrupted_one_keeps_them(tmp_path):
    run = start_run(tmp_path / "a", record())
    with pytest.raises(KeyboardInterrupt, match="continue so"), run.guard("continue so"):
        raise KeyboardInterrupt
    assert run.checkpoints.exists()
    with pytest.raises(ConfigError), run.guard("continue so"):
        raise ConfigError("diverged")
    assert not run.checkpoints.exists()


def test_only_the_writing_process_writes(tmp_path):
    run = start_run(tmp_path / "out", record(), writes=False)
    run.finish()
    assert not (tmp_path / "out").exists()


def test_folders_made_by_a_failed_command_are_removed_when_empty(tmp_path):
    prepare_folder(tmp_path / "new" / "deep")
    remove_empty_made_folders()
    assert not (tmp_path / "new").exists()


def test_the_refusal_says_when_only_the_data_differ(tmp_path):
    from sdae.io.runs import start_run

    record = {"command": "train", "argv": ["train"], "options": {"hidden": [8]},
              "data": "mnist-small", "data_dir": None}
    start_run(tmp_path / "run", record, log=lambda _: None)  # unfinished: nothing finished it
    same_options = {**record, "data": "mnist", "data_dir": "/data"}
    with pytest.raises(ConfigError, match=r"other data \(mnist-small in None, where this "
                                          r"command finds mnist in /data\)"):
        start_run(tmp_path / "run", same_options, log=lambda _: None)
    other_options = {**record, "options": {"hidden": [16]}}
    with pytest.raises(ConfigError, match="with other options: continue it with --resume"):
        start_run(tmp_path / "run", other_options, log=lambda _: None)


def test_the_command_that_continues_a_checkpointed_run_keeps_its_folder_not_overwrite():
    record = {"argv": ["denoise", "train", "--images", "my photos", "--overwrite",
                       "--checkpoint", "a.ckpt"], "cwd": "/home/me/work"}
    assert continuing_command(record) == ("cd /home/me/work && sdae denoise train --images "
                                          "'my photos' --checkpoint a.ckpt")
    record["argv"][4] = "--overw"  # argparse's abbreviation
    assert "--overw" not in continuing_command(record)
    assert continuing_command({"argv": ["info", "x"]}) == "sdae info x"  # recorded before cwd
    for bad in ({}, {"argv": "denoise train"}, {"argv": ["denoise", 3]}):
        assert continuing_command(bad) is None
