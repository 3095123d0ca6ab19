"""The denoiser shipped in the package: it loads, says how it was made, and denoises."""

import hashlib
import shutil

import numpy as np
import pytest

import sdae
from sdae import pretrained
from sdae.errors import ConfigError, ModelFileError
from sdae.tasks.denoising import SubimageDenoiser, as_image_tensor, estimate_sigma, image_sigma


def photo(size=128, seed=0):
    """A piecewise smooth image with edges and a textured band, in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    im = 0.3 + 0.2 * yy + 0.1 * xx
    im[size // 4 : size // 2, size // 5 : 4 * size // 5] += 0.3
    im[(yy - 0.7) ** 2 + (xx - 0.3) ** 2 < 0.02] -= 0.2
    im[3 * size // 4 :, :] += 0.1 * np.sin(xx[3 * size // 4 :, :] * 40)
    return np.clip(im + 0.01 * rng.standard_normal(im.shape), 0, 1).astype(np.float32)


def noisy(image, sigma, seed=1):
    rng = np.random.default_rng(seed)
    return (image + sigma / 255 * rng.standard_normal(image.shape)).astype(np.float32)


def psnr(a, b):
    return 10 * np.log10(1 / np.mean((np.clip(a, 0, 1) - b) ** 2))


def test_the_shipped_file_loads_and_records_how_it_was_trained():
    model = pretrained.shipped_denoiser()
    assert isinstance(model, SubimageDenoiser) and model.channels == 1
    assert model.noise.sigma == 0 and model.noise.sigma_max >= 50
    extra = pretrained.shipped_header()["extra"]
    assert extra["command"].startswith("sdae denoise train") and "--model subimage" in \
        extra["command"]
    assert extra["data"]["images"] == ["train400"] and extra["data"]["held_out"] > 0
    assert extra["hours"] > 0 and extra["epochs"] >= 1 and extra["machine"]
    assert len(extra["valid_psnr"]) == extra["epochs"]
    # every run the weights went through (a run started with --init continues another)
    runs = extra["runs"]
    assert runs[-1]["command"] == extra["command"]
    assert sum(len(run["valid_psnr"]) for run in runs) == extra["epochs"]
    assert sum(run["hours"] for run in runs) == pytest.approx(extra["hours"], abs=0.01)
    assert (pretrained.WEIGHTS / pretrained.DENOISER).stat().st_size < 5e6


def test_the_shipped_denoiser_restores_a_noisy_photo_at_every_sigma():
    clean = photo()
    for sigma in (15, 25, 50):
        y = noisy(clean, sigma)
        given, blind = sdae.denoise(y, sigma=sigma), sdae.denoise(y)
        assert psnr(given, clean) > psnr(y, clean) + 5
        assert abs(psnr(blind, clean) - psnr(given, clean)) < 0.5


def test_the_noise_map_is_used_and_a_larger_sigma_smooths_more():
    y = noisy(photo(), 25)
    low, high = sdae.denoise(y, sigma=10), sdae.denoise(y, sigma=40)
    assert not np.allclose(low, high, atol=1e-3)
    roughness = [np.abs(np.diff(x, axis=1)).mean() for x in (y, low, high)]
    assert roughness[0] > roughness[1] > roughness[2]


def test_colour_and_16_bit_images_go_through_the_shipped_model():
    clean = np.stack([photo(96, seed) for seed in range(3)], axis=-1)
    y = noisy(clean, 25)
    out = sdae.denoise(y)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert psnr(out, clean) > psnr(y, clean) + 5
    y16 = (np.clip(y[..., 0], 0, 1) * 65535).round().astype(np.uint16)
    out16 = sdae.denoise(y16, sigma=25)
    assert out16.shape == y16.shape and 0 <= out16.min() and out16.max() <= 1
    np.testing.assert_allclose(out16, sdae.denoise(np.clip(y[..., 0], 0, 1), sigma=25),
                               atol=2e-3)


def test_blind_denoising_uses_the_estimated_sigma():
    y = noisy(photo(), 30)
    sigma = image_sigma(y)
    assert sigma == pytest.approx(float(estimate_sigma(as_image_tensor(y))) * 255)
    np.testing.assert_array_equal(sdae.denoise(y), sdae.denoise(y, sigma=sigma))


def test_a_damaged_shipped_file_is_refused_with_advice(tmp_path, monkeypatch):
    shutil.copytree(pretrained.WEIGHTS, tmp_path / "weights")
    monkeypatch.setattr(pretrained, "WEIGHTS", tmp_path / "weights")
    path = tmp_path / "weights" / pretrained.DENOISER
    assert hashlib.sha256(path.read_bytes()).hexdigest() in \
        (tmp_path / "weights" / "SHA256SUMS").read_text()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged.*reinstall sdae"):
        pretrained.shipped_path(pretrained.DENOISER)


def test_the_old_argument_order_gets_a_clear_error():
    with pytest.raises(ConfigError, match="takes the image first"):
        sdae.denoise(pretrained.shipped_denoiser(), photo())
