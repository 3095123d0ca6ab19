"""Downloads that either produce a verified file or leave nothing behind."""

from __future__ import annotations

import gzip
import hashlib
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

from ...errors import DownloadError
from ..atomic import atomic_write


def content_sha256(data: bytes) -> str:
    """SHA-256 of the *uncompressed* content: the same data gzipped differently still match."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise DownloadError(f"corrupt gzip data ({err})") from err
    return hashlib.sha256(data).hexdigest()


def fetch(url: str, timeout: float = 60.0) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "sdae"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def download_verified(
    filename: str, mirrors: Sequence[str], sha256: str, destination: Path, timeout: float = 60.0
) -> Path:
    """Fetch ``filename`` from the first mirror that serves it with the right checksum.

    ``sha256`` is the digest of the uncompressed content. The file is written to
    ``destination / filename`` only once it is verified, and atomically.
    """
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            data = fetch(url, timeout)
        except (urllib.error.URLError, OSError, ValueError) as err:
            errors.append(f"{url}: {getattr(err, 'reason', err)}")
            continue
        try:
            digest = content_sha256(data)
        except DownloadError as err:
            errors.append(f"{url}: {err}")
            continue
        if digest != sha256:
            errors.append(f"{url}: checksum mismatch (got sha256 {digest[:12]}..., "
                          f"expected {sha256[:12]}...)")
            continue
        target = destination / filename
        atomic_write(target, data)
        return target
    raise DownloadError(f"could not download {filename}: " + "; ".join(errors))
