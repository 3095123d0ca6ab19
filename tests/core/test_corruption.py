import pytest
import torch

from sdae.core import autoencoder
from sdae.core.autoencoder import DenoisingAutoencoder
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
    x_tilde = salt_and_pepper(torch.zeros(10, 50), 1.0, generator, clip=(-2.0, 3.0))
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


def bits(t):
    """The bytes of ``t``: equal only if every value is the same to the sign of a zero."""
    return t.contiguous().view(-1).view(torch.uint8)


KINDS = [("none", 0.3), ("masking", 0.3), ("fixed_masking", 0.3), ("gaussian", 0.3),
         ("salt_and_pepper", 0.3)]


def drawn_by_training(dae, x, seed, monkeypatch):
    """What a layer's training feeds its network, from a generator seeded ``seed``: the x̃
    of ``loss`` (and its emphasis mask), and of ``sgd_step`` when it fuses the step."""
    seen = {}
    encode = dae.encode

    def spy(name, result):
        def record(first, *args, **kwargs):
            seen.setdefault(name, first)
            return result(first, *args, **kwargs)
        return record

    zero = lambda *a, **k: torch.zeros(())  # noqa: E731
    monkeypatch.setattr(dae, "encode", spy("loss", encode))
    monkeypatch.setattr(autoencoder, "tied_sigmoid_cross_entropy", spy("loss", zero))
    monkeypatch.setattr(autoencoder, "emphasis_weights",
                        spy("mask", autoencoder.emphasis_weights))
    dae.loss(x, torch.Generator().manual_seed(seed))
    if dae.fuses_sgd:
        monkeypatch.setattr(autoencoder, "sgd_step_", spy("sgd_step", zero))
        dae.sgd_step(x, torch.Generator().manual_seed(seed), 0.1)
    return seen


@pytest.mark.parametrize(("kind", "level"), KINDS)
@pytest.mark.parametrize("options", [{}, {"decoder": "linear", "clip": (-0.5, 0.5)},
                                     {"emphasis": (0.7, 0.3)}])
def test_training_draws_exactly_the_registry_process(kind, level, options, monkeypatch):
    """Whatever path a layer trains by (the fused step, the plain loss, emphasis), x̃ is the
    registry's pure function drawn from the same generator, to the last bit."""
    x = torch.rand(50, 40) - 0.2  # negative values: masking must give the same -0.0
    dae = DenoisingAutoencoder(40, 8, corruption=kind, noise_level=level, **options)
    seen = drawn_by_training(dae, x, 5, monkeypatch)
    x_tilde, mask = CORRUPTIONS[kind](x, level, torch.Generator().manual_seed(5),
                                      clip=options.get("clip"), with_mask=True)
    expected = x if kind == "none" else x_tilde  # the identity is not even copied
    assert "loss" in seen and ("sgd_step" in seen) == (options == {})
    for path in ("loss", "sgd_step"):
        if path in seen:
            assert torch.equal(bits(seen[path]), bits(expected)), path
    if "emphasis" in options:
        assert torch.equal(seen["mask"], mask)


@pytest.mark.parametrize(("kind", "level"), KINDS)
def test_the_mask_is_what_the_process_corrupted(kind, level):
    x = torch.rand(500, 40) + 0.1  # no 0 and no 1: every masked or salted component changes
    x_tilde, mask = CORRUPTIONS[kind](x, level, torch.Generator().manual_seed(3),
                                      with_mask=True)
    plain = CORRUPTIONS[kind](x, level, torch.Generator().manual_seed(3))
    assert torch.equal(bits(plain), bits(x_tilde))  # asking for the mask changes no draw
    assert mask.dtype == torch.bool and mask.shape == x.shape
    if kind == "gaussian":
        assert mask.all()
    else:
        assert torch.equal(mask, x_tilde != x)
    if kind in ("fixed_masking", "salt_and_pepper"):
        assert (mask.sum(dim=1) == round(level * 40)).all()  # exactly ν·d in every row
    if kind == "masking":
        assert mask.float().mean().item() == pytest.approx(level, abs=0.01)  # 20k draws


def test_corruption_object_draws_the_registry_process():
    x = torch.rand(30, 20)
    for kind, level in KINDS[1:]:
        c = Corruption(kind, level, clip=(0.0, 1.0))
        expected = CORRUPTIONS[kind](x, level, torch.Generator().manual_seed(2),
                                     clip=(0.0, 1.0), with_mask=True)
        assert torch.equal(bits(c(x, torch.Generator().manual_seed(2))), bits(expected[0]))
        got = c.with_mask(x, torch.Generator().manual_seed(2))
        assert torch.equal(bits(got[0]), bits(expected[0])) and torch.equal(got[1], expected[1])


def test_gaussian_takes_a_sigma_per_row(generator):
    x = torch.zeros(4, 20000)
    sigma = torch.tensor([[0.0], [0.1], [0.5], [2.0]])
    noise = gaussian(x, sigma, generator)
    assert torch.equal(noise[0], x[0])
    assert noise.std(dim=1).tolist() == pytest.approx([0.0, 0.1, 0.5, 2.0], rel=0.02)


def test_masking_a_boolean_grid_keeps_what_survives(generator):
    grid = torch.rand(300, 50, generator=generator) < 0.7
    kept, dropped = masking(grid, 0.25, generator, with_mask=True)
    assert kept.dtype == torch.bool and torch.equal(kept, grid & ~dropped)
    assert dropped.float().mean().item() == pytest.approx(0.25, abs=0.01)


def test_a_user_process_is_masked_where_it_changed_x():
    def zero_first(t, level, gen):
        out = t.clone()
        out[:, 0] = 0
        return out

    x = torch.rand(5, 4) + 0.1
    _, mask = Corruption(zero_first, 0.1).with_mask(x)
    assert torch.equal(mask, torch.zeros_like(mask).index_fill_(1, torch.tensor([0]), True))


def test_a_layer_builds_its_corruption_once(monkeypatch):
    built = []

    class Counted(Corruption):
        def __post_init__(self):
            built.append(self)
            super().__post_init__()

    monkeypatch.setattr(autoencoder, "Corruption", Counted)
    dae = DenoisingAutoencoder(10, 5, corruption="gaussian", noise_level=0.2)
    assert built == [dae.corruption]
    with pytest.raises(ConfigError, match="probability"):  # the config still validates it
        autoencoder.DAEConfig(10, 5, corruption="masking", noise_level=2.0)
