# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"

# %% [markdown]
# # The data: real MNIST
#
# **The question.** What exactly do the models of this book learn from, and why can a
# normalizing flow not take the pixels as they are? Every experiment on real images uses
# the handwritten digits of MNIST ({ref}`LeCun et al., 1998 <ref-lecun1998>`); this chapter
# loads them, looks at them, and finds the one property of their pixels that every later
# likelihood has to deal with.

# %% tags=["remove-input"]
from flowlib.book import data as C
from flowlib.data import mnist as data

splits = {name: data.load_mnist(name) for name in data.SPLITS}
C.findings_box(splits)

# %% [markdown]
# MNIST is loaded one way everywhere, through `flowlib.data.mnist.load_mnist`, in the
# classic split used by the Real NVP paper ({ref}`Dinh et al., 2017 <ref-dinh2017>`) and
# most flow papers since: the first 50 000 images of MNIST's training set for training, its
# last 10 000 for validation, and the 10 000 test images.

# %% tags=["remove-input"]
from flowlib.book.code import show_source

show_source(data.load_mnist)

# %% [markdown]
# Images are `uint8` tensors of shape `(N, 1, 28, 28)`, labels `int64`. Whatever the source
# behind `_load_all` (a local cache, torchvision's files, a wheel on the package index, or
# torchvision's download), the arrays must match one SHA-256 checksum, so every chapter and
# every test sees the same bytes. `.copy()` hands each caller its own tensors, so one
# chapter's in-place edit cannot change another's data.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowlib.book import widgets
from flowlib.book.lesson import answer
from flowlib.core.presets import pick

print(data.describe(show_path=False))

# %% [markdown]
# ## A first look

# %% mystnb={"figure": {"caption": "The first 64 training digits, as stored: black ink on a white background (the colour map is inverted; a pixel value of 0 is white here).", "name": "fig-data-first"}, "image": {"alt": "A grid of 64 handwritten digits, four rows of sixteen, black on white."}}
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

# %% mystnb={"figure": {"caption": "The share of each digit in the three splits. No digit is far from one tenth, and the three splits agree: a generator that covers the data should reproduce these shares.", "name": "fig-data-classes"}, "image": {"alt": "Grouped bar chart of the share of each digit 0 to 9 in the train, validation and test splits, all close to 0.1."}}
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

# %% mystnb={"figure": {"caption": "Left: how often each of the 256 pixel values occurs in the training set (log scale): two spikes, at 0 and 255, and a thin spread between. Right: the same pixels after uniform dequantisation, a density on [0, 1) with no spikes for a model to exploit.", "name": "fig-data-pixels"}, "image": {"alt": "Two histograms on log scales: discrete pixel values with tall spikes at 0 and 255, and the dequantised values spread continuously over the unit interval."}}
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
# This is the dequantisation every model of the book applies to real images, in
# `flowlib.models.flows`:

# %% tags=["remove-input"]
from flowlib.models.flows import dequantize

show_source(dequantize)

# %% [markdown]
# - `draw(torch.rand, ...)` is fresh uniform noise $u \in [0, 1)$ for every pixel of every
#   image, drawn from a generator the caller passes, so an evaluation can fix it and repeat
#   itself exactly.
# - `(x + u) / 256` sends pixel value $k$ to a point of the bin $[k/256, (k+1)/256)$: every
#   bin has width $1/256$, and squeezing $D$ unit bins into them is the $-D \log 256$ of the
#   bound above. Chapter {doc}`realnvp_mnist` shows the flow step that adds it to the
#   log-density.

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

# %% [markdown]
# ## Exercises
#
# **1. Class counts.** From the counts printed under the class figure, which digit is the
# commonest and which the rarest in each split? If a generator drew exactly 10 % of each
# digit, how far would its class shares be from the data's?

# %% tags=["remove-input"]
answer(C.counts_answer(splits))

# %% [markdown]
# **2. What a uniform model scores.** A model that spreads its density evenly over the unit
# cube, $p(y) = 1$ for every dequantised image, knows nothing about digits. What are its
# bits per dimension? Check with the book's own unit conversion:
#
# ```python
# from flowlib.metrics.likelihood import bpd_256
# print(bpd_256(0.0))   # log p(y) = 0 for every image
# ```
#
# :::{dropdown} What you should find
# Exactly 8.0: with $\log p(y) = 0$ all that is left is the $D \log 256$ of the
# dequantisation, $\log_2 256 = 8$ bits for every pixel, the cost of storing the raw byte.
# Every number of bits/dim in this book is to be read against it: the Real NVP of chapter
# {doc}`realnvp_mnist` needs less than a quarter of it.
# :::
#
# **3. A smaller page.** Rebuild this chapter at the smallest preset,
# `make chapter NAME=data PRESET=smoke`, and open the digit browser. What changed, and what
# did not?
#
# :::{dropdown} What you should find
# The browser offers 3 pages per split instead of 12 (the number of pages is the only
# setting this chapter takes from the preset). Everything else, the counts, the histograms
# and the boxes at the top, is identical: the data do not depend on the preset, only on the
# checksum.
# :::
