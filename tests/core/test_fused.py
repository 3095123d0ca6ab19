import pytest
import torch

from sdae.core.autoencoder import DenoisingAutoencoder, reconstruction_loss
from sdae.core.fused import sgd_step_, tied_sigmoid_cross_entropy
from sdae.errors import ConfigError


def autograd_loss(x_tilde, x, weight, bias, decoder_bias):
    y = torch.sigmoid(x_tilde @ weight.t() + bias)
    return reconstruction_loss(y @ weight + decoder_bias, x).mean()


def inputs(dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 7, generator=g, dtype=dtype)
    x_tilde = x * (torch.rand(5, 7, generator=g, dtype=dtype) > 0.3)
    params = [torch.randn(4, 7, generator=g, dtype=dtype), torch.randn(4, generator=g, dtype=dtype),
              torch.randn(7, generator=g, dtype=dtype)]
    return x_tilde, x, [p.requires_grad_() for p in params]


def test_gradients_pass_gradcheck():
    x_tilde, x, params = inputs()
    assert torch.autograd.gradcheck(lambda *p: tied_sigmoid_cross_entropy(x_tilde, x, *p),
                                    params)


def test_value_and_gradients_equal_autograd():
    x_tilde, x, params = inputs(torch.float32)
    fused = tied_sigmoid_cross_entropy(x_tilde, x, *params)
    fused_grads = torch.autograd.grad(fused, params)
    plain = autograd_loss(x_tilde, x, *params)
    plain_grads = torch.autograd.grad(plain, params)
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    for a, b in zip(fused_grads, plain_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_loss_stays_exact_when_the_decoder_saturates():
    x_tilde, x, params = inputs(torch.float32)
    weight, bias, decoder_bias = (p.detach() for p in params)
    decoder_bias = decoder_bias * 0 + torch.tensor([-60.0, 60.0, -30.0, 30.0, 0.0, 15.0, -15.0])
    fused = tied_sigmoid_cross_entropy(x_tilde, x, weight, bias, decoder_bias)
    plain = autograd_loss(x_tilde, x, weight, bias, decoder_bias)
    assert torch.isfinite(fused)
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)


@pytest.mark.parametrize(("options", "fused"), [
    ({}, True),
    ({"tied": False}, False),
    ({"activation": "tanh"}, False),
    ({"decoder": "linear"}, False),
    ({"emphasis": (1.0, 0.5)}, False),
])
def test_the_dae_uses_the_fused_loss_only_where_it_applies(options, fused, monkeypatch):
    calls = []
    import sdae.core.autoencoder as module

    monkeypatch.setattr(module, "tied_sigmoid_cross_entropy",
                        lambda *a: calls.append(1) or autograd_loss(*a))
    dae = DenoisingAutoencoder(7, 4, noise_level=0.3, **options)
    x = torch.rand(5, 7)
    dae.loss(x, torch.Generator().manual_seed(0)).backward()
    assert bool(calls) == fused


def test_in_place_sgd_step_equals_gradients_then_update():
    x_tilde, x, params = inputs(torch.float32)
    lr = 0.3
    plain = autograd_loss(x_tilde, x, *params)
    expected = [p.detach() - lr * g for p, g in zip(params, torch.autograd.grad(plain, params),
                                                    strict=True)]
    updated = [p.detach().clone() for p in params]
    loss = sgd_step_(x_tilde, x, *updated, lr)
    assert loss.item() == pytest.approx(plain.item(), rel=1e-6)  # the loss before the step
    for a, b in zip(updated, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_sgd_step_draws_the_corruption_like_loss():
    x = torch.rand(5, 7)
    a = DenoisingAutoencoder(7, 4, noise_level=0.3, generator=torch.Generator().manual_seed(1))
    b = DenoisingAutoencoder(7, 4, noise_level=0.3, generator=torch.Generator().manual_seed(1))
    loss = a.sgd_step(x, torch.Generator().manual_seed(2), lr=0.1)
    expected = b.loss(x, torch.Generator().manual_seed(2))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert not torch.equal(a.weight, b.weight)  # and stepped


def test_sgd_step_refuses_layers_it_does_not_fit():
    with pytest.raises(ConfigError, match="tied sigmoid"):
        DenoisingAutoencoder(7, 4, tied=False).sgd_step(torch.rand(5, 7), None, lr=0.1)
