"""sdae experiment denoising: sdae's image denoisers against the classic ones."""

from __future__ import annotations

from .. import options as o
from .common import add_experiment, in_run_folder, print_report, resumed


def add_parser(exp) -> None:
    e = add_experiment(exp, "denoising",
                       "sdae's image denoisers against non-local means, total variation, "
                       "wavelets and BM3D on BSD68 / Set12",
                       "Train a convolutional, a sub-image and a patch-based DAE "
                       "denoiser (each one model for σ in 0-55) on Train400, then "
                       "denoise BSD68 and Set12 at σ = 15, 25, 50 with them, with the "
                       "denoiser shipped in sdae (given σ; σ estimated; given σ and "
                       "averaging 8 orientations of each image) and with "
                       "scikit-image's non-local means, total variation and "
                       "wavelet denoisers (and BM3D when the bm3d package is "
                       "installed), all on the same noisy images. Writes "
                       "OUT/results.json, results.md, crops.png and the models.",
                       handler=run,
                       data="folder with train400/, bsd68/ and set12/", out="runs/denoising")
    e.add_argument("--methods", nargs="+", default=None,
                   choices=("conv", "subimage", "patch", "shipped", "shipped_blind",
                            "shipped_ensemble", "nlm", "tv", "wavelet", "bm3d"),
                   # experiments.denoising.METHODS
                   help="a subset of the methods (default: all): conv, subimage and "
                        "patch are trained here; shipped is the shipped denoiser given σ, "
                        "shipped_blind the same estimating σ, shipped_ensemble the same given "
                        "σ and averaging 8 orientations of each image (8 times slower); nlm, "
                        "tv and wavelet are scikit-image's, bm3d needs the bm3d package")
    e.add_argument("--sigmas", type=o.positive_int, nargs="+", default=None,
                   help="noise levels on the 0-255 scale (default: 15 25 50)")
    e.add_argument("--epochs", type=o.positive_int, default=None,
                   help="training epochs of the sdae models trained here (default: 6 for "
                        "the convolutional one, 8 for the sub-image one, 5 for the patch "
                        "one)")
    e.add_argument("--train-images", type=o.positive_int, default=None,
                   help="train on only the first N Train400 images (a quick check)")
    o.add_precision(e)
    o.add_run_options(e)
    o.add_resume_options(e)


def run(args) -> None:
    from ...experiments import denoising as experiment

    args = resumed(args)
    settings = experiment.DenoisingSettings(seed=args.seed)
    if args.sigmas:
        settings.sigmas = list(args.sigmas)
    changes = {"precision": args.precision, **({"epochs": args.epochs} if args.epochs else {})}
    settings.conv_train = o.run_config(settings.conv_train, args, **changes)
    settings.subimage_train = o.run_config(settings.subimage_train, args, **changes)
    settings.patch_train = o.run_config(settings.patch_train, args, **changes)
    sets = experiment.load_sets(args.data_dir)
    if args.train_images:
        sets["train400"] = sets["train400"][: args.train_images + settings.n_valid]
    _, out = in_run_folder(args, lambda out, checkpoints: experiment.run(
        sets, out, settings, methods=args.methods or experiment.METHODS,
        device=args.device, checkpoints=checkpoints))
    print_report(out)
