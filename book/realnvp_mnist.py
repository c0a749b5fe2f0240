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
# **The question.** How does a normalizing flow give an image an *exact* likelihood, and how
# good a likelihood does the book's Real NVP reach on MNIST with the compute it has? This
# chapter builds the model that every later experiment trains, a multi-scale **Real NVP**
# ({ref}`Dinh, Sohl-Dickstein & Bengio, 2017 <ref-dinh2017>`), and trains it by maximum
# likelihood.

# %% tags=["remove-input"]
import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from flowlib.book import realnvp_mnist as C
from flowlib.book.code import show_source
from flowlib.book.lesson import answer
from flowlib.book.live import chapter_preset
from flowlib.book.widgets import frame_slider
from flowlib.data.mnist import load_mnist
from flowlib.models.realnvp import parameter_table

preset = chapter_preset(preset)   # the shipped results, or a live run at smoke without them

torch.manual_seed(0)
run = C.canonical_or_train(preset, rerun)
model = run.model.eval()
C.findings_box(run, preset)

# %% [markdown]
# A normalizing flow is an invertible map $f$ from an image $x$ to a latent $z = f(x)$ with a
# standard normal density, so the model's density is exact:
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
# $y \mapsto \operatorname{logit}(\alpha + (1-2\alpha) y)$ with a small margin $\alpha$ (the Real
# NVP paper used 0.05), with log-determinant $D\log(1-2\alpha) - \sum_i \log s_i(1-s_i)$,
# $s = \alpha + (1-2\alpha)y$. Both steps are flow steps in `flowlib.models.realnvp` with their
# log-dets beside them. For *continuous* images in $[0,1]$ (the synthetic MNIST of a later
# chapter) `model.log_prob(x_float)` skips dequantisation and returns the exact density.
#
# The margin has a price every image pays. The model's density lives on the slightly larger
# cube $(-a, 1+a)^D$, $a = \alpha/(1-2\alpha)$, and what it puts outside $[0,1]^D$ is lost to the
# pixels: the term $D\log(1-2\alpha)$ is the same for every image, whatever the network learns.

# %% mystnb={"figure": {"caption": "The two pre-processing steps. Left: uniform dequantisation spreads each integer pixel value over its own bin of width 1/256. Right: the logit step stretches [0, 1] onto the real line; the margin alpha keeps pixels at 0 and 1 at finite values.", "name": "fig-realnvp-dequant"}, "image": {"alt": "Left: integer pixel values spread into uniform bins; right: the logit curve mapping the unit interval onto the real line."}}
C.dequantisation_figure(model.config.alpha);

# %% tags=["remove-input"]
display(Markdown(C.margin_note(model.config.alpha)))

# %% [markdown]
# Both are flow steps with their log-determinants beside them, in `flowlib.models.flows`:

# %% tags=["remove-input"]
from flowlib.models.flows import Dequantize, Logit

show_source(Dequantize.encode)

# %% tags=["remove-input"]
show_source(Logit.encode)

# %% [markdown]
# - Every step's `encode` returns the transformed tensor *and* its log-determinant, one
#   number per image: this is the protocol of every flow step in `flowlib`, so the density
#   of the whole model is a sum that no step can forget.
# - Dequantisation's log-determinant is the same constant for every image, $-D\log 256$.
# - The logit's is computed in the step from the same `s` it transforms, with
#   `torch.log1p(-s)` for $\log(1-s)$, which stays accurate for pixels near 1.

# %% [markdown]
# ## Bits per dimension
#
# Likelihoods of images are reported in **bits per dimension**: the negative log-likelihood
# of the discrete image in bits, divided by the number of pixels $D = 784$,
#
# $$\text{bpd} = \frac{-\log P(k)}{D \log 2} = \frac{-\mathbb E_u[\log p(y)]}{D\log 2} + 8 .$$
#
# Eight bits per pixel is what storing raw bytes costs; a uniform model scores exactly 8. A
# model at 1.0 bpd would compress MNIST eightfold. The literature: Real NVP 1.06, Glow 1.05
# ({ref}`as quoted by Grathwohl et al., 2019 <ref-grathwohl2019>`), the UvA deep-learning
# tutorial's multi-scale flow 1.02 ({ref}`Lippe <ref-lippe-uva11>`), all after hours on a GPU.
#
# Training minimises exactly this, per pixel and in nats; the training loop calls
# this loss for `--loss nll`:

# %% tags=["remove-input"]
from flowlib.training.losses import NLLLoss

show_source(NLLLoss.loss)

# %% [markdown]
# - `model.log_prob(batch, generator=noise)` is the log-density of the batch, dequantised
#   with noise from the run's own generator (so a resumed run draws the same noise); dividing
#   by `model.dim` makes it per pixel.
# - Nats per dimension is what the optimiser sees; the logged `train_bpd` divides by
#   $\ln 2$ to turn nats into bits, and `mnist_units_offset` adds 8 bits for synthetic
#   images, which are continuous in $[0, 1]$ and so skip the $\log 256$ of dequantisation.
#
# Evaluation reports the same quantity over a whole split, with the dequantisation noise
# seeded so that the number is reproducible:

# %% tags=["remove-input"]
from flowlib.models.realnvp import bits_per_dim

show_source(bits_per_dim)

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
#
# The coupling is the class the {doc}`two-dimensional flows <flows_2d>` used, unchanged:

# %% tags=["remove-input"]
from flowlib.models.flows import AffineCoupling

show_source(AffineCoupling.encode)

# %% [markdown]
# Only its conditioner differs: a ResNet of the unchanged channels, whose output is split
# into a bounded log-scale and a shift:

# %% tags=["remove-input"]
from flowlib.models.realnvp import Affine

show_source(Affine.forward)

# %% [markdown]
# - `raw, t = h[:, 0::2], h[:, 1::2]`: one network computes both $s$ and $t$, interleaved
#   in its output channels.
# - `self.scale * torch.tanh(raw)` bounds the log-scale by a learned per-channel `scale`
#   (initialised at 1): a coupling can stretch a value at most by $e^{\text{scale}}$ per
#   step, which keeps early training from exploding.
#
# One scale of the multi-scale architecture squeezes, runs its couplings, and factors half
# of the values out to the latent:

# %% tags=["remove-input"]
from flowlib.models.realnvp import RealNVP, Scale

show_source(Scale.encode)

# %% [markdown]
# And the whole model: the logit step, then every scale, collecting the factored-out
# latents and summing the log-determinants. `log_prob` adds the Gaussian base density; for
# `uint8` pixels it dequantises first and adds that step's $-D\log 256$:

# %% tags=["remove-input"]
show_source(RealNVP._encode)

# %% tags=["remove-input"]
show_source(RealNVP.log_prob)

# %% [markdown]
# The figure draws the same architecture, with the sizes of the model shown in this chapter:

# %% mystnb={"figure": {"caption": "The multi-scale Real NVP as configured here: at each scale, checkerboard couplings, a squeeze, channel couplings, then half of the values factored out to the latent; the rest continue at half the resolution.", "name": "fig-realnvp-architecture"}, "image": {"alt": "Block diagram of the multi-scale Real NVP: per scale, coupling layers, a squeeze, more couplings and a split that sends half of the values to the latent."}}
C.architecture_figure(model.config)
plt.show()

# %%
display(Markdown("Named sizes (reused by the later chapters as teacher and students): "
                 + ", ".join(f"`{k}` {v:,}" for k, v in parameter_table().items()) + " parameters."))

# %% [markdown]
# ## Training
#
# One loop (`python -m flowlib train --loss nll --preset quick`) trains every Real NVP of the
# book: Adam with linear warm-up and a cosine decay that ends exactly at the time budget,
# gradient clipping, an exponential moving average (EMA) of the weights for evaluation,
# atomic checkpoints that resume bit-identically, and a guard that stops on NaN.

# %% mystnb={"figure": {"caption": "Bits/dim of the run shown over its training minutes: each training batch (thin line) and the validation split scored with the averaged (EMA) weights (dots). Look at the slope at the end: the curves are still falling when the time budget stops them.", "name": "fig-realnvp-curve"}, "image": {"alt": "Line plot of training and validation bits per dimension falling over training steps."}}
C.training_curve_figure(run.metrics, f"{model.config.name}: bits/dim during training")
plt.show()

# %%
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

# %% mystnb={"figure": {"caption": "Test bits/dim of every shipped Real NVP run against the training compute it had spent (TFLOP): CPU runs of several sizes and learning rates, and the GPU run of the `full` preset. Look at where the 15-minute CPU budget (grey band) cuts the curves, and which of them cross the dashed line, the quick preset's target (the text under the figure names them).", "name": "fig-realnvp-compute"}, "image": {"alt": "Log-scale plot of test bits per dimension against training compute for several model sizes and learning rates, with the CPU budget marked."}}
fig, text = C.compute_budget_section(run)
plt.show()

# %%
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

# %% mystnb={"figure": {"caption": "Three walks along straight lines in latent space, each between two test digits (the ends are the digits themselves, encoded and decoded). Every image in between is decoded exactly; look for where one digit turns into the other, and for the blurred strokes on the way.", "name": "fig-realnvp-interp"}, "image": {"alt": "Three rows of nine digit images morphing from one test digit into another."}}
test = load_mnist("test")
C.interpolation_figure(model, test.images)
plt.show()

# %% [markdown]
# ## The most and the least likely test digits
#
# The likelihood ranks images. The most likely digits are thin, simple and centred (few ink
# pixels to pay for); the least likely are thick, unusual or cut-off strokes.

# %% mystnb={"figure": {"caption": "The 16 most likely (left) and the 16 least likely (right) test digits under the model, with their range of bits/dim. Likelihood rewards few ink pixels: what it ranks highest is not what a person would call the best-drawn digit.", "name": "fig-realnvp-extremes"}, "image": {"alt": "Two grids of 16 test digits: thin simple ones on the left, thick or unusual ones on the right."}}
fig, text = C.likelihood_extremes(model, test.images[:2000 if preset != "smoke" else 500])
plt.show()

# %%
display(Markdown(text))

# %% [markdown]
# ## Exercises
#
# **1. Temperature zero.** Move the temperature slider to $T = 0$. What do you see, and why?
#
# :::{dropdown} What you should find
# The same image 48 times. Every sample decodes $z = T\,\varepsilon$ from the same noise
# $\varepsilon$, and at $T = 0$ that is $z = 0$ for all of them: the mode of the base
# Gaussian, decoded. It is not the most likely *image* (the log-determinant also counts),
# and it is rarely a clean digit: the base's mode is not where the images are.
# :::
#
# **2. How much do the dequantisation noise and the choice of images matter?** The test
# bits/dim draws uniform noise from a seeded generator. Score the model shown here on the
# first 500 test digits with three seeds:
#
# ```python
# from flowlib.data.mnist import load_mnist
# from flowlib.models.realnvp import bits_per_dim
# x = load_mnist("test").images[:500]
# print([bits_per_dim(model, x, seed=s) for s in range(3)])
# ```
#
# :::{dropdown} What you should find
# The three values differ in the third decimal (about 0.001 bits/dim): the noise averages
# out over 500 × 784 pixels. They differ from the bits/dim of all 10 000 test digits in the
# box at the top by more than that: which digits are scored matters more than the noise,
# which is why every comparison in this book uses the same images for every model.
# :::
#
# **3. Retrain it, small.** Rebuild this chapter training its own model at the smoke preset:
# `python -m flowlib book chapter realnvp_mnist --preset smoke -p rerun True`. Compare the
# box at the top with the shipped run's.
#
# :::{dropdown} What you should find
# The box now describes a fresh run: the smallest Real NVP, `tiny`, trained for a few
# seconds, at about 4 bits/dim on 500 test digits: half of what a model that knows nothing
# pays, and far above the shipped run. Every figure below now shows that model, not the
# shipped one. The run is written under `runs/`, never over `results/`; without
# `-p rerun True` the chapter shows the shipped run again.
# :::
#
# **4. Which pixels cost the most?** The most likely digits have few ink pixels. With a few
# lines, compare the mean number of ink pixels (value above 128) of the 100 most and the 100
# least likely of the first 500 test digits:
#
# ```python
# from flowlib.models.realnvp import per_image_bits_per_dim
# x = load_mnist("test").images[:500]
# order = per_image_bits_per_dim(model, x).argsort()
# ink = (x > 128).flatten(1).sum(1).float()
# print(ink[order[:100]].mean(), ink[order[-100:]].mean())
# ```
#
# :::{dropdown} What you should find
# The 100 most likely digits have well under half the ink pixels of the 100 least likely
# (about 56 against 131, with the shipped model; the average digit of the 500 has about 94).
# A pixel that is 0 is cheap for the model: most pixels are, and the dequantised values near
# 0 are what it learnt best. A thick stroke costs bits for every pixel it covers. A high
# likelihood is a statement about compressibility, not about how well-formed a digit is.
# :::
