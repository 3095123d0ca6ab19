"""Image denoising: a DAE is, literally, a learned denoiser.

Trained to map x̃ ~ q(x̃ | x) back to the clean x, a DAE on images restores noisy photographs.
Two architectures (:mod:`.denoisers`), both trained by :func:`sdae.core.training.train` on
clean patches of photographs (:mod:`.patches`, :mod:`.training`) corrupted on the fly by an
:class:`ImageNoise` (:mod:`.noise`), then applied to whole images (:mod:`.apply`):

- :class:`PatchDenoiser`: a stacked, fully connected DAE on p×p patches (Burger et al.,
  CVPR 2012; Xie et al., NIPS 2012). An image is cut into overlapping patches, each is
  denoised, and the overlapping reconstructions are averaged back into the image.
- :class:`ConvDenoiser`: a fully convolutional DAE (Jain & Seung, NIPS 2008; Zhang et al.,
  TIP 2017), for images of any size.
- :class:`SubimageDenoiser` (:mod:`.subimage`): a convolutional DAE on the four
  half-resolution sub-images with a noise-level input (after FFDNet): a quarter of the
  work per layer, one model for every σ, given or estimated (:func:`estimate_sigma`).

Either predicts the clean image, or (``target="noise"``) the noise, which is subtracted:
the same squared error to the clean image, but the network learns a residual. Any of them
can also restore an image in several orientations and average them (:mod:`.ensemble`).
Images are float tensors in [0, 1] of shape (n, c, h, w).
"""

from .apply import denoise, image_sigma
from .denoisers import (
    TARGETS,
    ConvDenoiser,
    ConvDenoiserConfig,
    ImageDenoiser,
    PatchDenoiser,
    PatchDenoiserConfig,
    channel_kind,
)
from .ensemble import ORIENTATIONS, self_ensemble
from .noise import NOISES, ImageNoise, estimate_sigma
from .patches import (
    as_image_tensor,
    assemble_patches,
    extract_patches,
    patch_starts,
    training_patches,
)
from .subimage import SubimageDenoiser, SubimageDenoiserConfig
from .training import denoising_objective, train_denoiser

__all__ = [
    "NOISES", "ORIENTATIONS", "TARGETS", "ConvDenoiser", "ConvDenoiserConfig", "ImageDenoiser",
    "ImageNoise", "PatchDenoiser", "PatchDenoiserConfig", "SubimageDenoiser",
    "SubimageDenoiserConfig", "as_image_tensor", "assemble_patches", "channel_kind", "denoise",
    "denoising_objective", "estimate_sigma", "extract_patches", "image_sigma", "patch_starts",
    "self_ensemble", "train_denoiser", "training_patches",
]
