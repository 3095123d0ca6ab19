import json

import numpy as np
import pytest
import torch
from conftest import bars

from sdae.cli import main
from sdae.core.autoencoder import DenoisingAutoencoder
from sdae.core.stacking import StackConfig, StackedDenoisingAutoencoder
from sdae.core.training import TrainConfig, autoencoder_objective, train
from sdae.experiments import sampling as experiment
from sdae.io.data import Dataset
from sdae.tasks.sampling import draw, sample_chain, walkback_objective


def test_chain_shapes_and_bernoulli_states():
    dae = DenoisingAutoencoder(16, 8, noise_level=0.3, generator=torch.Generator().manual_seed(0))
    start = torch.rand(5, 16)

    def chain(seed):
        return sample_chain(dae, start, 30, torch.Generator().manual_seed(seed), every=10)

    record = chain(1)
    assert record.shape == (3, 5, 16)
    assert torch.all((record >= 0) & (record <= 1))  # means of Bernoulli reconstructions
    assert torch.equal(record, chain(1)) and not torch.equal(record, chain(2))


def test_gaussian_chain_for_a_squared_error_model():
    dae = DenoisingAutoencoder(6, 4, corruption="gaussian", noise_level=0.2, decoder="linear")
    record = sample_chain(dae, torch.randn(3, 6), 4, torch.Generator().manual_seed(0), sigma=0.1)
    assert record.shape == (4, 3, 6) and torch.isfinite(record).all()


def test_the_gaussian_mean_of_a_sigmoid_decoder_is_its_output():
    dae = DenoisingAutoencoder(6, 4, corruption="gaussian", noise_level=0.2,
                               loss="squared_error", generator=torch.Generator().manual_seed(0))
    x_tilde = torch.rand(3, 6, generator=torch.Generator().manual_seed(1))
    sample, mean = draw(dae, x_tilde, torch.Generator().manual_seed(2), sigma=0.1)
    torch.testing.assert_close(mean, dae(x_tilde))  # in (0, 1), not the decoder's logits
    assert not torch.allclose(sample, mean)


def test_a_stack_of_one_samples_as_its_layer_does():
    dae = DenoisingAutoencoder(16, 8, noise_level=0.3, generator=torch.Generator().manual_seed(0))
    stack = StackedDenoisingAutoencoder.from_config(StackConfig([dae.config]))
    stack.layers[0].load_state_dict(dae.state_dict())
    start, x = torch.rand(5, 16), bars(32)
    for model in (dae, stack):  # the same calls, whichever of the two
        chain = sample_chain(model, start, 20, torch.Generator().manual_seed(1), every=5)
        loss = walkback_objective(p=0.5, max_steps=3)(model, (x,),
                                                      torch.Generator().manual_seed(2))
        if model is dae:
            expected = chain, loss
    assert torch.equal(chain, expected[0]) and torch.equal(loss, expected[1])


def test_walkback_without_walking_is_the_denoising_criterion():
    dae = DenoisingAutoencoder(16, 8, noise_level=0.3, generator=torch.Generator().manual_seed(0))
    x = bars(32)
    plain = autoencoder_objective(dae, (x,), torch.Generator().manual_seed(3))
    walk = walkback_objective(p=0.0)(dae, (x,), torch.Generator().manual_seed(3))
    assert walk.item() == pytest.approx(plain.item(), rel=1e-6)
    longer = walkback_objective(p=1.0, max_steps=3)(dae, (x,), torch.Generator().manual_seed(3))
    assert longer.item() != pytest.approx(plain.item())  # three steps averaged


def test_a_walkback_dae_samples_the_bars_it_was_trained_on():
    x = bars(512)
    dae = DenoisingAutoencoder(16, 32, corruption="salt_and_pepper", noise_level=0.25,
                               generator=torch.Generator().manual_seed(0))
    train(dae, walkback_objective(0.5), x, TrainConfig(epochs=60, batch_size=32, lr=0.1,
                                                       momentum=0.9, progress=False))
    record = sample_chain(dae, torch.rand(50, 16), 100, torch.Generator().manual_seed(1),
                          every=10)
    patterns = {tuple(row) for row in x.int().tolist()}
    samples = (record[-5:].reshape(-1, 16) > 0.5).int().tolist()
    assert np.mean([tuple(s) in patterns for s in samples]) > 0.6


def test_cli_sample_writes_the_grid_and_the_array(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", (rng.random((100, 16)) > 0.5).astype(np.float32))
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--hidden", "8", "--epochs", "1",
                 "--batch-size", "10", "--out", str(tmp_path / "run")]) == 0
    model = str(tmp_path / "run" / "model.safetensors")
    assert main(["sample", model, "--n", "12", "--steps", "40", "--every", "10",
                 "--out", str(tmp_path / "s.png")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (4, 12, 16)
    assert (tmp_path / "s.png").stat().st_size > 0
    assert main(["sample", model, "--start", str(tmp_path / "x.npy"), "--n", "3", "--steps", "5",
                 "--every", "5", "--out", str(tmp_path / "t.png")]) == 0
    assert main(["sample", model, "--n", "2", "--steps", "5",
                 "--out", str(tmp_path / "v.png")]) == 0
    assert np.load(tmp_path / "v.npy").shape == (1, 2, 16)  # --every is at most --steps
    capsys.readouterr()
    assert main(["sample", model, "--steps", "5", "--every", "10",
                 "--out", str(tmp_path / "u.png")]) == 2
    assert "--every 10 is more than --steps 5" in capsys.readouterr().err
    assert main(["sample", model, "--start", str(tmp_path / "x.npy"), "--n", "500",
                 "--out", str(tmp_path / "w.png")]) == 2
    assert "has 100 rows, fewer than --n 500 chains" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", model, "--sigma", "-1", "--out", str(tmp_path / "x.png")])
    assert "--sigma: expected a positive number, got -1.0" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_cli_trains_with_walkback_for_sampling(tmp_path, monkeypatch, capsys):
    from sdae.tasks import sampling

    walks = []
    original = sampling.walkback_objective

    def spy(p, **kw):
        objective = original(p, **kw)

        def walked(model, batch, generator, rows=slice(None)):
            walks.append(p)  # a training step took the walkback criterion
            return objective(model, batch, generator, rows)
        return walked

    from sdae.experiments import train_run  # where sdae train takes the objective from

    monkeypatch.setattr(train_run, "walkback_objective", spy)
    np.save(tmp_path / "x.npy", bars(200).numpy())
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--hidden", "8", "--epochs", "2",
                 "--batch-size", "10", "--corruption", "salt_and_pepper", "--walkback", "0.5",
                 "--out", str(tmp_path / "run")]) == 0
    assert walks and set(walks) == {0.5}
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["walkback"] == 0.5
    capsys.readouterr()
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--walkback", "1",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "--walkback is a probability below 1" in capsys.readouterr().err


def test_the_experiment_measures_its_samples(tmp_path):
    x = bars(400, d=16).numpy()
    y = (x.reshape(-1, 4, 4)[:, :, 0].sum(1) == 4).astype(np.int64)  # a bar in column 0
    data = Dataset("bars", x, y, None, None, x[:100], y[:100], image_shape=(4, 4))
    settings = experiment.SamplingSettings(
        n_hidden=16, corruption="masking", noise_level=0.3,
        train=TrainConfig(epochs=2, batch_size=20, progress=False), n_chains=8, burn_in=4,
        every=2, per_chain=3, classifier_examples=400)
    results = experiment.run(data, tmp_path, settings, log=lambda _: None)
    assert results["n_samples"] == 24
    assert sum(results["class_histogram"]) == 24
    assert 0 <= results["confident_fraction"] <= 1
    assert results["nearest_train_distance_samples"] >= 0
    assert np.load(tmp_path / "samples.npy").shape == (5, 8, 16)
    assert json.loads((tmp_path / "results.json").read_text())["classes_seen"] >= 1
    assert (tmp_path / "chains.png").exists() and (tmp_path / "samples.png").exists()
