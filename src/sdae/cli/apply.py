"""sdae encode / reconstruct / predict: apply a saved model to data."""

from __future__ import annotations

from pathlib import Path

from . import options as o

WHAT = (("encode", "the code of each example (the top layer's for a stack)"),
        ("reconstruct", "the clean reconstruction of each example"),
        ("predict", "the class of each example (a fine-tuned stack)"))


def add_parser(sub) -> None:
    for name, what in WHAT:
        p = sub.add_parser(name, help=f"write {what}",
                           description=f"Apply a saved model to data and write {what} as "
                                       ".npy (or .csv when --out ends in .csv).")
        p.add_argument("model", type=Path,
                       help="a .safetensors model file, or the folder of a 'sdae train' run")
        p.add_argument("data", type=Path,
                       help=".npy, .npz (array x), .csv, or a folder of images (or of "
                            "class folders)")
        p.add_argument("--out", type=Path, required=True,
                       help="output .npy or .csv file (never one of the inputs)")
        if name == "encode":
            p.add_argument("--depth", type=o.positive_int, default=None,
                           help="for a stack: the code of the first DEPTH layers (default: all)")
        if name == "predict":
            p.add_argument("--proba", action="store_true",
                           help="write each class's probability instead (a row per example)")
        o.add_device(p)
        p.set_defaults(handler=run)


def _function(args, model):
    """What the command computes, batch by batch, with the interface every model has."""
    from ..errors import ConfigError

    if args.command == "predict":
        if model.classifier is None:
            raise ConfigError(f"{args.model} has no classifier: fine-tune one with 'sdae train "
                              "--finetune-epochs N' on labelled data")
        return model.predict_proba if args.proba else model.predict
    if args.command == "encode":
        if args.depth and args.depth > len(model.layers):
            if len(model.layers) == 1:
                raise ConfigError("--depth is for stacks; this model has one layer")
            raise ConfigError(f"--depth {args.depth}: the stack has {len(model.layers)} layers")
        return lambda v: model.encode(v, args.depth)
    return lambda v: model.decode(model.encode(v))


def run(args) -> None:
    import numpy as np
    import torch

    from ..core.training import batched, resolve_device
    from ..errors import ConfigError, DataError
    from ..io.data.files import load_array
    from ..io.outputs import refuse_overwrite, write_array
    from ..models import load_autoencoder

    if args.out.suffix.lower() not in {".npy", ".csv"}:
        raise ConfigError(f"--out {args.out}: name a .npy or a .csv file")
    refuse_overwrite(args.out, args.model, args.data)
    device = resolve_device(args.device)
    model = load_autoencoder(args.model).to(device)
    x, _, _ = load_array(args.data)
    if x.shape[1] != model.n_visible:
        raise DataError(f"{args.data} has {x.shape[1]} features but the model expects "
                        f"{model.n_visible}: give data of the kind it was trained on")
    fn = _function(args, model)
    out = batched(lambda v: fn(v.to(device)).cpu(), torch.from_numpy(x)).numpy()
    header = None
    if args.command == "predict":
        classes = np.asarray(model.classes)
        if args.proba:  # a column per class, in the model's order
            header = [str(c) for c in classes]
            if args.out.suffix.lower() == ".npy":
                print(f"columns: the classes {', '.join(header)}")
        else:
            out = classes[out]
    write_array(args.out, out, header)
    print(f"wrote {args.out}: {' × '.join(map(str, out.shape))}")
