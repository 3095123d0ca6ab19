"""Build the MNIST subset shipped in the package (src/sdae/io/data/shipped/mnist-small.npz).

    python tools/make_mnist_small.py --data-dir ../shared/data

The first 10 000 images of MNIST's training split and the first 2 000 of its test split, as
uint8 arrays, compressed. Rerunning it on the same MNIST files gives the same bytes; its
SHA-256 is written to SHA256SUMS beside it and checked when the package loads it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from sdae.io.data.idx import read_idx
from sdae.io.data.mnist import find_mnist

OUT = Path(__file__).resolve().parents[1] / "src/sdae/io/data/shipped"
N_TRAIN, N_TEST = 10_000, 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder holding mnist/")
    args = parser.parse_args()
    files = find_mnist(args.data_dir)
    if files is None:
        raise SystemExit(f"no MNIST under {args.data_dir}")
    arrays = {
        "x_train": read_idx(files["train-images-idx3-ubyte"])[:N_TRAIN].reshape(N_TRAIN, -1),
        "y_train": read_idx(files["train-labels-idx1-ubyte"])[:N_TRAIN],
        "x_test": read_idx(files["t10k-images-idx3-ubyte"])[:N_TEST].reshape(N_TEST, -1),
        "y_test": read_idx(files["t10k-labels-idx1-ubyte"])[:N_TEST],
    }
    # np.savez_compressed stamps the time into the zip: write the members with a fixed date
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.save(member, np.ascontiguousarray(array, dtype=np.uint8))
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1998, 11, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    data = buffer.getvalue()
    (OUT / "mnist-small.npz").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (OUT / "SHA256SUMS").write_text(f"{digest}  mnist-small.npz\n")
    print(f"wrote {OUT / 'mnist-small.npz'} ({len(data)} bytes), sha256 {digest}")


if __name__ == "__main__":
    main()
