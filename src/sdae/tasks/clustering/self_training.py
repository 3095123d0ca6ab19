"""DEC's self-training (Xie, Girshick & Farhadi 2016) and IDEC's variant (Guo et al. 2017).

A cluster is a centre μ_j in code space. Each code z_i = f(x_i) belongs to it softly, by a
Student-t kernel (the one t-SNE uses):

    q_ij = (1 + ‖z_i − μ_j‖² / α)^(−(α+1)/2) / Σ_j' (...)

The target sharpens Q: it squares each assignment and divides by the cluster's total, so
confident assignments count more and large clusters do not swallow small ones:

    p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j'),    f_j = Σ_i q_ij

Training minimises KL(P ‖ Q) over the encoder and the centres, with P held fixed between
updates every ``update_interval`` steps, and stops when fewer than ``tol`` of the
assignments changed between two updates. IDEC adds the deep autoencoder's reconstruction
loss, so that the codes keep describing the data while the clusters sharpen. Both are
objectives of the one training loop (:func:`sdae.core.training.train`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from ...core.stacking import StackConfig, StackedDenoisingAutoencoder
from ...core.training import batched
from ...errors import ConfigError, check_int
from .moves import random_moves


def soft_assignment(z: Tensor, centers: Tensor, alpha: float = 1.0) -> Tensor:
    """Student-t similarity of each code to each centre, rows summing to 1.
    (n, d), (k, d) -> (n, k)."""
    squared = (z.unsqueeze(1) - centers.unsqueeze(0)).square().sum(-1)  # (n, k)
    kernel = (1 + squared / alpha).pow(-(alpha + 1) / 2)
    return kernel / kernel.sum(1, keepdim=True)


def target_distribution(q: Tensor) -> Tensor:
    """DEC's auxiliary target P: Q squared, divided by each cluster's frequency, rows
    renormalised. (n, k) -> (n, k)."""
    weight = q.square() / q.sum(0)
    return weight / weight.sum(1, keepdim=True)


def kl_divergence(p: Tensor, q: Tensor) -> Tensor:
    """KL(P ‖ Q) per row, summed over the clusters; 0·log 0 counts as 0. Shape (n,)."""
    return (torch.xlogy(p, p) - p * q.log()).sum(1)


@dataclass
class ClusteringConfig:
    """A clustering model: its stack (the encoder) and its centres in code space."""

    stack: StackConfig
    n_clusters: int
    alpha: float = 1.0

    def __post_init__(self) -> None:
        self.n_clusters = check_int(self.n_clusters, "n_clusters")
        if not self.alpha > 0:
            raise ConfigError(f"alpha (the Student-t's degrees of freedom) must be > 0, got "
                              f"{self.alpha!r}")

    def to_dict(self) -> dict:
        return {**asdict(self), "stack": self.stack.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> ClusteringConfig:
        return cls(StackConfig.from_dict(d["stack"]), d["n_clusters"], d.get("alpha", 1.0))


class ClusteringModel(nn.Module):
    """An encoder (a stack of DAEs, its decoders kept for IDEC) and ``n_clusters`` centres
    in its code space; ``forward`` is the soft assignment Q, (n, d) -> (n, k)."""

    def __init__(self, stack: StackedDenoisingAutoencoder, n_clusters: int,
                 alpha: float = 1.0) -> None:
        super().__init__()
        checked = ClusteringConfig(stack.config, n_clusters, alpha)
        self.stack, self.alpha = stack, float(checked.alpha)
        self.centers = nn.Parameter(torch.zeros(checked.n_clusters, stack.hidden_sizes[-1]))

    @classmethod
    def from_config(cls, config: ClusteringConfig | dict) -> ClusteringModel:
        if isinstance(config, dict):
            config = ClusteringConfig.from_dict(config)
        return cls(StackedDenoisingAutoencoder.from_config(config.stack), config.n_clusters,
                   config.alpha)

    @property
    def config(self) -> ClusteringConfig:
        return ClusteringConfig(self.stack.config, self.n_clusters, self.alpha)

    @property
    def n_clusters(self) -> int:
        return self.centers.shape[0]

    @property
    def n_visible(self) -> int:
        return self.stack.n_visible

    def encode(self, x: Tensor) -> Tensor:
        """The clean code; (n, d) -> (n, d')."""
        return self.stack.encode(x)

    def forward(self, x: Tensor) -> Tensor:
        return soft_assignment(self.encode(x), self.centers, self.alpha)

    def predict(self, x: Tensor) -> Tensor:
        """The most likely cluster of each row: the nearest centre; (n,) int64."""
        with torch.no_grad():
            return self(x).argmax(-1)


@dataclass
class SelfTraining:
    """DEC's objective (``gamma=0``) or IDEC's (``gamma > 0``) for the training loop.

    The loop's data are ``(x, index)``, ``index`` the row numbers ``arange(n)``, so that a
    batch finds its rows of the target P. Every ``update_interval`` steps P is recomputed
    from the whole of ``x``; when fewer than ``tol`` of the assignments changed since the
    last update, ``converged`` is set and the loop ends after that step.

    IDEC's loss is the reconstruction loss (per component, as IDEC's mean squared error)
    plus ``gamma`` × KL(P ‖ Q); DEC's is KL(P ‖ Q) alone.

    With ``moves`` > 0 (rows that are square images), each batch is encoded moved
    (:func:`.moves.random_moves`, DEC-DA): Q is that of the moved images, P stays that of
    the images as they are, and IDEC reconstructs the clean image from the moved one, as a
    DAE does (DEC-DA's code reconstructs the moved image).
    """

    x: Tensor
    update_interval: int = 140
    tol: float = 0.001
    gamma: float = 0.0
    moves: float = 0.0
    steps: int = 0
    converged: bool = False
    changed: list[float] = field(default_factory=list)  # the share changed at each update
    target: Tensor | None = field(default=None, repr=False)
    labels: Tensor | None = field(default=None, repr=False)

    def update(self, model: ClusteringModel) -> None:
        """Recompute the target P and the assignments from the whole data."""
        training = model.training
        model.eval()
        q = batched(model, self.x)
        model.train(training)
        labels = q.argmax(1)
        if self.labels is not None:
            self.changed.append(float((labels != self.labels).float().mean()))
            self.converged = self.changed[-1] < self.tol
        self.labels, self.target = labels, target_distribution(q)

    def __call__(self, model: ClusteringModel, batch, generator: torch.Generator,
                 rows: slice | None = None) -> Tensor:
        if self.steps % self.update_interval == 0:
            self.update(model)
        self.steps += 1
        rows = slice(None) if rows is None else rows
        x, index = batch[0][rows], batch[1][rows]
        # the moves are drawn for the whole batch, as a corruption is (see train's rows)
        inputs = random_moves(batch[0], self.moves, generator)[rows] if self.moves else x
        z = model.encode(inputs)
        loss = kl_divergence(self.target[index], soft_assignment(z, model.centers,
                                                                 model.alpha)).mean()
        if self.gamma:  # the same code, decoded by the mirrored decoders
            logits = model.stack.decode_logits(z)
            reconstruction = model.stack.layers[0].reconstruction_error(logits, x)
            loss = reconstruction.mean() / x.shape[1] + self.gamma * loss
        return loss

    def __repr__(self) -> str:
        return f"SelfTraining(gamma={self.gamma}, moves={self.moves})"
