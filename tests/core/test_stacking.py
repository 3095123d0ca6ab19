import pytest
import torch

from sdae.core import training
from sdae.core.autoencoder import DenoisingAutoencoder
from sdae.core.finetuning import deep_reconstruction_loss
from sdae.core.stacking import (
    StackedDenoisingAutoencoder,
    classification_error,
    finetune,
    finetune_unsupervised,
    pretrain,
)
from sdae.core.training import TrainConfig
from sdae.errors import ConfigError, DataError


def blobs(n=300, d=12, k=3, seed=0):
    """k well-separated clusters in [0, 1]^d: a small problem a stack can learn."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(k, d, generator=g)
    y = torch.randint(k, (n,), generator=g)
    x = (centres[y] + 0.08 * torch.randn(n, d, generator=g)).clamp(0, 1)
    return x, y


def make_stack(n_classes=3, seed=0, **options):
    return StackedDenoisingAutoencoder(12, [16, 8], n_classes, noise_levels=[0.2, 0.3],
                                       generator=torch.Generator().manual_seed(seed), **options)


QUICK = TrainConfig(epochs=3, batch_size=20, lr=0.1, progress=False)


def test_layer_k_is_pretrained_on_clean_codes_of_the_layers_below(monkeypatch):
    x, _ = blobs()
    stack = make_stack()
    seen = {}
    original = DenoisingAutoencoder.corrupt

    def spy(self, batch, generator=None):  # every training step corrupts its clean batch
        seen.setdefault(id(self), []).append(batch.detach().clone())
        return original(self, batch, generator)

    monkeypatch.setattr(DenoisingAutoencoder, "corrupt", spy)
    first_layer_before = stack.layers[0].weight.detach().clone()
    pretrain(stack, x, QUICK)
    assert not torch.equal(first_layer_before, stack.layers[0].weight)
    # layer 1 sees rows of the raw data; layer 2 sees rows of layer 1's clean code
    clean_codes = stack.layers[0].encode(x).detach()
    for batch in seen[id(stack.layers[0])]:
        assert all((row == x).all(dim=1).any() for row in batch[:5])
    for batch in seen[id(stack.layers[1])]:
        assert all(torch.isclose(row, clean_codes, atol=1e-6).all(dim=1).any()
                   for row in batch[:5])
        assert (batch > 0).all()  # sigmoid codes, no masked zeros: not corrupted


def test_noise_search_keeps_the_best_scoring_level_per_layer():
    x, _ = blobs()
    xv, _ = blobs(60, seed=1)
    scores = iter([3.0, 1.0, 2.0, 0.5, 4.0, 5.0])  # layer 1 prefers 0.2, layer 2 prefers 0.0
    seen = []

    def score(layer, train_code, valid_code):
        seen.append((layer.config.noise_level, train_code.shape, valid_code.shape))
        return next(scores)

    stack = make_stack()
    initial = make_stack()  # same seed: the weights every candidate starts from
    pretrain(stack, x, QUICK, x_valid=xv, noise_candidates=[0.0, 0.2, 0.4], score=score)
    assert [layer.config.noise_level for layer in stack.layers] == [0.2, 0.0]
    assert [level for level, *_ in seen] == [0.0, 0.2, 0.4] * 2
    assert seen[0][1:] == (torch.Size([300, 16]), torch.Size([60, 16]))
    assert seen[3][1:] == (torch.Size([300, 8]), torch.Size([60, 8]))
    # the kept first layer is exactly the one plain pre-training at 0.2 gives
    reference = StackedDenoisingAutoencoder(12, [16], noise_levels=0.2,
                                            generator=torch.Generator().manual_seed(0))
    reference.layers[0].load_state_dict(initial.layers[0].state_dict())
    pretrain(reference, x, QUICK)
    assert torch.equal(stack.layers[0].weight, reference.layers[0].weight)


def test_noise_search_needs_a_score():
    with pytest.raises(ConfigError, match="go together"):
        pretrain(make_stack(), blobs()[0], QUICK, noise_candidates=[0.1])


def test_no_corruption_after_pretraining():
    x, _ = blobs()
    stack = make_stack()
    pretrain(stack, x, QUICK)
    torch.manual_seed(0)
    a = stack.encode(x)
    torch.manual_seed(1)
    b = stack.encode(x)
    assert torch.equal(a, b)  # deterministic: no noise at inference
    assert torch.equal(a, stack.layers[1].encode(stack.layers[0].encode(x)))


def test_finetuning_updates_every_layer_and_learns():
    x, y = blobs()
    xv, yv = blobs(100, seed=0)
    stack = make_stack()
    pretrain(stack, x, QUICK)
    before = [p.detach().clone() for p in stack.parameters()]
    history = finetune(stack, x, y, TrainConfig(epochs=30, batch_size=20, lr=0.5,
                                                progress=False), x_valid=xv, y_valid=yv)
    after = list(stack.parameters())
    changed = [not torch.equal(b, a) for b, a in zip(before, after, strict=True)]
    names = [n for n, _ in stack.named_parameters()]
    # decoder biases are not on the supervised path; everything else must move
    assert all(c for c, n in zip(changed, names, strict=True) if "decoder" not in n)
    assert classification_error(stack, x, y) < 0.05
    assert history.best_epoch is not None
    assert min(history.valid_loss) == pytest.approx(classification_error(stack, xv, yv))


def test_early_stopping_keeps_the_best_parameters():
    x, y = blobs()
    stack = make_stack()
    history = finetune(stack, x, y, TrainConfig(epochs=50, batch_size=20, lr=0.5, patience=3,
                                                progress=False), x_valid=x[:100], y_valid=y[:100])
    assert len(history.valid_loss) <= 50
    assert len(history.valid_loss) - history.best_epoch <= 3


def test_unsupervised_finetuning_lowers_reconstruction_error():
    x, _ = blobs()
    stack = make_stack(n_classes=None)
    pretrain(stack, x, QUICK)
    history = finetune_unsupervised(stack, x, TrainConfig(epochs=10, batch_size=20, lr=0.1,
                                                          progress=False), x_valid=x)
    assert history.valid_loss[-1] < history.valid_loss[0]
    assert stack.decode(stack.encode(x)).shape == x.shape


def test_unsupervised_finetuning_reconstructs_each_augmented_batch():
    x, _ = blobs()
    config = TrainConfig(epochs=2, batch_size=20, lr=0.1, progress=False)
    seen = []

    def augment(batch, generator):  # the whole batch, with the loop's generator
        seen.append((len(batch), isinstance(generator, torch.Generator)))
        return batch.clone()

    plain, augmented = make_stack(n_classes=None), make_stack(n_classes=None)
    finetune_unsupervised(plain, x, config)
    finetune_unsupervised(augmented, x, config, augment=augment)
    assert seen == [(20, True)] * (2 * len(x) // 20)  # once per step
    for a, b in zip(plain.parameters(), augmented.parameters(), strict=True):
        torch.testing.assert_close(a, b)  # an augmentation that changes nothing
    flipped = make_stack(n_classes=None)
    finetune_unsupervised(flipped, x, config, augment=lambda batch, g: 1 - batch)
    with torch.no_grad():  # it learnt to reconstruct the changed rows, not the rows
        error = {name: float(deep_reconstruction_loss(stack, 1 - x).mean())
                 for name, stack in (("flipped", flipped), ("plain", plain))}
    assert error["flipped"] < error["plain"], error


def test_deep_squared_error_compares_the_bottom_decoders_output():
    x, _ = blobs(20)
    stack = make_stack(n_classes=None, loss="squared_error")  # sigmoid decoders, as the data
    assert stack.layers[0].config.decoder == "sigmoid"
    z = stack.decode(stack.encode(x))
    torch.testing.assert_close(deep_reconstruction_loss(stack, x), ((z - x) ** 2).sum(dim=1))


def test_sequential_view_shares_weights():
    x, _ = blobs(10)
    stack = make_stack()
    seq = stack.as_sequential()
    assert isinstance(seq, torch.nn.Sequential)
    assert torch.equal(seq(x), stack(x))
    with torch.no_grad():
        stack.classifier.bias += 1
    assert torch.equal(seq(x), stack(x))


def test_activation_per_layer_and_the_decoders_it_implies():
    stack = StackedDenoisingAutoencoder(12, [8, 6, 2], activation=["relu", "sigmoid", "linear"])
    assert [layer.config.activation for layer in stack.layers] == ["relu", "sigmoid", "linear"]
    # layer 2 reconstructs ReLU codes (>= 0): ReLU; layer 3 sigmoid codes: sigmoid
    assert [layer.config.decoder for layer in stack.layers][1:] == ["relu", "sigmoid"]
    assert [layer.config.loss for layer in stack.layers][1:] == ["squared_error",
                                                                 "cross_entropy"]
    tanh = StackedDenoisingAutoencoder(12, [8, 6], activation="tanh")
    assert tanh.layers[1].config.decoder == "linear"  # codes in [-1, 1]
    x = torch.randn(5, 12)
    top = stack.layers[2]  # a linear code: the affine map alone, no squashing
    assert torch.allclose(stack.encode(x), torch.nn.functional.linear(
        stack.encode(x, depth=2), top.weight, top.bias))
    with pytest.raises(ConfigError, match="activation: got 2 values for 3 layers"):
        StackedDenoisingAutoencoder(12, [8, 6, 2], activation=["relu", "sigmoid"])


def test_one_value_or_one_per_layer():
    for levels in (0.2, [0.2]):  # one value, alone or in a list, goes to every layer
        stack = StackedDenoisingAutoencoder(12, [4, 4, 4], noise_levels=levels)
        assert [layer.corruption.noise_level for layer in stack.layers] == [0.2] * 3


def test_bad_arguments():
    with pytest.raises(ConfigError, match="2 values for 3 layers"):
        StackedDenoisingAutoencoder(12, [4, 4, 4], noise_levels=[0.1, 0.2])
    with pytest.raises(ConfigError, match="at least 2 classes"):
        StackedDenoisingAutoencoder(12, [4], 1)
    with pytest.raises(ConfigError, match="no output layer"):
        make_stack(n_classes=None)(torch.rand(2, 12))
    x, y = blobs()
    with pytest.raises(DataError, match="labels"):
        finetune(make_stack(), x, y[:-1], QUICK)
    with pytest.raises(DataError, match=r"\[0, 2\]"):
        finetune(make_stack(), x, y + 5, QUICK)


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    from sdae.models import load_model, save_model

    x, y = blobs()
    stack = make_stack(tied=False)
    pretrain(stack, x, QUICK)
    finetune(stack, x, y, QUICK)
    again = load_model(save_model(stack, tmp_path / "stack.safetensors"))
    assert isinstance(again, StackedDenoisingAutoencoder)
    assert again.config == stack.config
    assert torch.equal(again.predict_proba(x), stack.predict_proba(x))
    assert torch.equal(again.encode(x), stack.encode(x))


def test_pretraining_can_keep_each_layers_best_epoch():
    from sdae.core.training import reconstruction_error

    x, _ = blobs()
    xv, _ = blobs(60, seed=1)
    stack = make_stack()
    histories = pretrain(stack, x, TrainConfig(epochs=6, batch_size=20, lr=2.0, progress=False),
                         x_valid=xv, keep_best=True)
    first = histories[0]
    assert reconstruction_error(stack.layers[0], xv) == pytest.approx(min(first.valid_loss),
                                                                      rel=1e-5)


def test_pretraining_streams_data_and_codes_from_disk(tmp_path):
    import numpy as np

    x, _ = blobs()
    np.save(tmp_path / "x.npy", x.numpy())
    in_memory, streamed = make_stack(), make_stack()
    pretrain(in_memory, x, QUICK, x_valid=x[:50])
    histories = pretrain(streamed, np.load(tmp_path / "x.npy", mmap_mode="r"), QUICK,
                         x_valid=np.load(tmp_path / "x.npy", mmap_mode="r")[:50])
    for p, q in zip(in_memory.parameters(), streamed.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert len(histories[1].valid_loss) == QUICK.epochs
    finetune_unsupervised(streamed, np.load(tmp_path / "x.npy", mmap_mode="r"), QUICK,
                          x_valid=x[:50])


def test_finetuning_reads_inputs_and_validation_inputs_from_disk(tmp_path):
    import numpy as np

    x, y = blobs()
    np.save(tmp_path / "x.npy", x.numpy())
    on_disk = np.load(tmp_path / "x.npy", mmap_mode="r")
    in_memory, streamed = make_stack(), make_stack()
    finetune(in_memory, x, y, QUICK, x_valid=x[:50], y_valid=y[:50])
    history = finetune(streamed, on_disk, y, QUICK, x_valid=on_disk[:50], y_valid=y[:50])
    assert len(history.valid_loss) == QUICK.epochs
    for p, q in zip(in_memory.parameters(), streamed.parameters(), strict=True):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("check_input", [True, False])
def test_pretraining_checks_the_inputs_unless_told_they_are_checked(monkeypatch, check_input):
    checked = []
    original = training.check_inputs

    def spy(model, x, name="data"):
        checked.append((model.n_visible, name))
        return original(model, x, name)

    monkeypatch.setattr(training, "check_inputs", spy)
    x, _ = blobs()
    pretrain(make_stack(), x, QUICK, x_valid=x[:50], check_input=check_input)
    layer_2 = [(16, "training data"), (16, "validation data")]  # codes: always checked
    assert checked == ([(12, "training data"), (12, "validation data")] if check_input
                       else []) + layer_2
