"""DEC-DA's moves: what they do to an image, their statistics, determinism, and
self-training with them (sdae.tasks.clustering.moves)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from sdae.core.finetuning import deep_reconstruction_loss
from sdae.errors import ConfigError
from sdae.measures.clustering import cluster_accuracy
from sdae.tasks.clustering import (
    ClusteringModel,
    ClusteringSettings,
    SelfTraining,
    build_stack,
    fit_clustering,
    train_stack,
)
from sdae.tasks.clustering.moves import random_moves, square_side


def dot_images(n, side=21):
    """``n`` copies of a black image with one white pixel at its centre; (n, side²)."""
    x = torch.zeros(n, side, side)
    x[:, side // 2, side // 2] = 1.0
    return x.reshape(n, -1)


def centre_of_mass(x, side):
    images = x.reshape(len(x), side, side)
    grid = torch.arange(side, dtype=x.dtype)
    mass = images.sum((1, 2))
    return (torch.stack([(images.sum(2) * grid).sum(1), (images.sum(1) * grid).sum(1)], 1)
            / mass[:, None])


def test_no_moves_leave_the_images_as_they_are():
    x = torch.rand(5, 64)
    assert torch.allclose(random_moves(x, 0.0, torch.Generator().manual_seed(0)), x,
                          atol=1e-6)


def test_moves_shift_by_at_most_their_fraction_of_the_side_uniformly():
    side, moves = 21, 0.2  # shifts of up to 4.2 pixels along each axis
    x = dot_images(4000, side)
    before = x.clone()
    moved = random_moves(x, moves, torch.Generator().manual_seed(0))
    assert torch.equal(x, before)  # x is left as it is
    assert moved.shape == x.shape and moved.min() >= 0 and moved.max() <= 1
    # the dot sits on the centre of the turn, so only the shift moves it (turned with the
    # image: its length, not each axis, is bounded)
    offset = centre_of_mass(moved, side) - side // 2
    limit = moves * side
    assert offset.norm(dim=1).max() <= limit * 2 ** 0.5 + 1e-3
    # each axis uniform on [-4.2, 4.2] before the turn: mean 0, sd 4.2 / sqrt(3) = 2.42
    assert offset.mean(0).abs().max() < 0.15
    assert torch.allclose(offset.std(0), torch.full((2,), limit / 3 ** 0.5), atol=0.1)


def test_moves_turn_by_at_most_a_hundred_times_their_fraction_in_degrees():
    side = 41
    x = torch.zeros(2000, side, side)
    x[:, side // 2, side // 2 + 15] = 1.0  # a dot 15 pixels right of the centre
    moves = 0.1  # up to 10 degrees, and up to 4.1 pixels of shift
    moved = random_moves(x.reshape(2000, -1), moves, torch.Generator().manual_seed(1))
    at = centre_of_mass(moved, side) - side // 2  # (row, column) from the centre
    # undo no shift: the angle of the dot seen from the centre is the turn plus the shift's
    # pull, so it stays within atan of the shift over the radius of 10 degrees
    angle = torch.rad2deg(torch.atan2(at[:, 0], at[:, 1])).abs()
    assert angle.max() < 10 + np.degrees(np.arctan2(4.1 * 2 ** 0.5, 15 - 4.1))
    assert angle.max() > 10  # and the turns do reach past the shifts alone


def test_same_generator_same_moves():
    x = torch.rand(8, 100)
    a = random_moves(x, 0.1, torch.Generator().manual_seed(3))
    b = random_moves(x, 0.1, torch.Generator().manual_seed(3))
    c = random_moves(x, 0.1, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_moves_need_square_images():
    assert square_side(784) == 28 and square_side(256) == 16
    with pytest.raises(ConfigError, match="square images") as info:
        square_side(10)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="moves"):
        ClusteringSettings(moves=0.6)
    with pytest.raises(ConfigError, match="finetune_moves"):
        ClusteringSettings(finetune_moves=-0.1)
    rows = np.random.default_rng(0).random((40, 10)).astype(np.float32)
    settings = ClusteringSettings(hidden_sizes=(8, 2), moves=0.1)
    with pytest.raises(ConfigError, match="square images"):  # before any training
        fit_clustering(rows, 2, "idec", settings, progress=False)
    settings = ClusteringSettings(hidden_sizes=(8, 2), finetune_moves=0.1)
    with pytest.raises(ConfigError, match=r"leave finetune_moves at 0 \(--finetune-moves 0"):
        fit_clustering(rows, 2, "kmeans", settings, progress=False)  # k-means too


def test_the_stack_can_be_fine_tuned_on_moved_images(tmp_path):
    X, _ = shapes(n_per=20)
    settings = ClusteringSettings(hidden_sizes=(16, 3), pretrain_epochs=1, finetune_epochs=3,
                                  batch_size=20)
    moved = replace(settings, finetune_moves=0.1)
    # one folder of checkpoints: the pre-training is shared, each fine-tuning has its own
    plain_stack, _ = train_stack(X, settings, seed=0, progress=False, checkpoint_dir=tmp_path)
    stack, record = train_stack(X, moved, seed=0, progress=False, checkpoint_dir=tmp_path)
    assert {"finetune.ckpt", "finetune-moves0.1.ckpt"} <= {p.name for p in tmp_path.iterdir()}
    again, _ = train_stack(X, moved, seed=0, progress=False)
    x = torch.as_tensor(X)
    assert torch.equal(stack.encode(x), again.encode(x))  # the moves come from the seed
    assert not torch.allclose(stack.encode(x), plain_stack.encode(x))
    # the fine-tuning reconstructed moved images: on them its loss is lower than the plain
    # stack's, which saw only the images as they are
    shifted = random_moves(x, 0.1, torch.Generator().manual_seed(1))
    with torch.no_grad():
        loss = {name: float(deep_reconstruction_loss(s, shifted).mean())
                for name, s in (("moved", stack), ("plain", plain_stack))}
    assert loss["moved"] < loss["plain"], loss
    assert len(record["finetune"]["train_loss"]) == 3


def test_self_training_with_moves_keeps_the_target_of_the_clean_images():
    x = torch.rand(64, 36)
    settings = ClusteringSettings(hidden_sizes=(16, 3))
    model = ClusteringModel(build_stack(36, settings, 0, "sigmoid"), 4)
    with torch.no_grad():
        model.centers.normal_(generator=torch.Generator().manual_seed(0))
    batch = (x, torch.arange(64))
    plain = SelfTraining(x, update_interval=10, gamma=0.1)
    moved = SelfTraining(x, update_interval=10, gamma=0.1, moves=0.2)
    plain_loss = plain(model, batch, torch.Generator().manual_seed(0))
    moved_loss = moved(model, batch, torch.Generator().manual_seed(0))
    assert torch.equal(moved.target, plain.target)  # P: the images as they are
    assert not torch.isclose(moved_loss, plain_loss)  # Q and the codes: moved images
    again = SelfTraining(x, update_interval=10, gamma=0.1, moves=0.2)
    assert torch.equal(again(model, batch, torch.Generator().manual_seed(0)), moved_loss)


def shapes(n_per=60, side=12, seed=0):
    """Plus signs and square outlines in ``side``² images, under uniform pixel noise:
    (X, y)."""
    rng = np.random.default_rng(seed)
    plus = np.zeros((side, side), np.float32)
    plus[side // 2, 3:-3] = plus[3:-3, side // 2] = 1
    ring = np.zeros((side, side), np.float32)
    ring[3:-3, 3] = ring[3:-3, -4] = ring[3, 3:-3] = ring[-4, 3:-3] = 1
    x = np.concatenate([np.clip(shape.ravel() + 0.2 * rng.random((n_per, side * side)), 0, 1)
                        for shape in (plus, ring)])
    return x.astype(np.float32), np.repeat([0, 1], n_per)


def test_idec_with_moves_keeps_two_shapes_apart():
    X, y = shapes()
    settings = ClusteringSettings(hidden_sizes=(32, 4), pretrain_epochs=3, finetune_epochs=20,
                                  batch_size=32, self_training_steps=40, tol=0.0, moves=0.1)
    result = fit_clustering(X, 2, "idec", settings, seed=0, progress=False)
    assert result.record["moves"] == 0.1
    assert result.record["steps"] == 42  # 40, rounded up to 14 epochs of 3 steps
    assert cluster_accuracy(y, result.labels) == 1.0
