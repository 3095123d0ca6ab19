"""Clustering with a stacked DAE: pre-train, fine-tune, cluster the codes, refine.

The recipe of DEC (Xie et al. 2016), on the library's own stack:

1. greedy layer-wise pre-training, each layer a DAE with masking noise on its input (DEC's
   20% input dropout) on the clean codes of the layers below (:func:`sdae.core.stacking.
   pretrain`); sigmoid units, as the SdA papers', or DEC's ReLU units (``activation``),
   and a linear top code;
2. fine-tuning as a deep autoencoder, without noise (:func:`sdae.core.stacking.
   finetune_unsupervised`); with ``finetune_moves``, on images moved a little (DEC-DA);
3. clustering the codes (:mod:`.codes`): k-means, a Gaussian mixture, or UMAP then a
   Gaussian mixture (N2D);
4. for ``dec`` and ``idec``: k-means' centres (or those of UMAP+GMM's clusters, ``init``)
   refined with the encoder by self-training (:mod:`.self_training`), in the one training
   loop; with ``moves``, on images moved a little (:mod:`.moves`, DEC-DA).

Steps 1-2 are :func:`train_stack`, shared by every method; 3-4 are :func:`cluster`.
"""

from __future__ import annotations

import copy
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...core.batches import clip_batch_size, steps_per_epoch
from ...core.stacking import StackedDenoisingAutoencoder, finetune_unsupervised, pretrain
from ...core.training import TrainConfig, batched, train
from ...errors import ConfigError, DataError, check_int, warn
from .codes import CODE_METHODS, cluster_codes, kmeans, umap_installed
from .moves import random_moves, square_side
from .self_training import ClusteringModel, SelfTraining

SELF_TRAINING = ("dec", "idec")  # the methods that refine a start by self-training
METHODS = (*CODE_METHODS, *SELF_TRAINING)
INITS = ("kmeans", "umap-gmm")  # where self-training starts
UNITS = ("sigmoid", "relu")  # the stack's hidden units: the SdA papers', or DEC's


@dataclass
class ClusteringSettings:
    """How the stack is trained and the clusters are found.

    The stack is DEC's 784-500-500-2000-10 shape for any input width: layers of
    ``activation`` units (sigmoid, as the SdA papers'; or relu, as DEC's, whose mirrored
    decoders are ReLU too), a linear code of ``hidden_sizes[-1]`` units, untied decoders.
    Each layer is pre-trained for ``pretrain_epochs`` with masking noise ``noise_level``,
    then the whole deep autoencoder for ``finetune_epochs``, all with Adam at ``lr``, their
    matrix products in ``precision`` (``bf16`` trains the stack 2.4 times as fast on a CPU
    with AMX: docs/clustering.md). With ``finetune_moves`` > 0 (rows that are square
    images) the fine-tuning reconstructs images moved as below, each batch drawn afresh,
    as DEC-DA trains its autoencoder. DEC's self-training updates its target every
    ``update_interval`` steps (``None``: :func:`target_update_interval`) and stops when
    fewer than ``tol`` of the assignments changed, or after ``self_training_steps``
    (rounded up to whole epochs); IDEC weighs its clustering loss by ``gamma``.
    Self-training starts from ``init``: k-means on the codes (DEC's and IDEC's start), or
    ``umap-gmm``, the mean code of each cluster UMAP+GMM finds (self-training cannot undo a
    start's merged clusters, and UMAP+GMM merges fewer: docs/clustering.md). With ``moves``
    > 0 (rows that are square images), self-training encodes each batch moved by up to
    that fraction of the side and turned by up to ``100 × moves`` degrees (DEC-DA's
    augmentation; 0.1 is theirs): the assignments keep changing a little, so it rarely
    stops at ``tol`` and runs its ``self_training_steps``. Self-training stays in float32:
    its Student-t kernel compares distances between codes, which bfloat16 would round to 3
    digits.
    """

    hidden_sizes: tuple[int, ...] = (500, 500, 2000, 10)
    activation: str = "sigmoid"
    noise_level: float = 0.2
    pretrain_epochs: int = 25
    finetune_epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    alpha: float = 1.0
    update_interval: int | None = None
    tol: float = 0.001
    gamma: float = 0.1
    self_training_steps: int = 20_000
    self_training_lr: float = 1e-3
    init: str = "kmeans"
    moves: float = 0.0
    finetune_moves: float = 0.0
    precision: str = "fp32"

    def __post_init__(self) -> None:
        self.hidden_sizes = tuple(check_int(h, "hidden size") for h in self.hidden_sizes)
        if not self.hidden_sizes:
            raise ConfigError("hidden_sizes: give at least one layer")
        for name in ("pretrain_epochs", "finetune_epochs", "self_training_steps"):
            setattr(self, name, check_int(getattr(self, name), name, minimum=0))
        self.batch_size = check_int(self.batch_size, "batch_size")
        if self.update_interval is not None:
            self.update_interval = check_int(self.update_interval, "update_interval")
        if not 0 <= self.noise_level < 1:
            raise ConfigError(f"noise_level (masking) must be in [0, 1), got "
                              f"{self.noise_level!r}")
        if not 0 <= self.tol < 1:
            raise ConfigError(f"tol must be in [0, 1), got {self.tol!r}")
        if not self.gamma >= 0:
            raise ConfigError(f"gamma must be >= 0, got {self.gamma!r}")
        for name in ("moves", "finetune_moves"):
            if not 0 <= getattr(self, name) <= 0.5:
                raise ConfigError(f"{name} (--{name.replace('_', '-')}: the largest shift, as "
                                  "a fraction of the image side) must be in [0, 0.5], got "
                                  f"{getattr(self, name)!r}")
        if self.activation not in UNITS:
            raise ConfigError(f"activation must be one of {', '.join(UNITS)} (the stack's "
                              f"hidden units), got {self.activation!r}")
        if self.init not in INITS:
            raise ConfigError(f"init must be one of {', '.join(INITS)} (where DEC's and "
                              f"IDEC's self-training starts), got {self.init!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ClusteringResult:
    """What :func:`cluster` found: the model (encoder and centres), the label of each row
    by the method itself, and a record (the method, seconds, histories)."""

    model: ClusteringModel
    labels: np.ndarray
    method: str
    record: dict = field(default_factory=dict)


def resolve_method(method: str, init: str = "kmeans") -> str:
    """``auto``: UMAP then a Gaussian mixture when umap-learn is installed (the best
    measured, docs/clustering.md), else IDEC; any other name is checked and kept, and so
    is where DEC and IDEC start (``init``)."""
    if method == "auto":
        return "umap-gmm" if umap_installed() else "idec"
    if method not in METHODS:
        raise ConfigError(f"unknown clustering method {method!r}: use auto or one of "
                          f"{', '.join(METHODS)}")
    if method == "umap-gmm" and not umap_installed():
        raise ConfigError('the method umap-gmm needs umap-learn: pip install "sdae[umap]", '
                          "or choose kmeans, gmm, dec or idec")
    if method in SELF_TRAINING and init == "umap-gmm" and not umap_installed():
        raise ConfigError(f'{method} from umap-gmm needs umap-learn: pip install '
                          '"sdae[umap]", or start from kmeans')
    return method


def check_method(method: str, settings: ClusteringSettings, n_features: int) -> str:
    """``method`` resolved (:func:`resolve_method`) and checked against the settings and
    the rows' width before any training: moves need square images (the stack's
    fine-tuning moves them with ``finetune_moves``; self-training, DEC's and IDEC's, with
    ``moves``, which no other method has)."""
    method = resolve_method(method, settings.init)
    if settings.finetune_moves:
        square_side(n_features, "finetune_moves")
    if settings.moves and method not in SELF_TRAINING:
        raise ConfigError(f"moves (--moves) are for self-training, dec and idec, not "
                          f"{method}: choose dec or idec, or leave moves at 0 (or move the "
                          "images in the stack's fine-tuning: --finetune-moves)")
    if settings.moves:
        square_side(n_features, "moves")
    return method


def check_clustering_data(x: np.ndarray, n_clusters: int) -> None:
    """The one check of the data a clustering is fitted on (what scikit-learn's
    ``validate_data`` leaves to us): enough rows and features, finite values."""
    n_clusters = check_int(n_clusters, "n_clusters")
    if x.ndim != 2:
        raise DataError(f"the data must be a table (n_samples, n_features), got shape "
                        f"{x.shape}")
    n, d = x.shape
    if n < n_clusters:
        raise DataError(f"n_samples={n} is fewer than n_clusters={n_clusters}: ask for at "
                        "most as many clusters as there are rows")
    if d < 2:
        raise DataError(f"the data have {d} feature(s), but an autoencoder clustering needs "
                        "at least 2: cluster one feature by sorting it, or with k-means")
    if not np.isfinite(x).all():
        raise DataError("the data contain NaN or infinite values: remove or impute them "
                        "(sdae impute)")


def build_stack(n_features: int, settings: ClusteringSettings, seed: int,
                decoder: str) -> StackedDenoisingAutoencoder:
    """DEC's stack shape: layers of ``settings.activation`` units, a linear top code,
    untied, masking noise on each layer's input."""
    n = len(settings.hidden_sizes)
    return StackedDenoisingAutoencoder(
        n_features, settings.hidden_sizes, corruption="masking",
        noise_levels=settings.noise_level,
        activation=[settings.activation] * (n - 1) + ["linear"],
        tied=False, decoder=decoder, generator=torch.Generator().manual_seed(seed))


def data_decoder(x: np.ndarray) -> str:
    """The bottom decoder the data call for: a sigmoid (cross-entropy) for data in [0, 1],
    linear (squared error) otherwise."""
    return "sigmoid" if x.size and x.min() >= 0 and x.max() <= 1 else "linear"


def target_update_interval(settings: ClusteringSettings, n: int) -> int:
    """The steps between two updates of DEC's target on ``n`` rows: the one set, or by
    default once per epoch but at least every 140 steps.

    IDEC's paper sets 140 on MNIST (half of its 273 steps an epoch) and 30 on USPS (of 36).
    A fixed 140 left USPS's target unchanged for four epochs at a time, and IDEC 1.7
    points lower on seed 0 (docs/clustering.md)."""
    if settings.update_interval is not None:
        return settings.update_interval
    return min(140, steps_per_epoch(n, clip_batch_size(settings.batch_size, n)))


def _config(settings: ClusteringSettings, epochs: int, n: int, seed: int, device: str,
            progress: bool | None, lr: float | None = None,
            precision: str | None = None) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=clip_batch_size(settings.batch_size, n),
                       lr=lr or settings.lr, optimizer="adam", seed=seed, device=device,
                       progress=progress, precision=precision or settings.precision)


def train_stack(x: np.ndarray, settings: ClusteringSettings, seed: int = 0,
                device: str = "cpu", progress: bool | None = None,
                checkpoint_dir: str | os.PathLike | None = None
                ) -> tuple[StackedDenoisingAutoencoder, dict]:
    """Steps 1-2: the stack pre-trained greedily, then fine-tuned as a deep autoencoder.
    Returns the stack and a record (histories, and the seconds of each phase's epochs).
    With ``checkpoint_dir`` both phases checkpoint there, and a killed run continues where
    it stopped; the seconds then include the epochs run before, as the checkpoints
    recorded them, so a stack restored whole still says how long it took to train."""
    stack = build_stack(x.shape[1], settings, seed, data_decoder(x))
    xt = torch.as_tensor(x, dtype=torch.float32)
    record: dict = {"pretrain_seconds": 0.0, "finetune_seconds": 0.0}
    if settings.pretrain_epochs:
        histories = pretrain(stack, xt, _config(settings, settings.pretrain_epochs, len(x),
                                                seed, device, progress),
                             checkpoint_dir=checkpoint_dir)
        record["pretrain"] = [h.to_dict() for h in histories]
        record["pretrain_seconds"] = round(sum(h.seconds for h in histories), 1)
    if settings.finetune_epochs:
        # a checkpoint of its own for fine-tuning on moved images (the pre-training is shared)
        name = (f"finetune-moves{settings.finetune_moves:g}.ckpt" if settings.finetune_moves
                else "finetune.ckpt")
        checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / name
        augment = None
        if settings.finetune_moves:
            def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
                return random_moves(batch, settings.finetune_moves, generator)
        history = finetune_unsupervised(stack, xt, _config(settings, settings.finetune_epochs,
                                                           len(x), seed, device, progress),
                                        checkpoint=checkpoint, augment=augment)
        record["finetune"] = history.to_dict()
        record["finetune_seconds"] = round(history.seconds, 1)
    return stack.cpu().eval(), record


def cluster(stack: StackedDenoisingAutoencoder, x: np.ndarray, n_clusters: int,
            method: str, settings: ClusteringSettings, seed: int = 0, device: str = "cpu",
            progress: bool | None = None,
            initial: tuple[np.ndarray, np.ndarray] | None = None) -> ClusteringResult:
    """Steps 3-4 on a trained ``stack`` (left as it is: DEC and IDEC refine a copy).

    ``initial``: the (labels, centres) that step 3 would find, found before on this stack's
    codes, so that DEC and IDEC start from them without clustering again (the experiment
    starts DEC and IDEC from its UMAP+GMM row)."""
    method = check_method(method, settings, x.shape[1])
    start = time.perf_counter()
    model = ClusteringModel(copy.deepcopy(stack), n_clusters, settings.alpha).to(device)
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    codes = batched(model.encode, xt).cpu().numpy()
    record: dict = {"method": method}
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # clusters left empty are said once, below
        warnings.filterwarnings("ignore", "Number of distinct clusters",
                                category=ConvergenceWarning)
        if initial is not None:
            labels, centers = initial
        elif method in CODE_METHODS:
            labels, centers = cluster_codes(codes, n_clusters, method, seed)
        elif settings.init == "kmeans":  # DEC's start, on the codes as they are (float32)
            labels, centers = kmeans(codes, n_clusters, seed)
        else:
            labels, centers = cluster_codes(codes, n_clusters, settings.init, seed)
    with torch.no_grad():
        model.centers.copy_(torch.as_tensor(centers, dtype=torch.float32))
    if method in SELF_TRAINING and settings.self_training_steps:
        objective = SelfTraining(xt, target_update_interval(settings, len(x)), settings.tol,
                                 settings.gamma if method == "idec" else 0.0, settings.moves)
        batch = clip_batch_size(settings.batch_size, len(x))
        epochs = math.ceil(settings.self_training_steps / steps_per_epoch(len(x), batch))
        config = _config(settings, epochs, len(x), seed, device, progress,
                         lr=settings.self_training_lr, precision="fp32")
        index = torch.arange(len(x), device=xt.device)
        history = train(model, objective, (xt, index), config,
                        description=f"{method.upper()} self-training")
        model.eval()
        labels = batched(model.predict, xt).cpu().numpy()
        record.update(init=settings.init, moves=settings.moves,
                      self_training=history.to_dict(), steps=objective.steps,
                      changed=[round(c, 5) for c in objective.changed],
                      converged=objective.converged)
    record["seconds"] = round(time.perf_counter() - start, 1)
    empty = n_clusters - len(np.unique(labels))
    if empty:  # DEC's and IDEC's self-training can empty clusters while the codes still move
        warn(f"{empty} of the {n_clusters} clusters {'is' if empty == 1 else 'are'} empty: "
             "ask for fewer clusters (the data may hold fewer groups, or fewer distinct "
             "rows), or train the stack longer (more pre-training and fine-tuning epochs)")
    # how far the model's own rule (the nearest centre) reproduces the method's labels:
    # all of them for k-means, DEC and IDEC; most for the Gaussian mixtures
    nearest = batched(model.eval().predict, xt).cpu().numpy()
    record["nearest_centre_agrees"] = round(float((nearest == labels).mean()), 4)
    return ClusteringResult(model.cpu().eval(), labels.astype(np.int64), method, record)


def fit_clustering(x: np.ndarray, n_clusters: int, method: str = "auto",
                   settings: ClusteringSettings | None = None, seed: int = 0,
                   device: str = "cpu", progress: bool | None = None,
                   checkpoint_dir: str | os.PathLike | None = None) -> ClusteringResult:
    """The whole recipe on ``x`` (n, d): checked, trained, clustered."""
    settings = settings or ClusteringSettings()
    x = np.asarray(x, dtype=np.float32)
    check_clustering_data(x, n_clusters)
    method = check_method(method, settings, x.shape[1])  # before the training, not after it
    stack, record = train_stack(x, settings, seed, device, progress, checkpoint_dir)
    result = cluster(stack, x, n_clusters, method, settings, seed, device, progress)
    result.record = {**record, **result.record, "settings": settings.to_dict()}
    return result
