import gzip

import numpy as np
import pytest

from sdae.errors import DataError
from sdae.io.data.idx import parse_idx, read_idx, write_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_every_type(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.dtype.isnative


def test_reads_real_mnist_labels(mnist_dir):
    labels = read_idx(mnist_dir / "mnist" / "train-labels-idx1-ubyte.gz")
    assert labels.shape == (60000,)
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]


def test_bad_magic_number(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "t.gz"
    write_idx(path, np.arange(100, dtype=np.uint8).reshape(10, 10))
    content = gzip.decompress(path.read_bytes())
    with pytest.raises(DataError, match="truncated"):
        parse_idx(content[:-5])
    with pytest.raises(DataError, match="truncated IDX header"):
        parse_idx(content[:6])


def test_truncated_gzip(tmp_path):
    path = tmp_path / "t.gz"
    write_idx(path, np.arange(1000, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nope")
