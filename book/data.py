# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The data: real MNIST
#
# Every experiment on real images in this book uses MNIST loaded one way, through
# `flowlib.data.mnist.load_mnist`: the classic split used by the Real NVP paper
# ({ref}`Dinh et al., 2017 <ref-dinh2017>`) and most flow papers since — the first 50 000 images of MNIST's training set
# for training, its last 10 000 for validation, and the 10 000 test images. Images
# are `uint8` tensors of shape `(N, 1, 28, 28)`, labels `int64`.
#
# Whatever the source (a local cache, torchvision's files, a wheel on the package index,
# or torchvision's download), the arrays must match one SHA-256 checksum, so every
# chapter and every test sees the same bytes.

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowlib.data import mnist as data

from flowlib.book import widgets
from flowlib.core.presets import pick

splits = {name: data.load_mnist(name) for name in data.SPLITS}
print(data.describe(show_path=False))

# %% [markdown]
# ## A first look

# %%
images, labels = splits["train"]
fig, ax = plt.subplots(figsize=(8, 4))
ax.imshow(widgets.image_grid(images[:64], nrow=16), cmap="gray_r", interpolation="nearest")
ax.set_axis_off()
ax.set_title("The first 64 training digits")
plt.show()
print("labels:", labels[:16].tolist(), "...")

# %% [markdown]
# ## Class counts per split
#
# The ten digits are close to balanced but not exactly: a generator that covers the
# data should reproduce these proportions, which chapter {doc}`Measuring image quality <measuring_quality>`
# turns into a mode-coverage score.

# %%
counts = {name: np.bincount(s.labels.numpy(), minlength=10) for name, s in splits.items()}
fig, ax = plt.subplots(figsize=(8, 3))
width = 0.27
for i, (name, c) in enumerate(counts.items()):
    ax.bar(np.arange(10) + (i - 1) * width, c / c.sum(), width, label=f"{name} (n={c.sum()})")
ax.set_xticks(range(10))
ax.set_xlabel("digit")
ax.set_ylabel("fraction of the split")
ax.legend(loc="lower right")
plt.show()
for name, c in counts.items():
    print(f"{name:>10}: {c.tolist()}")

# %% [markdown]
# ## Pixel values: why a flow needs dequantisation
#
# A normalizing flow is a density over continuous vectors, but MNIST pixels are
# integers 0..255, and most of them are exactly 0. A continuous density can put
# unbounded mass on such a discrete set: a model that squeezes density onto the 256
# values can drive its "likelihood" to infinity without learning anything about digits.
# The fix used throughout the literature is *dequantisation*: add uniform noise
# $u \sim U[0, 1)$ to each integer pixel and divide by 256, so the model sees
# continuous values in $[0, 1)$. The model's log-density of the noisy image, minus
# $D \log 256$, is then a lower bound on the log-probability of the discrete image
# ({ref}`Theis et al., 2016 <ref-theis2016>`), which is what *bits per dimension* report.

# %%
pixels = splits["train"].images.numpy().ravel()
hist = np.bincount(pixels, minlength=256)
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3))
axes[0].bar(range(256), hist / hist.sum(), width=1.0)
axes[0].set_yscale("log")
axes[0].set_xlabel("pixel value (uint8)")
axes[0].set_ylabel("fraction of pixels (log)")
axes[0].set_title("Discrete: spikes at 0 and 255")
rng = np.random.default_rng(0)
sample = pixels[rng.choice(pixels.size, 200_000, replace=False)]
dequantised = (sample + rng.random(sample.size)) / 256.0
axes[1].hist(dequantised, bins=256, density=True)
axes[1].set_yscale("log")
axes[1].set_xlabel("dequantised value in [0, 1)")
axes[1].set_title("After uniform dequantisation: a density")
plt.tight_layout()
plt.show()
print(f"{hist[0] / hist.sum():.1%} of training pixels are 0, "
      f"{hist[255] / hist.sum():.1%} are 255, {np.count_nonzero(hist)} distinct values occur.")

# %% [markdown]
# ## Browse the digits
#
# Pick a split and step through it, 32 digits at a time. In this static page the
# frames were rendered when the chapter was executed; in Jupyter the same control
# works live.

# %%
n_pages = pick(preset, {"smoke": 3, "quick": 12, "full": 24})
per_page = 32
browsers = {}
for name, split in splits.items():
    frames, frame_labels = [], []
    for page in range(n_pages):
        lo = page * per_page
        frames.append(widgets.image_grid(split.images[lo:lo + per_page], nrow=16))
        digits = "".join(str(d) for d in split.labels[lo:lo + per_page].tolist())
        frame_labels.append(f"images {lo}–{lo + per_page - 1}: {digits}")
    browsers[name] = widgets.frame_slider(frames, frame_labels, description="page",
                                          width="640px")
widgets.frame_choice(browsers, description="split")
