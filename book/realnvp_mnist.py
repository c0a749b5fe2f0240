# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"
rerun = False

# %% [markdown]
# # Real NVP on MNIST
#
# This chapter builds the model every later experiment trains: a multi-scale **Real NVP**
# ({ref}`Dinh, Sohl-Dickstein & Bengio, 2017 <ref-dinh2017>`), trained here by maximum likelihood. A normalizing flow
# is an invertible map $f$ from an image $x$ to a latent $z = f(x)$ with a standard normal
# density, so the model's density is exact:
#
# $$\log p(x) = \log \mathcal N(f(x); 0, I) + \log \left|\det \frac{\partial f}{\partial x}\right| .$$
#
# In `flowlib`, **encode** is $f$ (data to latent, the direction of density evaluation) and
# **decode** is $f^{-1}$ (latent to data, the direction of sampling).
#
# Unless `rerun=True` (or the run is missing) the chapter shows the canonical run shipped in
# `results/realnvp-nll-quick/`; every number below is read from that run's files or recomputed
# from its checkpoint.

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from flowlib.book import realnvp_mnist as C
from flowlib.book.widgets import frame_slider
from flowlib.data.mnist import load_mnist
from flowlib.models.realnvp import parameter_table

torch.manual_seed(0)
run = C.canonical_or_train(preset, rerun)
model = run.model.eval()
display(Markdown(C.run_summary(run, preset)))

# %% [markdown]
# ## From pixels to a density: dequantisation and the logit
#
# MNIST pixels are integers $k \in \{0, \dots, 255\}$, and a continuous density can put
# arbitrarily high density on a finite set of points. The standard fix is **uniform
# dequantisation**: train on $y = (k + u)/256$ with $u \sim U[0,1)^D$. By Jensen's inequality
# the discrete probability of the image is bounded by the continuous model,
#
# $$\log P(k) \ge \mathbb E_u\!\left[\log p\!\left(\tfrac{k+u}{256}\right)\right] - D \log 256 ,$$
#
# where $-D\log 256$ is the log-determinant of squeezing each unit bin into width $1/256$.
#
# Flows live on the whole real line, images on $[0,1]$: the **logit** step maps
# $y \mapsto \operatorname{logit}(\alpha + (1-2\alpha) y)$ with $\alpha = 0.05$ (as in the Real
# NVP paper), with log-determinant $D\log(1-2\alpha) - \sum_i \log s_i(1-s_i)$,
# $s = \alpha + (1-2\alpha)y$. Both steps are flow steps in `flowlib.models.realnvp` with their
# log-dets beside them. For *continuous* images in $[0,1]$ (the synthetic MNIST of a later
# chapter) `model.log_prob(x_float)` skips dequantisation and returns the exact density.

# %%
C.dequantisation_figure(model.config.alpha);

# %% [markdown]
# ## Bits per dimension
#
# Likelihoods of images are reported in **bits per dimension**: the negative log-likelihood
# of the discrete image in bits, divided by the number of pixels $D = 784$,
#
# $$\text{bpd} = \frac{-\log P(k)}{D \log 2} = \frac{-\mathbb E_u[\log p(y)]}{D\log 2} + 8 .$$
#
# Eight bits per pixel is what storing raw bytes costs; a uniform model scores exactly 8. A
# model at 1.0 bpd would compress MNIST eightfold. The literature: Real NVP 1.06, Glow 1.05,
# the UvA deep-learning tutorial's multi-scale flow 1.02, all after hours on a GPU.

# %% [markdown]
# ## The multi-scale architecture
#
# Each **affine coupling** leaves half of the values unchanged and transforms the other half,
# $y_b = x_b \odot \exp(s(x_a)) + t(x_a)$, with $s, t$ from a small ResNet of the unchanged
# half. Its Jacobian is triangular, so $\log|\det| = \sum s$, and it inverts exactly:
# $x_b = (y_b - t(x_a)) \odot \exp(-s(x_a))$. Halves alternate between a **checkerboard**
# mask and, after a **squeeze** (2x2 blocks of pixels become 4 channels), a **channel** mask.
# After each scale half of the values are **factored out** to the latent; the rest go on at
# half the resolution. The scale is bounded, $s = \text{scale} \cdot \tanh(\cdot)$, which keeps
# training stable where an unbounded $\exp$ diverges. `flowlib` computes checkerboard
# couplings in squeezed space, where the two checkerboard colours are two channel groups:
# the same mask, 4x fewer positions for the ResNet to convolve.

# %%
C.architecture_figure(model.config)
plt.show()
display(Markdown("Named sizes (reused by the later chapters as teacher and students): "
                 + ", ".join(f"`{k}` {v:,}" for k, v in parameter_table().items()) + " parameters."))

# %% [markdown]
# ## Training
#
# One loop (`python -m flowlib train --loss nll --preset quick`) trains every model of the
# book: Adam with linear warm-up and a cosine decay that ends exactly at the time budget,
# gradient clipping, an exponential moving average (EMA) of the weights for evaluation,
# atomic checkpoints that resume bit-identically, and a guard that stops on NaN.

# %%
C.training_curve_figure(run.metrics, f"{model.config.name}: bits/dim during training")
plt.show()
display(Markdown(C.test_bpd_summary(run)))

# %% [markdown]
# ### The `full` preset on a GPU
#
# The literature's ≈ 1.05 bits/dim takes hours of GPU training. When a GPU was lent to this
# project, the `full` preset (`benchmarks/realnvp_full_gpu.py`: the same loop with
# `--device cuda`, its schedule fitted to a few minutes) ran for as long as the lease
# allowed; what it reached is below, measured on all 10 000 test images.

# %%
display(Markdown(C.full_gpu_summary()))

# %% [markdown]
# ### How far do 15 CPU-minutes go?
#
# Minutes depend on the machine; compute does not. `benchmarks/compute_budget.py` counts the
# training FLOPs per image of every named size and measures the rate this 2-core CPU reaches,
# then places every shipped run's test bits/dim against the compute it had spent by then. A
# bigger model learns more per image but costs more per image, and the learning rate moves
# the end point as much as the size does. The figure shows how far the 15-CPU-minute budget
# (grey) is from the 31M-parameter `large` model's curve on a GPU.

# %%
fig, text = C.compute_budget_section()
plt.show()
display(Markdown(text))

# %% [markdown]
# ## Samples and temperature
#
# Sampling decodes $z \sim \mathcal N(0, T^2 I)$. At temperature $T = 1$ we see the model's
# actual distribution; lowering $T$ trades diversity for cleaner strokes, as in Glow. Move the
# slider: the frames were computed when this chapter ran, from the same latent noise.

# %%
temps = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
frames = C.temperature_frames(model, temps, n=48, seed=0)
frame_slider(frames, [f"T = {t}" for t in temps], "temperature", width="480px",
             start=temps.index(1.0))  # open on the model's own samples, not on T = 0

# %% [markdown]
# ## Interpolating in latent space
#
# Encode two test digits, walk the straight line between their latents and decode. Every
# intermediate image is a point of the model's latent space, decoded exactly.

# %%
test = load_mnist("test")
C.interpolation_figure(model, test.images)
plt.show()

# %% [markdown]
# ## The most and the least likely test digits
#
# The likelihood ranks images. The most likely digits are thin, simple and centred (few ink
# pixels to pay for); the least likely are thick, unusual or cut-off strokes.

# %%
fig, text = C.likelihood_extremes(model, test.images[:2000 if preset != "smoke" else 500])
plt.show()
display(Markdown(text))
