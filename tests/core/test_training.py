import functools

import numpy as np
import pytest
import torch
from conftest import bars

from sdae.core import steps, streaming, training
from sdae.core.autoencoder import DenoisingAutoencoder
from sdae.core.training import (
    TrainConfig,
    reconstruction_error,
    train,
    train_autoencoder,
)
from sdae.errors import ConfigError, DataError, SdaeError
from sdae.io.checkpoint import load_checkpoint, save_checkpoint


def fit(seed=0, **overrides):
    x = bars()
    model = DenoisingAutoencoder(16, 12, noise_level=0.25,
                                 generator=torch.Generator().manual_seed(seed))
    config = TrainConfig(**{"epochs": 5, "batch_size": 16, "lr": 0.1, "seed": seed,
                            "progress": False, **overrides})
    return model, train_autoencoder(model, x, config, x_valid=bars(64, seed=1))


def test_training_reduces_the_clean_reconstruction_error():
    x_valid = bars(64, seed=1)
    untrained = DenoisingAutoencoder(16, 12, generator=torch.Generator().manual_seed(0))
    _, history = fit(epochs=30)
    assert len(history.train_loss) == 30 and len(history.valid_loss) == 30
    assert history.valid_loss[-1] < 0.5 * reconstruction_error(untrained, x_valid)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.seconds > 0


def test_deterministic_for_a_seed():
    a, ha = fit(seed=3)
    b, hb = fit(seed=3)
    c, _ = fit(seed=4)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert ha.train_loss == hb.train_loss
    assert not torch.equal(a.weight, c.weight)


def test_does_not_touch_the_global_rng():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    fit()
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_optimizers_and_momentum(optimizer):
    _, history = fit(optimizer=optimizer, momentum=0.9 if optimizer == "sgd" else 0.0,
                     lr=0.1 if optimizer == "sgd" else 0.01, epochs=10)
    assert history.valid_loss[-1] < history.valid_loss[0]


def test_weight_decay_shrinks_weights():
    plain, _ = fit(epochs=10)
    decayed, _ = fit(epochs=10, weight_decay=0.05)
    assert decayed.weight.norm() < plain.weight.norm()
    assert decayed.bias.norm() > 0  # biases are not decayed to zero


def test_generic_objective_with_targets():
    """The loop trains any module: here a linear classifier on (x, y) batches."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Linear(5, 2)

    def objective(m, batch, generator):
        inputs, targets = batch
        return torch.nn.functional.cross_entropy(m(inputs), targets)

    train(model, objective, (x, y), TrainConfig(epochs=20, batch_size=20, lr=0.5,
                                               progress=False))
    assert (model(x).argmax(1) == y).float().mean() > 0.95


def test_an_objective_that_says_it_converged_ends_the_run_after_that_step():
    x = torch.randn(100, 3, generator=torch.Generator().manual_seed(0))
    model = torch.nn.Linear(3, 1)

    class Stops:
        converged, steps = False, 0

        def __call__(self, m, batch, generator):
            self.steps += 1
            self.converged = self.steps == 7  # mid-way through the second epoch
            return m(batch[0]).square().mean()

    objective = Stops()
    history = train(model, objective, x, TrainConfig(epochs=10, batch_size=20, lr=0.01,
                                                     progress=False))
    assert objective.steps == 7
    assert len(history.train_loss) == 2  # the first epoch, and the part of the second


@pytest.mark.parametrize(("warmup", "moved"), [
    (0.0, 0.1 * 4 + 0.05 * 4),  # 4 steps of each epoch's rate, halved after the first
    (1.0, 0.1 * (1 + 2 + 3 + 4) / 4 + 0.05 * 4),  # the first epoch ramps up
    (1.5, 0.1 * (1 + 2 + 3 + 4) / 6 + 0.05 * (5 + 6) / 6 + 0.05 * 2),
])
def test_learning_rate_warms_up_then_decays(warmup, moved):
    """With a constant gradient of 1 each SGD step moves the parameter by its learning
    rate, so the total movement is the sum of the schedule."""
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    train(model, lambda m, batch, g: m.weight.sum(), torch.zeros(8, 1),
          TrainConfig(epochs=2, batch_size=2, lr=0.1, lr_decay=0.5, warmup_epochs=warmup,
                      progress=False))
    assert -model.weight.item() == pytest.approx(moved)


def test_divergence_is_reported():
    x = bars()
    model = DenoisingAutoencoder(16, 8, decoder="linear")
    with pytest.raises(SdaeError, match=r"diverged.*at batch \d+ of epoch 1.*lower learning"):
        train_autoencoder(model, x * 1e3, TrainConfig(epochs=3, batch_size=16, lr=10.0,
                                                      progress=False))


def test_divergence_names_the_first_bad_batch_and_keeps_the_checkpoint(tmp_path):
    x = bars()
    calls = []

    def objective(model, batch, generator):  # finite for 1.5 epochs, then NaN
        calls.append(1)
        loss = model.loss(batch[0], generator)
        return loss * float("nan") if len(calls) > 1.5 * (len(x) // 16) else loss

    model = DenoisingAutoencoder(16, 8)
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(SdaeError, match=f"at batch {len(x) // 32 + 1} of epoch 2: use a lower"):
        train(model, objective, x, TrainConfig(epochs=3, batch_size=16, progress=False),
              checkpoint=ckpt)
    assert load_checkpoint(ckpt)["epoch"] == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (torch.rand(10, 5), "expects \\(n, 16\\)"),
        (torch.full((10, 16), float("nan")), "NaN"),
        (torch.rand(10, 16) * 3, "needs values in \\[0, 1\\]"),
    ],
)
def test_bad_data(data, message):
    with pytest.raises(DataError, match=message):
        train_autoencoder(DenoisingAutoencoder(16, 4), data, TrainConfig(batch_size=5))


def test_batch_larger_than_data():
    with pytest.raises(ConfigError, match="larger than the 10 training examples"):
        train_autoencoder(DenoisingAutoencoder(16, 4), torch.rand(10, 16),
                          TrainConfig(batch_size=20))
    training.check_batch_size(10, 10)  # the same rule, for a face to check before it writes
    with pytest.raises(ConfigError, match="batch size 11 is larger than the 10 training "
                                          "examples: use a smaller --batch-size"):
        training.check_batch_size(11, 10)


def test_steps_per_epoch_counts_the_batches_an_epoch_makes():
    from sdae.core.batches import Batches, steps_per_epoch

    for n, size in [(10, 3), (9, 3), (5, 5), (70_000, 256)]:
        assert steps_per_epoch(n, size) == Batches(torch.rand(n, 2), size, "cpu").n_batches
    assert steps_per_epoch(3, 5) == 1  # at least one, so that updates convert to epochs


@pytest.mark.parametrize(
    "options", [{"epochs": 0}, {"batch_size": -1}, {"lr": 0.0}, {"optimizer": "lbfgs"},
                {"momentum": 1.0}, {"weight_decay": -1.0}, {"precision": "fp16"},
                {"checkpoint_every": 0}, {"warmup_epochs": -1.0}])
def test_bad_train_config(options):
    with pytest.raises(ConfigError):
        TrainConfig(**options)


def test_unavailable_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        fit(device="cuda")


def test_bf16_autocast_trains_close_to_fp32():
    _, full = fit(epochs=10)
    model, half = fit(epochs=10, precision="bf16")
    assert model.weight.dtype == torch.float32  # parameters and optimiser stay in fp32
    assert half.train_loss != full.train_loss  # the products really ran in bfloat16
    assert half.valid_loss[-1] == pytest.approx(full.valid_loss[-1], rel=0.05)


def test_bf16_autocast_covers_the_forward_pass_only():
    """The backward pass and the optimiser step run outside autocast (under it, a DAE on
    MNIST diverged in its first epoch)."""
    model = DenoisingAutoencoder(16, 12, noise_level=0.25,
                                 generator=torch.Generator().manual_seed(0))
    in_backward = []
    model.weight.register_hook(lambda grad: in_backward.append(torch.is_autocast_enabled("cpu")))
    train_autoencoder(model, bars(), TrainConfig(epochs=1, batch_size=16, lr=0.1,
                                                 precision="bf16", progress=False))
    assert len(in_backward) == 256 // 16 and not any(in_backward)


def test_tf32_is_for_cuda_only():
    with pytest.raises(ConfigError, match="CUDA GPUs only"):
        fit(precision="tf32")


@pytest.fixture
def cuda_flags():
    """The float32 switches of CUDA (plain settings, even in a CPU build), put back after."""
    flags = (torch.backends.cuda.matmul, torch.backends.cudnn.conv)
    before = [f.fp32_precision for f in flags]
    yield flags
    for f, value in zip(flags, before, strict=True):
        f.fp32_precision = value


def test_the_float32_switches_of_cuda_are_set_for_the_run_and_put_back(cuda_flags):
    matmul, conv = cuda_flags
    matmul.fp32_precision, conv.fp32_precision = "tf32", "tf32"  # a program's own choice
    for precision, inside in (("fp32", "ieee"), ("bf16", "ieee"), ("tf32", "tf32")):
        with training.float32_kernels(precision, torch.device("cuda")):
            assert (matmul.fp32_precision, conv.fp32_precision) == (inside, inside)
        assert (matmul.fp32_precision, conv.fp32_precision) == ("tf32", "tf32")


def test_training_on_the_cpu_leaves_the_cuda_switches_alone(cuda_flags):
    """torch refuses to read its older TF32 switch once a program has set the newer one."""
    matmul, _ = cuda_flags
    matmul.fp32_precision = "tf32"
    fit(epochs=1)
    assert matmul.fp32_precision == "tf32"


def on_disk(x, path):
    """``x`` saved as .npy and memory-mapped back: an array train() streams from disk."""
    np.save(path, x.numpy())
    return np.load(path, mmap_mode="r")


def test_an_array_on_disk_in_one_chunk_trains_like_the_tensor(tmp_path):
    resident, _ = fit(seed=2)
    streamed = DenoisingAutoencoder(16, 12, noise_level=0.25,
                                    generator=torch.Generator().manual_seed(2))
    train_autoencoder(streamed, on_disk(bars(), tmp_path / "x.npy"),
                      TrainConfig(epochs=5, batch_size=16, lr=0.1, seed=2, progress=False),
                      x_valid=on_disk(bars(64, seed=1), tmp_path / "v.npy"))
    for p, q in zip(resident.parameters(), streamed.parameters(), strict=True):
        assert torch.equal(p, q)


def test_streamed_chunks_visit_every_example_once_per_epoch(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "STREAM_CHUNK_BYTES", 16 * 4 * 32)  # chunks of 32 rows
    x = torch.arange(100.0).reshape(100, 1).repeat(1, 16) / 100
    seen = []

    def objective(model, batch, generator, rows=slice(None)):
        seen.append(batch[0][:, 0].clone())
        return model.loss(batch[0], generator)

    model = DenoisingAutoencoder(16, 4, generator=torch.Generator().manual_seed(0))
    train(model, objective, on_disk(x, tmp_path / "x.npy"),
          TrainConfig(epochs=2, batch_size=8, progress=False))
    # 100 rows in chunks of 32, 32, 32, 4: 12 whole batches an epoch, the 4 left over dropped
    assert len(seen) == 24
    for epoch in (seen[:12], seen[12:]):
        rows = torch.cat(epoch).mul(100).round().long()
        assert len(set(rows.tolist())) == 96 and not set(rows.tolist()) & {96, 97, 98, 99}
    assert not torch.equal(torch.cat(seen[:12]), torch.cat(seen[12:]))  # a new order


def test_bad_values_on_disk_are_found_chunk_by_chunk(tmp_path):
    x = torch.rand(300, 16)
    x[250, 3] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        train_autoencoder(DenoisingAutoencoder(16, 4), on_disk(x, tmp_path / "x.npy"),
                          TrainConfig(batch_size=5))


def test_plain_sgd_steps_in_place_like_autograd_and_the_optimiser(monkeypatch):
    """Plain SGD on the denoising criterion takes the fused in-place step; any other
    objective (here the same criterion, wrapped) goes through autograd and torch.optim."""
    calls = []
    original = DenoisingAutoencoder.sgd_step
    monkeypatch.setattr(DenoisingAutoencoder, "sgd_step",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    fast, fast_history = fit(epochs=3)
    assert len(calls) == 3 * (256 // 16)

    def wrapped(model, batch, generator):
        return training.autoencoder_objective(model, batch, generator)

    slow = DenoisingAutoencoder(16, 12, noise_level=0.25,
                                generator=torch.Generator().manual_seed(0))
    slow_history = train(slow, wrapped, bars(), TrainConfig(epochs=3, batch_size=16, lr=0.1,
                                                            progress=False))
    assert len(calls) == 3 * (256 // 16)  # the wrapped objective never took it
    for p, q in zip(fast.parameters(), slow.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert fast_history.train_loss == pytest.approx(slow_history.train_loss, rel=1e-5)


def test_a_wrapper_that_declares_the_fused_step_keeps_it(monkeypatch):
    """The fast path follows the objective's declaration (sgd_step), not its identity: a
    wrapper that passes the declaration on steps in place, and ends where autograd does."""
    calls = []
    original = DenoisingAutoencoder.sgd_step
    monkeypatch.setattr(DenoisingAutoencoder, "sgd_step",
                        lambda *a, **k: calls.append(1) or original(*a, **k))

    def logged(model, batch, generator, rows=None):
        return training.autoencoder_objective(model, batch, generator, rows=rows)

    logged.sgd_step = training.autoencoder_objective.sgd_step
    assert isinstance(logged, steps.FusesSGD)

    def run(objective):
        model = DenoisingAutoencoder(16, 12, noise_level=0.25,
                                     generator=torch.Generator().manual_seed(0))
        history = train(model, objective, bars(), TrainConfig(epochs=3, batch_size=16, lr=0.1,
                                                              progress=False))
        return model, history

    fast, fast_history = run(logged)
    assert len(calls) == 3 * (256 // 16)
    slow, slow_history = run(functools.wraps(training.autoencoder_objective)(
        lambda *args, **kwargs: training.autoencoder_objective(*args, **kwargs)))
    assert len(calls) == 3 * (256 // 16)  # functools.wraps does not pass the declaration on
    for p, q in zip(fast.parameters(), slow.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert fast_history.train_loss == pytest.approx(slow_history.train_loss, rel=1e-5)


def test_objectives_that_do_not_declare_the_fused_step_never_take_it(monkeypatch):
    from sdae.tasks.sampling import walkback_objective

    monkeypatch.setattr(DenoisingAutoencoder, "sgd_step",
                        lambda *a, **k: pytest.fail("stepped in place"))
    walkback = walkback_objective(p=0.5, max_steps=2)
    assert not isinstance(walkback, steps.FusesSGD)
    model = DenoisingAutoencoder(16, 12, noise_level=0.25, generator=torch.Generator())
    assert model.fuses_sgd  # the layer could: the objective does not say it is its criterion
    train(model, walkback, bars(), TrainConfig(epochs=1, batch_size=16, progress=False))
    config = TrainConfig(epochs=1, batch_size=16)
    assert steps.fused_sgd(model, training.autoencoder_objective, config, world=1) is not None
    assert steps.fused_sgd(model, training.autoencoder_objective, config, world=2) is None
    assert steps.fused_sgd(torch.nn.Linear(16, 16), training.autoencoder_objective, config,
                           world=1) is None  # the model cannot


def test_the_learning_rate_schedule_is_a_pure_function():
    schedule = [steps.learning_rate(0.1, 0.5, 1.5, 4, epoch, i)
                for epoch in range(3) for i in range(4)]
    assert schedule == pytest.approx([0.1 * k / 6 for k in range(1, 5)]
                                     + [0.05 * 5 / 6, 0.05, 0.05, 0.05] + [0.025] * 4)
    assert steps.learning_rate(0.1, 1.0, 0.0, 4, 7, 3) == 0.1


def test_the_config_checks_the_device_once(monkeypatch):
    config = TrainConfig(epochs=1, batch_size=16, device=torch.device("cpu"), progress=False)
    assert config.torch_device == torch.device("cpu")
    assert config.to_dict()["device"] == "cpu"  # a string, for JSON and checkpoints
    monkeypatch.setattr(training, "resolve_device",
                        lambda device: pytest.fail("the device was checked again"))
    train_autoencoder(DenoisingAutoencoder(16, 4), bars(), config)
    monkeypatch.undo()
    if not torch.cuda.is_available():
        config.device = "cuda"  # set after the config was made: checked when next used
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            config.torch_device  # noqa: B018


def test_a_batch_that_does_not_split_over_the_processes_is_refused(monkeypatch):
    monkeypatch.setattr(training, "process_group", lambda: (3, 0))
    with pytest.raises(ConfigError, match="does not split over 3 processes"):
        train_autoencoder(DenoisingAutoencoder(16, 4), bars(), TrainConfig(batch_size=16))


@pytest.mark.parametrize("options", [{"momentum": 0.5}, {"weight_decay": 0.01},
                                     {"optimizer": "adam", "lr": 0.01}])
def test_other_optimisers_do_not_step_in_place(options, monkeypatch):
    monkeypatch.setattr(DenoisingAutoencoder, "sgd_step",
                        lambda *a, **k: pytest.fail("stepped in place"))
    fit(epochs=1, **options)


def test_the_progress_bar_counts_epochs(capsys):
    x = bars(64)
    train_autoencoder(DenoisingAutoencoder(16, 8), x, TrainConfig(epochs=3, batch_size=8,
                                                                  progress=True))
    shown = capsys.readouterr().err
    assert "/3 epochs" in shown and "batch" not in shown


def test_grad_clip_bounds_each_step_to_lr_times_the_norm():
    """With plain SGD, a step moves the parameters by exactly lr·g: clipped, by at most
    lr·grad_clip, whatever the gradient."""
    x = bars(16)
    moved = {}
    for clip in (None, 1e-3):
        model = DenoisingAutoencoder(16, 12, noise_level=0.0,
                                     generator=torch.Generator().manual_seed(0))
        before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        config = TrainConfig(epochs=1, batch_size=16, lr=0.5, grad_clip=clip, progress=False)
        train_autoencoder(model, x, config)
        after = torch.cat([p.detach().flatten() for p in model.parameters()])
        moved[clip] = float((after - before).norm())
    assert moved[1e-3] == pytest.approx(0.5 * 1e-3, rel=1e-4)
    assert moved[None] > 10 * moved[1e-3]  # the gradient was larger: clipping acted


@pytest.mark.parametrize("clip", [0, -1.0, float("nan"), float("inf")])
def test_grad_clip_must_be_a_positive_number(clip):
    with pytest.raises(ConfigError, match=r"grad_clip \(--grad-clip\) must be a positive number"):
        TrainConfig(grad_clip=clip)


def test_a_checkpoint_from_before_grad_clip_existed_continues(tmp_path):
    """Checkpoints written before the setting existed do not name it: a run without
    clipping continues them; a run with clipping refuses them."""
    path = tmp_path / "run.ckpt"

    def run(**overrides):
        model = DenoisingAutoencoder(16, 12, noise_level=0.25,
                                     generator=torch.Generator().manual_seed(0))
        config = TrainConfig(epochs=2, batch_size=16, lr=0.1, progress=False, **overrides)
        return train_autoencoder(model, bars(), config, checkpoint=path)

    run()
    state = load_checkpoint(path)
    assert "grad_clip" not in state["config"]  # as in a checkpoint of an older sdae
    state["epoch"] = 1  # as if stopped after its first epoch
    state["history"] = {k: v[:1] if isinstance(v, list) else v
                        for k, v in state["history"].items()}
    save_checkpoint(path, state)
    assert len(run().train_loss) == 2
    state = load_checkpoint(path)
    state["epoch"] = 1
    save_checkpoint(path, state)
    with pytest.raises(ConfigError, match="other training settings"):
        run(grad_clip=1.0)
