"""Stacked denoising autoencoders: greedy layer-wise pre-training, then fine-tuning.

Vincent et al. (2010, section 3.5): layer k is trained as a DAE on the *clean* code of layers
1..k-1; corruption touches only layer k's own input, and only while layer k trains. Once
pre-training is over the corruption is never used again: the stack is a deterministic
encoder, fine-tuned end to end with a softmax output layer (supervised) or with its
mirrored decoder (unsupervised): :mod:`sdae.core.finetuning`, whose functions this module
also exports.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .autoencoder import DECODERS, DAEConfig, DenoisingAutoencoder
from .finetuning import classification_error, finetune, finetune_unsupervised
from .streaming import inputs_on, row_chunks
from .training import History, Objective, TrainConfig, batched, train_autoencoder

__all__ = ["StackConfig", "StackedDenoisingAutoencoder", "classification_error", "finetune",
           "finetune_unsupervised", "per_layer", "pretrain"]


def per_layer(value, n: int, name: str) -> list:
    """``value`` for each of ``n`` layers: one value (alone or in a one-item list) for all,
    or a list of exactly ``n``."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) == 1:
        values *= n
    if len(values) != n:
        raise ConfigError(f"{name}: got {len(values)} values for {n} layers: give one value, "
                          "or one per layer")
    return values


@dataclass
class StackConfig:
    """The layers of a stack (one :class:`DAEConfig` each, bottom first) and its classes.

    ``classes``: the label of each output of the softmax layer (numbers or strings, as the
    data named them); ``None`` means 0 .. n_classes-1. The model keeps them so that every
    face (the CLI's ``predict``, the estimators) answers in the user's labels.
    """

    layers: list[DAEConfig] = field(default_factory=list)
    n_classes: int | None = None
    classes: list | None = None

    def to_dict(self) -> dict:
        return {"layers": [c.to_dict() for c in self.layers], "n_classes": self.n_classes,
                "classes": self.classes}

    @classmethod
    def from_dict(cls, d: dict) -> StackConfig:
        return cls([DAEConfig.from_dict(c) for c in d["layers"]], d.get("n_classes"),
                   d.get("classes"))


class StackedDenoisingAutoencoder(nn.Module):
    """A stack of DAE layers with an optional softmax output layer.

    Parameters
    ----------
    n_visible : int
        Input dimension.
    hidden_sizes : sequence of int
        Width of each layer, bottom first.
    n_classes : int, optional
        Adds a softmax output layer on the top code, for supervised fine-tuning.
    classes : sequence, optional
        The label of each class (numbers or strings); sets ``n_classes`` when it is not
        given. Default: 0 .. n_classes-1.
    corruption, noise_levels : str / float, or one per layer
        The corruption each layer is pre-trained with.
    activation : str, or one per layer
        The nonlinearity of each layer's code (default sigmoid); a clustering stack, say,
        ends in a linear code (:mod:`sdae.tasks.clustering`).
    generator : torch.Generator, optional
        Source of the initial weights.
    **options
        Further :class:`~sdae.autoencoder.DAEConfig` fields shared by all layers
        (``tied``, ``decoder``...). Layers above the first decode into the range of the
        code below: with a sigmoid and cross-entropy when that layer is sigmoid (codes in
        [0, 1]), with a ReLU and squared error when it is ReLU (codes >= 0: the deep
        autoencoder's mirrored decoder then keeps DEC's ReLU units; linear decoders left
        it an affine map, which reconstructed MNIST far worse, docs/clustering.md), and
        linearly with squared error otherwise.
    """

    def __init__(
        self,
        n_visible: int,
        hidden_sizes: Sequence[int],
        n_classes: int | None = None,
        *,
        classes: Sequence | None = None,
        corruption: str | Sequence[str] = "masking",
        noise_levels: float | Sequence[float] = 0.25,
        generator: torch.Generator | None = None,
        **options,
    ) -> None:
        super().__init__()
        hidden_sizes = list(hidden_sizes)
        if not hidden_sizes:
            raise ConfigError("a stack needs at least one hidden layer")
        corruptions = per_layer(corruption, len(hidden_sizes), "corruption")
        levels = per_layer(noise_levels, len(hidden_sizes), "noise levels")
        activations = per_layer(options.pop("activation", "sigmoid"), len(hidden_sizes),
                                "activation")
        sizes = [n_visible, *hidden_sizes]
        layers = []
        for k, (d_in, d_out) in enumerate(pairwise(sizes)):
            layer_options = dict(options, activation=activations[k])
            if k > 0:  # the input of an upper layer is a code: in [0, 1] or >= 0
                below = activations[k - 1]
                # a decoder of the code's own kind where there is one (not for tanh)
                layer_options.update(decoder=below if below in DECODERS else "linear",
                                     loss=None, clip=None)
            layers.append(DenoisingAutoencoder(d_in, d_out, corruption=corruptions[k],
                                               noise_level=levels[k], generator=generator,
                                               **layer_options))
        self._build(layers, n_classes, classes)

    @classmethod
    def from_config(cls, config: StackConfig | dict) -> StackedDenoisingAutoencoder:
        if isinstance(config, dict):
            config = StackConfig.from_dict(config)
        stack = cls.__new__(cls)
        nn.Module.__init__(stack)
        stack._build([DenoisingAutoencoder.from_config(c) for c in config.layers],
                     config.n_classes, config.classes)
        return stack

    @property
    def config(self) -> StackConfig:
        n_classes = self.classifier.out_features if self.classifier is not None else None
        return StackConfig([layer.config for layer in self.layers], n_classes, self._classes)

    @property
    def classes(self) -> list | None:
        """The label of each output of the softmax layer (None without one)."""
        if self.classifier is None:
            return None
        return self._classes if self._classes is not None else \
            list(range(self.classifier.out_features))

    def _build(self, layers: list[DenoisingAutoencoder], n_classes: int | None,
               classes: Sequence | None = None) -> None:
        for below, above in pairwise(layers):
            if below.n_hidden != above.n_visible:
                raise ConfigError(f"layer sizes do not chain: {below.n_hidden} -> "
                                  f"{above.n_visible}")
        self.layers = nn.ModuleList(layers)
        self.classifier = None
        self._classes = None if classes is None else [_plain(c) for c in classes]
        if classes is not None:
            if n_classes is not None and n_classes != len(classes):
                raise ConfigError(f"{len(classes)} classes named for {n_classes} outputs")
            if len(set(map(repr, self._classes))) != len(classes):
                raise ConfigError(f"the class labels must differ, got {self._classes}")
            n_classes = len(classes)
        if n_classes is not None:
            if n_classes < 2:
                raise ConfigError(f"a classifier needs at least 2 classes, got {n_classes}")
            # zero start, as in the classic tutorial's logistic layer (skip_init: no draw
            # from the global generator for weights that are zeroed anyway)
            self.classifier = torch.nn.utils.skip_init(nn.Linear, layers[-1].n_hidden,
                                                       n_classes)
            with torch.no_grad():
                self.classifier.weight.zero_()
                self.classifier.bias.zero_()

    @property
    def n_visible(self) -> int:
        return self.layers[0].n_visible

    @property
    def hidden_sizes(self) -> list[int]:
        return [layer.n_hidden for layer in self.layers]

    def encode(self, x: Tensor, depth: int | None = None) -> Tensor:
        """Clean code of the first ``depth`` layers (all by default); never corrupted."""
        if depth is not None and not 1 <= depth <= len(self.layers):
            raise ConfigError(f"depth {depth}: the stack has {len(self.layers)} layers")
        for layer in self.layers[:depth]:
            x = layer.encode(x)
        return x

    def decode(self, y: Tensor) -> Tensor:
        """Mirror of :meth:`encode`: the top code back to input space through each decoder."""
        for layer in reversed(self.layers):
            y = layer.decode(y)
        return y

    def decode_logits(self, y: Tensor) -> Tensor:
        """:meth:`decode` up to the bottom decoder's pre-activation (its logits)."""
        for layer in reversed(self.layers[1:]):
            y = layer.decode(y)
        return self.layers[0].decode_logits(y)

    def reconstruction_logits(self, x: Tensor) -> Tensor:
        """Decoder pre-activation of the first layer after the whole mirrored decoder."""
        return self.decode_logits(self.encode(x))

    def forward(self, x: Tensor) -> Tensor:
        """Class scores (logits) of the softmax layer; (n, d) -> (n, n_classes)."""
        if self.classifier is None:
            raise ConfigError("this stack has no output layer: build it with n_classes")
        return self.classifier(self.encode(x))

    def predict_proba(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.softmax(self(x), dim=-1)

    def predict(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return self(x).argmax(dim=-1)

    def as_sequential(self) -> nn.Sequential:
        """The encoder (and classifier) as a plain ``nn.Sequential`` sharing these weights."""
        modules: list[nn.Module] = [_Encoder(layer) for layer in self.layers]
        if self.classifier is not None:
            modules.append(self.classifier)
        return nn.Sequential(*modules)


def _plain(label):
    """A class label as a JSON value (numpy scalars as Python numbers)."""
    label = label.item() if isinstance(label, np.generic) else label
    if not isinstance(label, bool | int | float | str):
        raise ConfigError(f"class labels must be numbers or strings, got {label!r}")
    return label


class _Encoder(nn.Module):
    """One layer's encoder y = s(Wx + b) as a module of its own (shares the parameters)."""

    def __init__(self, layer: DenoisingAutoencoder) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor) -> Tensor:
        return self.layer.encode(x)


def pretrain(
    stack: StackedDenoisingAutoencoder,
    x: Tensor | np.ndarray,
    config: TrainConfig | Sequence[TrainConfig],
    *,
    x_valid: Tensor | np.ndarray | None = None,
    keep_best: bool = False,
    noise_candidates: Sequence[float] | None = None,
    score: Callable[[DenoisingAutoencoder, Tensor, Tensor | None], float] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    objective: Objective | None = None,
    check_input: bool = True,
) -> list[History]:
    """Greedy layer-wise pre-training, bottom layer first.

    The clean codes of the trained layers are computed once per layer (not once per batch)
    and are the next layer's training data; the next layer corrupts them itself. With
    ``keep_best`` and ``x_valid``, each layer ends with the parameters of its epoch of lowest
    validation reconstruction error. ``x`` (and ``x_valid``) may be NumPy arrays on disk
    (memory-mapped ``.npy``): they are streamed, and so are the codes, written to a
    temporary folder and deleted at the end.

    With ``noise_candidates``, each layer is trained once per noise level, every time from
    the same initial weights, and the one whose code gets the lowest
    ``score(layer, train_code, valid_code)`` is kept (for example the validation error of a
    linear probe): noise levels chosen greedily, layer by layer, on held-out data.

    With ``checkpoint_dir``, each layer checkpoints its training there
    (``pretrain-layerK.ckpt``); calling again with the same directory continues where a
    killed run stopped: finished layers are restored, the interrupted one resumes.

    ``objective`` replaces each layer's denoising criterion (walkback training, say).
    ``check_input=False`` leaves out the check of ``x`` and ``x_valid`` (see
    :func:`~sdae.training.train_autoencoder`); the codes of the layers above are checked.
    """
    if (noise_candidates is None) != (score is None):
        raise ConfigError("noise_candidates and score go together: give both or neither")
    if noise_candidates is not None and isinstance(x, np.ndarray):
        raise ConfigError("the noise search scores codes held in memory: give x as a tensor")
    configs = per_layer(config, len(stack.layers), "pretraining config")
    device = configs[0].torch_device
    with tempfile.TemporaryDirectory(prefix="sdae-codes-") as scratch:
        histories = _pretrain_layers(stack, x, x_valid, configs, device, keep_best,
                                     noise_candidates, score, checkpoint_dir, objective,
                                     check_input, Path(scratch))
    stack.to(device)
    return histories


def _next_codes(layer: DenoisingAutoencoder, x: Tensor | np.ndarray, device,
                path: Path) -> Tensor | np.ndarray:
    """The clean code of ``x``: a tensor on the device, or for data streamed from disk an
    array written to ``path`` chunk by chunk (it may be as large as the data)."""
    if isinstance(x, Tensor):
        return batched(layer.encode, x)
    codes = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                      shape=(len(x), layer.n_hidden))
    start = 0
    with torch.no_grad():
        for part in row_chunks(x, device, rows=65536):
            codes[start:start + len(part)] = layer.encode(part).cpu().numpy()
            start += len(part)
    codes.flush()
    return codes


def _pretrain_layers(stack, x, x_valid, configs, device, keep_best, noise_candidates, score,
                     checkpoint_dir, objective, check_input, scratch: Path) -> list[History]:
    codes = inputs_on(x, device)
    valid = inputs_on(x_valid, device)
    histories = []
    for k, layer_config in enumerate(configs):
        description = f"pretrain layer {k + 1}"
        if noise_candidates is None:
            checkpoint = (Path(checkpoint_dir) / f"pretrain-layer{k + 1}.ckpt"
                          if checkpoint_dir is not None else None)
            history = train_autoencoder(stack.layers[k], codes, layer_config, x_valid=valid,
                                        keep_best=keep_best, checkpoint=checkpoint,
                                        description=description, objective=objective,
                                        check_input=check_input or k > 0)
        else:
            stack.layers[k], history = _select_noise_level(
                stack.layers[k], codes, valid, layer_config, noise_candidates, score,
                keep_best, description, objective)
        histories.append(history)
        if k + 1 < len(stack.layers):
            layer = stack.layers[k]
            codes = _next_codes(layer, codes, device, scratch / f"train{k + 1}.npy")
            if valid is not None:
                valid = _next_codes(layer, valid, device, scratch / f"valid{k + 1}.npy")
    return histories


def _select_noise_level(layer, codes, valid, config, levels, score, keep_best, description,
                        objective):
    initial = copy.deepcopy(layer.state_dict())
    best = None
    for level in levels:
        trial = DenoisingAutoencoder.from_config(replace(layer.config, noise_level=level))
        trial.load_state_dict(initial)
        history = train_autoencoder(trial, codes, config, x_valid=valid, keep_best=keep_best,
                                    description=f"{description}, noise {level:g}",
                                    objective=objective)
        value = score(trial, batched(trial.encode, codes),
                      batched(trial.encode, valid) if valid is not None else None)
        if best is None or value < best[0]:
            best = (value, trial, history)
    return best[1], best[2]
