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
# (Dinh, Sohl-Dickstein & Bengio, 2017), trained here by maximum likelihood. A normalizing flow
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
import json

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from flowlib import realnvp_book as RB
from flowlib.data import load_mnist
from flowlib.paths import RESULTS
from flowlib.realnvp import SIZES, RealNVP, parameter_table
from flowlib.widgets import frame_slider

torch.manual_seed(0)
run = RB.canonical_or_train(preset, rerun)
model = run.model.eval()
res = run.manifest["results"]
display(Markdown(
    f"Showing the {'canonical run in `results/realnvp-nll-quick`' if run.canonical else f'fresh `{preset}` run in `{run.directory}`'}: "
    f"size **{model.config.name}**, {model.num_parameters():,} parameters, "
    f"{res['steps']:,} steps in {res['train_minutes']:.1f} training minutes "
    f"on {run.manifest['device']} (torch {run.manifest['torch']}), "
    f"git commit `{str(run.manifest['commit'])[:10]}`{' (uncommitted changes)' if run.manifest['dirty'] else ''}."))

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
# $s = \alpha + (1-2\alpha)y$. Both steps are flow steps in `flowlib.realnvp` with their
# log-dets beside them. For *continuous* images in $[0,1]$ (the synthetic MNIST of a later
# chapter) `model.log_prob(x_float)` skips dequantisation and returns the exact density.

# %%
RB.dequantisation_figure(model.config.alpha);

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
RB.architecture_figure(model.config)
plt.show()
table = parameter_table()
display(Markdown("Named sizes (reused by the later chapters as teacher and students): "
                 + ", ".join(f"`{k}` {v:,}" for k, v in table.items()) + " parameters."))

# %% [markdown]
# ## Training
#
# One loop (`python -m flowlib train --loss nll --preset quick`) trains every model of the
# book: Adam with linear warm-up and a cosine decay that ends exactly at the time budget,
# gradient clipping, an exponential moving average (EMA) of the weights for evaluation,
# atomic checkpoints that resume bit-identically, and a guard that stops on NaN.

# %%
RB.training_curve_figure(run.metrics, f"{model.config.name}: bits/dim during training")
plt.show()
curve = res.get("test_bpd_curve", {})
text = (f"Test bits/dim ({res.get('test_images', 10000):,} test images) of the final weights: "
        f"**{res['test_bpd']:.3f}**"
        + (" ; along the way: " + ", ".join(f"{m} min: {v:.3f}" for m, v in curve.items())
           if curve else "") + ".")
display(Markdown(text))

# %% [markdown]
# ### The `full` preset on a GPU
#
# The literature's ≈ 1.05 bits/dim takes hours of GPU training. When a GPU was lent to this
# project, the `full` preset (`benchmarks/realnvp_full_gpu.py`: the same loop with
# `--device cuda`, its schedule fitted to a few minutes) ran for as long as the lease
# allowed; what it reached is below, measured on all 10 000 test images.

# %%
full = RESULTS / "realnvp-full-gpu" / "benchmark.json"
if full.exists():
    fb = json.loads(full.read_text())
    note = json.loads((full.parent / "source.json").read_text())["note"]
    display(Markdown(
        f"`{fb['size']}` ({fb['parameters']:,} parameters), batch {fb['batch']}, on "
        f"{fb['device']}: {fb['steps']:,} steps ({fb['epochs']:.1f} epochs) in "
        f"{fb['minutes']:g} training minutes, {fb['train_img_per_s_median']:.0f} images/s. Test "
        "bits/dim along the way: " + ", ".join(f"{m} min: {v:.3f}" for m, v in fb["test_bpd"].items())
        + f". *{note}*"))
else:
    display(Markdown("No `full`-preset GPU run is shipped (`results/realnvp-full-gpu/`)."))

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
budget_path = RESULTS / "realnvp-compute-budget" / "budget.json"
if budget_path.exists():
    budget = json.loads(budget_path.read_text())
    RB.compute_frontier_figure(budget)
    plt.show()
    rates = ", ".join(f"`{k}` {v['train_gflop_per_image']:.3f} GFLOP/image at "
                      f"{v['gflop_per_s']:.0f} GFLOP/s" for k, v in budget["sizes"].items())
    ends = {}
    for p in budget["frontier"]:
        if p["device"] == "CPU" and p["minutes"] >= ends.get(p["run"], {}).get("minutes", 0):
            ends[p["run"]] = p
    n_train = len(load_mnist("train").images)
    rows = "\n".join(f"| {run} | {p['images'] / n_train:.1f} | {p['tflop']:.0f} | "
                     f"{p['test_bpd']:.3f} |" for run, p in sorted(
                         ends.items(), key=lambda kv: kv[1]["test_bpd"]))
    display(Markdown(
        f"Training cost and rate on the benchmark CPU: {rates}; its float32 matrix multiply "
        f"runs at {budget['matmul_gflop_per_s']:.0f} GFLOP/s, so 15 minutes hold about "
        f"{budget['budget_tflop']:.0f} TFLOP.\n\n"
        "| run (15 CPU-minutes) | epochs | TFLOP | test bits/dim |\n|---|---|---|---|\n"
        + rows))
else:
    display(Markdown("No compute-budget benchmark is shipped (`results/realnvp-compute-budget/`)."))

# %% [markdown]
# ## Samples and temperature
#
# Sampling decodes $z \sim \mathcal N(0, T^2 I)$. At temperature $T = 1$ we see the model's
# actual distribution; lowering $T$ trades diversity for cleaner strokes, as in Glow. Move the
# slider: the frames were computed when this chapter ran, from the same latent noise.

# %%
temps = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
frames = RB.temperature_frames(model, temps, n=48, seed=0)
frame_slider(frames, [f"T = {t}" for t in temps], "temperature", width="480px")

# %% [markdown]
# ## Interpolating in latent space
#
# Encode two test digits, walk the straight line between their latents and decode. Every
# intermediate image is a point of the model's latent space, decoded exactly.

# %%
test = load_mnist("test")
pairs = [(0, 1), (2, 3), (4, 7)]
rows = [RB.interpolate(model, test.images[a], test.images[b], steps=9) for a, b in pairs]
fig, ax = plt.subplots(figsize=(9, 3.3))
ax.imshow(RB.grid(torch.cat(rows), nrow=9), cmap="gray")
ax.axis("off")
ax.set_title("latent interpolation between pairs of test digits (left and right ends are "
             "the reconstructed digits)")
plt.show()

# %% [markdown]
# ## The most and the least likely test digits
#
# The likelihood ranks images. The most likely digits are thin, simple and centred (few ink
# pixels to pay for); the least likely are thick, unusual or cut-off strokes.

# %%
n_rank = 2000 if preset != "smoke" else 500
bpd = RB.per_image_bpd(model, test.images[:n_rank])
order = torch.argsort(bpd)
fig, ax = plt.subplots(1, 2, figsize=(9, 2.6))
for a, idx, name in ((ax[0], order[:16], "most likely"), (ax[1], order.flip(0)[:16], "least likely")):
    a.imshow(RB.grid(test.images[idx].float() / 255, nrow=8), cmap="gray")
    a.set_title(f"{name}: {float(bpd[idx].min()):.2f} to {float(bpd[idx].max()):.2f} bits/dim")
    a.axis("off")
plt.show()
display(Markdown(f"Over the first {n_rank} test digits the bits/dim range from "
                 f"{float(bpd.min()):.2f} to {float(bpd.max()):.2f} (median "
                 f"{float(bpd.median()):.2f})."))
