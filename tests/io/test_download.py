"""The download code, tested against a local HTTP server on 127.0.0.1 with data made here."""

import gzip
import hashlib

import numpy as np
import pytest

from sdae.errors import DataError, DownloadError
from sdae.io.data import mnist
from sdae.io.data.download import content_sha256, download_verified
from sdae.io.data.idx import write_idx


def test_checksum_is_of_uncompressed_content():
    data = b"some idx bytes" * 100
    expected = hashlib.sha256(data).hexdigest()
    assert content_sha256(data) == expected
    assert content_sha256(gzip.compress(data, compresslevel=1)) == expected
    assert content_sha256(gzip.compress(data, compresslevel=9, mtime=5)) == expected


def test_download_verifies_and_writes(server, tmp_path):
    root, url = server
    payload = gzip.compress(b"hello" * 50)
    (root / "f.gz").write_bytes(payload)
    dest = tmp_path / "dest"
    path = download_verified("f.gz", [url], hashlib.sha256(b"hello" * 50).hexdigest(), dest)
    assert path.read_bytes() == payload
    assert sorted(p.name for p in dest.iterdir()) == ["f.gz"]  # no temporary left


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    root, url = server
    (root / "f.gz").write_bytes(gzip.compress(b"tampered"))
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_verified("f.gz", [url], hashlib.sha256(b"original").hexdigest(), dest)
    assert not dest.exists() or list(dest.iterdir()) == []


def test_falls_back_to_the_next_mirror(server, tmp_path):
    root, url = server
    (root / "good").mkdir()
    (root / "good" / "f.gz").write_bytes(gzip.compress(b"ok"))
    path = download_verified("f.gz", [url + "missing/", url + "good/"],
                             hashlib.sha256(b"ok").hexdigest(), tmp_path)
    assert gzip.decompress(path.read_bytes()) == b"ok"


def test_mnist_download_end_to_end(server, tmp_path, monkeypatch):
    """A miniature MNIST served locally goes through the real load_mnist path."""
    root, url = server
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 60, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 7, dtype=np.uint8),
    }
    checksums = {}
    for stem, array in arrays.items():
        write_idx(root / f"{stem}.gz", array)
        checksums[stem] = content_sha256((root / f"{stem}.gz").read_bytes())
    monkeypatch.setattr(mnist, "FILES", checksums)
    monkeypatch.setattr(mnist, "MIRRORS", (url,))
    monkeypatch.setattr(mnist, "N_TRAIN", 50)
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    data = mnist.load_mnist(tmp_path / "nothing-here")
    assert data.x_train.shape == (50, 784) and data.x_valid.shape == (10, 784)
    assert data.x_test.shape == (7, 784)
    assert data.x_train.max() <= 1.0 and data.x_train.dtype == np.float32
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert (mnist.cache_dir() / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_offline_without_files_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="put train-images-idx3-ubyte.gz"):
        mnist.load_mnist(tmp_path, download=False)


def test_unreachable_mirror_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    monkeypatch.setattr(mnist, "MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(DataError, match="could not download"):
        mnist.load_mnist(tmp_path)
    assert not (mnist.cache_dir() / "mnist").exists() or not any(
        (mnist.cache_dir() / "mnist").iterdir())


def test_real_mnist_split(mnist_dir):
    data = mnist.load_mnist(mnist_dir, download=False)
    assert data.x_train.shape == (50000, 784)
    assert data.x_valid.shape == (10000, 784)
    assert data.x_test.shape == (10000, 784)
    assert 0 <= data.x_train.min() and data.x_train.max() == 1.0
    assert data.y_train[:5].tolist() == [5, 0, 4, 1, 9]
