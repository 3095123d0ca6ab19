"""Images: folders of them (with class folders for labels), 8- and 16-bit, grayscale and
colour, read and written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..atomic import atomic_write, first_bytes

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".pgm"}


def load_image_tree(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """The images of a folder (no labels), or, when it holds no images but folders of them
    (``root/<class>/*.png``, the usual layout of labelled images), every class folder's
    images labelled by the folder's name (an integer when every name is one)."""
    path = Path(path)
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
        return load_image_folder(path), None
    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        return load_image_folder(path), None  # its error: no images found
    if all(_is_integer(folder.name) for folder in classes):  # 2/ before 10/
        classes.sort(key=lambda folder: int(folder.name))
    parts = [load_image_folder(folder) for folder in classes]
    if len({part.shape[1:] for part in parts}) != 1:
        raise DataError(f"{path}: the class folders hold images of different sizes; resize "
                        "them to one size first")
    names = [folder.name for folder in classes]
    labels = (np.asarray([int(n) for n in names]) if all(_is_integer(n) for n in names)
              else np.asarray(names))
    return np.concatenate(parts), np.repeat(labels, [len(part) for part in parts])


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def load_image_folder(path: str | os.PathLike) -> np.ndarray:
    """All images in a folder as grayscale in [0, 1], shape (n, h, w); one size for all."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{path}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    images = [read_gray_image(file) for file in files]
    if len({im.shape for im in images}) != 1:
        raise DataError(f"{path}: images have different sizes; resize them to one size first")
    return np.stack(images)


def read_gray_image(path: str | os.PathLike, log_16bit: bool = False) -> np.ndarray:
    """One image file as a float32 grayscale array in [0, 1], shape (h, w).

    ``log_16bit``: 16-bit images are often linear luminance (van Hateren's calibrated
    images): map them through log(1 + v) / log(65536), a perceptual scale like the gamma
    of 8-bit photographs.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            return image_to_gray(im, log_16bit)
    except Exception as err:  # PIL's decoders raise many kinds of error on a bad file
        raise DataError(f"{path}: not a readable image ({err})") from err


def image_to_gray(im, log_16bit: bool = False) -> np.ndarray:
    """A PIL image as a float32 grayscale array in [0, 1] (8- and 16-bit alike)."""
    if im.mode in {"I;16", "I;16B", "I;16L", "I"}:
        a = np.asarray(im, dtype=np.float32)
        sixteen = a.max() > 255 or im.mode.startswith("I;16")
        if sixteen and log_16bit:
            return (np.log1p(a) / np.log(65536.0)).astype(np.float32)
        return a / (65535.0 if sixteen else 255.0)
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def image_files(*paths: str | os.PathLike) -> list[Path]:
    """The image files named by ``paths``: files as given, folders' images sorted by name."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(f"{path}: no images found (looked for "
                                f"{', '.join(sorted(IMAGE_SUFFIXES))})")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    return files


def read_image_set(*paths: str | os.PathLike) -> list[np.ndarray]:
    """Every image under ``paths`` (see :func:`read_image`); all grayscale or all colour."""
    images = [read_image(f)[0] for f in image_files(*paths)]
    if len({im.ndim for im in images}) > 1:
        raise DataError(f"{', '.join(map(str, paths))}: some images are grayscale and some "
                        "colour: give images of one kind")
    return images


def read_image(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """An image as float32 in [0, 1] and its bit depth (8 or 16), for denoising.

    Grayscale images come as (h, w), colour ones as (h, w, 3) (an alpha channel is
    dropped). TIFF files are read with tifffile, 16-bit colour PNG with pypng, all else
    with Pillow.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    header = first_bytes(path, 26)
    # bit depth 16, colour type RGB(A): Pillow would silently cut such a PNG to 8 bits
    colour16_png = header[:8] == b"\x89PNG\r\n\x1a\n" and header[24:26] in (b"\x10\x02",
                                                                         b"\x10\x06")
    try:
        if colour16_png:
            import png

            width, height, rows, info = png.Reader(filename=str(path)).asDirect()
            a = np.vstack(list(rows)).astype(np.uint16).reshape(height, width, info["planes"])
        elif path.suffix.lower() in {".tif", ".tiff"}:
            import tifffile

            a = np.asarray(tifffile.imread(path))
        else:
            from PIL import Image

            with Image.open(path) as im:
                if im.mode.startswith("I"):  # 16-bit (or 32-bit integer) grayscale
                    a = np.asarray(im)
                    a = a.astype(np.uint16 if im.mode.startswith("I;16") or a.max() > 255
                                 else np.uint8)
                else:
                    keep = "L" if im.mode in {"1", "L", "LA", "P"} and _is_gray(im) else "RGB"
                    a = np.asarray(im.convert(keep))
    except Exception as err:  # the decoders raise many kinds of error on a bad file
        raise DataError(f"{path}: not a readable image ({err})") from err
    if a.ndim == 3 and a.shape[-1] in (2, 4):  # gray or colour with alpha
        a = a[..., :-1] if a.shape[-1] == 4 else a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] != 3) or a.dtype.kind not in "ui":
        raise DataError(f"{path}: expected a grayscale or RGB image of 8 or 16 bits, got an "
                        f"array of shape {a.shape} and type {a.dtype}")
    bits = 16 if a.dtype.itemsize > 1 else 8
    return (a / (2.0**bits - 1)).astype(np.float32), bits


def _is_gray(im) -> bool:
    if im.mode != "P":
        return True
    palette = np.asarray(im.convert("RGB"))
    return bool((palette == palette[..., :1]).all())


def write_image(path: str | os.PathLike, image: np.ndarray, bits: int = 8) -> Path:
    """Write a float image in [0, 1] ((h, w) or (h, w, 3)) with ``bits`` per channel,
    atomically (16-bit colour as PNG or TIFF only)."""
    import io

    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: name the image file with one of "
                        f"{', '.join(sorted(IMAGE_SUFFIXES))}")
    if bits not in (8, 16):
        raise DataError(f"images have 8 or 16 bits per channel, not {bits}")
    tiff = path.suffix.lower() in {".tif", ".tiff"}
    colour16_png = bits == 16 and image.ndim == 3 and path.suffix.lower() == ".png"
    if bits == 16 and image.ndim == 3 and not (tiff or colour16_png):
        raise DataError(f"{path}: a 16-bit colour image can only be written as PNG or TIFF: "
                        "name the output .png or .tif")
    top = 2**bits - 1
    a = np.rint(np.clip(image, 0.0, 1.0) * top).astype(np.uint16 if bits == 16 else np.uint8)
    buffer = io.BytesIO()
    if colour16_png:  # Pillow cannot write one
        import png

        png.Writer(a.shape[1], a.shape[0], greyscale=False, bitdepth=16).write(
            buffer, a.reshape(a.shape[0], -1))
    elif tiff:
        import tifffile

        tifffile.imwrite(buffer, a, photometric="rgb" if a.ndim == 3 else "minisblack")
    else:
        from PIL import Image

        try:
            Image.fromarray(a).save(buffer, format=_pillow_format(path.suffix.lower()))
        except (OSError, KeyError, ValueError) as err:
            raise DataError(f"{path}: cannot write this image format ({err}): use .png "
                            "or .tif") from None
    return atomic_write(path, buffer.getvalue())


def _pillow_format(suffix: str) -> str:
    """Pillow's name for the format of files ending in ``suffix``. The common formats are
    registered at once (``preinit``); asking for all of them (``registered_extensions``)
    imports every one of Pillow's plugins: 0.15 s of a process's first image written."""
    from PIL import Image

    Image.preinit()
    return Image.EXTENSION.get(suffix) or Image.registered_extensions().get(suffix, "PNG")
