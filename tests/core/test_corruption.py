import pytest
import torch

from sdae.core.corruption import (
    CORRUPTIONS,
    Corruption,
    fixed_masking,
    gaussian,
    masking,
    salt_and_pepper,
)
from sdae.errors import ConfigError


@pytest.mark.parametrize("q", [0.1, 0.25, 0.5, 0.9])
def test_masking_zeroes_a_fraction_q(q, generator):
    x = torch.rand(400, 500) + 0.1  # no zeros before corruption
    x_tilde = masking(x, q, generator)
    zeroed = (x_tilde == 0).float().mean().item()
    assert zeroed == pytest.approx(q, abs=0.005)  # 200k Bernoulli draws: std 0.001
    kept = x_tilde != 0
    assert torch.equal(x_tilde[kept], x[kept])  # P(x̃ = x | x) = 1 - q


def test_masking_draws_are_independent_of_position_and_of_each_other(generator):
    """Four components share one 64-bit random number: check each of the four 16-bit slots
    zeroes its share, and that neighbours are not correlated."""
    x = torch.ones(100_000, 8)
    zeroed = (masking(x, 0.3, generator) == 0).float()
    for slot in range(4):  # columns slot, slot + 4 come from the same slice of each number
        assert zeroed[:, slot::4].mean().item() == pytest.approx(0.3, abs=0.005)
    both = (zeroed[:, :-1] * zeroed[:, 1:]).mean().item()
    assert both == pytest.approx(0.09, abs=0.003)  # P(two neighbours zeroed) = q²


@pytest.mark.parametrize("shape", [(3, 5), (7,), (1, 1)])
def test_masking_any_number_of_components(shape, generator):
    x = torch.ones(shape)
    assert masking(x, 0.5, generator).shape == x.shape
    assert torch.equal(masking(x, 1e-7, generator), x)  # q below 2^-16 rounds to 0


@pytest.mark.parametrize("nu", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_fixed_masking_zeroes_exact_count_per_example(nu, generator):
    x = torch.rand(64, 37) + 0.1
    x_tilde = fixed_masking(x, nu, generator)
    per_row = (x_tilde == 0).sum(dim=1)
    assert (per_row == round(nu * 37)).all()


def test_fixed_masking_positions_are_uniform(generator):
    x = torch.ones(20000, 10)
    hits = (fixed_masking(x, 0.3, generator) == 0).float().mean(dim=0)
    assert torch.allclose(hits, torch.full((10,), 0.3), atol=0.02)


@pytest.mark.parametrize("sigma", [0.1, 1.0])
def test_gaussian_noise_mean_and_variance(sigma, generator):
    x = torch.rand(500, 400)
    noise = gaussian(x, sigma, generator) - x
    assert noise.mean().item() == pytest.approx(0.0, abs=4 * sigma / 447)
    assert noise.std().item() == pytest.approx(sigma, rel=0.01)


def test_gaussian_clip_keeps_data_range(generator):
    x_tilde = gaussian(torch.rand(100, 100), 1.0, generator, clip=(0.0, 1.0))
    assert x_tilde.min() >= 0 and x_tilde.max() <= 1


def test_salt_and_pepper_fraction_and_even_split(generator):
    x = torch.full((2000, 100), 0.5)
    x_tilde = salt_and_pepper(x, 0.2, generator)
    hit = x_tilde != 0.5
    assert (hit.sum(dim=1) == 20).all()
    salt = (x_tilde == 1.0).sum().item() / hit.sum().item()
    assert salt == pytest.approx(0.5, abs=0.01)
    assert set(x_tilde[hit].unique().tolist()) == {0.0, 1.0}


def test_salt_and_pepper_uses_given_range(generator):
    x_tilde = salt_and_pepper(torch.zeros(10, 50), 1.0, generator, low=-2.0, high=3.0)
    assert set(x_tilde.unique().tolist()) == {-2.0, 3.0}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_input_is_never_modified(name, generator):
    x = torch.rand(30, 40)
    before = x.clone()
    out = CORRUPTIONS[name](x, 0.5, generator)
    assert torch.equal(x, before)
    assert out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_same_seed_same_corruption(name):
    x = torch.rand(30, 40)
    a = CORRUPTIONS[name](x, 0.3, torch.Generator().manual_seed(7))
    b = CORRUPTIONS[name](x, 0.3, torch.Generator().manual_seed(7))
    c = CORRUPTIONS[name](x, 0.3, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    if name != "none":
        assert not torch.equal(a, c)


def test_corruption_object_dispatch_and_callable(generator):
    x = torch.rand(10, 20)
    assert Corruption("none")(x) is x
    assert Corruption("masking", 0.0)(x) is x
    assert torch.equal(Corruption("masking", 0.5)(x, torch.Generator().manual_seed(1)),
                       masking(x, 0.5, torch.Generator().manual_seed(1)))

    def flip(t, level, gen):
        return 1 - t

    custom = Corruption(flip, 0.3)
    assert custom.name == "flip"
    assert torch.equal(custom(x, generator), 1 - x)


@pytest.mark.parametrize(
    ("kind", "level"), [("masking", 1.5), ("salt_and_pepper", -0.1), ("gaussian", -1.0)]
)
def test_bad_noise_level_is_a_config_error(kind, level):
    with pytest.raises(ConfigError, match="noise level"):
        Corruption(kind, level)


def test_unknown_corruption_lists_choices():
    with pytest.raises(ConfigError, match="masking"):
        Corruption("dropout", 0.1)


@pytest.mark.parametrize("name", ["masking", "fixed_masking", "gaussian", "salt_and_pepper"])
def test_the_fast_path_and_the_mask_path_draw_the_same_corruption(name):
    corruption = Corruption(name, 0.3)
    x = torch.rand(50, 40) - 0.2
    fast = corruption(x, torch.Generator().manual_seed(5))
    x_tilde, mask = corruption.with_mask(x, torch.Generator().manual_seed(5))
    assert torch.equal(fast, x_tilde)
    if name != "gaussian":  # x has no 0 or 1: every corrupted component changed
        assert torch.equal(mask, x_tilde != x)
