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
# # Measuring image quality
#
# The thesis compares a Real NVP trained by maximum likelihood with the same network
# trained as a GAN generator, and judges the images by the **Fréchet Inception
# Distance** (FID, {ref}`Heusel et al., 2017 <ref-heusel2017>`). Every such verdict is only as good as the
# yardstick, so this chapter builds it, checks it, and says what it cannot see.
#
# **What FID measures.** Embed real and generated images with a fixed feature network
# $\phi$, fit a Gaussian to each cloud of feature vectors, and take the Fréchet
# (2-Wasserstein) distance between the two Gaussians:
#
# $$\mathrm{FID} = \lVert \mu_r - \mu_g \rVert^2 + \operatorname{tr}\Sigma_r + \operatorname{tr}\Sigma_g
#   - 2 \operatorname{tr}\bigl(\Sigma_r^{1/2}\, \Sigma_g\, \Sigma_r^{1/2}\bigr)^{1/2}.$$
#
# `flowlib.metrics.fid` computes the last term from the eigenvalues of the *symmetric* matrix
# $\Sigma_r^{1/2}\Sigma_g\Sigma_r^{1/2}$ in float64 (the usual `scipy.linalg.sqrtm(S1 @ S2)`
# works on a non-symmetric matrix and can return complex numbers), accumulates means
# and covariances over batches, and caches the reference statistics on disk.
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
#
# **Two feature networks.** The standard *Inception* network (the 2015-12-05 TensorFlow
# graph used by TF-FID, pytorch-fid, StyleGAN and clean-fid) was trained on ImageNet
# photographs; digits have to be blown up from 28×28 to 299×299 and repeated to three
# channels first. So the book also uses an MNIST-domain network: the 128-d
# penultimate layer of a small LeNet-like classifier trained on MNIST (`flowlib.metrics.classifier`).

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"

# %%
import time

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from flowlib.book import measuring_quality as C
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

# %%
C.curves_figure(curves)
plt.show()

# %%
print(C.curves_table(curves))

# %% [markdown]
# Reading the curves: noise destroys **precision** quickly (noisy digits fall outside
# the $k$-NN balls of real ones), and FID grows with both corruptions. Removing half
# of the digit classes (last two lines) is a different failure: the digits left are
# perfectly realistic, so precision stays high, but **recall** falls, the class
# entropy drops and only five classes are covered. FID alone mixes the two.

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
