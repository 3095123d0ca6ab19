"""The IDX file format of MNIST and Fashion-MNIST (gzip-compressed or raw).

Layout: two zero bytes, a type code, the number of dimensions, one big-endian uint32 size
per dimension, then the elements in C order, big-endian.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..atomic import atomic_write, read_whole

# type code -> big-endian dtype
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}


def read_idx_bytes(path: str | os.PathLike) -> bytes:
    """The raw IDX content of ``path``, uncompressed when it is gzipped."""
    path = Path(path)
    raw = read_whole(path, DataError)
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path}: corrupt or truncated gzip file ({err})") from err
    return raw


def parse_idx(content: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes into an array of the file's own type and shape (native byte order)."""
    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] not in IDX_TYPES:
        raise DataError(
            f"{name}: not an IDX file (bad magic number {content[:4].hex() or 'empty'}); "
            "expected e.g. 00000803 for MNIST images"
        )
    dtype, ndim = IDX_TYPES[content[2]], content[3]
    header = 4 + 4 * ndim
    if len(content) < header:
        raise DataError(f"{name}: truncated IDX header")
    shape = tuple(int(s) for s in np.frombuffer(content, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(content) != expected:
        raise DataError(
            f"{name}: IDX file is {'truncated' if len(content) < expected else 'too long'} "
            f"({len(content)} bytes, header says {expected}); download it again"
        )
    data = np.frombuffer(content, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a NumPy array."""
    return parse_idx(read_idx_bytes(path), name=str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file; gzip it when ``compress`` or the name ends in .gz."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    content = header + array.astype(IDX_TYPES[code]).tobytes()
    path = Path(path)
    if compress if compress is not None else path.suffix == ".gz":
        content = gzip.compress(content, mtime=0)
    atomic_write(path, content)
