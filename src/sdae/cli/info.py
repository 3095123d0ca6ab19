"""sdae info: what a model file holds."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="what a model file or a training checkpoint holds",
                       description="Print the kind, layers, options and training record of "
                                   "a model file, a run folder's model, or a training "
                                   "checkpoint (.ckpt) (as JSON with --json).")
    p.add_argument("model", type=Path,
                   help="a .safetensors model file, a run folder, or a .ckpt checkpoint")
    p.add_argument("--json", action="store_true", help="print the whole header as JSON")
    p.set_defaults(handler=run)


def run(args) -> None:
    import json

    from ..models import describe_header, model_path, read_model_file

    if args.model.suffix == ".ckpt":
        return _checkpoint(args)
    header, tensors = read_model_file(model_path(args.model))
    if args.json:
        print(json.dumps(header, indent=2))
        return
    n_params = sum(t.numel() for t in tensors.values())
    print("\n".join(describe_header(args.model, header, n_params)))


def _checkpoint(args) -> None:
    """A training checkpoint: what it trains and how far (``--json``: all but tensors)."""
    import json

    from ..io.checkpoint import load_checkpoint
    from ..models import checkpoint_command, describe_checkpoint

    state = load_checkpoint(args.model)
    if args.json:
        plain = {k: v for k, v in state.items()
                 if k in ("sdae_checkpoint", "config", "signature", "epoch", "history")}
        command, how = checkpoint_command(args.model)
        plain["command"] = None if command is None else {"command": command, "does": how}
        print(json.dumps(plain, indent=2, default=str))
        return
    print("\n".join(describe_checkpoint(args.model, state)))
