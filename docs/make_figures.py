"""Draw the figures of docs/concepts.md (run from the repository root):

    python docs/make_figures.py --data-dir ../shared/data
"""

import argparse
from pathlib import Path

import torch

from sdae.core.corruption import Corruption
from sdae.io.data import load_dataset
from sdae.measures.figures import plot_reconstructions

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data-dir", type=Path, default=None)
args = parser.parse_args()

data = load_dataset("auto", args.data_dir)  # MNIST when found, else the bundled digits
x = torch.from_numpy(data.x_test[:8])
generator = torch.Generator().manual_seed(0)
rows = [("clean x", x.numpy())]
for title, kind, level in [("masking, q = 0.25", "masking", 0.25),
                           ("masking, q = 0.5", "masking", 0.5),
                           ("Gaussian, σ = 0.3", "gaussian", 0.3),
                           ("salt-and-pepper, ν = 0.2", "salt_and_pepper", 0.2)]:
    corrupt = Corruption(kind, level, clip=(0.0, 1.0))
    rows.append((title, corrupt(x, generator).numpy()))
path = plot_reconstructions(rows, Path(__file__).parent / "corruption.png", data.image_shape)
print(f"wrote {path}")
