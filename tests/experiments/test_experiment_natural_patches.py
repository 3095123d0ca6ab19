import json

import numpy as np
from PIL import Image

from sdae.cli import main
from sdae.core.training import TrainConfig
from sdae.experiments import natural_patches


def make_images(folder, n=3, size=64):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        y, x = np.mgrid[:size, :size]
        stripes = np.sin(x * rng.uniform(0.2, 0.6) + y * rng.uniform(-0.3, 0.3))
        image = 127 + 60 * stripes + 20 * rng.standard_normal((size, size))
        Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(folder / f"im{i}.png")
    return folder


def test_run_writes_figure_and_results(tmp_path):
    folder = make_images(tmp_path / "images")
    settings = natural_patches.PatchSettings(
        patch_size=8, n_patches=600, hidden_sizes=[16], gabor_filters=4, gabor_starts=2,
        train=TrainConfig(epochs=2, batch_size=50, lr=3e-3, optimizer="adam", progress=False))
    results = natural_patches.run([folder], tmp_path / "out", settings, log=lambda s: None)
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk["models"] == results["models"]
    names = [m["name"] for m in results["models"]]
    assert names[-1] == "PCA" and len(names) == 5
    for m in results["models"]:
        for key in ("name", "hidden_units", "noise", "edge_detector_fraction",
                    "median_gabor_r2", "train_seconds"):
            assert key in m
        assert 0 <= m["edge_detector_fraction"] <= 1
        assert len(m["gabor_fits"]) == 4
    gaussian = next(m for m in results["models"] if "gaussian" in m["name"])
    assert gaussian["noise"] == {"corruption": "gaussian", "level": settings.gaussian_sigma}
    assert results["models"][0]["noise"] is None
    assert (tmp_path / "out" / "filters.png").stat().st_size > 0


def test_cli_natural_patches(tmp_path, capsys):
    folder = make_images(tmp_path / "images")
    out = tmp_path / "run"
    assert main(["experiment", "natural-patches", "--images", str(folder), "--out", str(out),
                 "--patch-size", "8", "--patches", "400", "--hidden", "12", "--epochs",
                 "1"]) == 0
    assert "edge detectors" in capsys.readouterr().out
    # a run folder: the results, the command that made them, each model's checkpoint
    assert {p.name for p in out.iterdir()} == {"filters.png", "results.json", "command.json",
                                               "checkpoints"}
    assert len(list((out / "checkpoints").glob("*.ckpt"))) == 4  # AE, AE+decay, 2 DAEs


def test_cli_natural_patches_without_data(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    assert main(["experiment", "natural-patches", "--data-dir", str(tmp_path),
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "no folder natural/" in err and err.count("\n") == 1
