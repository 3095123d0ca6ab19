"""sdae filters: draw the filters of a saved model."""

from __future__ import annotations

from pathlib import Path

from . import options as o


def add_parser(sub) -> None:
    p = sub.add_parser("filters", help="draw the filters W_i/‖W_i‖ of a saved model",
                       description="Write the filters of a saved model as a tiled image.")
    p.add_argument("model", type=Path, help="a .safetensors model file")
    p.add_argument("--out", type=Path, default=Path("filters.png"),
                   help="PNG to write (default: filters.png)")
    p.add_argument("-n", "--n-filters", type=o.positive_int, default=100,
                   help="how many filters (default: 100)")
    p.add_argument("--image-shape", type=o.positive_int, nargs=2, metavar=("H", "W"),
                   help="input image shape (default: square)")
    p.set_defaults(handler=run)


def run(args) -> None:
    from ..errors import ConfigError
    from ..measures.figures import infer_shape, plot_filter_panels
    from ..models import load_autoencoder

    layer = load_autoencoder(args.model).layers[0]  # a stack: the filters of its first layer
    shape = tuple(args.image_shape) if args.image_shape else infer_shape(layer.n_visible)
    if shape[0] * shape[1] != layer.n_visible:
        raise ConfigError(f"--image-shape {shape[0]} {shape[1]} does not fit the model's "
                          f"{layer.n_visible} inputs")
    path = plot_filter_panels([(args.model.stem, layer.weight.detach().numpy())], args.out,
                              shape, args.n_filters)
    print(f"wrote {path}")
