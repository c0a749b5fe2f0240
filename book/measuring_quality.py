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
# # Measuring image quality
#
# **The question.** The thesis judges the images of a likelihood-trained and a GAN-trained
# Real NVP by the **Fréchet Inception Distance** (FID,
# {ref}`Heusel et al., 2017 <ref-heusel2017>`). Can that yardstick be trusted on MNIST, and
# what can it not see? Every verdict of the later chapters is only as good as the answer, so
# this chapter builds the yardstick, checks it, and says where it is blind.

# %% tags=["remove-input"]
from flowlib.book import measuring_quality as C
from flowlib.book.live import chapter_preset

preset = chapter_preset(preset)   # the shipped results, or a live run at smoke without them

C.findings_box()

# %% [markdown]
# ## What FID measures
#
# Embed real and generated images with a fixed feature network
# $\phi$, fit a Gaussian to each cloud of feature vectors, and take the Fréchet
# (2-Wasserstein) distance between the two Gaussians:
#
# $$\mathrm{FID} = \lVert \mu_r - \mu_g \rVert^2 + \operatorname{tr}\Sigma_r + \operatorname{tr}\Sigma_g
#   - 2 \operatorname{tr}\bigl(\Sigma_r^{1/2}\, \Sigma_g\, \Sigma_r^{1/2}\bigr)^{1/2}.$$
#
# `flowlib.metrics.fid` computes the last term from the eigenvalues of the *symmetric* matrix
# $\Sigma_r^{1/2}\Sigma_g\Sigma_r^{1/2}$ in float64 (the usual `scipy.linalg.sqrtm(S1 @ S2)`
# works on a non-symmetric matrix and can return complex numbers), accumulates means
# and covariances over batches, and caches the reference statistics on disk. This is the
# core of `frechet_distance`, after its checks of the inputs:

# %% tags=["remove-input"]
from flowlib.book.code import show_source
from flowlib.metrics.fid import frechet_distance, precision_recall

show_source(frechet_distance, start="s1 = (s1 + s1.T) / 2", stop="value = float(")

# %% [markdown]
# - The covariances are symmetrised first: accumulated in float64 over batches they are
#   symmetric only up to rounding, and `eigh` assumes symmetry.
# - `sqrt_s1` is $\Sigma_r^{1/2}$ from the eigendecomposition, with rounding's tiny negative
#   eigenvalues clipped to 0; then $M = \Sigma_r^{1/2}\Sigma_g\Sigma_r^{1/2}$ is symmetric
#   positive semi-definite, and the trace of its square root is the sum of the square roots of
#   its eigenvalues, `tr_covmean`: always a real number.
# - The last line is the formula above, term by term. (`scale`, the largest eigenvalue,
#   only sizes the warning the function gives when a covariance is near-singular.)
#
# **What it cannot see.**
#
# * Only the first two moments of the features: two very different distributions with
#   the same mean and covariance of features get FID 0.
# * Only what the feature network sees. FID is defined *by* its network; a change of
#   network, of resizing, or of pixel scaling changes the number.
# * It is biased upwards at small sample sizes: the same two distributions get a larger
#   FID from 1 000 samples than from 10 000. Compare FIDs only at equal $n$.
# * It does not detect memorisation: the training set itself scores an excellent FID.
# * It is one number for two failure modes: poor samples (low *precision*) and missing
#   modes (low *recall*). So `flowlib.metrics.fid` also reports precision and recall
#   ({ref}`Kynkäänniemi et al., 2019 <ref-kynkaanniemi2019>`: $k$-nearest-neighbour balls, $k=3$, around each real or
#   generated feature vector approximate the two manifolds) and **mode coverage**: the
#   histogram of the digit classes an MNIST classifier assigns to the samples, its
#   entropy ($\ln 10 \approx 2.303$ nats when uniform) and its KL divergence to the
#   reference images' histogram.

# %% tags=["remove-input"]
show_source(precision_recall)

# %% [markdown]
# - `_kth_nn_radii(real, k)` is, for every real feature vector, the distance to its $k$-th
#   nearest real neighbour: a ball around each real point, and their union is the estimated
#   manifold of real images.
# - **Precision** is the share of generated vectors inside some real ball (are the fakes
#   realistic?); **recall** the share of real vectors inside some generated ball (is all of
#   the data reached?). The two are symmetric, which is why one can fall while the other
#   stays.
#
# **Two feature networks.** The standard *Inception* network (the 2015-12-05 TensorFlow
# graph of {ref}`Szegedy et al., 2016 <ref-szegedy2016>`, used by TF-FID,
# {ref}`pytorch-fid <ref-seitzer-pytorch-fid>`, {ref}`StyleGAN <ref-karras2019>` and
# {ref}`clean-fid <ref-parmar2022>`)
# was trained on ImageNet photographs; digits have to be blown up from 28×28 to 299×299 and repeated to three
# channels first. So the book also uses an MNIST-domain network: the 128-d
# penultimate layer of a small LeNet-like classifier trained on MNIST (`flowlib.metrics.classifier`).

# %%
import time

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from flowlib.book.lesson import answer
from flowlib.metrics import fid as fidmod

SIZES = C.sizes(preset)
t_start = time.time()

# %% [markdown]
# ## The MNIST classifier behind the LeNet features
#
# Trained by `python -m flowlib train-classifier` on the 50 000 training images (with
# small random rotations, scalings and shifts), the epoch kept by validation accuracy,
# then evaluated once on the test set. The shipped weights are re-evaluated by the
# test suite against this manifest.

# %%
print(C.classifier_summary())

# %% [markdown]
# ## Sanity checks: does the yardstick move the right way?
#
# A trustworthy FID must be (near) zero between a set and itself, small between two
# samples of the same distribution (training versus test digits), and grow steadily
# as images are corrupted. Below, MNIST training images are corrupted by Gaussian
# pixel noise (then clipped to [0, 1]) or Gaussian blur and compared with the test
# set, all with LeNet features. The last panel varies only the number of
# (uncorrupted) training images, against the full 10 000-image test set: the same two
# distributions, yet a different FID — the small-sample bias.

# %%
curves = fidmod.sanity_curves("lenet", n=SIZES["n"], noise=SIZES["noise"], blur=SIZES["blur"],
                              ns=SIZES["ns"])
display(Markdown(
    f"With n = {SIZES['n']} images per side: FID(test set, itself) = "
    f"{curves['reference_vs_itself']:.2e}; FID(train subset, test) = "
    f"{curves['train_vs_reference']:.3f}; the mildest noise level "
    f"(σ = {SIZES['noise'][1]}) already gives {curves['noise']['fid'][1]:.3f}."))

# %% mystnb={"figure": {"caption": "FID (blue, left axis), precision and recall (right axis) of MNIST training digits against the test set, as the digits are corrupted by pixel noise (top) or blur (middle), and, uncorrupted, as only the number of generated images changes (bottom). Look at which of precision and recall each corruption takes away, and at FID falling in the bottom panel although nothing about the images changes.", "name": "fig-fid-sanity"}, "image": {"alt": "Three stacked panels of FID, precision and recall against noise level, blur level and number of images."}}
C.curves_figure(curves)
plt.show()

# %%
print(C.curves_table(curves))

# %% [markdown]
# Reading the curves and the table, for this build:

# %%
display(Markdown(C.reading(curves)))

# %% [markdown]
# ## Turn the knobs
#
# Choose a blur and move the noise slider: the samples, FID, precision and recall
# update. The frames were computed when this chapter was executed, so the control
# also works in the static web page; in a running notebook, the *Recompute* panel
# evaluates any other setting.

# %%
grid = C.corruption_grid(noise=SIZES["grid_noise"], blur=SIZES["grid_blur"], n=SIZES["grid_n"])
C.corruption_browser(grid, SIZES["grid_n"])

# %% [markdown]
# ## LeNet-FID versus Inception-FID
#
# The same two image sets get very different numbers from the two networks, and the
# numbers must never be compared with each other: an FID is a squared distance in the
# feature space of its network, in that network's units. LeNet features are 128
# numbers tuned to tell digits apart; Inception features are 2048 numbers tuned to
# tell ImageNet's dogs from teapots, computed on digits blown up ~10× by bilinear
# interpolation. Even the ranking of two models can differ between the networks.
# A number is meaningful only next to another number from the same network, the same
# reference set, the same $n$ and the same preprocessing.
#
# The figures below come from `benchmarks/fid_bench.py` (its output is shipped in
# `results/fid-benchmarks/`); the Inception network runs at a few images per second on
# a 2-core CPU (the measured rate is printed below), so it is not rerun here.

# %%
for text in C.benchmark_tables():
    display(Markdown(text))

# %% [markdown]
# ## Which yardstick the later chapters use
#
# One rule: compare FIDs only within one feature network, one reference set and one
# sample size. Which networks are reported depends on the preset:

# %%
for p in ("smoke", "quick", "full"):
    print(f"{p:>6}: FID with {' and '.join(fidmod.yardsticks(p))} features")
print(f"\nthis run ({preset}): {fidmod.yardsticks(preset)}; chapter executed in "
      f"{time.time() - t_start:.0f} s")

# %% [markdown]
# At `quick` (a laptop CPU), later chapters report LeNet-FID against the MNIST test
# set with precision, recall and class coverage from the same call. At `full` (a GPU)
# they report Inception-FID as well, so the results can be set beside the literature
# (which uses the Inception network) — but each FID is only ever compared with FIDs
# from its own network.

# %% [markdown]
# ## Exercises
#
# **1. Which measure does noise take away?** In the browser above keep the blur at 0 and move
# the noise slider from its first to its last frame. Watch FID, precision and recall.

# %% tags=["remove-input"]
answer(C.grid_answer(grid))

# %% [markdown]
# **2. The same images, another FID.** In the bottom panel of the sanity figure only the
# number of (uncorrupted) training digits changes. How much does FID change between the
# smallest and the largest sample, and why?

# %% tags=["remove-input"]
answer(C.sample_size_answer(curves))

# %% [markdown]
# **3. Two moments are all it sees.** FID compares Gaussians fitted to the features. Give it
# two distributions that are nothing alike but share their mean and covariance: a Gaussian
# cloud, and four points at $(\pm 1, \pm 1)$:
#
# ```python
# import numpy as np
# from flowlib.metrics.fid import frechet_distance
# rng = np.random.default_rng(0)
# a = rng.normal(size=(100_000, 2))                 # a Gaussian cloud
# b = rng.choice([-1.0, 1.0], size=(100_000, 2))    # four points
# print(frechet_distance(a.mean(0), np.cov(a.T), b.mean(0), np.cov(b.T)))
# ```
#
# :::{dropdown} What you should find
# About $3 \times 10^{-5}$: zero up to the sampling error of the two means and covariances.
# Both have mean 0 and covariance $I$, so FID calls them identical, although one is a
# continuous cloud and the other four points. On images the same blindness is milder (2048 or
# 128 features, not 2), but it is why this book never reads FID alone: precision, recall and
# class coverage are computed from the same features in the same call.
# :::
#
# **4. A perfect generator's FID.** The box at the top gives the FID of held-out real digits
# against the test digits. Why is it not 0, and what does that mean for a model whose FID is
# just above it?
#
# :::{dropdown} What you should find
# Two finite samples of the same distribution never have exactly the same mean and
# covariance of features, and FID's bias makes the difference positive: that is the floor. A
# model at or near the floor at the same sample size cannot be told from real digits by this
# yardstick; a difference between two models smaller than the floor's own standard error is
# noise. The training set itself, or a model that memorised it, would score near the floor
# too: FID does not detect memorisation.
# :::
