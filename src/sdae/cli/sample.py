"""sdae sample: Markov chains from a trained DAE."""

from __future__ import annotations

from pathlib import Path

from . import options as o

SHOWN_CHAINS = 10  # the first ten chains are drawn: a grid of a hundred is unreadable


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained DAE (a Markov chain)",
                       description="Run Markov chains that alternate the model's training "
                                   "corruption and a draw from its reconstruction "
                                   "distribution (Bernoulli for a cross-entropy model, "
                                   "Gaussian otherwise), from noise or from data (Bengio et "
                                   "al. 2013). Writes the chains as a .npy array and the first "
                                   f"{SHOWN_CHAINS} as a grid image (a row per chain, a "
                                   "column every --every steps).")
    p.add_argument("model", type=Path, help="a .safetensors model file (a DAE or a stack)")
    p.add_argument("--n", type=o.positive_int, default=100,
                   help="number of chains (default: 100)")
    p.add_argument("--steps", type=o.positive_int, default=200, help="steps of each chain "
                                                                     "(default: 200)")
    p.add_argument("--every", type=o.positive_int, default=None,
                   help="record the chains every this many steps (default: 20, or --steps "
                        "when smaller)")
    p.add_argument("--start", type=Path, default=None, metavar="DATA",
                   help="start the chains from the first --n rows of this .npy/.npz/.csv "
                        "(default: uniform noise)")
    p.add_argument("--sigma", type=o.positive_float, default=None,
                   help="standard deviation of a squared-error model's Gaussian "
                        "reconstructions (default: its noise level)")
    p.add_argument("--out", type=Path, default=Path("samples.png"),
                   help="grid image to write; the array goes beside it as .npy (default: "
                        "samples.png)")
    p.add_argument("--image-shape", type=o.positive_int, nargs=2, metavar=("H", "W"),
                   default=None, help="(default: square images)")
    o.add_seed(p, "seed of the chains")
    p.set_defaults(handler=run)


def _start(args, d: int, generator):
    """Uniform noise, or the first --n rows of --start."""
    import torch

    from ..errors import DataError
    from ..io.data.files import load_array

    if args.start is None:
        return torch.rand(args.n, d, generator=generator)
    x, _, _ = load_array(args.start)
    if x.shape[1] != d:
        raise DataError(f"{args.start} has {x.shape[1]} features but the model expects {d}")
    if len(x) < args.n:
        raise DataError(f"{args.start} has {len(x)} rows, fewer than --n {args.n} "
                        "chains: give a smaller --n")
    return torch.from_numpy(x[:args.n])


def run(args) -> None:
    import torch

    from ..errors import ConfigError
    from ..io.outputs import write_array
    from ..measures.figures import plot_image_grid
    from ..models import load_autoencoder
    from ..tasks.sampling import sample_chain

    if args.every is None:
        args.every = min(20, args.steps)
    if args.every > args.steps:
        raise ConfigError(f"--every {args.every} is more than --steps {args.steps}")
    if args.out.suffix.lower() != ".png":
        raise ConfigError(f"--out {args.out}: name a .png file")
    model = load_autoencoder(args.model)
    d = model.n_visible
    generator = torch.Generator().manual_seed(args.seed)
    start = _start(args, d, generator)
    layer = model.layers[0]
    sigma = args.sigma if args.sigma is not None else max(layer.config.noise_level, 1e-3)
    chains = sample_chain(model, start, args.steps, generator, every=args.every,
                          sigma=sigma).numpy()  # (steps // every, n, d)
    shown = chains[:, :SHOWN_CHAINS].transpose(1, 0, 2).reshape(-1, d)
    if layer.config.loss != "cross_entropy":  # real-valued data: stretch to [0, 1] to show
        shown = (shown - shown.min()) / max(shown.max() - shown.min(), 1e-12)
    first = f"{args.n}" if args.n <= SHOWN_CHAINS else f"the first {SHOWN_CHAINS} of {args.n}"
    plot_image_grid(shown, args.out, tuple(args.image_shape) if args.image_shape else None,
                    n_cols=len(chains), title=f"{first} chains, a column every {args.every} "
                                              "steps")
    write_array(args.out.with_suffix(".npy"), chains)
    print(f"wrote {args.out} and {args.out.with_suffix('.npy')} "
          f"({chains.shape[0]} record{'s' * (len(chains) > 1)} × {chains.shape[1]} chains "
          f"× {d})")
