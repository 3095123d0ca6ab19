"""Every row of docs/bad-input.md, run: the command fails with its one-line message and
exit status 2, writes nothing, and the Python expression raises the exception named."""

import builtins
import gzip
import json
import pickle
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from sdae import DenoisingAutoencoder
from sdae.cli import main
from sdae.io.data.idx import write_idx
from sdae.io.data.images import write_image
from sdae.models import save_model
from sdae.tasks.denoising import ConvDenoiser

DOC = Path(__file__).parents[2] / "docs" / "bad-input.md"
LOCAL_MIRROR = "http://127.0.0.1:8000/"  # as the table writes it; the test's server differs


def read_table() -> tuple[str, list[dict]]:
    text = DOC.read_text()
    imports = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split(" | ")]
    rows = [dict(zip(header, (c.strip().strip("`") for c in line.strip("| ").split(" | ")),
                     strict=True))
            for line in lines[1:]]
    return imports, rows


IMPORTS, ROWS = read_table()


class CreatesAFile:
    """Unpickling this runs code: it would create the file 'pwned'."""

    def __reduce__(self):
        return (open, ("pwned", "w"))


def make_bad_files(root: Path, served: Path) -> None:
    """The files the table names, each wrong in the way its row says."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 16)).astype(np.float32)
    y = rng.integers(0, 3, 60)
    np.savez(root / "data.npz", x=x, y=y)
    with_nan = x.copy()
    with_nan[3, 4] = np.nan
    np.save(root / "nan.npy", with_nan)
    (root / "empty.csv").write_text("a,b\n")
    np.save(root / "wrong.npy", np.zeros((5, 3), np.float32))
    np.save(root / "one-feature.npy", x[:, :1])
    save_model(DenoisingAutoencoder(16, 8), root / "model.safetensors")
    save_model(ConvDenoiser(depth=2, width=4), root / "denoiser.safetensors")
    np.savez(root / "short-labels.npz", x=x, y=y[:50])
    np.savez(root / "one-class.npz", x=x, y=np.zeros(60, np.int64))
    np.save(root / "big.npy", x * 5)
    (root / "text.csv").write_text("1,2\n3,abc\n")
    (root / "ragged.csv").write_text("1,2,3\n4,5\n")
    (root / "cut-mnist").mkdir()
    for prefix in ("train", "t10k"):
        write_idx(root / "cut-mnist" / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (10, 28, 28), dtype=np.uint8))
        write_idx(root / "cut-mnist" / f"{prefix}-labels-idx1-ubyte.gz", np.zeros(10, np.uint8))
    images = root / "cut-mnist" / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:300])
    (root / "bad.npz").write_bytes(rng.bytes(300))
    (root / "cut.npy").write_bytes((root / "nan.npy").read_bytes()[:500])
    (root / "broken-images").mkdir()
    (root / "broken-images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.bytes(40))
    (root / "no-images").mkdir()
    (root / "no-images" / "notes.txt").write_text("no pictures here")
    (root / "cut.safetensors").write_bytes((root / "model.safetensors").read_bytes()[:200])
    dae = DenoisingAutoencoder(16, 8)
    save_file({k: v.contiguous() for k, v in dae.state_dict().items()}, root / "v2.safetensors",
              metadata={"format": "sdae", "format_version": "2", "kind": "dae",
                        "config": json.dumps(dae.config.to_dict()), "extra": "{}"})
    (root / "pickle.safetensors").write_bytes(pickle.dumps({"weight": CreatesAFile()}))
    run = root / "pickle-run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "command.json").write_text(json.dumps({"argv": [
        "train", "--data", "data.npz", "--hidden", "8", "--epochs", "2", "--out", str(run)]}))
    torch.save({"sdae_checkpoint": 1, "model": CreatesAFile()},
               run / "checkpoints" / "pretrain-layer1.ckpt")
    write_image(root / "photos" / "gray.png", np.zeros((20, 20)))
    (root / "a-file").write_text("a file, not a folder")
    (root / "empty").mkdir()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):  # tampered MNIST
        (served / f"{stem}.gz").write_bytes(gzip.compress(b"not the MNIST bytes"))


@pytest.fixture
def bad_files(tmp_path, server, monkeypatch):
    served, url = server
    make_bad_files(tmp_path, served)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    monkeypatch.delenv("SDAE_MNIST_MIRRORS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path, url


def files_under(root: Path) -> dict[str, int]:
    """Size of each file and folder (-1) under ``root``."""
    return {str(p.relative_to(root)): p.stat().st_size if p.is_file() else -1
            for p in root.rglob("*")}


def test_the_table_covers_every_kind_of_bad_input_the_issue_names():
    assert len(ROWS) == len({row["Bad input"] for row in ROWS}) >= 22
    assert all(row["Command"].split()[0] in ("sdae", "SDAE_MNIST_MIRRORS=" + LOCAL_MIRROR)
               for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row["Bad input"] for row in ROWS])
def test_bad_input_gets_its_one_line_error(row, bad_files, monkeypatch, capsys):
    root, url = bad_files
    words = shlex.split(row["Command"].replace(LOCAL_MIRROR, url))
    while "=" in words[0]:  # VAR=value before the command
        name, value = words.pop(0).split("=", 1)
        monkeypatch.setenv(name, value)
    assert words[0] == "sdae"
    before = files_under(root)
    try:
        code = main(words[1:])
    except SystemExit as exit_:  # argparse rejects the option itself
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    name = " ".join(words[1:3] if words[1] in ("denoise", "experiment") else words[1:2])
    assert err.count("\n") == 1 and err.startswith(f"sdae {name}: error: "), err
    assert row["Message"] in err
    assert files_under(root) == before  # nothing written, nothing half-written

    namespace: dict = {}
    exec(IMPORTS, namespace)
    exception = namespace.get(row["Raises"]) or getattr(builtins, row["Raises"])
    with pytest.raises(exception):
        eval(row["Python"].replace(LOCAL_MIRROR, url), namespace)
    assert not (root / "pwned").exists()  # no pickle ran


def test_under_torchrun_the_program_leaves_the_group_and_ends_at_once(monkeypatch):
    """The torchrun branch of ``entry``: the group left, then ``os._exit`` with main's
    status (no interpreter teardown); a failure to leave is said and keeps the status."""
    import importlib
    import os

    from sdae.core import distributed

    cli_main = importlib.import_module("sdae.cli.main")  # the module, not sdae.cli's main

    ended, left = [], []
    monkeypatch.setattr(cli_main, "main", lambda: 2)
    monkeypatch.setattr(distributed, "process_group", lambda: (2, 1))
    monkeypatch.setattr(distributed, "leave_process_group", lambda: left.append(True))
    monkeypatch.setattr(os, "_exit", ended.append)
    cli_main.entry()
    assert (left, ended) == ([True], [2])

    def broken():
        raise RuntimeError("peer gone")

    monkeypatch.setattr(distributed, "leave_process_group", broken)
    monkeypatch.setattr(cli_main, "main", lambda: 0)
    cli_main.entry()
    assert ended == [2, 1]  # a run that failed to end cleanly does not report success


def test_the_program_exits_with_mains_status(tmp_path):
    """``python -m sdae.cli`` (the console script's ``entry``): the one-line error on
    stderr and status 2, as ``main`` returns them."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "sdae.cli", "info",
                             str(tmp_path / "none.safetensors")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("sdae info: error: ") and result.stderr.count("\n") == 1


def test_a_reader_that_stops_reading_ends_the_program_quietly(tmp_path):
    """``sdae ... | head``: the pipe closed under a long output gives status 1 and no
    traceback (Python's BrokenPipeError at a print, or at the exit's flush)."""
    import subprocess
    import sys

    script = ("import importlib\n"
              "m = importlib.import_module('sdae.cli.main')\n"
              "m.main = lambda: print('x' * 4_000_000) or 0\n"  # more than a pipe holds
              "m.entry()\n")
    reader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    reader.stdout.read(10)
    reader.stdout.close()  # as head does
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 1
    assert err == ""
