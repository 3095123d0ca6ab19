"""Write examples/tutorial.ipynb from the cells below (python tools/make_tutorial.py): the
notebook is kept as source here, so that a change to it is a readable diff."""

from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# Denoising autoencoders, the lecture in code

This notebook follows the classic lecture on denoising autoencoders (Vincent, Larochelle,
Bengio & Manzagol, ICML 2008; JMLR 2010) with `sdae`, on the 10 000 MNIST images shipped
with the package: it runs offline, in a few minutes on two CPU cores.

1. the corruption P(x̃ = 0 | x) = q,
2. a plain autoencoder against DAEs with 25% and 50% masking noise,
3. their filters W_i / ‖W_i‖, and why they are what each unit responds to,
4. Gaussian noise,
5. a classifier on the codes."""),
code("""import matplotlib.pyplot as plt
import torch

from sdae import DenoisingAutoencoder, TrainConfig, load_dataset, train_autoencoder
from sdae.core.corruption import gaussian, masking
from sdae.core.training import batched
from sdae.measures.analysis import low_frequency_energy, probe_error

data = load_dataset("mnist-small")  # shipped with sdae: 10 000 training, 2 000 test images
x_train, x_test = torch.from_numpy(data.x_train), torch.from_numpy(data.x_test)
print(data.describe())"""),
md("""## 1. The corruption q_D(x̃ | x)

Masking noise sets each pixel to 0 independently with probability q, fresh every time an
example is seen. The DAE sees only x̃, and is trained to give back the clean x."""),
code("""g = torch.Generator().manual_seed(0)
digits = x_test[:6]
rows = [("clean", digits)] + [(f"q = {q}", masking(digits, q, g)) for q in (0.25, 0.5)]
fig, axes = plt.subplots(len(rows), len(digits), figsize=(6, 3))
for r, (name, images) in enumerate(rows):
    for c, image in enumerate(images):
        axes[r, c].imshow(image.reshape(28, 28), cmap="gray")
        axes[r, c].axis("off")
    axes[r, 0].set_title(name, fontsize=8, loc="left")
plt.show()

x_tilde = masking(x_train[:1000], 0.25, g)
print("share of pixels set to 0 by the noise:",
      float(((x_tilde == 0) & (x_train[:1000] != 0)).sum() / (x_train[:1000] != 0).sum()))"""),
md("""## 2. A plain autoencoder against denoising autoencoders

The same architecture (784 → 500, tied weights W' = Wᵀ, sigmoid units, cross-entropy against
the **clean** input), the same initial weights and the same schedule; only the noise level
differs. Without noise the model can come close to copying its input; with noise it must
learn what digits are made of."""),
code("""config = TrainConfig(epochs=10, batch_size=20, lr=0.1, seed=0, progress=False)
models = {}
for q in (0.0, 0.25, 0.5):
    init = torch.Generator().manual_seed(0)  # the same initial W for every model
    dae = DenoisingAutoencoder(784, 500, corruption="masking", noise_level=q, generator=init)
    history = train_autoencoder(dae, x_train, config)
    models[q] = dae
    print(f"q = {q}: training loss {history.train_loss[-1]:.1f} after {config.epochs} epochs "
          f"({history.seconds:.0f} s)")"""),
md("""## 3. The filters

Unit i computes y_i = s(W_i · x + b_i). Among inputs of a given norm, the one that
activates it most is the one most aligned with W_i: so W_i / ‖W_i‖, drawn as an image,
*is* what the unit detects. The plain autoencoder's filters look like noise; the DAEs'
are localised strokes and blobs, wider as the noise grows. Their power sits at lower
spatial frequencies, which `low_frequency_energy` measures."""),
code("""from IPython.display import Image

from sdae.measures.figures import plot_filter_panels

names = {0.0: "AE (no noise)", 0.25: "DAE (25% masking)", 0.5: "DAE (50% masking)"}
panels = [(names[q], dae.weight.detach().numpy()) for q, dae in models.items()]
for name, weight in panels:
    print(f"{name}: low-frequency energy {low_frequency_energy(weight, (28, 28)):.3f}")
plot_filter_panels(panels, "tutorial-filters.png", (28, 28), 100)  # each W_i / ||W_i||
Image("tutorial-filters.png")"""),
md("""## 4. Gaussian noise

For real-valued data the corruption is additive: x̃ = x + N(0, σ²I). The DAE that undoes it
is trained on exactly the same criterion."""),
code("""noisy = gaussian(digits, 0.3, g, clip=(0.0, 1.0))
gdae = DenoisingAutoencoder(784, 500, corruption="gaussian", noise_level=0.3, clip=(0.0, 1.0),
                            generator=torch.Generator().manual_seed(0))
train_autoencoder(gdae, x_train, TrainConfig(epochs=5, batch_size=20, lr=0.1, progress=False))
with torch.no_grad():
    restored = gdae(noisy)
fig, axes = plt.subplots(3, len(digits), figsize=(6, 3))
for r, images in enumerate((digits, noisy, restored)):
    for c, image in enumerate(images):
        axes[r, c].imshow(image.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        axes[r, c].axis("off")
plt.show()"""),
md("""## 5. A classifier on the codes

A linear classifier (logistic regression) on each model's code y = s(W x + b), against the
same classifier on the raw pixels: the denoising criterion makes features that a linear
classifier can use."""),
code("""raw = probe_error(data.x_train, data.y_train, data.x_test, data.y_test, solver="lbfgs",
                  max_iter=100)
print(f"raw pixels: test error {raw:.2%}")
for q, dae in models.items():
    codes_train = batched(dae.encode, x_train).numpy()
    codes_test = batched(dae.encode, x_test).numpy()
    error = probe_error(codes_train, data.y_train, codes_test, data.y_test, solver="lbfgs",
                        max_iter=100)
    print(f"{'AE' if q == 0 else f'DAE, q = {q}'}: test error {error:.2%}")"""),
md("""The whole comparison, on full MNIST and with the papers' schedule, is one command:
`sdae experiment mnist-filters --data-dir DIR`; the stacked version (greedy layer-wise
pre-training, then fine-tuning) is `sdae experiment sda-mnist`."""),
]
kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel})
nbf.write(nb, Path(__file__).resolve().parents[1] / "examples" / "tutorial.ipynb")
