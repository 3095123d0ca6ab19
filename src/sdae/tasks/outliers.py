"""Outlier detection with denoising autoencoders: what a DAE reconstructs badly lies off the
manifold it learned.

A DAE trained to map corrupted points back to the clean data learns where the data lie
(Vincent et al. 2010, section 3.2: the reconstruction moves a corrupted point back towards
the manifold). A point the ensemble reconstructs badly is far from the manifold; a point
whose code lies where few training codes lie is on a rarely visited part of it. The
detector is fitted without labels, on data that may contain outliers, so no single network
is trusted: an ensemble of DAEs of varied width and noise level, each on its own subsample
of the rows (in the spirit of RandNet, Chen et al. 2017, and of IsolationForest's
subsampling), votes.

Each model m gives two scores per row, both higher for more abnormal rows:

- ``error``: the squared reconstruction error of the clean row, each feature's error
  divided by that feature's mean error on the training rows (so that no feature dominates
  because it is hard to reconstruct everywhere);
- ``density``: the mean distance of the row's code to its ``neighbors`` nearest training
  codes (a point with few codes near its own is rare on the manifold).

Each score is standardised by its median and interquartile range over the training rows,
and the detector's score is the mean over models and the chosen components.

Shapes: X is (n, d); codes (n, h_m); scores (n,).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from ..core.autoencoder import DenoisingAutoencoder
from ..core.training import TrainConfig, train_autoencoder
from ..errors import ConfigError, DataError, ModelFileError

COMPONENTS = ("error", "density")


@dataclass
class DetectorSettings:
    """The ensemble and how each of its DAEs is trained; the defaults need no tuning per
    data set (there are no labels to tune them on)."""

    n_models: int = 20
    width_range: tuple[float, float] = (0.5, 2.0)  # hidden units per input feature
    min_width: int = 8
    max_width: int = 256
    noise_range: tuple[float, float] = (0.1, 0.5)  # Gaussian σ on standardised features
    corruption: str = "gaussian"
    max_samples: int = 256  # rows each DAE is trained on (a subsample of the data)
    updates: int = 1000  # Adam steps per DAE, whatever the size of the data
    batch_size: int = 64
    lr: float = 1e-3
    components: tuple[str, ...] = COMPONENTS
    neighbors: int = 10
    activation: str = "sigmoid"

    def __post_init__(self) -> None:
        self.components = tuple(self.components)
        unknown = set(self.components) - set(COMPONENTS)
        if unknown or not self.components:
            raise ConfigError(f"components must be some of {', '.join(COMPONENTS)}, got "
                              f"{list(self.components)}")
        for name in ("n_models", "min_width", "max_width", "max_samples", "updates",
                     "batch_size", "neighbors"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("width_range", "noise_range"):
            try:
                value = tuple(float(v) for v in getattr(self, name))
            except (TypeError, ValueError):
                value = ()
            if len(value) != 2 or not 0 < value[0] <= value[1] < math.inf:
                raise ConfigError(f"{name} must be (low, high) with 0 < low <= high, got "
                                  f"{getattr(self, name)}")
            setattr(self, name, value)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class OutlierDetectorConfig:
    """What a fitted detector is made of: its settings and each DAE's shape and noise."""

    n_features: int
    widths: list[int]
    noise_levels: list[float]
    n_codes: list[int]  # training codes each DAE keeps for the density score
    settings: DetectorSettings = field(default_factory=DetectorSettings)

    def __post_init__(self) -> None:
        if isinstance(self.settings, dict):
            self.settings = DetectorSettings(**self.settings)

    def to_dict(self) -> dict:
        return asdict(self)


class OutlierDetector(nn.Module):
    """A fitted ensemble of DAEs and what its scores are measured against (buffers, so that
    the whole detector is one model file).

    Buffers: ``mean``, ``scale`` (d,): the training data's per-feature centre and scale (a
    constant feature gets scale 1, so a new row that differs there stands out); for each
    DAE m, ``feature_error_m`` (d,): each feature's mean squared error on the training
    rows; ``codes_m`` (n_m, h_m): the codes of the rows it was trained on; ``centre_m``,
    ``spread_m`` (2,): the median and interquartile range of each component's score on
    the training data.
    """

    def __init__(self, config: OutlierDetectorConfig) -> None:
        super().__init__()
        self.config = config
        d = config.n_features
        s = config.settings
        self.daes = nn.ModuleList(
            DenoisingAutoencoder(d, width, tied=False, activation=s.activation,
                                 decoder="linear", corruption=s.corruption, noise_level=noise)
            for width, noise in zip(config.widths, config.noise_levels, strict=True))
        self.register_buffer("mean", torch.zeros(d, dtype=torch.float64))
        self.register_buffer("scale", torch.ones(d, dtype=torch.float64))
        for m, (width, n) in enumerate(zip(config.widths, config.n_codes, strict=True)):
            self.register_buffer(f"feature_error_{m}", torch.ones(d))
            self.register_buffer(f"codes_{m}", torch.zeros(n, width, dtype=torch.float64))
            self.register_buffer(f"centre_{m}", torch.zeros(len(COMPONENTS), dtype=torch.float64))
            self.register_buffer(f"spread_{m}", torch.ones(len(COMPONENTS), dtype=torch.float64))

    @classmethod
    def from_config(cls, config: OutlierDetectorConfig | dict) -> OutlierDetector:
        return cls(config if isinstance(config, OutlierDetectorConfig)
                   else OutlierDetectorConfig(**config))

    def standardise(self, X: np.ndarray, dtype: torch.dtype = torch.float32) -> Tensor:
        """(n, d) float64 rows -> standardised tensor of ``dtype``."""
        mean, scale = self.mean.cpu().numpy(), self.scale.cpu().numpy()
        return torch.from_numpy((X - mean) / scale).to(dtype)

    def component_scores(self, x: Tensor, m: int) -> Tensor:
        """The raw scores of DAE ``m``'s components for standardised rows ``x``, (n, 2), in
        the order of :data:`COMPONENTS` (higher is more abnormal). A training code equal to
        the row's own is the row itself (or a duplicate of it): the density leaves one such
        out, so that a training row is scored as a new row is."""
        dae = self.daes[m]
        with torch.no_grad():
            error = ((dae(x) - x) ** 2 / getattr(self, f"feature_error_{m}")).mean(dim=1)
            density = _knn_distance(dae.encode(x), getattr(self, f"codes_{m}"),
                                    self.config.settings.neighbors)
        return torch.stack([error, density], dim=1)

    def combine(self, raws: Sequence[Tensor], components: Sequence[str] | None = None
                ) -> Tensor:
        """The detector's score from each DAE's raw component scores ``raws`` (n, 2): the
        mean over DAEs and ``components`` of each score's distance from its training median,
        in interquartile ranges (0: a typical training row)."""
        chosen = [COMPONENTS.index(c) for c in (components or self.config.settings.components)]
        total = torch.zeros(len(raws[0]), dtype=torch.float64)
        for m, raw in enumerate(raws):
            z = (raw.double() - getattr(self, f"centre_{m}")) / getattr(self, f"spread_{m}")
            total += z[:, chosen].sum(dim=1)
        return total / (len(raws) * len(chosen))

    def score(self, x: Tensor, components: Sequence[str] | None = None) -> Tensor:
        """The detector's score of standardised rows ``x``, (n,) (see :meth:`combine`)."""
        return self.combine([self.component_scores(x, m) for m in range(len(self.daes))],
                            components)


def check_table(X: np.ndarray, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """``X`` as a finite float64 (n, d) array, or a one-line error that says what to fix."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise DataError(f"{name} must be a table (rows × features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise DataError(f"{name} has missing or infinite values: fill them in first (for "
                        "example with 'sdae impute') or drop those rows")
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"{name} has {X.shape[1]} features, but the detector was fitted on "
                        f"{n_features}: give rows with the same columns")
    return X


def fit_detector(X: np.ndarray, settings: DetectorSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> tuple[OutlierDetector, np.ndarray]:
    """Fit the ensemble on ``X`` (rows that may include outliers; no labels).

    Returns the detector and the training rows' scores (what a threshold on the share of
    outliers in ``X`` is taken from; the same as ``outlier_scores(detector, X)``).
    """
    settings = settings or DetectorSettings()
    X = check_table(X)
    if len(X) < 2:
        raise DataError(f"need at least 2 rows to fit an outlier detector, got {len(X)}")
    std = X.std(axis=0)
    varies = std > 1e-12 * (1 + np.abs(X).max(axis=0))
    if not varies.any():
        raise DataError("every feature of X is constant: there is nothing to tell rows apart")
    n, d = X.shape
    rng = np.random.default_rng(seed)
    low, high = (math.log2(v) for v in settings.width_range)
    widths = [int(np.clip(round(d * 2 ** rng.uniform(low, high)), settings.min_width,
                          settings.max_width)) for _ in range(settings.n_models)]
    noises = [float(rng.uniform(*settings.noise_range)) for _ in range(settings.n_models)]
    subsets = [torch.from_numpy(rng.permutation(n)[: min(n, settings.max_samples)])
               for _ in range(settings.n_models)]
    detector = OutlierDetector(OutlierDetectorConfig(d, widths, noises,
                                                     [len(r) for r in subsets], settings))
    detector.mean.copy_(torch.from_numpy(X.mean(axis=0)))
    detector.scale.copy_(torch.from_numpy(np.where(varies, std, 1.0)))
    x = detector.standardise(X)
    for m, rows in enumerate(subsets):
        part = x[rows]
        dae = detector.daes[m]
        dae.reset_parameters(torch.Generator().manual_seed(seed * 1000 + m))
        batch = min(settings.batch_size, len(part))
        epochs = max(1, math.ceil(settings.updates * batch / len(part)))
        config = TrainConfig(epochs=epochs, batch_size=batch, lr=settings.lr,
                             optimizer="adam", seed=seed * 1000 + m, device=device,
                             progress=False)
        train_autoencoder(dae, part, config, check_input=False)
        dae.cpu().eval()
        with torch.no_grad():
            getattr(detector, f"feature_error_{m}").copy_(
                ((dae(part) - part) ** 2).mean(dim=0).clamp_min(1e-6))
    # the reference codes and each component's centre and spread on the training rows,
    # computed in float64 as scores are (so a training row finds its own code again)
    scoring = _in_float64(detector)
    x64 = scoring.standardise(X, torch.float64)
    raws = []
    for m, rows in enumerate(subsets):
        with torch.no_grad():
            codes = scoring.daes[m].encode(x64[rows])
        for model in (detector, scoring):
            getattr(model, f"codes_{m}").copy_(codes)
        raw = scoring.component_scores(x64, m)
        centre, spread = _centre_and_spread(raw)
        for model in (detector, scoring):
            getattr(model, f"centre_{m}").copy_(centre)
            getattr(model, f"spread_{m}").copy_(spread)
        raws.append(raw)
    return detector.eval(), scoring.combine(raws).numpy()


def _centre_and_spread(raw: Tensor) -> tuple[Tensor, Tensor]:
    """Median and interquartile range of each column of ``raw`` (n, k). Where half the rows
    or more tie (duplicated rows, say) the range is (nearly) 0: it is floored at 5% of the
    column's root mean square (else 1), so that a slightly different row is not thousands
    of ranges away."""
    q25, q50, q75 = torch.quantile(raw, torch.tensor([0.25, 0.5, 0.75], dtype=raw.dtype), dim=0)
    floor = 0.05 * raw.pow(2).mean(dim=0).sqrt()
    floor = torch.where(floor > 0, floor, torch.ones_like(floor))
    return q50, torch.maximum(q75 - q25, floor)


def _in_float64(detector: OutlierDetector) -> OutlierDetector:
    """A float64 copy: scores that do not depend on how the rows are batched."""
    return copy.deepcopy(detector).double()


SAME_CODE = 1e-9  # codes closer than this are one (float64 rounding of the same row)


def _knn_distance(queries: Tensor, reference: Tensor, k: int, chunk: int = 2048) -> Tensor:
    """Mean Euclidean distance of each query to its ``k`` nearest reference points, one
    reference point equal to the query (the query itself, or a duplicate) left out."""
    k = min(k, len(reference) - 1)
    if k < 1:
        return queries.new_zeros(len(queries))
    out = []
    for part in queries.split(chunk):
        # cdist finds the nearest fast, through |a|² + |b|² - 2ab, whose rounding can leave a
        # row's distance to itself above zero (by how much depends on the rows around it);
        # their distances are then computed again from the differences, exactly
        candidates = torch.cdist(part, reference).topk(k + 1, dim=1, largest=False).indices
        nearest = (part[:, None, :] - reference[candidates]).norm(dim=2).sort(dim=1).values
        itself = nearest[:, :1] <= SAME_CODE
        out.append(torch.where(itself, nearest[:, 1:], nearest[:, :-1]).mean(dim=1))
    return torch.cat(out)


def outlier_scores(detector: OutlierDetector, X: np.ndarray,
                   components: Sequence[str] | None = None) -> np.ndarray:
    """The detector's score of each row of ``X``, (n,): higher is more abnormal (0 is a
    typical training row; 1 is an interquartile range of the training scores above it)."""
    X = check_table(X, n_features=detector.config.n_features)
    scoring = _in_float64(detector)
    return scoring.score(scoring.standardise(X, torch.float64), components).numpy()


TUKEY = 1.5  # contamination "auto": the upper fence Q3 + 1.5 IQR of the training scores


def check_contamination(contamination: float | str) -> float | str:
    """"auto" or a share in (0, 0.5]; checked before a fit, not after it."""
    if contamination == "auto" or (isinstance(contamination, (int, float))
                                   and not isinstance(contamination, bool)
                                   and 0 < contamination <= 0.5):
        return contamination
    raise ConfigError(f"contamination must be 'auto' or a share in (0, 0.5], got "
                      f"{contamination!r}")


def outlier_threshold(scores: np.ndarray, contamination: float | str = "auto") -> float:
    """The outlier score above which a row is flagged, from the training rows' ``scores``:
    the ``1 - contamination`` quantile, or for "auto" Tukey's upper fence (the rows more
    than 1.5 interquartile ranges above the upper quartile), which needs no guess of the
    share of outliers."""
    if check_contamination(contamination) == "auto":
        q1, q3 = np.quantile(scores, [0.25, 0.75])
        return float(q3 + TUKEY * (q3 - q1))
    return float(np.quantile(scores, 1 - contamination))


def saved_threshold(extra: dict, path) -> float:
    """The threshold a detector's model file records (written with it by ``sdae detect
    --save`` or ``DAEOutlierDetector.save``)."""
    if not isinstance(extra.get("threshold"), (int, float)):
        raise ModelFileError(f"{path} holds an outlier detector but no threshold to flag rows "
                             "with: save detectors with 'sdae detect --train DATA --save "
                             "MODEL' or DAEOutlierDetector.save")
    return float(extra["threshold"])
