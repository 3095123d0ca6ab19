"""sdae denoise train / apply: image denoisers."""

from __future__ import annotations

from pathlib import Path

from . import options as o


def add_parser(sub) -> None:
    p = sub.add_parser("denoise", help="denoise images (with the shipped denoiser or yours), "
                                       "or train a denoiser")
    den = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_train(den)
    d = den.add_parser("apply", help="denoise an image (with the shipped model, or yours)",
                       usage="sdae denoise apply [MODEL] IMAGE --out OUT [options]",
                       description="Denoise one image, or every image of a folder "
                                   "(grayscale or colour, 8- or 16-bit, any size) of "
                                   "Gaussian noise with the denoiser shipped in sdae (no "
                                   "training needed; σ estimated from each image unless "
                                   "--sigma gives it), or with a MODEL from 'sdae denoise "
                                   "train'. A grayscale model restores each channel of a "
                                   "colour image.")
    d.add_argument("paths", type=Path, nargs="+", metavar="[MODEL] IMAGE",
                   help="optionally a denoiser .safetensors file (default: the shipped "
                        "one), then the noisy image (PNG, TIFF, JPEG...) or a folder of them")
    d.add_argument("--sigma", type=o.non_negative_float, default=None,
                   help="the noise's standard deviation on the 0-255 scale, for models "
                        "told the noise level such as the shipped one (default: estimated "
                        "from each image); larger smooths more")
    d.add_argument("--out", type=Path, required=True,
                   help="the image to write (.png, .tif, ...); for a folder, the folder to "
                        "write the images to, under their names (never the input)")
    d.add_argument("--bits", type=int, choices=(8, 16), default=None,
                   help="bits per channel of the output (default: those of the input)")
    d.add_argument("--ensemble", type=int, choices=(1, 2, 4, 8), default=1,  # ORIENTATIONS
                   help="restore each image in this many orientations and average them "
                        "(2: also a quarter turn; 4: all four turns; 8: and their mirror "
                        "images): that many times slower; with 8 the shipped denoiser gains "
                        "0.1-0.2 dB (default: 1)")
    d.add_argument("--stride", type=o.positive_int, default=None,
                   help="patch models: between patches; 1 is best and slowest "
                        "(default: the model's)")
    o.add_device(d)
    d.set_defaults(handler=apply)


def _add_train(den) -> None:
    d = den.add_parser("train", help="train a denoiser on clean images",
                       description="Train a convolutional, sub-image or patch-based DAE to "
                                   "restore clean images from copies corrupted on the fly, "
                                   "on crops "
                                   "of the images in --images (any size; all grayscale or "
                                   "all colour). Writes a .safetensors model.")
    d.add_argument("--images", type=Path, nargs="+", required=True, metavar="DIR",
                   help="folders (or files) of clean training images")
    d.add_argument("--valid-images", type=Path, nargs="+", default=None, metavar="DIR",
                   help="held-out images: the epoch with the lowest error on them is kept")
    d.add_argument("--hold-out", type=o.positive_int, default=None, metavar="N",
                   help="hold out the last N images of --images (by file name) as "
                        "validation images instead of --valid-images")
    d.add_argument("--valid-sigma", type=o.non_negative_float, default=None, metavar="S",
                   help="Gaussian: the σ of the validation images' noise (default: drawn "
                        "like the training noise); validation PSNR is then the usual one "
                        "at that σ")
    d.add_argument("--out", type=Path, required=True, help="the .safetensors model to write")
    g = d.add_argument_group("noise")
    g.add_argument("--corruption", "--noise", dest="corruption",
                   choices=("gaussian", "salt_and_pepper", "masking"),
                   default="gaussian", help="corruption process (default: gaussian)")
    g.add_argument("--sigma", type=float, default=25.0,
                   help="Gaussian σ on the 0-255 scale (default: 25)")
    g.add_argument("--sigma-max", type=float, default=None,
                   help="train one blind model for every σ in [--sigma, --sigma-max]")
    g.add_argument("--fraction", type=float, default=0.2,
                   help="share of pixels hit by salt-and-pepper or masking (default: 0.2)")
    g = d.add_argument_group("model")
    g.add_argument("--model", choices=("conv", "subimage", "patch"), default="conv",
                   help="fully convolutional; convolutional on the four half-resolution "
                        "sub-images with a noise-level input (Gaussian noise only: one "
                        "model for every σ in [--sigma, --sigma-max], given or estimated "
                        "when applied; the shipped model's kind); or stacked fully "
                        "connected on patches (default: conv)")
    g.add_argument("--target", choices=("clean", "noise"), default="noise",
                   help="what the network outputs: the noise to subtract from the input "
                        "(residual learning: far better on a short schedule), or the clean "
                        "image (default: noise)")
    g.add_argument("--depth", type=o.positive_int, default=None,
                   help="conv, subimage: convolution layers (default: 10, 12)")
    g.add_argument("--width", type=o.positive_int, default=None,
                   help="conv, subimage: feature maps per hidden layer (default: 48, 64)")
    g.add_argument("--patch-size", type=o.positive_int, default=13,
                   help="patch: patch side in pixels (default: 13)")
    g.add_argument("--hidden", type=o.positive_int, nargs="+", default=[1024, 1024],
                   help="patch: encoder widths (default: 1024 1024)")
    g.add_argument("--pretrain-epochs", type=int, default=0,
                   help="patch: epochs of greedy layer-wise DAE pre-training (default: 0)")
    g.add_argument("--init", default=None, metavar="MODEL",
                   help="start from the weights of a denoiser file, or 'shipped' for the "
                        "one shipped in sdae (to fine-tune it on your images, or to go on "
                        "training with a new schedule); give its --model, --depth, --width "
                        "and --target (default: fresh weights)")
    g.add_argument("--channels", type=o.positive_int, default=None,
                   help="1 for grayscale, 3 for colour (default: that of the images)")
    g = d.add_argument_group("training")
    g.add_argument("--epochs", type=o.positive_int, default=5, help="(default: 5)")
    g.add_argument("--batch-size", type=o.positive_int, default=64, help="(default: 64)")
    g.add_argument("--lr", type=float, default=1e-3, help="Adam's step size (default: 0.001)")
    g.add_argument("--lr-decay", type=float, default=0.6,
                   help="learning-rate factor after every epoch (default: 0.6)")
    g.add_argument("--warmup", type=float, default=0.0, metavar="EPOCHS",
                   help="raise the learning rate from zero over that many epochs: Adam's "
                        "first steps are each as large as the learning rate, which undoes "
                        "much of an --init model's training (default: 0)")
    g.add_argument("--crop", type=o.positive_int, default=40,
                   help="conv: side of the training crops (default: 40)")
    g.add_argument("--stride", type=o.positive_int, default=10,
                   help="between training crops or patches (default: 10)")
    g.add_argument("--grad-clip", type=float, default=None, metavar="NORM",
                   help="rescale each step's gradient to at most this norm: keeps a deep "
                        "model's training from rare jumps (default: no clipping)")
    o.add_precision(g)
    g.add_argument("--checkpoint", type=Path, default=None, metavar="FILE",
                   help="save the training there after every epoch and on Ctrl-C; run the "
                        "same command again to continue from it (default: none)")
    o.add_overwrite(g, "start afresh although --checkpoint holds an unfinished run with "
                       "other options, deleting it")
    o.add_run_options(g)
    d.set_defaults(handler=train)


def _model(args, channels: int):
    import torch

    from ..tasks.denoising import ConvDenoiser, ImageNoise, PatchDenoiser, SubimageDenoiser

    noise = ImageNoise(args.corruption, args.sigma, args.sigma_max, args.fraction)
    generator = torch.Generator().manual_seed(args.seed)
    if args.model in ("conv", "subimage"):
        cls = ConvDenoiser if args.model == "conv" else SubimageDenoiser
        shape = {k: v for k, v in (("depth", args.depth), ("width", args.width)) if v}
        return cls(channels, **shape, target=args.target, noise=noise,
                   generator=generator), noise
    return PatchDenoiser(channels, args.patch_size, args.hidden, target=args.target,
                         noise=noise, generator=generator), noise


def _start_from(model, init: str) -> dict:
    """Give ``model`` the weights of the denoiser file ``init`` ('shipped': the shipped one),
    which must have its shape (the noise it was trained with may differ); return that file's
    training record, so that the new run's record says where it started (and
    tools/ship_denoiser.py can count the hours before it)."""
    from dataclasses import asdict

    from ..errors import ConfigError
    from ..models import load_model
    from ..pretrained import shipped_denoiser, shipped_header

    if init == "shipped":
        start, header = shipped_denoiser(), shipped_header()
    else:
        start, header = load_model(init, with_header=True)

    def shape(m) -> dict:  # what the weights depend on: not the noise, nor how it is applied
        return {k: v for k, v in asdict(m.config).items() if k not in ("noise", "stride")}

    if type(start) is not type(model):
        raise ConfigError(f"--init {init} is a {type(start).__name__}, not a "
                          f"{type(model).__name__}: give its --model")
    if shape(start) != shape(model):
        described = ", ".join(f"{k} {v}" for k, v in shape(start).items())
        raise ConfigError(f"--init {init} has another shape ({described}): give its "
                          "--depth, --width and --target")
    model.load_state_dict(start.state_dict())
    return {"file": init, "extra": header.get("extra", {})}


def _configs(args):
    from ..core.training import TrainConfig

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         optimizer="adam", lr_decay=args.lr_decay, seed=args.seed,
                         device=args.device, precision=args.precision,
                         grad_clip=args.grad_clip, warmup_epochs=args.warmup,
                         progress=args.progress)
    pretrain = None
    if args.pretrain_epochs:
        pretrain = TrainConfig(epochs=args.pretrain_epochs, batch_size=args.batch_size,
                               lr=args.lr, optimizer="adam", seed=args.seed,
                               device=args.device, progress=args.progress)
    return config, pretrain


def train(args) -> None:
    import os
    import time

    from ..errors import ConfigError
    from ..io.runs import (
        Run,
        continuing_command,
        finish_checkpointed,
        prepare_folder,
        start_checkpointed,
    )
    from ..models import save_model
    from ..tasks.denoising import train_denoiser
    from .run_folder import data_record, options_record

    if args.out.suffix != ".safetensors":
        raise ConfigError(f"--out {args.out}: name a .safetensors file")
    if args.model != "patch" and args.pretrain_epochs:
        raise ConfigError("--pretrain-epochs is for --model patch")
    if args.model == "patch" and (args.depth or args.width):
        raise ConfigError("--depth and --width are for --model conv or subimage; a patch "
                          "model's shape is --patch-size and --hidden")
    images, valid = _image_sets(args)
    channels = args.channels or (images[0].shape[2] if images[0].ndim == 3 else 1)
    model, noise = _model(args, channels)
    began_from = {} if args.init is None else {"init": _start_from(model, args.init)}
    config, pretrain_config = _configs(args)
    prepare_folder(args.out.parent)
    record = {"command": "denoise train", "argv": args.argv, "cwd": os.getcwd(),
              "options": options_record(args), **data_record(args), **began_from}
    if args.checkpoint is None:
        folder = Run(args.out.parent, record, fresh=False)
        hint = "give --checkpoint FILE to be able to continue"
    else:
        folder = start_checkpointed(args.checkpoint, record, overwrite=args.overwrite)
        # the command as typed, with --overwrite, would start afresh: the one to run instead
        without = " (without --overwrite, which starts afresh)" if args.overwrite else ""
        hint = f"continue with{without}: {continuing_command(record)}"
    start = time.perf_counter()
    with folder.guard(hint):
        history = train_denoiser(model, images, config, patch_size=args.crop,
                                 stride=args.stride, valid_images=valid,
                                 valid_noise=_valid_noise(args, noise),
                                 pretrain_config=pretrain_config, checkpoint=args.checkpoint)
    seconds = time.perf_counter() - start
    save_model(model, args.out, extra={"argv": args.argv, "history": history.to_dict(),
                                       "seconds": seconds})
    if args.checkpoint is not None:
        finish_checkpointed(args.checkpoint, record)
    best = (f", best validation error {min(history.valid_loss):.3g} at epoch "
            f"{history.best_epoch}" if history.valid_loss else "")
    print(f"trained a {args.model} denoiser ({noise.describe()}) on {len(images)} images in "
          f"{seconds:.0f} s: final training error {history.train_loss[-1]:.3g}{best}; "
          f"wrote {args.out}")


def _image_sets(args):
    """The training images and the validation images (or None)."""
    from ..errors import ConfigError
    from ..io.data.images import image_files, read_image_set

    if args.hold_out is None:
        valid = read_image_set(*args.valid_images) if args.valid_images else None
        return read_image_set(*args.images), valid
    if args.valid_images:
        raise ConfigError("give --valid-images or --hold-out, not both")
    files = image_files(*args.images)
    if args.hold_out >= len(files):
        raise ConfigError(f"--hold-out {args.hold_out} leaves no training image of the "
                          f"{len(files)} in --images: hold out fewer")
    cut = len(files) - args.hold_out
    return read_image_set(*files[:cut]), read_image_set(*files[cut:])


def _valid_noise(args, noise):
    """The validation images' noise: ``--valid-sigma``, else the training noise."""
    from dataclasses import replace

    from ..errors import ConfigError

    if args.valid_sigma is None:
        return None
    if not (args.valid_images or args.hold_out):
        raise ConfigError("--valid-sigma is the noise of the validation images: give them "
                          "(--valid-images or --hold-out N)")
    if noise.kind != "gaussian":
        raise ConfigError("--valid-sigma is for --corruption gaussian")
    return replace(noise, sigma=args.valid_sigma, sigma_max=None)


def apply(args) -> None:
    import time

    from ..errors import ConfigError
    from ..io.data.images import image_files
    from ..io.outputs import refuse_overwrite
    from ..models import load_model
    from ..pretrained import shipped_denoiser, shipped_header

    if len(args.paths) > 2:
        raise ConfigError(f"give at most a model and an image (or a folder), got "
                          f"{len(args.paths)} paths: denoise a folder of images at once")
    args.model, args.image = args.paths if len(args.paths) == 2 else (None, args.paths[0])
    refuse_overwrite(args.out, *[p for p in (args.model, args.image) if p is not None])
    if args.image.is_dir() and args.out.is_file():
        raise ConfigError(f"--out {args.out} is a file, and {args.image} a folder of images: "
                          "name a folder to write the denoised images to")
    files = image_files(args.image)  # before the model: a folder without images fails fast
    if args.model is None:
        model, header = shipped_denoiser(args.device), shipped_header()
    else:
        model, header = load_model(args.model, args.device, with_header=True)
    if not header["kind"].endswith("denoiser"):
        raise ConfigError(f"{args.model} is a {header['kind']} model, not a denoiser: train "
                          "one with 'sdae denoise train'")
    if args.stride is not None:
        if header["kind"] != "patch-denoiser":
            raise ConfigError("--stride is for patch models")
        model.config.stride = args.stride
    if args.sigma is not None and not model.uses_sigma:
        raise ConfigError(f"{args.model} is blind to the noise level (trained with "
                          f"{model.noise.describe()}): leave out --sigma")
    start = time.perf_counter()
    if not args.image.is_dir():
        image, bits, sigma = _denoise_file(model, args.image, args.out, args.bits, args.sigma,
                                           args.ensemble)
        shape = "×".join(map(str, image.shape))
        ensemble = f", {args.ensemble} orientations" if args.ensemble > 1 else ""
        print(f"denoised {args.image} ({shape}, {bits}-bit{sigma}{ensemble}) in "
              f"{time.perf_counter() - start:.2f} s; wrote {args.out}")
        return
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create output folder {args.out}: {err.strerror}") from None
    for file in files:
        _denoise_file(model, file, args.out / file.name, args.bits, args.sigma, args.ensemble)
    print(f"denoised {len(files)} images of {args.image} in {time.perf_counter() - start:.2f} "
          f"s; wrote them to {args.out}/")


def _denoise_file(model, source: Path, out: Path, bits: int | None, sigma: float | None,
                  ensemble: int = 1):
    """Denoise the image file ``source`` into ``out`` (with ``bits``, default its own;
    averaging ``ensemble`` orientations); return the image read, its bit depth and what to
    say of σ."""
    from ..errors import ConfigError, WarningsAbout
    from ..io.data.images import read_image, write_image
    from ..tasks.denoising import denoise, image_sigma

    image, depth = read_image(source)
    said, estimated = "", model.uses_sigma and sigma is None
    if estimated:
        sigma = image_sigma(image)
    if model.uses_sigma:
        said = f", σ estimated {sigma:.1f}" if estimated else f", σ {sigma:g}"
    # the warnings name the image (in a folder, one of many)
    with WarningsAbout(f"{source} (σ estimated)" if estimated else f"{source}"):
        restored = denoise(model, image, sigma, ensemble=ensemble)
    try:
        write_image(out, restored, bits or depth)
    except OSError as err:
        raise ConfigError(f"cannot write {out}: {err.strerror}") from None
    return image, depth, said
