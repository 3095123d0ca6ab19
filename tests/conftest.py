import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SDAE_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never read or write the user's real cache from a test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def mnist_dir():
    if not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST not found: set SDAE_DATA_DIR to the shared data folder")
    return SHARED_DATA


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path_factory):
    """A local HTTP server on 127.0.0.1: ``(folder it serves, its URL)``."""
    root = tmp_path_factory.mktemp("served")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def png_16bit_rgb(width: int = 2, height: int = 2) -> bytes:
    """A black 16-bit RGB PNG, written by hand (Pillow cannot write one)."""
    import struct
    import zlib

    rows = b"".join(b"\0" + bytes(2 * 3 * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)  # 16 bits, RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def bars(n=256, d=16, seed=0):
    """Binary images of one random horizontal or vertical bar: structure a DAE can learn."""
    g = torch.Generator().manual_seed(seed)
    side = int(d**0.5)
    x = torch.zeros(n, side, side)
    rows = torch.randint(side, (n,), generator=g)
    vertical = torch.rand(n, generator=g) < 0.5
    for i in range(n):
        if vertical[i]:
            x[i, :, rows[i]] = 1
        else:
            x[i, rows[i], :] = 1
    return x.reshape(n, d)


def run_killed(argv: list[str], tmp_path, after: int,
               target: str = "sdae.core.training.save_checkpoint") -> None:
    """Run ``sdae ARGV`` in a process that is SIGKILLed right after the ``after``-th call of
    ``target`` (a module's function: by default, the training loop writing a checkpoint).
    A killed run cannot delete its temporary folders: they go to ``tmp_path``."""
    import subprocess
    import sys

    module, function = target.rsplit(".", 1)
    script = (
        "import importlib, os, signal\n"
        f"m = importlib.import_module({module!r})\n"
        "calls = []\n"
        f"def call_then_die(*args, original=m.{function}):\n"
        "    original(*args); calls.append(1)\n"
        f"    if len(calls) == {after}: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"m.{function} = call_then_die\n"
        "from sdae.cli import main\n"
        f"main({argv!r})\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == -9, result.stderr


def without_timings(value):
    """Results with the keys that measure time (or the machine) left out."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items()
                if "seconds" not in k and k != "machine"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value
