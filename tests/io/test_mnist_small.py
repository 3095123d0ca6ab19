"""The MNIST subset shipped in the package."""

import hashlib

import numpy as np
import pytest

from sdae.errors import DataError
from sdae.io.data import load_dataset
from sdae.io.data import mnist as mnist_module


def test_the_shipped_subset_loads_offline_and_matches_its_checksum():
    d = load_dataset("mnist-small")
    assert d.x_train.shape == (10_000, 784) and d.x_test.shape == (2_000, 784)
    assert d.x_train.dtype == np.float32 and 0 <= d.x_train.min() and d.x_train.max() == 1
    assert d.image_shape == (28, 28)
    # the first MNIST training labels, and every class well represented
    assert d.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert np.bincount(d.y_train, minlength=10).min() > 800
    assert np.bincount(d.y_test, minlength=10).min() > 150
    raw = (mnist_module.SHIPPED / "mnist-small.npz").read_bytes()
    listed = (mnist_module.SHIPPED / "SHA256SUMS").read_text().split()[0]
    assert hashlib.sha256(raw).hexdigest() == listed


def test_a_damaged_subset_is_refused(tmp_path, monkeypatch):
    (tmp_path / "mnist-small.npz").write_bytes(b"not the data")
    listed = (mnist_module.SHIPPED / "SHA256SUMS").read_text()
    (tmp_path / "SHA256SUMS").write_text(listed)
    monkeypatch.setattr(mnist_module, "SHIPPED", tmp_path)
    with pytest.raises(DataError, match="does not match its checksum: reinstall sdae"):
        load_dataset("mnist-small")
    (tmp_path / "mnist-small.npz").unlink()
    with pytest.raises(DataError, match="missing"):
        load_dataset("mnist-small")
