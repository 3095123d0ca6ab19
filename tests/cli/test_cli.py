import argparse
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import run_killed

from sdae.cli import build_parser, main
from sdae.io.checkpoint import load_checkpoint
from sdae.io.data import mnist
from sdae.io.data.idx import write_idx
from sdae.models import load_model


@pytest.fixture
def small_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    images = (rng.random((120, 4, 4)) > 0.5).astype(np.float32)  # (n, h, w): 4x4 images
    np.savez(path, x=images, y=rng.integers(0, 3, 120))
    return path


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A miniature MNIST in IDX files: 60 training and 30 test images with real structure."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "tiny"
    folder.mkdir()

    def images(n):
        x = np.zeros((n, 28, 28), np.uint8)
        labels = rng.integers(0, 3, n).astype(np.uint8)
        for i, k in enumerate(labels):  # three classes of bar at different places
            x[i, 4 + 8 * k : 8 + 8 * k, 4:24] = 255
        return x, labels

    for prefix, n in (("train", 60), ("t10k", 30)):
        x, y = images(n)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    monkeypatch.setattr(mnist, "N_TRAIN", 50)
    return folder


def test_help_does_not_import_torch():
    code = ("import sys; from sdae.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "experiment" in result.stdout and "train" in result.stdout


def test_train_writes_a_run_folder(small_npz, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--data", str(small_npz), "--hidden", "24", "--noise-level", "0.3",
                 "--epochs", "3", "--batch-size", "10", "--out", str(out)])
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "metrics.json",
                                               "filters.png", "reconstructions.png",
                                               "command.json", "checkpoints"}
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["command.json",
                                                                     "pretrain-layer1.ckpt"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["pretrain_history"][0]["train_loss"]) == 3
    layer = metrics["model"]["layers"][0]
    assert layer["n_hidden"] == 24 and layer["noise_level"] == 0.3
    model = load_model(out / "model.safetensors")
    assert model.n_hidden == 24
    assert "layer 1: train loss" in capsys.readouterr().out

    assert main(["filters", str(out / "model.safetensors"), "--out", str(tmp_path / "f.png"),
                 "-n", "9"]) == 0
    assert (tmp_path / "f.png").stat().st_size > 0


def test_train_a_stack_with_fine_tuning(small_npz, tmp_path, capsys):
    out = tmp_path / "stack"
    assert main(["train", "--data", str(small_npz), "--hidden", "20", "10",
                 "--noise-level", "0.1", "0.3", "--epochs", "2", "--batch-size", "10",
                 "--finetune-epochs", "3", "--out", str(out)]) == 0
    stack = load_model(out / "model.safetensors")
    assert stack.hidden_sizes == [20, 10] and stack.classifier.out_features == 3
    assert [layer.config.noise_level for layer in stack.layers] == [0.1, 0.3]
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["finetune_history"]["valid_loss"]) == 3
    assert 0 <= metrics["valid_error"] <= 1
    assert metrics["finetune"]["warmup_epochs"] == 1.0  # the default warm-up
    assert "valid error" in capsys.readouterr().out
    assert main(["filters", str(out / "model.safetensors"), "--out", str(tmp_path / "f.png")]) == 0


def test_train_with_unsupervised_fine_tuning(small_npz, tmp_path):
    out = tmp_path / "deep"
    assert main(["train", "--data", str(small_npz), "--hidden", "20", "10", "--epochs", "2",
                 "--batch-size", "10", "--unsupervised-epochs", "4", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["unsupervised_finetune_history"]
    assert len(history["train_loss"]) == 4 and len(history["valid_loss"]) == 4
    assert metrics["unsupervised_finetune"]["epochs"] == 4
    assert load_model(out / "model.safetensors").hidden_sizes == [20, 10]


def test_train_streams_a_npy_file_from_disk(tmp_path, capsys):
    x = np.random.default_rng(0).random((200, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--stream", "--hidden", "12", "6",
                 "--epochs", "2", "--batch-size", "10", "--unsupervised-epochs", "1",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "180 train, 20 valid" in metrics["data"]  # the last 10 % of the rows
    assert len(metrics["pretrain_history"][1]["valid_loss"]) == 2
    assert (out / "filters.png").exists()
    for data, message in [("mnist", "named data set"), ("x.csv", "only a .npy file")]:
        (tmp_path / "x.csv").write_text("0.1,0.2\n0.3,0.4\n")
        capsys.readouterr()
        name = data if data == "mnist" else str(tmp_path / data)
        assert main(["train", "--data", name, "--stream", "--out", str(tmp_path / "r")]) == 2
        assert message in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--stream", "--finetune-epochs",
                 "1", "--out", str(tmp_path / "r")]) == 2
    assert "a streamed .npy holds only inputs" in capsys.readouterr().err


def test_train_streams_bits_stored_as_uint8(tmp_path):
    bits = (np.random.default_rng(0).random((100, 16)) > 0.5).astype(np.uint8)
    np.save(tmp_path / "bits.npy", bits)
    assert main(["train", "--data", str(tmp_path / "bits.npy"), "--stream", "--hidden", "8",
                 "--epochs", "1", "--batch-size", "10", "--out", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "model.safetensors").exists()


def test_fine_tuning_without_labels(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((40, 4)))
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--batch-size", "5",
                 "--finetune-epochs", "2", "--out", str(tmp_path / "r")]) == 2
    assert "needs labels" in capsys.readouterr().err


def test_negative_fine_tuning_warm_up(small_npz, tmp_path, capsys):
    assert main(["train", "--data", str(small_npz), "--finetune-epochs", "2",
                 "--finetune-warmup", "-1", "--out", str(tmp_path / "r")]) == 2
    assert "warm-up epochs must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_train_is_deterministic(small_npz, tmp_path):
    for name in ("a", "b"):
        main(["train", "--data", str(small_npz), "--hidden", "8", "--epochs", "2",
              "--batch-size", "10", "--seed", "5", "--out", str(tmp_path / name)])
    a = load_model(tmp_path / "a" / "model.safetensors")
    b = load_model(tmp_path / "b" / "model.safetensors")
    assert torch.equal(a.weight, b.weight)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--noise-level", "1.5"], "noise level"),
        (["--batch-size", "1000"], "batch size"),
        (["--decoder", "linear", "--loss", "cross_entropy"], "cross-entropy"),
        (["--unsupervised-epochs", "-1"], "--unsupervised-epochs must be >= 0"),
        (["--unsupervised-epochs", "2"], "two or more --hidden sizes"),
    ],
)
def test_bad_options_exit_2_with_one_line(small_npz, tmp_path, capsys, extra, message):
    code = main(["train", "--data", str(small_npz), "--epochs", "1",
                 "--out", str(tmp_path / "r"), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_data_outside_unit_range_with_cross_entropy(tmp_path, capsys):
    np.save(tmp_path / "big.npy", np.random.default_rng(0).normal(size=(50, 4)) * 5)
    assert main(["train", "--data", str(tmp_path / "big.npy"), "--out", str(tmp_path / "r"),
                 "--batch-size", "5", "--epochs", "1"]) == 2
    err = capsys.readouterr().err  # advice that works: a linear decoder on unscaled data
    assert "rescale them to (x - " in err and "--decoder linear" not in err  # learns the mean
    assert main(["train", "--data", str(tmp_path / "big.npy"), "--out", str(tmp_path / "r"),
                 "--batch-size", "5", "--epochs", "1", "--decoder", "linear",
                 "--corruption", "gaussian", "--noise-level", "0.5"]) == 0


def test_zero_epochs_rejected_by_argparse(small_npz, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(small_npz), "--epochs", "0"])
    assert exit_info.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_filters_of_a_missing_model(tmp_path, capsys):
    assert main(["filters", str(tmp_path / "nope.safetensors")]) == 2
    assert "no such model file" in capsys.readouterr().err


@pytest.fixture
def tiny_demo(monkeypatch):
    """The demo's own choice of data and settings, cut down to a few seconds; records them."""
    from dataclasses import replace

    from sdae.experiments import mnist_filters

    chosen = {}
    real_config = mnist_filters.demo_config

    def tiny_config(dataset, seed=0):
        small, options = real_config(dataset, seed)
        chosen.update(dataset=small, options=options)
        return small.subset(100, 50), {**options, "n_hidden": 8, "n_filters": 8,
                                       "probe_max_iter": 5,
                                       "train_config": replace(options["train_config"],
                                                               epochs=1)}

    monkeypatch.setattr(mnist_filters, "demo_config", tiny_config)
    return chosen


def test_demo_runs_offline_on_the_shipped_mnist_subset(tmp_path, monkeypatch, capsys,
                                                        tiny_demo):
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(tmp_path / "empty"), "--out", str(out)]) == 0
    assert tiny_demo["dataset"].name == "mnist-small"
    assert len(tiny_demo["dataset"].x_train) == 10_000
    assert tiny_demo["options"]["probe_solver"] == "lbfgs"
    results = json.loads((out / "results.json").read_text())
    assert results["dataset"].startswith("mnist-small")
    assert results["probe"]["solver"] == "lbfgs"
    assert [m["noise_level"] for m in results["models"]] == [0.0, 0.25, 0.5]
    assert (out / "filters.png").exists() and (out / "reconstructions.png").exists()
    lines = capsys.readouterr().out.splitlines()
    assert "subset shipped with sdae" in lines[0] and "sdae demo --download" in lines[0]
    phases = [next(i for i, line in enumerate(lines) if line.startswith(start))
              for start in ("raw pixels: fitting", "raw pixels: probe test error",
                            "AE (no noise): training", "AE (no noise): trained",
                            "AE (no noise): probe test error", "DAE (25% masking): training",
                            "DAE (50% masking): probe test error")]
    assert phases == sorted(phases)


def test_demo_uses_full_mnist_when_found(tiny_mnist, tmp_path, capsys, tiny_demo):
    out = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(tiny_mnist), "--out", str(out)]) == 0
    assert tiny_demo["dataset"].name == "mnist"
    assert tiny_demo["options"]["n_hidden"] == 500
    assert json.loads((out / "results.json").read_text())["dataset"].startswith("mnist ")
    assert capsys.readouterr().out.startswith("full MNIST found")


def test_experiment_mnist_filters_on_tiny_mnist(tiny_mnist, tmp_path):
    out = tmp_path / "exp"
    assert main(["experiment", "mnist-filters", "--data-dir", str(tiny_mnist), "--out", str(out),
                 "--hidden", "16", "--epochs", "2", "--batch-size", "10",
                 "--noise-level", "0", "0.5"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert "probe_test_error" in results["raw_pixels"]
    for model in results["models"]:
        for key in ("name", "noise_level", "epochs", "train_seconds", "reconstruction_error_test",
                    "probe_test_error", "filter_low_frequency_energy"):
            assert key in model
        assert model["epochs"] == 2
    assert len(list((out / "models").iterdir())) == 2


def test_unwritable_output_folder(small_npz, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "--data", str(small_npz), "--out", str(blocker / "run")]) == 2
    assert "cannot create output folder" in capsys.readouterr().err


@pytest.mark.parametrize("out", ["f.jpgx", "blocker/f.png"])
def test_filters_bad_output_path(small_npz, tmp_path, capsys, out):
    (tmp_path / "blocker").write_text("a file, not a folder")
    main(["train", "--data", str(small_npz), "--hidden", "4", "--epochs", "1",
          "--batch-size", "10", "--out", str(tmp_path / "run")])
    capsys.readouterr()
    assert main(["filters", str(tmp_path / "run" / "model.safetensors"),
                 "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(("extra", "message"), [(["--device", "mps"], "unsupported device"),
                                                (["--seed", "-1"], "seed"),
                                                (["--clip", "1", "0"], "low < high")])
def test_more_bad_options(small_npz, tmp_path, capsys, extra, message):
    assert main(["train", "--data", str(small_npz), "--epochs", "1", "--batch-size", "10",
                 "--out", str(tmp_path / "r"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_info_encode_reconstruct(small_npz, tmp_path, capsys):
    out = tmp_path / "stack"
    assert main(["train", "--data", str(small_npz), "--hidden", "12", "6", "--noise-level",
                 "0.2", "--epochs", "1", "--batch-size", "10", "--out", str(out)]) == 0
    model_file = out / "model.safetensors"
    capsys.readouterr()
    assert main(["info", str(model_file)]) == 0
    text = capsys.readouterr().out
    assert "stack (sdae format 1)" in text and "layer 2: 12 -> 6" in text
    assert "masking 0.2" in text and "training: 1 epoch, batch 10, sgd lr 0.1, seed 0" in text
    assert main(["info", str(model_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "stack"

    x = np.load(small_npz)["x"].reshape(120, -1).astype(np.float32)
    stack = load_model(model_file)
    assert main(["encode", str(model_file), str(small_npz), "--out", str(tmp_path / "c.npy")]) == 0
    codes = np.load(tmp_path / "c.npy")
    assert np.allclose(codes, stack.encode(torch.from_numpy(x)).detach().numpy(), atol=1e-6)
    assert main(["encode", str(model_file), str(small_npz), "--depth", "1",
                 "--out", str(tmp_path / "c1.csv")]) == 0
    assert np.loadtxt(tmp_path / "c1.csv", delimiter=",").shape == (120, 12)
    assert main(["reconstruct", str(model_file), str(small_npz),
                 "--out", str(tmp_path / "r.npy")]) == 0
    assert np.load(tmp_path / "r.npy").shape == (120, 16)


def test_predict_writes_the_fine_tuned_stacks_classes_and_probabilities(small_npz, tmp_path):
    out = tmp_path / "clf"
    assert main(["train", "--data", str(small_npz), "--hidden", "12", "--epochs", "1",
                 "--finetune-epochs", "2", "--batch-size", "10", "--out", str(out)]) == 0
    stack = load_model(out / "model.safetensors")
    x = torch.from_numpy(np.load(small_npz)["x"].reshape(120, -1).astype(np.float32))
    assert main(["predict", str(out / "model.safetensors"), str(small_npz),
                 "--out", str(tmp_path / "p.csv")]) == 0
    assert np.loadtxt(tmp_path / "p.csv").astype(int).tolist() == stack.predict(x).tolist()
    assert main(["predict", str(out / "model.safetensors"), str(small_npz), "--proba",
                 "--out", str(tmp_path / "p.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), stack.predict_proba(x), atol=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["encode", "MODEL", "WRONG", "--out", "OUT"], "has 3 features but the model expects 16"),
        (["encode", "MODEL", "DATA", "--depth", "3", "--out", "OUT"], "the stack has 2 layers"),
        (["info", "WRONG"], "not an sdae model file"),
        (["reconstruct", "MODEL", "DATA", "--out", "r.txt"], "name a .npy or a .csv file"),
        (["predict", "MODEL", "DATA", "--out", "OUT"], "has no classifier: fine-tune one"),
    ],
)
def test_apply_bad_input(small_npz, tmp_path, capsys, args, message):
    out = tmp_path / "m"
    main(["train", "--data", str(small_npz), "--hidden", "8", "8", "--epochs", "1",
          "--batch-size", "10", "--out", str(out)])
    np.save(tmp_path / "wrong.npy", np.zeros((5, 3), np.float32))
    names = {"MODEL": str(out / "model.safetensors"), "DATA": str(small_npz),
             "WRONG": str(tmp_path / "wrong.npy"), "OUT": str(tmp_path / "o.npy")}
    capsys.readouterr()
    assert main([names.get(a, a) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "o.npy").exists()


def test_a_killed_stack_run_resumes_to_the_same_model(small_npz, tmp_path, capsys):
    options = ["train", "--data", str(small_npz), "--hidden", "12", "6", "--epochs", "3",
               "--batch-size", "10", "--momentum", "0.5", "--finetune-epochs", "3"]
    assert main([*options, "--out", str(tmp_path / "whole")]) == 0
    killed = tmp_path / "killed"
    # SIGKILL right after the 5th checkpoint: layer 2 of pre-training, epoch 2 of 3
    run_killed([*options, "--out", str(killed)], tmp_path, after=5)
    assert not (killed / "model.safetensors").exists()
    assert main(["train", "--resume", str(killed)]) == 0
    a = load_model(tmp_path / "whole" / "model.safetensors").state_dict()
    b = load_model(killed / "model.safetensors").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    resumed = json.loads((killed / "metrics.json").read_text())
    assert resumed["finetune_history"]["valid_loss"] == whole["finetune_history"]["valid_loss"]


def test_a_run_resumes_from_any_folder_with_the_data_it_started_with(small_npz, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(small_npz.parent)
    run = tmp_path / "run"
    assert main(["train", "--data", small_npz.name, "--hidden", "8", "--epochs", "1",
                 "--batch-size", "10", "--out", str(run)]) == 0
    record = json.loads((run / "command.json").read_text())
    assert record["data"] == str(small_npz.resolve())  # not the relative name given
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["train", "--resume", str(run)]) == 0


def test_a_failed_rerun_leaves_the_finished_run_in_its_folder_as_it_was(small_npz, tmp_path,
                                                                        capsys):
    run = tmp_path / "run"
    options = ["train", "--data", str(small_npz), "--hidden", "8", "--batch-size", "10",
               "--out", str(run)]
    assert main([*options, "--epochs", "1"]) == 0
    finished = {name: (run / name).read_bytes() for name in ("command.json", "model.safetensors")}
    assert main([*options, "--epochs", "3", "--decoder", "linear", "--lr", "1e6"]) == 2
    assert "diverged" in capsys.readouterr().err
    assert {name: (run / name).read_bytes() for name in finished} == finished
    assert not (run / "checkpoints").exists()  # a failed run leaves nothing to continue
    assert main([*options[:-1], str(tmp_path / "new" / "run"), "--epochs", "3",
                 "--decoder", "linear", "--lr", "1e6"]) == 2
    assert not (tmp_path / "new").exists()  # nor the folders it made


def test_resume_needs_a_run_folder(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    assert "--out would be ignored: give --resume RUN_DIR alone" in capsys.readouterr().err


def test_sigterm_stops_cleanly_with_how_to_resume(small_npz, tmp_path):
    out = tmp_path / "run"
    options = ["train", "--data", str(small_npz), "--hidden", "8", "--epochs", "4",
               "--batch-size", "10", "--checkpoint-every", "4", "--out", str(out)]
    # SIGTERM in the middle of epoch 3 (10 batches an epoch); no checkpoint is due until
    # the end, so the one of epoch 2 is written on the way out
    script = (
        "import os, signal, sys\n"
        "from sdae.core.autoencoder import DenoisingAutoencoder as DAE\n"
        "calls = []\n"
        "def term_in_epoch_3(*args, corrupt=DAE.corrupt):  # corrupt: once a step\n"
        "    calls.append(1)\n"
        "    if len(calls) == 25: os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return corrupt(*args)\n"
        "DAE.corrupt = term_in_epoch_3\n"
        "from sdae.cli import main\n"
        f"sys.exit(main({options!r}))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 130
    assert f"sdae train --resume {out}" in result.stderr and "Traceback" not in result.stderr
    assert load_checkpoint(out / "checkpoints" / "pretrain-layer1.ckpt")["epoch"] == 2
    assert main(["train", "--resume", str(out)]) == 0
    assert len(json.loads((out / "metrics.json").read_text())
               ["pretrain_history"][0]["train_loss"]) == 4


def test_impute_fills_missing_cells_and_keeps_the_rest_verbatim(tmp_path, capsys):
    rng = np.random.default_rng(0)
    t = rng.random(200)
    lines = ["size,double,side"]
    for i, v in enumerate(t):
        size = "" if i % 9 == 0 else f"{v:.3f}"
        double = "NA" if i % 7 == 0 else f"{2 * v:.3f}"
        side = "?" if i % 11 == 0 else ("big" if v > 0.5 else "small")
        lines.append(f"{size},{double},{side}")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    assert main(["impute", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o.csv"),
                 "--hidden", "16", "--epochs", "2000"]) == 0
    assert "1 categorical" in capsys.readouterr().out
    out = (tmp_path / "o.csv").read_text().splitlines()
    assert out[0] == lines[0] and len(out) == len(lines)
    for before, after in zip(lines[1:], out[1:], strict=True):
        for a, b in zip(before.split(","), after.split(","), strict=True):
            assert b == a if a not in ("", "NA", "?") else b not in ("", "NA", "?")
    filled_double = [float(o.split(",")[1]) for r, o in zip(lines[1:], out[1:], strict=True)
                     if r.split(",")[1] == "NA" and r.split(",")[0]]
    sizes = [float(r.split(",")[0]) for r in lines[1:] if r.split(",")[1] == "NA"
             and r.split(",")[0]]
    assert np.mean(np.abs(np.array(filled_double) - 2 * np.array(sizes))) < 0.15
    assert {o.split(",")[2] for o in out[1:]} == {"big", "small"}


def test_impute_bad_input(tmp_path, capsys):
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    assert main(["impute", str(tmp_path / "ragged.csv"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "row 2" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


@pytest.fixture
def photo_folder(tmp_path):
    """Twelve small smooth 8-bit grayscale 'photographs'."""
    from sdae.io.data.images import write_image

    folder = tmp_path / "photos"
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:24, 0:24] / 24
    for i in range(12):
        image = 0.2 + 0.4 * rng.random() * yy + 0.3 * xx
        image[6:14, 5 + i % 6:15 + i % 6] += 0.3
        write_image(folder / f"{i:02d}.png", np.clip(image, 0, 1))
    return folder


def test_an_interrupted_denoiser_continues_from_its_checkpoint(photo_folder, tmp_path,
                                                               monkeypatch, capsys):
    from sdae.core import training
    from sdae.tasks.denoising import training as denoising

    options = ["denoise", "train", "--images", str(photo_folder), "--depth", "3", "--width",
               "8", "--crop", "12", "--stride", "6", "--epochs", "3", "--batch-size", "16"]
    assert main([*options, "--out", str(tmp_path / "whole.safetensors")]) == 0
    resumable = [*options, "--checkpoint", str(tmp_path / "ckpt" / "denoiser.ckpt"),
                 "--out", str(tmp_path / "resumed.safetensors")]
    saved, objective, save = [], denoising.denoising_objective, training.save_checkpoint

    def save_and_note(path, state):
        save(path, state)
        saved.append(state["epoch"])

    def interrupt_after_a_checkpoint(model, batch, generator):
        if saved:
            raise KeyboardInterrupt  # Ctrl-C in epoch 2
        return objective(model, batch, generator)

    with monkeypatch.context() as patch:
        patch.setattr(training, "save_checkpoint", save_and_note)
        patch.setattr(denoising, "denoising_objective", interrupt_after_a_checkpoint)
        assert main(resumable) == 130
    assert "continue with: cd " in capsys.readouterr().err
    assert saved == [1] and not (tmp_path / "resumed.safetensors").exists()
    checkpoint = tmp_path / "ckpt" / "denoiser.ckpt"
    command = f"cd {shlex.quote(os.getcwd())} && sdae {shlex.join(resumable)}"
    assert main(["info", str(checkpoint)]) == 0  # sdae info CHECKPOINT names the command
    assert f"its run continues from it when its command is run again: {command}\n" in \
        capsys.readouterr().out
    assert main(["info", str(checkpoint), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["command"] == \
        {"command": command, "does": "continue"}
    with monkeypatch.context() as patch:
        patch.setattr(training, "save_checkpoint", save_and_note)
        assert main(resumable) == 0
    assert saved == [1, 2, 3]  # it went on from epoch 2
    assert main(["info", str(checkpoint)]) == 0
    assert f"its run finished; the same command starts afresh: {command}\n" in \
        capsys.readouterr().out
    assert main(["info", str(checkpoint), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["command"]["does"] == "finished"
    whole = load_model(tmp_path / "whole.safetensors").state_dict()
    resumed = load_model(tmp_path / "resumed.safetensors").state_dict()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


@pytest.mark.parametrize("model", ["conv", "subimage", "patch"])
def test_denoise_train_and_apply(photo_folder, tmp_path, capsys, model):
    from sdae.io.data.images import read_image, write_image

    out = tmp_path / "model.safetensors"
    shape = (["--patch-size", "6", "--hidden", "32"] if model == "patch" else
             ["--depth", "3", "--width", "8"])
    assert main(["denoise", "train", "--images", str(photo_folder), "--model", model,
                 "--sigma", "10", "--sigma-max", "30", *shape, "--crop", "12", "--stride", "6",
                 "--epochs", "2", "--batch-size", "16", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out and out.exists()
    assert main(["info", str(out)]) == 0
    assert "grayscale images" in capsys.readouterr().out
    noisy = np.random.default_rng(1).random((30, 41, 3))
    cases = [(noisy[..., 0], 8, "gray.png"), (noisy, 8, "colour.png"),
             (noisy[..., 0], 16, "gray16.png"), (noisy, 16, "colour16.tif"),
             (noisy, 16, "colour16.png")]
    for image, bits, name in cases:
        write_image(tmp_path / f"in-{name}", image, bits)
        assert main(["denoise", "apply", str(out), str(tmp_path / f"in-{name}"),
                     "--out", str(tmp_path / name)]) == 0
        restored, read_bits = read_image(tmp_path / name)
        assert restored.shape == image.shape and read_bits == bits
    assert main(["denoise", "apply", str(out), str(tmp_path / "in-gray.png"), "--bits", "16",
                 "--out", str(tmp_path / "deep.png")]) == 0
    assert read_image(tmp_path / "deep.png")[1] == 16


def test_denoise_apply_without_a_model_uses_the_shipped_one(tmp_path, capsys):
    from sdae.io.data.images import read_image, write_image

    rng = np.random.default_rng(0)
    clean = np.tile(np.linspace(0.2, 0.8, 64), (48, 1))
    write_image(tmp_path / "noisy.png", clean + 25 / 255 * rng.standard_normal(clean.shape))
    assert main(["denoise", "apply", str(tmp_path / "noisy.png"), "--out",
                 str(tmp_path / "clean.png")]) == 0
    said = capsys.readouterr().out
    assert "σ estimated" in said and "wrote" in said
    restored, bits = read_image(tmp_path / "clean.png")
    noisy = read_image(tmp_path / "noisy.png")[0]
    assert bits == 8 and ((restored - clean) ** 2).mean() < 0.2 * ((noisy - clean) ** 2).mean()
    assert main(["denoise", "apply", str(tmp_path / "noisy.png"), "--sigma", "25", "--out",
                 str(tmp_path / "given.png")]) == 0
    assert "σ 25" in capsys.readouterr().out
    assert main(["denoise", "apply", str(tmp_path / "noisy.png"), "--sigma", "25",
                 "--ensemble", "8", "--out", str(tmp_path / "eight.png")]) == 0
    assert "σ 25, 8 orientations" in capsys.readouterr().out
    eight, given = read_image(tmp_path / "eight.png")[0], read_image(tmp_path / "given.png")[0]
    assert eight.shape == given.shape and not np.array_equal(eight, given)


def test_denoise_apply_warns_in_one_line_beyond_the_trained_noise(tmp_path, capsys):
    from sdae.io.data.images import write_image

    rng = np.random.default_rng(0)
    write_image(tmp_path / "noisy.png", rng.random((32, 32)))
    for sigma, warned in (("75", False), ("90", True)):
        assert main(["denoise", "apply", str(tmp_path / "noisy.png"), "--sigma", sigma,
                     "--out", str(tmp_path / f"clean-{sigma}.png")]) == 0
        err = capsys.readouterr().err
        assert (err == f"sdae denoise apply: warning: {tmp_path / 'noisy.png'}: the noise "
                       "level σ=90.0 is above the largest this denoiser was trained on (75): "
                       "expect a smoother, weaker result, or train a model for such noise "
                       "(sdae denoise train --model subimage --sigma 0 --sigma-max 90 --images "
                       "DIR --out MODEL.safetensors)\n") if warned else err == ""
        assert (tmp_path / f"clean-{sigma}.png").exists()


def test_denoise_apply_offers_the_ensembles_the_library_takes(tmp_path, capsys):
    from sdae.tasks.denoising import ORIENTATIONS

    denoise = next(a for a in build_parser()._actions if a.dest == "command"
                   ).choices["denoise"]
    apply_parser = next(a for a in denoise._actions if a.dest == "action").choices["apply"]
    choices = next(a for a in apply_parser._actions if a.dest == "ensemble").choices
    assert tuple(choices) == ORIENTATIONS
    with pytest.raises(SystemExit):  # argparse: a usage error, before anything is read
        main(["denoise", "apply", str(tmp_path / "noisy.png"), "--ensemble", "3",
              "--out", str(tmp_path / "o.png")])
    assert "invalid choice: 3" in capsys.readouterr().err


def test_a_blind_model_refuses_sigma(photo_folder, tmp_path, capsys):
    out = tmp_path / "conv.safetensors"
    assert main(["denoise", "train", "--images", str(photo_folder), "--depth", "2", "--width",
                 "4", "--crop", "12", "--stride", "12", "--epochs", "1", "--batch-size", "16",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["denoise", "apply", str(out), str(photo_folder / "00.png"), "--sigma", "20",
                 "--out", str(tmp_path / "o.png")]) == 2
    assert "blind to the noise level" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_init_starts_from_a_saved_denoiser_and_refuses_another_shape(photo_folder, tmp_path,
                                                                     capsys):
    small = ["--images", str(photo_folder), "--model", "subimage", "--depth", "2",
             "--width", "4", "--crop", "12", "--stride", "12", "--batch-size", "16",
             "--no-progress"]
    first, second = tmp_path / "first.safetensors", tmp_path / "second.safetensors"
    assert main(["denoise", "train", *small, "--epochs", "3", "--out", str(first)]) == 0
    # a step so small that the weights stay those of the start: the first model's
    checkpoint = tmp_path / "second.ckpt"
    assert main(["denoise", "train", *small, "--epochs", "1", "--lr", "1e-12", "--seed", "5",
                 "--init", str(first), "--checkpoint", str(checkpoint),
                 "--out", str(second)]) == 0
    a, b = load_model(first).state_dict(), load_model(second).state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-9) for k in a)
    # the run's record says where it started, with that file's own training record
    record = json.loads(checkpoint.with_name("second.ckpt.command.json").read_text())
    assert record["init"]["file"] == str(first)
    assert len(record["init"]["extra"]["history"]["train_loss"]) == 3
    capsys.readouterr()
    assert main(["denoise", "train", *small, "--width", "8", "--epochs", "1", "--init",
                 str(first), "--out", str(tmp_path / "third.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "--init" in err and "width 4" in err and "give its --depth, --width" in err
    assert not (tmp_path / "third.safetensors").exists()


def test_warmup_keeps_adams_first_steps_from_undoing_an_init_model(photo_folder, tmp_path,
                                                                    capsys):
    small = ["--images", str(photo_folder), "--model", "subimage", "--depth", "2",
             "--width", "4", "--crop", "12", "--stride", "12", "--batch-size", "16",
             "--no-progress"]
    start = tmp_path / "start.safetensors"
    assert main(["denoise", "train", *small, "--epochs", "1", "--out", str(start)]) == 0

    def moved(*warmup: str) -> float:  # the largest change of a weight in one epoch
        out = tmp_path / f"w{len(warmup)}.safetensors"
        assert main(["denoise", "train", *small, "--epochs", "1", "--lr", "0.01", "--init",
                     str(start), *warmup, "--out", str(out)]) == 0
        a, b = load_model(start).state_dict(), load_model(out).state_dict()
        return max(float((a[k] - b[k]).abs().max()) for k in a)

    assert moved("--warmup", "100") < 0.1 * moved()
    capsys.readouterr()
    assert main(["denoise", "train", *small, "--warmup", "-1", "--out",
                 str(tmp_path / "bad.safetensors")]) == 2
    assert "warm-up epochs must be >= 0" in capsys.readouterr().err


def test_hold_out_keeps_the_last_images_for_validation(photo_folder, tmp_path):
    out = tmp_path / "m.safetensors"
    assert main(["denoise", "train", "--images", str(photo_folder), "--hold-out", "3",
                 "--sigma", "5", "--valid-sigma", "60", "--model", "subimage", "--depth", "2",
                 "--width", "4", "--crop", "12", "--stride", "12", "--epochs", "2",
                 "--batch-size", "16", "--out", str(out)]) == 0
    history = load_model(out, with_header=True)[1]["extra"]["history"]
    assert len(history["valid_loss"]) == 2 and history["best_epoch"] in (1, 2)
    # the validation noise is σ = 60, not the training σ = 5: a model trained for 2 epochs
    # at σ = 5 leaves much of it, far more than (5/255)²
    assert history["valid_loss"][0] > 10 * (5 / 255) ** 2
    assert main(["denoise", "train", "--images", str(photo_folder), "--valid-sigma", "20",
                 "--out", str(tmp_path / "n.safetensors")]) == 2


def test_denoise_bad_input(photo_folder, small_npz, tmp_path, capsys):
    from sdae.io.data.images import write_image

    assert main(["train", "--data", str(small_npz), "--hidden", "4", "--epochs", "1",
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    write_image(tmp_path / "in.png", np.zeros((8, 8, 3)))
    capsys.readouterr()
    cases = [
        (["denoise", "apply", str(tmp_path / "run" / "model.safetensors"),
          str(tmp_path / "in.png"), "--out", str(tmp_path / "o.png")], "not a denoiser"),
        (["denoise", "train", "--images", str(tmp_path / "nowhere"), "--out",
          str(tmp_path / "m.safetensors")], "no such file or folder"),
        (["denoise", "train", "--images", str(photo_folder), "--sigma", "30", "--sigma-max",
          "10", "--out", str(tmp_path / "m.safetensors")],
         "sigma_max (--sigma-max) must be >= sigma"),
        (["denoise", "train", "--images", str(photo_folder), "--out",
          str(tmp_path / "m.pt")], "name a .safetensors file"),
        (["denoise", "train", "--images", str(photo_folder), "--hold-out", "12", "--out",
          str(tmp_path / "m.safetensors")], "leaves no training image"),
        (["denoise", "train", "--images", str(photo_folder), "--model", "subimage",
          "--corruption", "masking", "--out", str(tmp_path / "m.safetensors")],
         "train it with gaussian noise"),
        (["denoise", "apply", str(tmp_path / "in.png"), str(tmp_path / "in.png"),
          str(tmp_path / "in.png"), "--out", str(tmp_path / "o.png")], "at most a model"),
        (["denoise", "train", "--images", str(photo_folder), "--model", "patch", "--depth",
          "3", "--out", str(tmp_path / "m.safetensors")], "--depth and --width are for"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "m.safetensors").exists()
    with pytest.raises(SystemExit):  # argparse: a usage error, before anything is read
        main(["denoise", "apply", str(tmp_path / "in.png"), "--sigma", "-3", "--out",
              str(tmp_path / "o.png")])
    assert "--sigma: expected a number >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("labels", ["5", "100000"])
def test_sda_experiment_refuses_label_counts_the_data_cannot_give(labels, tmp_path, capsys):
    from conftest import SHARED_DATA

    if not (SHARED_DATA / "usps" / "usps.h5").exists():
        pytest.skip("USPS not found: set SDAE_DATA_DIR to the shared data folder")
    assert main(["experiment", "sda-mnist", "--dataset", "usps", "--data-dir", str(SHARED_DATA),
                 "--labels", labels, "--out", str(tmp_path / "sda")]) == 2
    assert "give between 10 (one per class) and" in capsys.readouterr().err
    assert not (tmp_path / "sda").exists()


@pytest.mark.parametrize("unsupervised", ["0", "1"])
def test_sda_experiment_on_usps_with_and_without_the_deep_autoencoder_phase(
        unsupervised, tmp_path, capsys):
    from conftest import SHARED_DATA

    if not (SHARED_DATA / "usps" / "usps.h5").exists():
        pytest.skip("USPS not found: set SDAE_DATA_DIR to the shared data folder")
    out = tmp_path / "sda"
    assert main(["experiment", "sda-mnist", "--dataset", "usps", "--data-dir", str(SHARED_DATA),
                 "--hidden", "16", "--pretrain-epochs", "1", "--finetune-epochs", "1",
                 "--unsupervised-epochs", unsupervised, "--models", "SdA", "--no-progress",
                 "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    (run,) = results["runs"]
    # --pretrain-epochs is taken as given, not raised to the small-data minimum of updates
    assert results["settings"]["min_pretrain_updates"] == 0
    if unsupervised == "0":
        assert results["settings"]["unsupervised"] is None and run["unsupervised_seconds"] == 0
        assert "unsupervised_valid_reconstruction" not in run
    else:
        assert results["settings"]["unsupervised"]["epochs"] == 1
        # the phase ran (its time, rounded to 0.1 s, may read 0 on so small a network)
        assert run["unsupervised_valid_reconstruction"] > 0
    assert "| SdA-1 | 6291 |" in capsys.readouterr().out


@pytest.mark.parametrize("command, old, new, dest", [
    (["experiment", "mnist-filters"], "--noise-levels", "--noise-level", "noise_levels"),
    (["experiment", "sda-mnist"], "--noise", "--noise-level", "noise"),
])
def test_the_noise_level_is_spelled_alike_everywhere_and_the_old_spelling_still_works(
        command, old, new, dest):
    parser = build_parser()
    for spelling in (old, new):
        args = parser.parse_args([*command, spelling, "0.1", "0.3"])
        assert getattr(args, dest) == [0.1, 0.3]


def test_denoise_train_names_its_noise_corruption_like_train():
    common = ["denoise", "train", "--images", "photos", "--out", "m.safetensors"]
    for spelling in ("--corruption", "--noise"):
        args = build_parser().parse_args([*common, spelling, "salt_and_pepper"])
        assert args.corruption == "salt_and_pepper"


def test_every_option_says_what_it_does_and_its_default():
    def options(parser, command):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from options(sub, [*command, name])
            elif action.option_strings and action.dest not in ("help", "version"):
                yield parser, command, action

    for parser, command, action in options(build_parser(), []):
        where = f"sdae {' '.join(command)} {action.option_strings[0]}"
        assert (action.help or "").strip(), where
        shown = parser._get_formatter()._get_help_string(action)
        if action.default not in (None, False):
            assert "default" in shown, where
