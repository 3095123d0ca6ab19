"""The denoising autoencoder: one layer, y = s(W x̃ + b), z = s'(W' y + b').

Read top to bottom: the config, the initialisation, the encoder and decoder, then the loss.
The loss is always measured against the *clean* input x, never against x̃: that is what
makes the hidden layer learn structure rather than the identity, even when it is wider
than the input (Vincent et al. 2008, section 2.3).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError, check_int
from .corruption import Corruption, check_corruption
from .fused import sgd_step_, tied_sigmoid_cross_entropy


def _identity(a: Tensor) -> Tensor:
    return a


# "linear": a code that is an affine map of the input, as the top layer of a clustering stack
# (sdae.tasks.clustering): distances between codes are not squashed by a saturating unit.
ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
               "linear": _identity}
# z = s'(a), the decoder's output from its pre-activation a: sigmoid for data in [0, 1],
# linear for real values, ReLU for values >= 0 without a bound (the codes of a ReLU layer)
DECODERS = {"sigmoid": torch.sigmoid, "linear": _identity, "relu": torch.relu}
LOSSES = ("cross_entropy", "squared_error")


@dataclass
class DAEConfig:
    """Architecture, corruption and loss of one denoising autoencoder.

    ``loss=None`` picks cross-entropy for a sigmoid decoder (data in [0, 1]) and squared
    error for a linear one (real-valued data). ``emphasis=(α, β)`` weighs the loss on the
    corrupted components by α and on the others by β (Vincent et al. 2010, section 4.3).
    """

    n_visible: int
    n_hidden: int
    tied: bool = True
    activation: str = "sigmoid"
    decoder: str = "sigmoid"
    corruption: str = "masking"
    noise_level: float = 0.0
    clip: tuple[float, float] | None = None
    loss: str | None = None
    emphasis: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self.n_visible = check_int(self.n_visible, "n_visible")
        self.n_hidden = check_int(self.n_hidden, "n_hidden")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}")
        if self.decoder not in DECODERS:
            raise ConfigError(f"decoder must be one of {', '.join(DECODERS)}")
        if self.loss is None:
            self.loss = "cross_entropy" if self.decoder == "sigmoid" else "squared_error"
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}")
        if self.loss == "cross_entropy" and self.decoder != "sigmoid":
            raise ConfigError("the cross-entropy loss needs decoder='sigmoid' (outputs in [0, 1])")
        if self.clip is not None:
            self.clip = (float(self.clip[0]), float(self.clip[1]))
            if not self.clip[0] < self.clip[1]:
                raise ConfigError(f"clip must be (low, high) with low < high, got {self.clip}")
        if self.emphasis is not None:
            self.emphasis = (float(self.emphasis[0]), float(self.emphasis[1]))
            if min(self.emphasis) < 0 or max(self.emphasis) == 0:
                raise ConfigError(f"emphasis weights (α, β) must be >= 0 and not both 0, got "
                                  f"{self.emphasis}")
        check_corruption(self.corruption, self.noise_level)

    @classmethod
    def from_dict(cls, d: dict) -> DAEConfig:
        """Inverse of :meth:`to_dict` (JSON turns the tuples into lists)."""
        d = dict(d)
        for key in ("clip", "emphasis"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)

    def make_corruption(self) -> Corruption:
        """The process q_D this config names (a layer builds it once, as it is made)."""
        return Corruption(self.corruption, self.noise_level, self.clip)

    def to_dict(self) -> dict:
        return asdict(self)


def uniform_bound(n_in: int, n_out: int, activation: str = "sigmoid") -> float:
    """Half-width of the uniform initialisation of Glorot & Bengio (2010).

    ±sqrt(6 / (n_in + n_out)) for tanh, four times that for sigmoid units.
    """
    bound = math.sqrt(6.0 / (n_in + n_out))
    return 4.0 * bound if activation == "sigmoid" else bound


class DenoisingAutoencoder(nn.Module):
    """One denoising autoencoder layer.

    Parameters
    ----------
    n_visible, n_hidden : int
        Input dimension d and code dimension d'. ``n_hidden`` may exceed ``n_visible``.
    generator : torch.Generator, optional
        Source of the initial weights, for reproducible models.
    **options
        Any other field of :class:`DAEConfig` (``tied``, ``corruption``, ``noise_level``...).

    Examples
    --------
    >>> dae = DenoisingAutoencoder(784, 500, corruption="masking", noise_level=0.25)
    >>> loss = dae.loss(torch.rand(20, 784))      # corrupts, reconstructs, compares to clean
    >>> codes = dae.encode(torch.rand(20, 784))   # (20, 500), no corruption at inference
    """

    def __init__(
        self, n_visible: int, n_hidden: int, *, generator: torch.Generator | None = None, **options
    ) -> None:
        super().__init__()
        self.config = DAEConfig(n_visible, n_hidden, **options)
        self.corruption = self.config.make_corruption()
        self.weight = nn.Parameter(torch.empty(n_hidden, n_visible))  # W: (d', d)
        self.bias = nn.Parameter(torch.zeros(n_hidden))  # b: (d',)
        self.decoder_weight = (
            None if self.config.tied else nn.Parameter(torch.empty(n_visible, n_hidden))
        )  # W': (d, d')
        self.decoder_bias = nn.Parameter(torch.zeros(n_visible))  # b': (d,)
        self.reset_parameters(generator)
        c = self.config
        self._fused = (c.tied, c.activation, c.decoder, c.loss) == (
            True, "sigmoid", "sigmoid", "cross_entropy")  # see sdae.fused

    @classmethod
    def from_config(cls, config: DAEConfig | dict) -> DenoisingAutoencoder:
        config = config if isinstance(config, DAEConfig) else DAEConfig.from_dict(config)
        options = asdict(config)
        return cls(options.pop("n_visible"), options.pop("n_hidden"), **options)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        d, h = self.config.n_visible, self.config.n_hidden
        bound = uniform_bound(d, h, self.config.activation)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound, generator=generator)
            if self.decoder_weight is not None:
                self.decoder_weight.uniform_(-bound, bound, generator=generator)
            self.bias.zero_()
            self.decoder_bias.zero_()

    @property
    def n_visible(self) -> int:
        return self.config.n_visible

    @property
    def n_hidden(self) -> int:
        return self.config.n_hidden

    @property
    def weight_prime(self) -> Tensor:
        """W' = Wᵀ when tied, else the decoder's own matrix; (d, d')."""
        return self.weight.t() if self.decoder_weight is None else self.decoder_weight

    def corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """x̃ ~ q_D(x̃ | x) with the model's corruption process."""
        return self.corruption(x, generator)

    # What a layer shares with a stack (sdae.core.stacking), so that callers never ask which
    # of the two they hold: its layers, a classifier (none) and its classes (none).
    classifier = None
    classes = None

    @property
    def layers(self) -> list[DenoisingAutoencoder]:
        """This layer alone: a DAE is a stack of one."""
        return [self]

    @property
    def hidden_sizes(self) -> list[int]:
        return [self.config.n_hidden]

    def encode(self, x: Tensor, depth: int | None = None) -> Tensor:
        """y = s(W x + b); (n, d) -> (n, d'). ``depth`` (None or 1) as for a stack."""
        if depth not in (None, 1):
            raise ConfigError(f"depth {depth}: this model has one layer")
        return ACTIVATIONS[self.config.activation](F.linear(x, self.weight, self.bias))

    def decode_logits(self, y: Tensor) -> Tensor:
        """Pre-activation of the decoder, a = W' y + b'; (n, d') -> (n, d)."""
        return F.linear(y, self.weight_prime, self.decoder_bias)

    def decode(self, y: Tensor) -> Tensor:
        """z = s'(W' y + b'); (n, d') -> (n, d)."""
        return DECODERS[self.config.decoder](self.decode_logits(y))

    def reconstruction_logits(self, x: Tensor) -> Tensor:
        """Decoder pre-activation of the clean reconstruction of x; (n, d) -> (n, d)."""
        return self.decode_logits(self.encode(x))

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction of x without corruption (inference)."""
        return self.decode(self.encode(x))

    def loss(
        self, x: Tensor, generator: torch.Generator | None = None, *, corrupt: bool = True,
        rows: slice | None = None,
    ) -> Tensor:
        """Mean over the batch of L(x, z(x̃)), with x̃ drawn from q_D and x the clean input.

        ``rows``: the loss of these rows only, the corruption still drawn for all of ``x``
        (how several processes share a batch and keep the noise of one).
        """
        weights = None
        rows = slice(None) if rows is None else rows
        if not corrupt:
            x_tilde = x = x[rows]
        elif self.config.emphasis is None:
            x_tilde, x = self.corrupt(x, generator)[rows], x[rows]
            if (self._fused and not x.requires_grad  # same value and gradients, faster
                    and not torch.is_autocast_enabled(x.device.type)):
                return tied_sigmoid_cross_entropy(x_tilde, x, self.weight, self.bias,
                                                  self.decoder_bias)
        else:
            x_tilde, mask = self.corruption.with_mask(x, generator)
            x_tilde, mask, x = x_tilde[rows], mask[rows], x[rows]
            weights = emphasis_weights(mask, self.config.emphasis, x.dtype)
        return self.reconstruction_error(self.decode_logits(self.encode(x_tilde)), x,
                                         weights).mean()

    def reconstruction_error(self, logits: Tensor, x: Tensor,
                             weights: Tensor | None = None) -> Tensor:
        """This layer's loss L(x, z) per example, from its decoder's pre-activation
        ``logits`` (the one place that pairs the loss with the decoder); shape (n,)."""
        return reconstruction_loss(logits, x, self.config.loss, weights, self.config.decoder)

    @property
    def fuses_sgd(self) -> bool:
        """Whether :meth:`sgd_step` can train this layer: the paper's default (tied,
        sigmoid, cross-entropy), without emphasis."""
        return self._fused and self.config.emphasis is None

    def sgd_step(self, x: Tensor, generator: torch.Generator | None, lr: float) -> Tensor:
        """One plain-SGD step on the denoising criterion of batch ``x``, the update written
        into the parameters as the gradients are formed (:func:`sdae.fused.sgd_step_`);
        returns the loss before the step. The same step as ``loss``, ``backward`` and
        ``torch.optim.SGD`` without momentum, with less work around the matrix products."""
        if not self.fuses_sgd:
            raise ConfigError("sgd_step needs a tied sigmoid layer with cross-entropy loss "
                              "and no emphasis: train it with loss() and an optimiser")
        return sgd_step_(self.corrupt(x, generator), x, self.weight, self.bias,
                         self.decoder_bias, lr)

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"{c.n_visible} -> {c.n_hidden}, tied={c.tied}, activation={c.activation}, "
            f"decoder={c.decoder}, corruption={self.corruption.name}({c.noise_level}), "
            f"loss={c.loss}"
        )


def emphasis_weights(mask: Tensor, emphasis: tuple[float, float],
                     dtype: torch.dtype = torch.float32) -> Tensor:
    """Weight α of each corrupted component (``mask`` True) and β of each other one.

    Emphasised denoising (Vincent et al. 2010, section 4.3): α > β spends the network on
    undoing the corruption rather than on copying what it saw. Same shape as ``mask``.
    """
    alpha, beta = emphasis
    return torch.where(mask, alpha, beta).to(dtype)


def reconstruction_loss(
    logits: Tensor, x: Tensor, loss: str = "cross_entropy", weights: Tensor | None = None,
    decoder: str = "sigmoid",
) -> Tensor:
    """Per-example reconstruction loss L(x, z), summed over components; shape (n,).

    ``logits`` is the decoder pre-activation a, and z = s'(a) the output of ``decoder``.
    Cross-entropy L_H = -Σ[x log z + (1-x) log(1-z)] (sigmoid decoders only) is computed
    from the logits, which stays finite when z saturates at 0 or 1; squared error
    Σ(z - x)² compares the output itself, so a sigmoid decoder trained on it is trained
    on what it outputs.
    """
    if loss == "cross_entropy":
        per_component = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif loss == "squared_error":
        per_component = (DECODERS[decoder](logits) - x).square()
    else:
        raise ConfigError(f"loss must be one of {', '.join(LOSSES)}")
    if weights is not None:
        per_component = per_component * weights
    return per_component.sum(dim=-1)
