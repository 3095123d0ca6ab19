"""sdae info: what a model file holds."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="what a model file holds",
                       description="Print the kind, layers, options and training record of "
                                   "a model file (as JSON with --json).")
    p.add_argument("model", type=Path, help="a .safetensors model file")
    p.add_argument("--json", action="store_true", help="print the whole header as JSON")
    p.set_defaults(handler=run)


def run(args) -> None:
    import json

    from ..models import describe_header, read_model_file

    header, tensors = read_model_file(args.model)
    if args.json:
        print(json.dumps(header, indent=2))
        return
    n_params = sum(t.numel() for t in tensors.values())
    print("\n".join(describe_header(args.model, header, n_params)))
