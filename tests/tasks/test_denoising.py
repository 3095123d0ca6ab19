import numpy as np
import pytest
import torch

from sdae.core.corruption import CORRUPTIONS
from sdae.core.training import TrainConfig
from sdae.errors import ConfigError, DataError
from sdae.models import load_model, save_model
from sdae.tasks.denoising import (
    ConvDenoiser,
    ImageNoise,
    PatchDenoiser,
    assemble_patches,
    denoise,
    denoising_objective,
    extract_patches,
    patch_starts,
    train_denoiser,
    training_patches,
)

# Many images here are uniform random pixels, which the σ estimate reads as strong noise:
# the warning it gives is tested in test_denoising_subimage.py.
pytestmark = pytest.mark.filterwarnings("ignore:the estimated noise level")


def integer_images(shape, seed=0):
    # integer values: sums of overlapping copies are exact, so averaging them is too
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(seed)).float()


def smooth_images(n, size=32, seed=0):
    """Piecewise smooth test images: a gradient and a bright rectangle."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = []
    for _ in range(n):
        a, b = rng.uniform(0.2, 0.5, 2)
        im = 0.2 + a * yy + b * xx * 0.5
        y0, x0 = rng.integers(0, size // 2, 2)
        im[y0:y0 + size // 3, x0:x0 + size // 3] += 0.3
        images.append(np.clip(im, 0, 1).astype(np.float32))
    return images


# -- patches ------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "stride"), [(1, 1), (5, 1), (5, 3), (7, 4), (17, 5), (23, 50)])
def test_assembling_the_extracted_patches_gives_the_image_exactly(size, stride):
    x = integer_images((2, 3, 17, 23))
    if size > 17:
        with pytest.raises(DataError, match="smaller"):
            extract_patches(x, size, stride)
        return
    patches = extract_patches(x, size, stride)
    assert torch.equal(assemble_patches(patches, 3, 17, 23, size, stride), x)


def test_patches_are_the_image_windows_and_cover_every_pixel():
    x = integer_images((1, 2, 11, 14))
    patches = extract_patches(x, 4, 3)
    starts_y, starts_x = patch_starts(11, 4, 3), patch_starts(14, 4, 3)
    assert starts_y.tolist() == [0, 3, 6, 7] and starts_x.tolist() == [0, 3, 6, 9, 10]
    assert patches.shape == (1, 4 * 5, 2 * 16)
    k = 0
    for y in starts_y:
        for x0 in starts_x:
            assert torch.equal(patches[0, k], x[0, :, y:y + 4, x0:x0 + 4].reshape(-1))
            k += 1


def test_patch_model_that_restores_nothing_returns_the_image_exactly():
    model = PatchDenoiser(1, 5, [8], stride=2)
    model.restore = lambda patches: patches  # the identity model
    x = integer_images((1, 1, 19, 12))
    assert torch.equal(model(x), x)


def test_patch_model_averages_the_overlapping_restorations():
    model = PatchDenoiser(1, 4, [8], stride=2)
    model.restore = lambda patches: torch.ones_like(patches) * 3.0
    assert torch.equal(model(torch.zeros(1, 1, 10, 9)), torch.full((1, 1, 10, 9), 3.0))


# -- noise --------------------------------------------------------------------------------

def test_gaussian_noise_has_the_given_sigma_on_the_0_255_scale():
    x = torch.full((50, 1, 40, 40), 0.5)
    noisy = ImageNoise("gaussian", 25)(x, torch.Generator().manual_seed(0))
    noise = (noisy - x) * 255
    assert abs(noise.mean().item()) < 0.2
    assert noise.std().item() == pytest.approx(25, rel=0.01)
    assert torch.equal(x, torch.full((50, 1, 40, 40), 0.5))  # the input is untouched
    bright = ImageNoise("gaussian", 25)(torch.full((10, 10), 0.99))
    assert (bright > 1).any()  # not clipped, as in the benchmark


def test_blind_noise_draws_one_sigma_per_image_in_the_range():
    x = torch.zeros(2000, 1, 30, 30)
    noisy = ImageNoise("gaussian", 10, 50)(x, torch.Generator().manual_seed(0))
    sigma = noisy.reshape(2000, -1).std(dim=1) * 255
    assert sigma.min() > 9 and sigma.max() < 51.5
    assert sigma.mean().item() == pytest.approx(30, abs=1)  # uniform on [10, 50]
    assert np.histogram(sigma.numpy(), bins=4, range=(10, 50))[0].min() > 400


def test_salt_and_pepper_and_masking_hit_the_given_fraction():
    x = torch.full((20, 1, 30, 30), 0.5)
    g = torch.Generator().manual_seed(0)
    sp = ImageNoise("salt_and_pepper", fraction=0.3)(x, g)
    hit = sp != 0.5
    assert (hit.reshape(20, -1).sum(1) == round(0.3 * 900)).all()  # exactly, per image
    assert set(sp[hit].unique().tolist()) == {0.0, 1.0}
    assert (sp[hit] == 1).float().mean().item() == pytest.approx(0.5, abs=0.03)
    masked = ImageNoise("masking", fraction=0.3)(x, g)
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert set(masked.unique().tolist()) == {0.0, 0.5}


def test_noise_is_reproducible_from_the_generator():
    x = torch.rand(4, 1, 10, 10)
    noise = ImageNoise("gaussian", 5, 40)
    a = noise(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, noise(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(a, noise(x, torch.Generator().manual_seed(4)))


@pytest.mark.parametrize("kind", ["salt_and_pepper", "masking"])
def test_pixel_noise_is_the_registry_process_on_each_image(kind):
    x = torch.rand(5, 3, 6, 7)
    noisy = ImageNoise(kind, fraction=0.25)(x, torch.Generator().manual_seed(1))
    rows = CORRUPTIONS[kind](x.reshape(5, -1), 0.25, torch.Generator().manual_seed(1))
    assert torch.equal(noisy, rows.reshape(x.shape))  # a fraction of each image, not of all


@pytest.mark.parametrize(("options", "message"), [
    ({"kind": "speckle"}, "unknown image noise"),
    ({"sigma": -1}, "sigma must be >= 0"),
    ({"sigma": 30, "sigma_max": 10}, r"sigma_max \(--sigma-max\) must be >= sigma"),
    ({"kind": "masking", "fraction": 1.5}, r"fraction of pixels must be in \[0, 1\]"),
])
def test_bad_noise_settings_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        ImageNoise(**options)


# -- models, training, use ----------------------------------------------------------------

@pytest.mark.parametrize("target", ["clean", "noise"])
def test_the_loss_compares_the_restoration_with_the_clean_images(target):
    model = ConvDenoiser(1, 3, 4, target=target, noise=ImageNoise("gaussian", 20))
    clean = torch.rand(6, 1, 12, 12)
    loss = denoising_objective(model, (clean,), torch.Generator().manual_seed(1))
    noisy = model.noise(clean, torch.Generator().manual_seed(1))
    out = model.net(noisy)
    restored = noisy - out if target == "noise" else out
    assert loss.item() == pytest.approx(((restored - clean) ** 2).mean().item(), rel=1e-6)


def test_a_model_that_returns_its_input_scores_the_noise_variance():
    model = ConvDenoiser(1, 2, 2, target="noise", noise=ImageNoise("gaussian", 30))
    for p in model.parameters():
        p.data.zero_()  # predicts no noise: the restoration is the noisy input
    loss = denoising_objective(model, (torch.rand(20, 1, 32, 32),),
                               torch.Generator().manual_seed(0))
    assert loss.item() == pytest.approx((30 / 255) ** 2, rel=0.03)


@pytest.mark.parametrize("kind", ["conv", "patch"])
def test_a_small_denoiser_learns_to_remove_noise(kind):
    torch.manual_seed(0)
    train, valid = smooth_images(24, seed=0), smooth_images(4, seed=1)
    noise = ImageNoise("gaussian", 25)
    g = torch.Generator().manual_seed(0)
    model = (ConvDenoiser(1, 4, 16, target="noise", noise=noise, generator=g) if kind == "conv"
             else PatchDenoiser(1, 6, [64], stride=2, target="noise", noise=noise, generator=g))
    config = TrainConfig(epochs=6, batch_size=32, lr=3e-3, optimizer="adam", progress=False)
    history = train_denoiser(model, train, config, patch_size=16, stride=4, valid_images=valid)
    assert history.valid_loss[-1] < history.valid_loss[0]
    clean = valid[0]
    noisy = clean + 25 / 255 * np.random.default_rng(0).standard_normal(clean.shape)
    restored = denoise(model, noisy.astype(np.float32))
    assert ((restored - clean) ** 2).mean() < 0.5 * ((noisy - clean) ** 2).mean()


def test_patch_denoiser_can_be_pretrained_layer_by_layer():
    model = PatchDenoiser(1, 6, [32, 16], noise=ImageNoise("gaussian", 25))
    before = model.stack.layers[1].weight.detach().clone()
    config = TrainConfig(epochs=1, batch_size=16, lr=1e-3, optimizer="adam", progress=False)
    train_denoiser(model, smooth_images(4), config, stride=6, pretrain_config=config)
    assert not torch.equal(model.stack.layers[1].weight, before)


def test_training_patches_are_rotated_and_flipped_copies_of_windows():
    image = np.arange(64, dtype=np.float32).reshape(8, 8) / 64  # distinct values in [0, 1]
    patches = training_patches([image], 4, 4, seed=0)
    assert patches.shape == (4, 1, 4, 4)
    window = torch.from_numpy(image[:4, :4])
    views = [window.rot90(k) for k in range(4)] + [window.rot90(k).flip(1) for k in range(4)]
    assert any(torch.equal(patches[0, 0], v) for v in views)


def test_grayscale_model_denoises_each_channel_of_a_colour_image():
    model = ConvDenoiser(1, 3, 4)
    colour = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
    out = denoise(model, colour)
    assert out.shape == colour.shape
    for c in range(3):
        np.testing.assert_allclose(out[..., c], denoise(model, colour[..., c]), atol=1e-6)


def test_large_images_are_restored_tile_by_tile_with_the_same_result():
    model = ConvDenoiser(1, 4, 6, generator=torch.Generator().manual_seed(0))
    image = np.random.default_rng(0).random((45, 38)).astype(np.float32)
    np.testing.assert_allclose(denoise(model, image, tile=16), denoise(model, image), atol=1e-6)
    patch = PatchDenoiser(1, 5, [16], stride=1)
    tiled, whole = denoise(patch, image, tile=16), denoise(patch, image)
    assert tiled.shape == whole.shape and np.abs(tiled - whole).max() < 1e-5  # stride 1


def test_denoised_images_are_floats_in_0_1_and_integer_images_are_scaled_first():
    model = ConvDenoiser(1, 3, 4, target="noise", generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.net[-1].bias.fill_(-0.5)  # predicts a noise of -0.5 everywhere: restores > 1
    image = np.random.default_rng(0).random((9, 11)).astype(np.float32)
    out = denoise(model, image)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() == 1
    for dtype in (np.uint8, np.uint16):
        scale = np.iinfo(dtype).max
        np.testing.assert_allclose(denoise(model, (image * scale).round().astype(dtype)),
                                   out, atol=1e-2)


def test_a_colour_model_refuses_a_grayscale_image():
    with pytest.raises(DataError, match="image is grayscale but the model was trained on colour"):
        denoise(ConvDenoiser(3, 2, 4), np.zeros((8, 8), np.float32))


@pytest.mark.parametrize("kind", ["conv", "patch"])
def test_saved_denoisers_load_with_identical_outputs(tmp_path, kind):
    noise = ImageNoise("gaussian", 5, 50)
    model = (ConvDenoiser(1, 3, 4, target="noise", noise=noise) if kind == "conv"
             else PatchDenoiser(1, 5, [16, 8], stride=2, noise=noise))
    save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    assert type(loaded) is type(model) and loaded.config == model.config
    image = np.random.default_rng(0).random((13, 17)).astype(np.float32)
    assert np.array_equal(denoise(loaded, image), denoise(model, image))


def test_floats_on_the_0_255_scale_get_a_one_line_error_not_a_white_image():
    from sdae.pretrained import denoise as denoise_shipped

    eight_bit = np.random.default_rng(0).integers(0, 256, size=(24, 24)).astype(np.float32)
    with pytest.raises(DataError, match="divide 8-bit values by 255") as err:
        denoise_shipped(eight_bit)
    assert "\n" not in str(err.value)
    # noise may take a [0, 1] image a little outside that scale: still accepted
    noisy = np.clip(eight_bit / 255, 0, 1) + 75 / 255 * 6
    assert denoise_shipped(noisy, sigma=75).shape == noisy.shape
