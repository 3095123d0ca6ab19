"""A model file's header in words, for ``sdae info``: what it is, its layers, how it was
trained. Here rather than in the CLI because it reads every kind's configuration (stacks,
DAEs and the image denoisers of :mod:`sdae.tasks.denoising`)."""

from __future__ import annotations

from .denoising import ImageNoise, channel_kind


def describe_header(path, header: dict, n_params: int) -> list[str]:
    """The lines ``sdae info`` prints for the file ``path`` with ``header``."""
    lines = [f"{path}: {header['kind']} (sdae format {header.get('format_version', '?')}), "
             f"{n_params:,} parameters"]
    config = header["config"]
    lines += (_denoiser(header["kind"], config) if header["kind"].endswith("denoiser")
              else _layers(config))
    return lines + _record(header.get("extra") or {})


def _denoiser(kind: str, config: dict) -> list[str]:
    noise = ImageNoise(**config["noise"]).describe()
    colour = channel_kind(config["channels"])
    if kind == "conv-denoiser":
        shape = f"{config['depth']} 3×3 convolutions of {config['width']} feature maps"
    else:
        shape = (f"{config['patch_size']}×{config['patch_size']} patches, hidden "
                 f"{config['hidden_sizes']}, {config['activation']}, stride "
                 f"{config['stride']}")
    return [f"  {colour} images; {shape}; predicts the {config['target']}; trained with "
            f"{noise}"]


def _layers(config: dict) -> list[str]:
    lines = []
    for k, c in enumerate(config.get("layers", [config])):
        noise = "no noise" if c["corruption"] == "none" or not c["noise_level"] else \
            f"{c['corruption']} {c['noise_level']:g}"
        lines.append(f"  layer {k + 1}: {c['n_visible']} -> {c['n_hidden']}, "
                     f"{c['activation']}, {'tied' if c['tied'] else 'untied'}, "
                     f"{c['decoder']} decoder, {c['loss'] or 'auto'} loss, trained with {noise}")
    if config.get("n_classes"):
        lines.append(f"  softmax output: {config['n_classes']} classes")
    return lines


def _record(extra: dict) -> list[str]:
    lines = []
    if "train" in extra:
        t = extra["train"]
        lines.append(f"  training: {count(t['epochs'], 'epoch')}, batch {t['batch_size']}, "
                     f"{t['optimizer']} lr {t['lr']:g}, seed {t['seed']}, {t['device']}, "
                     f"{t.get('precision', 'fp32')}")
    if "history" in extra:
        h = extra["history"]
        best = f", best at epoch {h['best_epoch']}" if h.get("best_epoch") else ""
        lines.append(f"  {count(len(h['train_loss']), 'epoch')} in {h['seconds']:.0f} s, final "
                     f"training loss {h['train_loss'][-1]:.4g}{best}")
    if "estimator" in extra:
        lines.append(f"  saved by sdae.sklearn.{extra['estimator']}")
    if "classes" in extra:
        lines.append(f"  classes: {extra['classes']}")
    return lines


def count(n: int, noun: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {noun}{'s' * (n != 1)}"
