"""A killed experiment continues with --resume OUT to the results of a run never killed."""

import json
import os
import subprocess
import sys

import pytest

from sdae.cli import main


def without_timings(value):
    """Results with the keys that measure time (or the machine) left out."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items()
                if "seconds" not in k and k != "machine"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


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
    script = (
        "import os, signal\n"
        "import sdae.core.training as t\n"
        "saves = []\n"
        "def save_then_die(path, state, save=t.save_checkpoint):\n"
        "    save(path, state); saves.append(1)\n"
        "    if len(saves) == 3: os.kill(os.getpid(), signal.SIGKILL)\n"
        "t.save_checkpoint = save_then_die\n"
        "from sdae.cli import main\n"
        f"main({[*options, '--out', str(killed)]!r})\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == -9, result.stderr
    assert not (killed / "results.json").exists()
    capsys.readouterr()
    assert main(["experiment", "sda-mnist", "--resume", str(killed)]) == 0
    assert (f"continuing the unfinished run in {killed}: sda seed0 pretrain layer 2 from epoch 2"
            in capsys.readouterr().out)
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    resumed = json.loads((killed / "results.json").read_text())
    assert without_timings(resumed) == without_timings(whole)
    assert json.loads((killed / "command.json").read_text())["argv"][:2] == options[:2]
