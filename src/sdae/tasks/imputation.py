"""Missing-value imputation with a denoising autoencoder.

A missing entry is a corrupted component: the network sees the table with missing entries
set to 0 (masking noise that nature applied) beside the mask of what it sees, is trained
to reconstruct the observed entries from a copy with *more* of them masked at random, and
fills a missing entry with its reconstruction, one deterministic pass per row (Vincent et
al. 2010, section 2.3; Gondara & Wang 2018). Numeric columns are scaled to [0, 1] and
reconstructed with the cross-entropy of the sigmoid outputs; a categorical column is
one-hot encoded and reconstructed with a softmax over its categories. Only observed
entries count in the loss.

Shapes: a table X is (n, p) with p original columns; its encoding is (n, m), m = number of
numeric columns + the sum of the categories of the categorical ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.autoencoder import emphasis_weights
from ..core.batches import clip_batch_size, steps_per_epoch
from ..core.corruption import masking
from ..core.stacking import StackedDenoisingAutoencoder
from ..core.training import History, TrainConfig, batched, train
from ..errors import ConfigError, check_int
from .table_encoding import TableEncoding, category_targets


def entry_losses(encoding: TableEncoding, logits: Tensor, x: Tensor, targets: Tensor,
                 numeric: Tensor | None = None) -> Tensor:
    """The reconstruction loss of every entry, one per original column; (n, p).

    Cross-entropy of the sigmoid output for a numeric column, of the softmax over its
    one-hot block for a categorical one (a missing category's loss is meaningless: mask it).
    ``numeric``: the numeric columns' indices already on the device, if at hand.
    """
    losses = torch.empty(len(x), encoding.n_columns, dtype=x.dtype, device=x.device)
    if numeric is None:
        numeric = torch.as_tensor(encoding.numeric, device=x.device)
    k = len(encoding.numeric)
    losses[:, numeric] = \
        F.binary_cross_entropy_with_logits(logits[:, :k], x[:, :k], reduction="none")
    for c, (j, cats) in enumerate(zip(encoding.categorical, encoding.categories, strict=True)):
        losses[:, j] = F.cross_entropy(logits[:, k:k + len(cats)], targets[:, c].clamp(min=0),
                                       reduction="none")
        k += len(cats)
    return losses


def imputation_objective(encoding: TableEncoding, noise_level: float,
                         emphasis: tuple[float, float] = (1.0, 1.0)):
    """``objective(model, (x, observed, targets), generator)`` for :func:`train`: ``x`` the
    (n, m) encoding, ``observed`` the (n, p) mask, ``targets`` the category indices.

    Masking noise drops whole original columns (all of a categorical one-hot block) with
    probability ``noise_level``; the loss is the reconstruction of every observed entry,
    weighted ``emphasis = (α, β)``: α for the entries the noise dropped, β for those the
    network saw (emphasised denoising, Vincent et al. 2010, section 4.4). Filling in a
    missing entry is the dropped case, so α > β spends the network on what it is for.
    """
    # column indices on the device, made once: a copy from the host in every step would
    # wait for a GPU each time
    indices: dict[torch.device, tuple[Tensor, Tensor]] = {}

    def objective(model, batch, generator, rows=slice(None)):
        x, observed, targets = batch  # (n, m), (n, p) bool, (n, n_categorical) long
        if x.device not in indices:
            indices[x.device] = (torch.as_tensor(encoding.feature_of_input, device=x.device),
                                 torch.as_tensor(encoding.numeric, device=x.device))
        feature, numeric = indices[x.device]
        # masking noise on the (n, p) grid of observed columns, each column's draw then
        # spread over its inputs (all of a one-hot block go together)
        _, drop = masking(observed, noise_level, generator, with_mask=True)
        x, observed, targets, drop = x[rows], observed[rows], targets[rows], drop[rows]
        logits = model.reconstruction_logits(network_input(x, observed, ~drop[:, feature],
                                                           feature))
        weights = emphasis_weights(drop, emphasis, x.dtype) * observed
        return (entry_losses(encoding, logits, x, targets, numeric) * weights).sum() / len(x)

    return objective


def network_input(x: Tensor, observed: Tensor, keep: Tensor, feature: Tensor) -> Tensor:
    """The corrupted values beside the mask of what the network sees, (n, 2m): without the
    mask a 0 that was dropped looks like a 0 that was measured."""
    seen = keep & observed[:, feature.to(x.device)]
    return torch.cat([x * seen, seen.to(x.dtype)], dim=1)


def fit_imputer(
    encoding: TableEncoding,
    X: np.ndarray,
    hidden: Sequence[int],
    noise_level: float,
    config: TrainConfig,
    generator: torch.Generator,
    *,
    emphasis: tuple[float, float] = (1.0, 1.0),
    validation_fraction: float = 0.0,
    **options,
) -> tuple[StackedDenoisingAutoencoder, History]:
    """Train a deep DAE (encoders and mirrored decoders, trained end to end) to impute.

    ``validation_fraction`` of the observed entries are hidden from training and the run
    ends with the parameters that reconstructed them best (early stopping without a
    schedule to tune, at the price of those entries: on the small Breast table a fixed
    schedule did better).
    """
    model = StackedDenoisingAutoencoder(2 * encoding.width, list(hidden), corruption="none",
                                        noise_levels=0.0, generator=generator, **options)
    x, observed = encoding.encode(X)
    x, targets = torch.from_numpy(x), torch.from_numpy(category_targets(encoding, x))
    observed = torch.from_numpy(observed)
    held_out = torch.zeros_like(observed)
    if validation_fraction > 0:
        held_out = observed & (torch.rand(observed.shape, generator=generator)
                               < validation_fraction)
    training = observed & ~held_out
    evaluate = None
    if held_out.any():
        device = config.torch_device
        feature = torch.as_tensor(encoding.feature_of_input)
        shown = network_input(x, training, torch.ones(x.shape, dtype=torch.bool), feature)
        shown, x_dev, targets_dev = shown.to(device), x.to(device), targets.to(device)
        held = held_out.to(device, x.dtype)

        def evaluate(m: nn.Module) -> float:  # mean loss of the held-out entries
            logits = batched(m.reconstruction_logits, shown)
            return float((entry_losses(encoding, logits, x_dev, targets_dev) * held).sum()
                         / held.sum())

    history = train(model, imputation_objective(encoding, noise_level, emphasis),
                    (x, training, targets), config, evaluate=evaluate,
                    keep_best=evaluate is not None, description="impute")
    return model.cpu().eval(), history


def impute(model: StackedDenoisingAutoencoder, encoding: TableEncoding, X: np.ndarray,
           noise_level: float = 0.0, generator: torch.Generator | None = None) -> np.ndarray:
    """``X`` with every missing entry filled; with ``noise_level`` > 0, one random draw
    (observed columns dropped at random before reconstructing), for multiple imputation."""
    x, observed = encoding.encode(X)
    feature = torch.as_tensor(encoding.feature_of_input)
    drop = torch.zeros(observed.shape, dtype=torch.bool)
    if noise_level > 0:
        drop = torch.rand(observed.shape, generator=generator) < noise_level
    inputs = network_input(torch.from_numpy(x), torch.from_numpy(observed), ~drop[:, feature],
                           feature)
    logits = batched(model.reconstruction_logits, inputs).numpy()
    return encoding.decode(logits, X, observed)


# The schedule: about this many parameter updates, whatever the size of the table (small
# tables get more epochs), with the learning rate decaying to a twentieth over the run.
UPDATES = 80_000
MIN_EPOCHS, MAX_EPOCHS = 20, 2000
LR_DECAY_OVER_RUN = 20


@dataclass(frozen=True)
class ImputerSettings:
    """The options of an imputation run (the parameters of ``DAEImputer`` and of
    ``sdae impute``; see :func:`impute_table`), checked once here for every face."""

    hidden_sizes: tuple[int, ...] = (256, 256)
    noise_level: float = 0.25
    emphasis: tuple[float, float] = (0.75, 0.25)
    n_imputations: int = 1
    tied: bool = False
    optimizer: str = "adam"
    lr: float = 1e-2
    epochs: int | None = None
    batch_size: int = 128
    validation_fraction: float = 0.0
    device: str = "cpu"
    progress: bool = False

    def __post_init__(self) -> None:
        sizes = np.atleast_1d(self.hidden_sizes).tolist()
        object.__setattr__(self, "hidden_sizes",
                           tuple(check_int(h, "hidden_sizes") for h in sizes))
        if not 0 <= self.noise_level < 1:
            raise ConfigError(f"noise_level must be in [0, 1), got {self.noise_level!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ConfigError("validation_fraction must be in [0, 1), got "
                              f"{self.validation_fraction!r}")
        emphasis = np.asarray(self.emphasis, dtype=float).ravel()
        if len(emphasis) != 2 or not (emphasis >= 0).all() or not emphasis.any():
            raise ConfigError(f"emphasis must be two weights (alpha, beta) >= 0, not both 0, "
                              f"got {self.emphasis!r}")
        object.__setattr__(self, "emphasis", (float(emphasis[0]), float(emphasis[1])))
        check_int(self.n_imputations, "n_imputations")
        check_int(self.batch_size, "batch_size")
        if self.epochs is not None:
            check_int(self.epochs, "epochs")


def run_seed(random_state: int | np.random.RandomState | None) -> int:
    """The int seed of a run, drawn from ``random_state`` as scikit-learn's estimators draw
    theirs: ``DAEImputer(random_state=s)``, ``sdae impute --seed s`` and the imputation
    experiment with seed s train the same network."""
    if not isinstance(random_state, np.random.RandomState):
        random_state = np.random.RandomState(random_state)
    return int(random_state.randint(np.iinfo(np.int32).max))


def imputation_schedule(n_rows: int, batch_size: int = 128, *, epochs: int | None = None,
                        lr: float = 1e-2, optimizer: str = "adam", seed: int = 0,
                        device: str = "cpu", progress: bool = False) -> TrainConfig:
    """The training schedule of an imputer: ``epochs`` (None: enough for about
    :data:`UPDATES` updates, at least 20 and at most 2000 epochs), the learning rate
    decaying exponentially from ``lr`` to a twentieth of it over the run.

    One schedule for every table: how long to train is the question a user cannot answer,
    and a number of updates carries from a table of 500 rows to one of 20 000.
    ``batch_size`` is clipped to ``n_rows``.
    """
    batch_size = clip_batch_size(batch_size, n_rows)
    if epochs is None:
        epochs = min(MAX_EPOCHS, max(MIN_EPOCHS,
                                     math.ceil(UPDATES / steps_per_epoch(n_rows, batch_size))))
    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr,
                       lr_decay=(1 / LR_DECAY_OVER_RUN) ** (1 / epochs), optimizer=optimizer,
                       seed=seed, device=device, progress=progress)


def fit_table_imputer(X: np.ndarray, categorical: Sequence[int], settings: ImputerSettings,
                      seed: int) -> tuple[TableEncoding, StackedDenoisingAutoencoder, History]:
    """Learn the column encoding of ``X`` (an (n, p) table with NaN or None where missing)
    and train an imputer on its observed entries with :func:`imputation_schedule`.

    ``seed`` (see :func:`run_seed`) draws the initial weights, the batch order, the noise and
    the held-out entries.
    """
    encoding = TableEncoding.fit(X, categorical)
    config = imputation_schedule(len(X), settings.batch_size, epochs=settings.epochs,
                                 lr=settings.lr, optimizer=settings.optimizer, seed=seed,
                                 device=settings.device, progress=settings.progress)
    model, history = fit_imputer(
        encoding, X, settings.hidden_sizes, settings.noise_level, config,
        torch.Generator().manual_seed(seed), emphasis=settings.emphasis,
        validation_fraction=settings.validation_fraction, tied=settings.tied)
    return encoding, model, history


def multiple_imputations(model: StackedDenoisingAutoencoder, encoding: TableEncoding,
                         X: np.ndarray, noise_level: float, n_imputations: int,
                         seed: int) -> np.ndarray:
    """``n_imputations`` random draws of the completed ``X`` (observed columns dropped at
    random before each reconstruction, as in training), shape (n_imputations, n, p).

    ``seed``: the same draws for the same seed (a fresh generator, not the training one).
    """
    generator = torch.Generator().manual_seed(seed)
    return np.stack([impute(model, encoding, X, noise_level, generator)
                     for _ in range(n_imputations)])


def pool_imputations(draws: np.ndarray, encoding: TableEncoding) -> np.ndarray:
    """One table from several draws (n_draws, n, p): the mean of a numeric entry, the most
    frequent category of a categorical one (the first drawn among ties).

    An entry on which every draw agrees (an observed one) is kept exactly as it was, not
    replaced by a mean of its copies, which could differ from it in the last bit.
    """
    out = draws[0].copy()
    numeric = encoding.numeric
    values = draws[:, :, numeric].astype(np.float64)
    agreed = (values == values[0]).all(0)
    out[:, numeric] = np.where(agreed, values[0], values.mean(0))
    for j in encoding.categorical:
        out[:, j] = [Counter(row).most_common(1)[0][0] for row in draws[:, :, j].T]
    return out


def fill_table(model: StackedDenoisingAutoencoder, encoding: TableEncoding, X: np.ndarray,
               noise_level: float, n_imputations: int, seed: int) -> np.ndarray:
    """``X`` with every missing entry filled: one deterministic pass, or with
    ``n_imputations`` > 1 the pool of that many draws (:func:`pool_imputations`)."""
    if n_imputations == 1:
        return impute(model, encoding, X)
    draws = multiple_imputations(model, encoding, X, noise_level, n_imputations, seed)
    return pool_imputations(draws, encoding)


def impute_table(X: np.ndarray, categorical: Sequence[int] = (),
                 settings: ImputerSettings | None = None,
                 random_state: int | np.random.RandomState | None = 0) -> np.ndarray:
    """Train an imputer on the observed entries of ``X`` and return ``X`` filled: the one
    call behind ``sdae impute`` and the experiment (the numbers of ``DAEImputer`` with the
    same options and ``random_state``, whose ``fit_transform`` is this).

    ``X``: (n, p), float with NaN, or object with the ``categorical`` columns holding any
    hashable values (None or NaN where missing).
    """
    settings = settings or ImputerSettings()
    seed = run_seed(random_state)
    encoding, model, _ = fit_table_imputer(X, categorical, settings, seed)
    return fill_table(model, encoding, X, settings.noise_level, settings.n_imputations, seed)
