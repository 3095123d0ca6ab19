"""The sub-image denoiser (FFDNet's layout) and the noise-level estimate it is given."""

import warnings

import numpy as np
import pytest
import torch

import sdae
from sdae.core.training import TrainConfig
from sdae.errors import ConfigError, DataError, SdaeWarning
from sdae.models import load_model, save_model
from sdae.tasks.denoising import (
    ConvDenoiser,
    ImageNoise,
    SubimageDenoiser,
    denoise,
    denoising_objective,
    estimate_sigma,
    train_denoiser,
)


def smooth_image(size=256, seed=0):
    """A gradient, a bright rectangle and a disc: flat regions and a few edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    im = 0.2 + rng.uniform(0.1, 0.3) * yy + rng.uniform(0.1, 0.3) * xx
    im[size // 5 : size // 2, size // 4 : 3 * size // 4] += 0.25
    im[(yy - 0.7) ** 2 + (xx - 0.5) ** 2 < 0.03] -= 0.15
    return im.astype(np.float32)


def with_noise(image, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return (image + sigma / 255 * rng.standard_normal(image.shape)).astype(np.float32)


def zero_output(model):
    """Make the network output zeros: a noise-predicting model then returns its input."""
    with torch.no_grad():
        model.net[-1].weight.zero_()
        model.net[-1].bias.zero_()
    return model


# -- the model ----------------------------------------------------------------------------

@pytest.mark.parametrize(("h", "w"), [(8, 8), (9, 12), (15, 7), (1, 6), (2, 1)])
def test_sub_images_are_put_back_exactly_at_any_size(h, w):
    model = zero_output(SubimageDenoiser(1, 3, 8))
    x = torch.rand(2, 1, h, w)
    assert torch.equal(model(x, 0.1), x)
    colour = zero_output(SubimageDenoiser(3, 2, 8))
    y = torch.rand(1, 3, h, w)
    assert torch.equal(colour(y, 0.1), y)


def untrained(*shape, seed=0):
    """A model whose last layer is not zero (as it starts), so that its output depends on
    its input and the noise map."""
    model = SubimageDenoiser(*shape, generator=torch.Generator().manual_seed(seed))
    torch.nn.init.normal_(model.net[-1].weight, std=0.1,
                          generator=torch.Generator().manual_seed(seed))
    return model


def test_a_new_model_estimates_no_noise():
    x = torch.rand(2, 1, 10, 12)
    assert torch.equal(SubimageDenoiser(1, 3, 8)(x, 0.1), x)


def test_the_noise_map_changes_the_output():
    model = untrained(1, 3, 8)
    x = torch.rand(1, 1, 16, 16)
    assert not torch.allclose(model(x, 10 / 255), model(x, 40 / 255))
    # one σ per image: each image sees its own
    both = model(torch.cat([x, x]), torch.tensor([10 / 255, 40 / 255]))
    assert torch.allclose(both[0], model(x, 10 / 255)[0], atol=1e-6)
    assert torch.allclose(both[1], model(x, 40 / 255)[0], atol=1e-6)


def test_without_sigma_the_model_uses_the_estimate():
    model = untrained(1, 3, 8)
    x = torch.from_numpy(with_noise(smooth_image(64), 30))[None, None]
    assert torch.equal(model(x), model(x, estimate_sigma(x)))


def test_training_tells_the_model_the_sigma_of_each_image():
    seen = {}

    class Spy(SubimageDenoiser):
        def restore(self, noisy, sigma=None):
            seen["noisy"], seen["sigma"] = noisy, sigma
            return super().restore(noisy, sigma)

    model = Spy(1, 2, 4, noise=ImageNoise("gaussian", 0, 75))
    clean = torch.rand(400, 1, 48, 48)
    denoising_objective(model, (clean,), torch.Generator().manual_seed(0))
    measured = (seen["noisy"] - clean).reshape(400, -1).std(dim=1)
    assert seen["sigma"].shape == (400,)
    assert seen["sigma"].min() >= 0 and seen["sigma"].max() <= 75 / 255
    np.testing.assert_allclose(measured, seen["sigma"], rtol=0.1, atol=0.003)


def test_a_small_sub_image_denoiser_learns_every_sigma_of_its_range():
    torch.manual_seed(0)
    train = [smooth_image(32, seed) for seed in range(24)]
    model = SubimageDenoiser(1, 4, 16, noise=ImageNoise("gaussian", 5, 50),
                             generator=torch.Generator().manual_seed(0))
    config = TrainConfig(epochs=6, batch_size=32, lr=3e-3, optimizer="adam", progress=False)
    history = train_denoiser(model, train, config, patch_size=16, stride=4,
                             valid_images=[smooth_image(32, 99)],
                             valid_noise=ImageNoise("gaussian", 25))
    assert history.valid_loss[-1] < history.valid_loss[0]
    clean = smooth_image(64, 7)
    for sigma in (10, 40):
        noisy = with_noise(clean, sigma)
        restored = denoise(model, noisy, sigma)
        assert ((restored - clean) ** 2).mean() < 0.5 * ((noisy - clean) ** 2).mean()


@pytest.mark.parametrize("tile", [16, 15])
def test_large_images_are_restored_tile_by_tile_with_the_same_result(tile):
    model = untrained(1, 3, 6)
    image = with_noise(smooth_image(50), 20)[:, :43]
    np.testing.assert_allclose(denoise(model, image, 20, tile=tile), denoise(model, image, 20),
                               atol=1e-5)


def test_saved_sub_image_denoisers_load_with_identical_outputs(tmp_path):
    model = SubimageDenoiser(1, 3, 4, noise=ImageNoise("gaussian", 0, 60))
    torch.nn.init.normal_(model.net[-1].weight, std=0.1)  # not the identity it starts as
    save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    assert type(loaded) is SubimageDenoiser and loaded.config == model.config
    image = with_noise(smooth_image(20), 15)
    assert np.array_equal(denoise(loaded, image, 15), denoise(model, image, 15))


def test_sigma_is_refused_by_a_blind_model_and_must_be_a_level():
    image = smooth_image(16)
    with pytest.raises(ConfigError, match="blind to the noise level"):
        denoise(ConvDenoiser(1, 2, 4), image, sigma=25)
    for bad in (-1, float("nan")):
        with pytest.raises(ConfigError, match="sigma must be >= 0"):
            denoise(SubimageDenoiser(1, 2, 4), image, sigma=bad)


def test_noise_beyond_the_trained_range_is_denoised_with_a_warning():
    model = untrained(1, 3, 8)  # trained (as it says) for σ in [0, 75]
    image = with_noise(smooth_image(32), 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        denoise(model, image, sigma=75)
    with pytest.warns(SdaeWarning, match=r"σ=80.0 is above the largest .* \(75\)") as caught:
        restored = denoise(model, image, sigma=80)
    assert restored.shape == image.shape
    with pytest.warns(SdaeWarning) as caught_top:
        sdae.denoise(image, model, sigma=80)
    # each names the caller's line, whichever public function it called
    assert [w.filename for w in (*caught, *caught_top)] == [__file__, __file__]
    with pytest.warns(SdaeWarning, match="estimated noise level"):
        denoise(model, with_noise(smooth_image(64), 120), sigma=None)


def test_a_blind_model_warns_when_the_image_is_far_noisier_than_its_training():
    trained_at_25 = ConvDenoiser(1, 2, 4, noise=ImageNoise("gaussian", 25))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        denoise(trained_at_25, with_noise(smooth_image(64), 20))
        for other in (ImageNoise("masking", fraction=0.5), ImageNoise("salt_and_pepper")):
            denoise(ConvDenoiser(1, 2, 4, noise=other), with_noise(smooth_image(64), 60))
    with pytest.warns(SdaeWarning, match=r"estimated noise level σ=\d+\.\d is above the "
                                         r"largest this denoiser was trained on \(25\)"):
        denoise(trained_at_25, with_noise(smooth_image(64), 60))


def test_a_sub_image_denoiser_is_for_gaussian_noise():
    with pytest.raises(ConfigError, match="train it with gaussian noise"):
        SubimageDenoiser(noise=ImageNoise("masking", fraction=0.3))


# -- the noise-level estimate -------------------------------------------------------------

@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_sigma_estimate_is_within_ten_percent(sigma):
    for seed in range(3):
        image = with_noise(smooth_image(256, seed), sigma, seed)
        estimate = float(estimate_sigma(torch.from_numpy(image)[None, None])) * 255
        assert estimate == pytest.approx(sigma, rel=0.1)


def test_sigma_estimate_of_pure_noise_is_unbiased_and_per_image():
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(3, 1, 200, 200, generator=g) * torch.tensor([0.02, 0.1, 0.3])[:, None,
                                                                                      None, None]
    np.testing.assert_allclose(estimate_sigma(noise), [0.02, 0.1, 0.3], rtol=0.03)


def test_sigma_estimate_needs_two_by_two_pixels():
    with pytest.raises(DataError, match="at least 2×2"):
        estimate_sigma(torch.zeros(1, 1, 1, 5))
