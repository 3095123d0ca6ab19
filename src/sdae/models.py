"""The catalogue of model kinds: which class a model file's ``kind`` names, and saving and
loading models by it (the file format itself is :mod:`sdae.io.model_files`)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch
from torch import nn

from .core.autoencoder import DenoisingAutoencoder
from .core.stacking import StackedDenoisingAutoencoder
from .errors import ModelFileError
from .io.model_files import read_model_file, write_model_file
from .io.runs import (
    checkpointed_record,
    continuing_command,
    read_record,
    resume_command,
    run_holding,
)
from .tasks.clustering import ClusteringModel
from .tasks.denoising import (
    ConvDenoiser,
    ImageNoise,
    PatchDenoiser,
    SubimageDenoiser,
    channel_kind,
)
from .tasks.outliers import OutlierDetector

KINDS = {"dae": DenoisingAutoencoder, "stack": StackedDenoisingAutoencoder,
         "conv-denoiser": ConvDenoiser, "patch-denoiser": PatchDenoiser,
         "subimage-denoiser": SubimageDenoiser, "outlier-detector": OutlierDetector,
         "clustering": ClusteringModel}


def model_kind(model: nn.Module) -> str:
    for kind, cls in KINDS.items():
        if isinstance(model, cls):
            return kind
    raise ModelFileError(f"cannot save a {type(model).__name__}: not an sdae model")


def save_model(model: nn.Module, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write ``model`` to ``path`` (``.safetensors``) atomically.

    ``extra`` is free JSON-serialisable information stored beside the config (for example
    how the model was trained).
    """
    kind = model_kind(model)
    # every kind is made of modules: its DAE layers are among them, whatever the kind
    if any(isinstance(m, DenoisingAutoencoder) and not isinstance(m.config.corruption, str)
           for m in model.modules()):
        raise ModelFileError("a model with a custom corruption callable cannot be saved to a file")
    return write_model_file(path, kind, model.config.to_dict(), model.state_dict(), extra)


RUN_MODEL = "model.safetensors"  # the model file in the folder of a finished sdae train


def model_path(path: str | os.PathLike) -> Path:
    """``path``, or for a run folder the model it holds: a user names the folder that
    ``sdae train --out`` wrote, not a file inside it."""
    path = Path(path)
    if not path.is_dir():
        return path
    if not (path / RUN_MODEL).is_file():
        record = read_record(path)  # an unfinished run's folder: its own command finishes it
        command = record.get("command") if record is not None else None
        finish = (f"'{resume_command(command, path)}' finishes this one"
                  if isinstance(command, str) else "'sdae train --resume' finishes one")
        raise ModelFileError(f"{path}: a folder without {RUN_MODEL}: give a model file, or "
                             f"the folder of a finished run ({finish})")
    return path / RUN_MODEL


def load_model(
    path: str | os.PathLike, device: str | torch.device = "cpu", *, with_header: bool = False
):
    """Rebuild the model saved in ``path`` (a DAE layer, a stack or a denoiser; or a run
    folder holding one), in eval mode.

    ``with_header=True`` returns ``(model, header)``, the header as :func:`read_model_file`
    gives it (kind, config, extra), from the one read of the file.
    """
    path = model_path(path)
    info, tensors = read_model_file(path)
    model = model_from_file(info, tensors, path).to(device).eval()
    return (model, info) if with_header else model


def model_from_file(info: dict, tensors: dict[str, torch.Tensor], path) -> nn.Module:
    """The model a file's header ``info`` and ``tensors`` describe (``path`` for messages),
    its sizes checked against its config before any weight is copied."""
    cls = KINDS.get(info["kind"])
    if cls is None:
        raise ModelFileError(f"{path}: unknown model kind {info['kind']!r}")
    try:
        with torch.device("meta"):  # the sizes are checked before any memory is taken
            expected = {k: tuple(v.shape) for k, v in cls.from_config(info["config"])
                        .state_dict().items()}
    except (TypeError, KeyError, ValueError, AttributeError, RuntimeError) as err:
        raise ModelFileError(f"{path}: corrupt model config ({err})") from None
    if expected != {k: tuple(v.shape) for k, v in tensors.items()}:
        raise ModelFileError(f"{path}: the weights do not match the stored config")
    config = info["config"]
    if info["kind"] == "stack" and config.get("classes") is None and "classes" in info["extra"]:
        config = {**config, "classes": info["extra"]["classes"]}  # SDAEClassifier, sdae < 0.2
    model = cls.from_config(config)
    model.load_state_dict(tensors)
    return model


def load_autoencoder(path: str | os.PathLike, device: str | torch.device = "cpu", *,
                     with_header: bool = False):
    """:func:`load_model` for a DAE layer or a stack: another kind's file is refused, naming
    the command that uses it."""
    model, header = load_model(path, device, with_header=True)
    kind = header["kind"]
    if kind not in ("dae", "stack"):
        use = ("denoise images with it ('sdae denoise apply')" if kind.endswith("denoiser")
               else "cluster rows with it ('sdae cluster')" if kind == "clustering"
               else "score rows with it ('sdae detect')")
        raise ModelFileError(f"{path} is a {kind} model, not a DAE or a stack: {use}")
    return (model, header) if with_header else model


def describe_header(path, header: dict, n_params: int) -> list[str]:
    """The lines ``sdae info`` prints for the file ``path`` with ``header`` (as
    :func:`read_model_file` gives it): what it is, its layers, how it was trained."""
    lines = [f"{path}: {header['kind']} (sdae format {header.get('format_version', '?')}), "
             f"{n_params:,} parameters"]
    config = header["config"]
    if header["kind"].endswith("denoiser"):
        lines += _denoiser(header["kind"], config)
    elif header["kind"] == "outlier-detector":
        lines += _detector(config, header.get("extra") or {})
    elif header["kind"] == "clustering":
        method = (header.get("extra") or {}).get("method")
        lines += _layers(config["stack"])
        lines.append(f"  {config['n_clusters']} cluster centres in code space (Student-t "
                     f"α = {config['alpha']:g})" + (f", found by {method}" if method else ""))
    else:
        lines += _layers(config)
    return lines + _record(header.get("extra") or {})


def describe_checkpoint(path, state: dict) -> list[str]:
    """The lines ``sdae info`` prints for a training checkpoint (as
    :func:`sdae.io.checkpoint.load_checkpoint` gives it): what it trains, how far it got."""
    n_params = sum(t.numel() for t in state.get("model", {}).values()
                   if isinstance(t, torch.Tensor))
    config, history = state.get("config") or {}, state.get("history") or {}
    lines = [f"{path}: training checkpoint (sdae checkpoint format {state['sdae_checkpoint']}), "
             f"{n_params:,} parameters, after {_count(state.get('epoch', 0), 'epoch')}"
             + (f" of {config['epochs']}" if "epochs" in config else "")]
    model = (state.get("signature") or {}).get("model")
    if isinstance(model, dict) and "n_visible" in model:
        with contextlib.suppress(KeyError, TypeError):  # a record of another version
            lines += _layers(model)
    if "batch_size" in config:
        lines.append(f"  training: batch {config['batch_size']}, {config.get('optimizer')} "
                     f"lr {config.get('lr')}, seed {config.get('seed')}")
    if history.get("train_loss"):
        lines.append(f"  last training loss {history['train_loss'][-1]:.4g}")
    command, how = checkpoint_command(path)
    lines.append(f"  {_RUNNING_IT[how]}: {command}" if how is not None else
                 "  the run continues from it when its command is run again")
    return lines


_RUNNING_IT = {"resume": "its run continues (or, finished, replays) from it",
               "continue": "its run continues from it when its command is run again",
               "finished": "its run finished; the same command starts afresh"}


def checkpoint_command(path) -> tuple[str | None, str | None]:
    """The command a training checkpoint's run was started with, as it is to be run again,
    and what running it does: ``"resume"`` (the checkpoint is in a run folder: ``sdae CMD
    --resume FOLDER`` continues the run, or replays it if finished), ``"continue"`` (``sdae
    denoise train --checkpoint FILE``: the command again continues from the file) or
    ``"finished"`` (that run ended: the command starts afresh); ``(None, None)`` where no
    record says."""
    run = run_holding(path)
    if run is not None and run[1].get("command"):
        return resume_command(run[1]["command"], run[0]), "resume"
    record = checkpointed_record(path)
    if record is None:
        return None, None
    return continuing_command(record), "finished" if record.get("finished") else "continue"


def _denoiser(kind: str, config: dict) -> list[str]:
    noise = ImageNoise(**config["noise"]).describe()
    colour = channel_kind(config["channels"])
    if kind == "conv-denoiser":
        shape = f"{config['depth']} 3×3 convolutions of {config['width']} feature maps"
    elif kind == "subimage-denoiser":
        shape = (f"{config['depth']} 3×3 convolutions of {config['width']} feature maps on "
                 "the four half-resolution sub-images, with a noise-level map")
    else:
        shape = (f"{config['patch_size']}×{config['patch_size']} patches, hidden "
                 f"{config['hidden_sizes']}, {config['activation']}, stride "
                 f"{config['stride']}")
    return [f"  {colour} images; {shape}; predicts the {config['target']}; trained with "
            f"{noise}"]


def _detector(config: dict, extra: dict) -> list[str]:
    s = config["settings"]
    return [f"  an ensemble of {len(config['widths'])} DAEs on {config['n_features']} "
            f"features: hidden widths {min(config['widths'])}-{max(config['widths'])}, "
            f"{s['corruption']} noise {min(config['noise_levels']):.2f}-"
            f"{max(config['noise_levels']):.2f}, each on {max(config['n_codes'])} rows; "
            f"scores: {', '.join(s['components'])}"
            + (f"; flags scores above {extra['threshold']:.3g}" if "threshold" in extra
               else "")]


def _layers(config: dict) -> list[str]:
    lines = []
    for k, c in enumerate(config.get("layers", [config])):
        noise = "no noise" if c["corruption"] == "none" or not c["noise_level"] else \
            f"{c['corruption']} {c['noise_level']:g}"
        lines.append(f"  layer {k + 1}: {c['n_visible']} -> {c['n_hidden']}, "
                     f"{c['activation']}, {'tied' if c['tied'] else 'untied'}, "
                     f"{c['decoder']} decoder, {c['loss'] or 'auto'} loss, trained with {noise}")
    if config.get("n_classes"):
        named = f": {config['classes']}" if config.get("classes") is not None else ""
        lines.append(f"  softmax output: {config['n_classes']} classes{named}")
    return lines


def _record(extra: dict) -> list[str]:
    lines = []
    if "train" in extra:
        t = extra["train"]
        lines.append(f"  training: {_count(t['epochs'], 'epoch')}, batch {t['batch_size']}, "
                     f"{t['optimizer']} lr {t['lr']:g}, seed {t['seed']}, {t['device']}, "
                     f"{t.get('precision', 'fp32')}")
    if "history" in extra:
        h = extra["history"]
        best = f", best at epoch {h['best_epoch']}" if h.get("best_epoch") else ""
        lines.append(f"  {_count(len(h['train_loss']), 'epoch')} in {h['seconds']:.0f} s, final "
                     f"training loss {h['train_loss'][-1]:.4g}{best}")
    if "command" in extra:  # a shipped model's record (tools/ship_denoiser.py)
        runs = (f" in {len(extra['runs'])} runs ({extra['epochs']} epochs in all), the last"
                if len(extra.get("runs", [])) > 1 else "")
        lines.append(f"  trained {extra['hours']:.1f} h{runs} on {extra['machine']} by: "
                     f"{extra['command']}")
    if "estimator" in extra:
        lines.append(f"  saved by sdae.sklearn.{extra['estimator']}")
    if "classes" in extra:  # an SDAEClassifier file of sdae 0.1
        lines.append(f"  classes: {extra['classes']}")
    return lines


def _count(n: int, noun: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {noun}{'s' * (n != 1)}"
