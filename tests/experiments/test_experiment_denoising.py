import json

import numpy as np
import pytest

from sdae.core.training import TrainConfig
from sdae.experiments import denoising


def synthetic_sets(seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 32

    def image():
        im = 0.2 + 0.3 * rng.random() * yy + 0.3 * xx
        y, x = rng.integers(0, 16, 2)
        im[y:y + 10, x:x + 10] += 0.3
        return np.clip(im, 0, 1).astype(np.float32)

    return {"train400": [image() for _ in range(14)], "bsd68": [image() for _ in range(3)],
            "set12": [image() for _ in range(2)]}


def tiny_settings():
    config = TrainConfig(epochs=3, batch_size=16, lr=3e-3, optimizer="adam", progress=False)
    return denoising.DenoisingSettings(
        sigmas=[25], conv={"depth": 3, "width": 8, "target": "noise"}, conv_train=config,
        crop=12, crop_stride=6, subimage={"depth": 2, "width": 8, "target": "noise"},
        subimage_train=config, subimage_crop=12, subimage_crop_stride=6,
        patch={"patch_size": 6, "hidden_sizes": [32],
                                       "target": "noise"},
        patch_train=config, patch_stride=2, n_valid=2, n_tune=2)


def test_the_experiment_writes_every_method_set_and_sigma(tmp_path):
    methods = ("conv", "subimage", "patch", "shipped", "shipped_blind", "shipped_ensemble",
               "nlm", "tv", "wavelet")
    denoising.run(synthetic_sets(), tmp_path, tiny_settings(), methods=methods,
                  log=lambda line: None)
    doc = json.loads((tmp_path / "results.json").read_text())
    assert set(doc["results"]) == set(methods)
    for by_set in doc["results"].values():
        for name in ("bsd68", "set12"):
            entry = by_set[name]["25"]
            assert set(entry) >= {"psnr", "ssim", "seconds"}
            assert 10 < entry["psnr"] < 60 and 0 < entry["ssim"] <= 1
    assert doc["classic_parameters"]["tv"]["25"]["parameter"] in denoising.PARAMETER_GRID["tv"]
    table = (tmp_path / "results.md").read_text()
    assert "non-local means" in table and "BM3D (published, DnCNN paper)" in table
    assert (tmp_path / "crops.png").stat().st_size > 0
    for name in ("conv", "subimage", "patch"):
        assert (tmp_path / f"{name}.safetensors").exists()
    assert not (tmp_path / "shipped.safetensors").exists()  # used as it is, not trained
    assert doc["shipped"]["command"].startswith("sdae denoise train")
    assert doc["shipped"]["runs"] >= 1 and f"in {doc['shipped']['runs']} run" in table
    assert "sdae shipped denoiser, σ estimated" in table
    blind = doc["results"]["shipped_blind"]["bsd68"]["25"]
    estimates = blind["sigma_estimates"]  # one per noisy image, and their mean error
    assert len(estimates) == 3 and all(e > 0 for e in estimates)
    assert blind["sigma_error_percent"] == pytest.approx(
        100 * np.mean([abs(e - 25) / 25 for e in estimates]), abs=0.2)
    assert "σ estimated from each noisy image" in table
    assert "sdae shipped denoiser, 8 orientations" in table
    ensemble, shipped = (doc["results"][n]["bsd68"]["25"] for n in ("shipped_ensemble",
                                                                     "shipped"))
    assert ensemble["psnr_per_image"] != shipped["psnr_per_image"]


def test_every_method_sees_the_same_noisy_images():
    image = synthetic_sets()["bsd68"][0]
    a = denoising.noisy_copy(image, 25, seed=7)
    assert np.array_equal(a, denoising.noisy_copy(image, 25, seed=7))
    assert np.std(a - image) * 255 == pytest.approx(25, rel=0.1)


def test_classic_parameters_are_chosen_on_training_images():
    images = synthetic_sets()["train400"][:2]
    tv = denoising.classic_denoisers()["tv"]
    best, scores = denoising.tune_classic(tv, [0.01, 1.0], images, 25, seed=0)
    assert best == 1.0 and scores["1.0"] > scores["0.01"]  # almost no smoothing loses


def test_only_methods_that_are_not_installed_is_an_error(tmp_path, monkeypatch):
    installed = denoising.classic_denoisers()
    monkeypatch.setattr(denoising, "classic_denoisers",
                        lambda: {k: v for k, v in installed.items() if k != "bm3d"})
    with pytest.raises(denoising.ConfigError, match="bm3d not installed"):
        denoising.run(synthetic_sets(), tmp_path, tiny_settings(), methods=("bm3d",),
                      log=lambda line: None)
    assert not list(tmp_path.iterdir())


def test_the_command_offers_the_experiments_methods():
    from sdae.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["experiment"]
    denoising_parser = next(a for a in sub._actions if a.dest == "experiment"
                            ).choices["denoising"]
    methods = next(a for a in denoising_parser._actions if a.dest == "methods").choices
    assert tuple(methods) == denoising.METHODS
