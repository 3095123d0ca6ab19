import math

import pytest
import torch

from sdae.core.autoencoder import (
    DAEConfig,
    DenoisingAutoencoder,
    emphasis_weights,
    reconstruction_loss,
    uniform_bound,
)
from sdae.errors import ConfigError


def test_shapes_and_overcomplete_layer():
    dae = DenoisingAutoencoder(20, 50)  # wider than the input
    x = torch.rand(7, 20)
    assert dae.encode(x).shape == (7, 50)
    assert dae(x).shape == (7, 20)
    assert 0 <= dae(x).min() and dae(x).max() <= 1


def test_tied_decoder_uses_transpose():
    dae = DenoisingAutoencoder(6, 4)
    assert dae.decoder_weight is None
    assert torch.equal(dae.weight_prime, dae.weight.t())
    untied = DenoisingAutoencoder(6, 4, tied=False)
    assert untied.decoder_weight.shape == (6, 4)
    assert sum(p.numel() for p in untied.parameters()) == 6 * 4 * 2 + 6 + 4


def test_initialisation_range_and_zero_biases():
    dae = DenoisingAutoencoder(784, 500, generator=torch.Generator().manual_seed(0))
    bound = 4 * math.sqrt(6 / (784 + 500))
    assert uniform_bound(784, 500) == pytest.approx(bound)
    assert dae.weight.abs().max() <= bound
    assert dae.weight.abs().max() > 0.95 * bound  # uses the whole range
    assert not dae.bias.any() and not dae.decoder_bias.any()
    tanh = DenoisingAutoencoder(784, 500, activation="tanh")
    assert tanh.weight.abs().max() <= bound / 4


def test_same_generator_same_initial_weights():
    a = DenoisingAutoencoder(10, 5, generator=torch.Generator().manual_seed(3))
    b = DenoisingAutoencoder(10, 5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.weight, b.weight)


def test_loss_is_against_the_clean_input():
    torch.manual_seed(0)
    dae = DenoisingAutoencoder(30, 10, noise_level=0.5)
    x = torch.rand(16, 30)
    gen = torch.Generator().manual_seed(5)
    x_tilde = dae.corrupt(x, torch.Generator().manual_seed(5))
    expected = reconstruction_loss(dae.decode_logits(dae.encode(x_tilde)), x).mean()
    against_corrupted = reconstruction_loss(dae.decode_logits(dae.encode(x_tilde)), x_tilde)
    loss = dae.loss(x, gen)
    assert torch.allclose(loss, expected)
    assert not torch.allclose(loss, against_corrupted.mean())


def test_cross_entropy_matches_the_formula_and_is_stable():
    logits = torch.tensor([[-3.0, 0.5, 2.0]])
    x = torch.tensor([[0.0, 0.3, 1.0]])
    z = torch.sigmoid(logits)
    formula = -(x * z.log() + (1 - x) * (1 - z).log()).sum()
    assert torch.allclose(reconstruction_loss(logits, x), formula)
    huge = reconstruction_loss(torch.tensor([[200.0, -200.0]]), torch.tensor([[0.0, 1.0]]))
    assert torch.isfinite(huge).all() and huge.item() == pytest.approx(400.0)


def test_squared_error_for_linear_decoder():
    dae = DenoisingAutoencoder(5, 3, decoder="linear")
    assert dae.config.loss == "squared_error"
    x = torch.randn(4, 5) * 10  # real-valued data
    z = dae(x)
    assert torch.allclose(dae.loss(x, corrupt=False), ((z - x) ** 2).sum(dim=1).mean())


def test_squared_error_of_a_sigmoid_decoder_compares_its_output_not_its_logits():
    # the loss must train what the model outputs, z = sigmoid(a), not the pre-activation a
    dae = DenoisingAutoencoder(5, 3, decoder="sigmoid", loss="squared_error",
                               generator=torch.Generator().manual_seed(0))
    x = torch.rand(4, 5, generator=torch.Generator().manual_seed(1))
    z = dae(x)
    assert torch.all((z > 0) & (z < 1))
    assert torch.allclose(dae.loss(x, corrupt=False), ((z - x) ** 2).sum(dim=1).mean())
    logits = dae.decode_logits(dae.encode(x))
    assert not torch.allclose(dae.loss(x, corrupt=False), ((logits - x) ** 2).sum(dim=1).mean())


def test_a_relu_decoder_outputs_values_at_or_above_zero_under_squared_error():
    dae = DenoisingAutoencoder(5, 3, activation="relu", decoder="relu",
                               generator=torch.Generator().manual_seed(0))
    assert dae.config.loss == "squared_error"
    x = torch.rand(6, 5, generator=torch.Generator().manual_seed(1)) * 3
    z = dae(x)
    assert torch.equal(z, torch.relu(dae.decode_logits(dae.encode(x))))
    assert torch.allclose(dae.loss(x, corrupt=False), ((z - x) ** 2).sum(dim=1).mean())
    with pytest.raises(ConfigError, match="cross-entropy loss needs decoder='sigmoid'"):
        DenoisingAutoencoder(5, 3, decoder="relu", loss="cross_entropy")


@pytest.mark.parametrize("kind", ["masking", "fixed_masking", "salt_and_pepper"])
def test_emphasis_weighs_the_components_chosen_for_corruption(kind):
    dae = DenoisingAutoencoder(40, 10, corruption=kind, noise_level=0.5, emphasis=(1.0, 0.0))
    x = torch.rand(8, 40)
    x[:, :20] = 0  # masked zeros are still corrupted components
    x_tilde, mask = dae.corruption.with_mask(x, torch.Generator().manual_seed(2))
    assert torch.equal(x_tilde, dae.corrupt(x, torch.Generator().manual_seed(2)))
    assert mask[:, :20].any()
    per = torch.nn.functional.binary_cross_entropy_with_logits(
        dae.decode_logits(dae.encode(x_tilde)), x, reduction="none")
    only_corrupted = (per * mask).sum(dim=1).mean()
    assert torch.allclose(dae.loss(x, torch.Generator().manual_seed(2)), only_corrupted)


def test_emphasis_weights_are_alpha_where_corrupted_and_beta_elsewhere():
    mask = torch.tensor([[True, False, True], [False, False, True]])
    weights = emphasis_weights(mask, (0.75, 0.25), torch.float64)
    assert weights.dtype == torch.float64
    assert weights.tolist() == [[0.75, 0.25, 0.75], [0.25, 0.25, 0.75]]


def test_emphasis_on_all_zero_input_still_counts():
    dae = DenoisingAutoencoder(30, 5, noise_level=0.5, emphasis=(1.0, 0.0))
    assert dae.loss(torch.zeros(4, 30), torch.Generator().manual_seed(0)) > 0


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_gradcheck(tied, decoder, activation):
    torch.manual_seed(0)
    dae = DenoisingAutoencoder(6, 4, tied=tied, decoder=decoder, activation=activation,
                               noise_level=0.3).double()
    x = torch.rand(3, 6, dtype=torch.float64)

    def loss(*params):
        # gradcheck perturbs the parameter tensors in place; the same corruption every call
        return dae.loss(x, torch.Generator().manual_seed(0))

    assert torch.autograd.gradcheck(loss, tuple(dae.parameters()))


def test_gradcheck_through_the_functional_form():
    torch.manual_seed(1)
    x = torch.rand(3, 5, dtype=torch.float64)
    w = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    c = torch.randn(5, dtype=torch.float64, requires_grad=True)

    def loss(w, b, c):
        y = torch.sigmoid(x @ w.t() + b)
        return reconstruction_loss(y @ w + c, x).mean()

    assert torch.autograd.gradcheck(loss, (w, b, c))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_visible": 0, "n_hidden": 5}, "n_visible"),
        ({"n_visible": 5, "n_hidden": -1}, "n_hidden"),
        ({"n_visible": 5, "n_hidden": 3, "activation": "gelu"}, "activation"),
        ({"n_visible": 5, "n_hidden": 3, "decoder": "linear", "loss": "cross_entropy"},
         "cross-entropy"),
        ({"n_visible": 5, "n_hidden": 3, "noise_level": 2.0}, "noise level"),
    ],
)
def test_bad_config(options, message):
    with pytest.raises(ConfigError, match=message):
        DAEConfig(**options)


def test_config_round_trip():
    dae = DenoisingAutoencoder(8, 3, tied=False, corruption="gaussian", noise_level=0.3,
                               clip=(0, 1), decoder="linear")
    again = DenoisingAutoencoder.from_config(dae.config.to_dict())
    assert again.config == dae.config
