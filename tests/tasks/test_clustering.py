"""Clustering on stacked-DAE codes: DEC's formulas by hand, DEC on blobs, the loop's stop,
determinism, model files and bad input."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from sdae.errors import ConfigError, DataError, SdaeWarning
from sdae.measures.clustering import cluster_accuracy
from sdae.models import load_model, save_model
from sdae.tasks.clustering import (
    ClusteringModel,
    ClusteringSettings,
    SelfTraining,
    build_stack,
    cluster,
    fit_clustering,
    kl_divergence,
    resolve_method,
    soft_assignment,
    target_distribution,
    target_update_interval,
    train_stack,
    umap_embedding,
    umap_installed,
)

QUICK = ClusteringSettings(hidden_sizes=(32, 8), pretrain_epochs=3, finetune_epochs=10,
                           batch_size=32, self_training_steps=50, self_training_lr=1e-3)


def blobs(n_per=60, k=3, d=8, spread=0.3, seed=0):
    """``k`` well-separated Gaussian blobs: (X, y)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, size=(k, d))
    X = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    return X.astype(np.float32), np.repeat(np.arange(k), n_per)


def test_soft_assignment_by_hand():
    z = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    centres = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    q = soft_assignment(z, centres)  # alpha = 1: kernel 1 / (1 + d²)
    k0 = torch.tensor([1.0, 1 / 2])                # d² = 0, 1
    k1 = torch.tensor([1 / 26, 1 / (1 + 9 + 9)])   # d² = 25, 18
    assert torch.allclose(q[0], k0 / k0.sum())
    assert torch.allclose(q[1], k1 / k1.sum())
    q2 = soft_assignment(z, centres, alpha=2.0)  # kernel (1 + d²/2)^(-3/2)
    kernel = (1 + torch.tensor([25.0, 18.0]) / 2) ** -1.5
    assert torch.allclose(q2[1], kernel / kernel.sum())


def test_target_distribution_by_hand():
    q = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    # the clusters' frequencies f = q.sum(0) are 1.7 and 1.3
    expected = torch.stack([
        torch.tensor([0.81 / 1.7, 0.01 / 1.3]),
        torch.tensor([0.36 / 1.7, 0.16 / 1.3]),
        torch.tensor([0.04 / 1.7, 0.64 / 1.3]),
    ])
    expected = expected / expected.sum(1, keepdim=True)
    p = target_distribution(q)
    assert torch.allclose(p, expected)
    # sharper than q: the confident rows grow more confident
    assert p[0, 0] > q[0, 0] and p[2, 1] > q[2, 1]


@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_kl_gradient_against_the_papers_formula(alpha):
    """DEC's equations (4) and (5): ∂L/∂z_i = (α+1)/α Σ_j k_ij (p_ij − q_ij)(z_i − μ_j) and
    ∂L/∂μ_j = −(α+1)/α Σ_i k_ij (p_ij − q_ij)(z_i − μ_j), k_ij = (1 + ‖z_i − μ_j‖²/α)^-1,
    for L = Σ_i KL(P_i ‖ Q_i) with P held fixed."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    q = soft_assignment(z, mu, alpha)
    p = target_distribution(q).detach()
    kl_divergence(p, q).sum().backward()
    diff = z.detach()[:, None] - mu.detach()[None]                 # (n, k, d)
    k = 1 / (1 + diff.square().sum(-1) / alpha)                    # (n, k)
    w = ((alpha + 1) / alpha * k * (p - q.detach()))[..., None]    # (n, k, 1)
    assert torch.allclose(z.grad, (w * diff).sum(1))
    assert torch.allclose(mu.grad, -(w * diff).sum(0))


def test_kl_divergence_by_hand_and_zero_for_equal():
    p = torch.tensor([[0.5, 0.5, 0.0]])
    q = torch.tensor([[0.25, 0.5, 0.25]])
    assert kl_divergence(p, q).item() == pytest.approx(0.5 * np.log(2))
    assert kl_divergence(q, q).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("method", ["dec", "idec", "kmeans", "gmm"])
def test_well_separated_blobs_are_found_exactly(method):
    X, y = blobs()
    result = fit_clustering(X, 3, method, QUICK, seed=0, progress=False)
    assert cluster_accuracy(y, result.labels) == 1.0
    assert result.method == method
    # the model's own assignment (nearest centre) agrees with the method's labels here
    predicted = result.model.predict(torch.as_tensor(X)).numpy()
    assert cluster_accuracy(result.labels, predicted) == 1.0


@pytest.mark.skipif(not umap_installed(), reason="umap-learn not installed")
def test_umap_gmm_on_blobs():
    X, y = blobs(n_per=50)
    result = fit_clustering(X, 3, "umap-gmm", QUICK, seed=0, progress=False)
    assert cluster_accuracy(y, result.labels) == 1.0


@pytest.mark.skipif(not umap_installed(), reason="umap-learn not installed")
def test_idec_can_start_from_the_clusters_of_umap_gmm():
    X, y = blobs(n_per=50)
    stack, _ = train_stack(X, QUICK, seed=0, progress=False)
    result = cluster(stack, X, 3, "idec", replace(QUICK, init="umap-gmm"), seed=0)
    assert result.record["init"] == "umap-gmm" and result.record["steps"] > 0
    assert cluster_accuracy(y, result.labels) == 1.0


def test_empty_clusters_are_warned_of():
    X, _ = blobs()
    stack, _ = train_stack(X, QUICK, seed=0, progress=False)
    labels = np.arange(len(X)) % 2  # two of three clusters hold rows
    with pytest.warns(SdaeWarning, match="1 of the 3 clusters is empty: ask for fewer clusters"):
        cluster(stack, X, 3, "dec", replace(QUICK, self_training_steps=0), seed=0,
                initial=(labels, np.zeros((3, 8), np.float32)))


def test_self_training_starts_from_a_clustering_handed_in():
    X, _ = blobs()
    stack, _ = train_stack(X, QUICK, seed=0, progress=False)
    labels = np.arange(len(X)) % 3  # not what any method would find
    centres = np.arange(3 * 8, dtype=np.float32).reshape(3, 8)
    result = cluster(stack, X, 3, "dec", replace(QUICK, self_training_steps=0), seed=0,
                     initial=(labels, centres))
    assert torch.equal(result.model.centers.detach(), torch.as_tensor(centres))
    assert np.array_equal(result.labels, labels)


def test_starting_from_umap_gmm_needs_umap(monkeypatch):
    from sdae.tasks.clustering import fitting

    monkeypatch.setattr(fitting, "umap_installed", lambda: False)
    with pytest.raises(ConfigError, match='idec from umap-gmm needs umap-learn: pip install'):
        resolve_method("idec", "umap-gmm")
    assert resolve_method("idec", "kmeans") == "idec"
    assert resolve_method("kmeans", "umap-gmm") == "kmeans"  # no self-training, no start


@pytest.mark.skipif(not umap_installed(), reason="umap-learn not installed")
def test_umap_leaves_torchs_threads_as_they_were():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # as a run beside other work would be
        umap_embedding(blobs(n_per=30)[0], 2, seed=0)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_self_training_moves_the_centres_and_sharpens_q():
    X, _ = blobs(spread=1.5, seed=3)
    stack, _ = train_stack(X, QUICK, seed=0, progress=False)
    trained = {k: v.clone() for k, v in stack.state_dict().items()}
    before = cluster(stack, X, 3, "kmeans", QUICK, seed=0)
    after = cluster(stack, X, 3, "dec", QUICK, seed=0)
    assert not torch.allclose(before.model.centers, after.model.centers)
    with torch.no_grad():
        q_before = before.model(torch.as_tensor(X)).max(1).values.mean()
        q_after = after.model(torch.as_tensor(X)).max(1).values.mean()
    assert q_after > q_before
    # DEC refined a copy: the stack handed in is left as it was
    assert all(torch.equal(trained[k], v) for k, v in stack.state_dict().items())


def test_convergence_ends_the_loop_early():
    X, _ = blobs()
    stack, _ = train_stack(X, QUICK, seed=0, progress=False)
    # tol 0.5: the second update sees fewer than half the assignments change, and stops
    settings = ClusteringSettings(**{**QUICK.to_dict(), "tol": 0.5, "update_interval": 2,
                                     "self_training_steps": 250})
    result = cluster(stack, X, 3, "dec", settings, seed=0)
    assert result.record["converged"]
    assert result.record["steps"] == 3  # updates at steps 0 and 2; the loop stops after it
    assert len(result.record["self_training"]["train_loss"]) == 1


def test_target_updated_once_per_epoch_but_at_least_every_140_steps():
    settings = ClusteringSettings()  # batches of 256
    assert target_update_interval(settings, 70_000) == 140  # MNIST: 273 steps an epoch
    assert target_update_interval(settings, 9_298) == 36  # USPS: every epoch
    assert target_update_interval(settings, 100) == 1  # one batch: the whole data
    assert target_update_interval(replace(settings, update_interval=30), 70_000) == 30
    with pytest.raises(ConfigError, match="update_interval"):
        ClusteringSettings(update_interval=0)


def test_self_training_stops_after_its_steps_rounded_up_to_an_epoch():
    X, _ = blobs()  # 180 rows in batches of 32: 5 steps an epoch
    stack, _ = train_stack(X, QUICK, seed=0, progress=False)
    settings = replace(QUICK, tol=0.0, self_training_steps=7)
    result = cluster(stack, X, 3, "idec", settings, seed=0)
    assert result.record["steps"] == 10 and not result.record["converged"]
    assert len(result.record["self_training"]["train_loss"]) == 2
    no_steps = cluster(stack, X, 3, "idec", replace(settings, self_training_steps=0), seed=0)
    assert "steps" not in no_steps.record


def test_self_training_objective_counts_updates():
    X, _ = blobs()
    stack = build_stack(X.shape[1], QUICK, 0, "linear")
    model = ClusteringModel(stack, 3)
    objective = SelfTraining(torch.as_tensor(X), update_interval=4)
    batch = (torch.as_tensor(X[:8]), torch.arange(8))
    for _ in range(9):
        objective(model, batch, None)
    assert objective.steps == 9 and len(objective.changed) == 2  # updates at 0, 4, 8


def test_bf16_stack_training_still_finds_the_blobs():
    X, y = blobs()
    result = fit_clustering(X, 3, "dec", replace(QUICK, precision="bf16"), seed=0,
                            progress=False)
    assert cluster_accuracy(y, result.labels) == 1.0
    with pytest.raises(ConfigError, match="precision must be one of"):
        fit_clustering(X, 3, "dec", replace(QUICK, precision="fp16"), progress=False)


def test_same_seed_same_clustering():
    X, _ = blobs(spread=1.0)
    a = fit_clustering(X, 3, "idec", QUICK, seed=5, progress=False)
    b = fit_clustering(X, 3, "idec", QUICK, seed=5, progress=False)
    assert np.array_equal(a.labels, b.labels)
    assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(),
                                                   b.model.state_dict().values(), strict=True))


def test_a_stack_restored_from_its_checkpoints_says_how_long_it_trained(tmp_path):
    X, _ = blobs()
    first_stack, first = train_stack(X, QUICK, 0, checkpoint_dir=tmp_path)
    again_stack, again = train_stack(X, QUICK, 0, checkpoint_dir=tmp_path)
    assert first["finetune"]["seconds"] > 0
    # the epochs' seconds as first measured, not the restoring's
    assert again["pretrain"] == first["pretrain"] and again["finetune"] == first["finetune"]
    for phase in ("pretrain", "finetune"):
        assert again[f"{phase}_seconds"] == first[f"{phase}_seconds"]
    assert all(torch.equal(p, q) for p, q in zip(first_stack.state_dict().values(),
                                                   again_stack.state_dict().values(),
                                                   strict=True))


def test_model_file_round_trip(tmp_path):
    X, _ = blobs()
    result = fit_clustering(X, 3, "dec", QUICK, seed=0, progress=False)
    path = save_model(result.model, tmp_path / "clusters.safetensors")
    loaded = load_model(path)
    assert isinstance(loaded, ClusteringModel) and loaded.n_clusters == 3
    x = torch.as_tensor(X)
    assert torch.equal(loaded.predict(x), result.model.predict(x))


def test_stack_shape_is_decs_with_sigmoid_units():
    stack = build_stack(784, ClusteringSettings(), 0, "sigmoid")
    assert stack.hidden_sizes == [500, 500, 2000, 10]
    assert [layer.config.activation for layer in stack.layers] == ["sigmoid"] * 3 + ["linear"]
    # each layer above the first reconstructs the sigmoid code below it with a sigmoid
    assert [layer.config.decoder for layer in stack.layers] == ["sigmoid"] * 4
    assert not any(layer.config.tied for layer in stack.layers)


def test_a_relu_stack_is_decs_units_with_relu_decoders_above_the_first():
    stack = build_stack(784, ClusteringSettings(activation="relu"), 0, "sigmoid")
    assert [layer.config.activation for layer in stack.layers] == ["relu"] * 3 + ["linear"]
    # the mirrored decoder keeps its ReLUs: each upper layer reconstructs a ReLU code
    assert [layer.config.decoder for layer in stack.layers] == ["sigmoid"] + ["relu"] * 3
    X, y = blobs()
    result = fit_clustering(X, 3, "idec", replace(QUICK, activation="relu"), seed=0,
                            progress=False)
    assert cluster_accuracy(y, result.labels) == 1.0


@pytest.mark.parametrize("X, k, message", [
    (np.zeros((5, 3)), 6, "n_samples=5 is fewer than n_clusters=6"),
    (np.arange(10.0).reshape(10, 1), 2, "1 feature"),
    (np.array([[0.0, 1.0], [np.nan, 1.0], [2.0, 2.0]]), 2, "NaN"),
])
def test_bad_input_gets_one_line_errors(X, k, message):
    with pytest.raises(DataError, match=message) as info:
        fit_clustering(X, k, "kmeans", QUICK)
    assert "\n" not in str(info.value)


def test_bad_method_and_settings():
    with pytest.raises(ConfigError, match="unknown clustering method 'spectral'"):
        resolve_method("spectral")
    with pytest.raises(ConfigError, match="noise_level"):
        ClusteringSettings(noise_level=1.0)
    with pytest.raises(ConfigError, match="activation must be one of sigmoid, relu"):
        ClusteringSettings(activation="tanh")
    with pytest.raises(ConfigError, match="init must be one of kmeans, umap-gmm"):
        ClusteringSettings(init="gmm")
    with pytest.raises(ConfigError, match="n_clusters"):
        ClusteringModel(build_stack(4, QUICK, 0, "linear"), 0)


def test_auto_follows_what_is_installed():
    assert resolve_method("auto") == ("umap-gmm" if umap_installed() else "idec")
