import numpy as np
import pytest
from PIL import Image

from sdae.errors import ConfigError, DataError
from sdae.io.data.patches import ZCA, natural_patches, read_images, sample_patches, whiten_image


def pink_noise(n=256, seed=0):
    """An image with the 1/f amplitude spectrum of natural images."""
    rng = np.random.default_rng(seed)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n)))
    f[0, 0] = 1
    spectrum = np.exp(2j * np.pi * rng.random((n, n))) / f
    return np.real(np.fft.ifft2(spectrum))


def radial_power(image, bands):
    n = image.shape[0]
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n)))
    power = np.abs(np.fft.fft2(image)) ** 2
    return [power[(f >= lo) & (f < hi)].mean() for lo, hi in bands]


def test_sample_patches_shapes_and_determinism():
    images = [np.random.default_rng(0).random((40, 50)), np.random.default_rng(1).random((20, 20))]
    a = sample_patches(images, 8, 500, np.random.default_rng(3))
    b = sample_patches(images, 8, 500, np.random.default_rng(3))
    assert a.shape == (500, 64) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, sample_patches(images, 8, 500, np.random.default_rng(4)))
    # every patch is a real window of one of the images
    row = a[0].reshape(8, 8)
    windows = [im[r:r + 8, c:c + 8] for im in images
               for r in range(im.shape[0] - 7) for c in range(im.shape[1] - 7)]
    assert any(np.allclose(row, w) for w in windows)


def test_patch_size_errors():
    with pytest.raises(DataError, match="smaller patch"):
        sample_patches([np.zeros((5, 5))], 8, 10, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="at least 2"):
        sample_patches([np.zeros((5, 5))], 1, 10, np.random.default_rng(0))


def test_natural_patches_are_zero_mean_unit_variance():
    x = natural_patches([pink_noise()], size=12, n=2000, seed=0)
    assert x.shape == (2000, 144)
    assert np.allclose(x.mean(axis=1), 0, atol=1e-5)
    assert x.std() == pytest.approx(1, abs=1e-4)
    assert np.array_equal(x, natural_patches([pink_noise()], size=12, n=2000, seed=0))
    with pytest.raises(ConfigError, match="whitening"):
        natural_patches([pink_noise()], whitening="pca")


def test_one_over_f_whitening_flattens_the_spectrum():
    image = pink_noise()
    bands = [(0.02, 0.04), (0.05, 0.08), (0.1, 0.15)]
    before = radial_power(image, bands)
    after = radial_power(whiten_image(image), bands)
    assert before[0] / before[-1] > 10            # 1/f²: falls by more than 10x
    assert 0.5 < after[0] / after[-1] < 2         # whitened: flat within a factor of 2


def test_zca_gives_identity_covariance_on_held_out_data():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(10, 10))
    train = rng.normal(size=(20000, 10)) @ mixing
    held = rng.normal(size=(20000, 10)) @ mixing
    zca = ZCA(epsilon=1e-6).fit(train)
    cov = np.cov(zca.transform(held), rowvar=False)
    assert np.allclose(cov, np.eye(10), atol=0.05)
    assert np.allclose(zca.matrix_, zca.matrix_.T)  # zero-phase: symmetric
    with pytest.raises(ConfigError, match="not fitted"):
        ZCA().transform(held)


def test_read_images_16_bit_and_folders(tmp_path):
    ramp = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.tiff")
    Image.fromarray((ramp // 256).astype(np.uint8)).save(tmp_path / "flat.png")
    Image.fromarray(np.zeros((30, 20), np.uint8)).save(tmp_path / "small.png")
    linear, log = (read_images(tmp_path / "deep.tiff", log_16bit=flag)[0] for flag in (False, True))
    assert linear.max() == pytest.approx(ramp.max() / 65535)  # 16 bits kept, not clipped to 8
    assert np.allclose(log, np.log1p(ramp) / np.log(65536))
    images = read_images(tmp_path)
    assert sorted(im.shape for im in images) == [(30, 20), (64, 64), (64, 64)]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        read_images(tmp_path / "empty")
    with pytest.raises(DataError, match="no such"):
        read_images(tmp_path / "missing")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="not a readable image"):
        read_images(tmp_path / "broken.png")


def test_one_over_f_whitening_treats_both_axes_alike():
    y, x = np.mgrid[:64, :128]
    waves = np.cos(2 * np.pi * 0.125 * x) + np.cos(2 * np.pi * 0.125 * y)  # same frequency
    out = whiten_image(waves)
    spectrum = np.abs(np.fft.fft2(out))
    horizontal, vertical = spectrum[0, 16], spectrum[8, 0]  # 0.125 cycles/pixel on each axis
    assert horizontal == pytest.approx(vertical, rel=0.05)
