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
# Distance** (FID, Heusel et al., 2017). Every such verdict is only as good as the
# yardstick, so this chapter builds it, checks it, and says what it cannot see.
#
# **What FID measures.** Embed real and generated images with a fixed feature network
# $\phi$, fit a Gaussian to each cloud of feature vectors, and take the Fréchet
# (2-Wasserstein) distance between the two Gaussians:
#
# $$\mathrm{FID} = \lVert \mu_r - \mu_g \rVert^2 + \operatorname{tr}\Sigma_r + \operatorname{tr}\Sigma_g
#   - 2 \operatorname{tr}\bigl(\Sigma_r^{1/2}\, \Sigma_g\, \Sigma_r^{1/2}\bigr)^{1/2}.$$
#
# `flowlib.fid` computes the last term from the eigenvalues of the *symmetric* matrix
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
#   modes (low *recall*). So `flowlib.fid` also reports precision and recall
#   (Kynkäänniemi et al., 2019: $k$-nearest-neighbour balls, $k=3$, around each real or
#   generated feature vector approximate the two manifolds) and **mode coverage**: the
#   histogram of the digit classes an MNIST classifier assigns to the samples, its
#   entropy ($\ln 10 \approx 2.303$ nats when uniform) and its KL divergence to the
#   reference images' histogram.
#
# **Two feature networks.** The standard *Inception* network (the 2015-12-05 TensorFlow
# graph used by TF-FID, pytorch-fid, StyleGAN and clean-fid) was trained on ImageNet
# photographs; digits have to be blown up from 28×28 to 299×299 and repeated to three
# channels first. So the book also uses an MNIST-domain network: the 128-d
# penultimate layer of a small LeNet-like classifier trained on MNIST (`flowlib.classifier`).

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from flowlib import fid as fidmod
from flowlib import widgets
from flowlib.classifier import CLASSIFIER_DIR
from flowlib.manifest import read_manifest
from flowlib.paths import RESULTS
from flowlib.presets import pick

SIZES = pick(preset, {
    # n: images per side for the noise/blur curves; ns: sample sizes; grid_n: widget frames
    "smoke": dict(n=300, noise=(0.0, 0.1, 0.3), blur=(0.0, 1.0, 2.0), ns=(200, 1000),
                  grid_n=300, grid_noise=(0.0, 0.2, 0.4), grid_blur=(0.0, 1.5)),
    "quick": dict(n=2000, noise=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5), blur=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
                  ns=(250, 500, 1000, 2000, 5000, 10_000), grid_n=1000,
                  grid_noise=(0.0, 0.1, 0.2, 0.3, 0.5), grid_blur=(0.0, 1.0, 2.0)),
    "full": dict(n=10_000, noise=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5), blur=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
                 ns=(250, 500, 1000, 2000, 5000, 10_000), grid_n=5000,
                 grid_noise=(0.0, 0.1, 0.2, 0.3, 0.5), grid_blur=(0.0, 1.0, 2.0)),
})
t_start = time.time()

# %% [markdown]
# ## The MNIST classifier behind the LeNet features
#
# Trained by `python -m flowlib train-classifier` on the 50 000 training images (with
# small random rotations, scalings and shifts), the epoch kept by validation accuracy,
# then evaluated once on the test set. The shipped weights are re-evaluated by the
# test suite against this manifest.

# %%
clf = read_manifest(CLASSIFIER_DIR)["results"]
print(f"LeNet-like classifier: {clf['parameters']:,} parameters, {clf['feature_dim']}-d features, "
      f"best epoch {clf['best_epoch']}")
print(f"validation accuracy {clf['validation_accuracy']:.2%}, test accuracy {clf['test_accuracy']:.2%}")

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
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for ax, key, xlabel in zip(axes, ("noise", "blur", "sample_size"),
                           ("noise std σ (pixels in [0, 1])", "blur std (pixels)",
                            "generated images n (reference: 10 000)")):
    c = curves[key]
    ax.plot(c["levels"], c["fid"], "o-", color="C0", label="FID (LeNet)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("FID", color="C0")
    if key == "sample_size":
        ax.set_xscale("log")
    ax2 = ax.twinx()
    ax2.plot(c["levels"], c["precision"], "s--", color="C1", label="precision")
    ax2.plot(c["levels"], c["recall"], "^--", color="C2", label="recall")
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_ylabel("precision / recall")
    ax.set_title(key.replace("_", " "))
lines = axes[0].get_lines() + axes[0].figure.axes[3].get_lines()
fig.legend(lines, [line.get_label() for line in lines], loc="upper center", ncol=3,
           bbox_to_anchor=(0.5, 1.07))
fig.tight_layout()
plt.show()

# %%
for key in ("noise", "blur", "sample_size"):
    c = curves[key]
    print(f"{key:>12}: " + "  ".join(
        f"{lvl}: FID {f:.3f} P {p:.2f} R {r:.2f}"
        for lvl, f, p, r in zip(c["levels"], c["fid"], c["precision"], c["recall"])))
d = curves["drop_classes"]
for lvl, f, p, r, h, k in zip(d["levels"], d["fid"], d["precision"], d["recall"],
                              d["class_entropy"], d["classes_covered"]):
    print(f"{lvl:>16}: FID {f:.3f}  precision {p:.2f}  recall {r:.2f}  "
          f"class entropy {h:.2f} nats  classes covered {k}/10")

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
grid = fidmod.corruption_grid(noise=SIZES["grid_noise"], blur=SIZES["grid_blur"],
                              n=SIZES["grid_n"])


def frame(row):
    fig, (a, b) = plt.subplots(1, 2, figsize=(6.4, 2.6), gridspec_kw={"width_ratios": [1, 1.1]})
    a.imshow(widgets.image_grid(row["examples"], nrow=4), cmap="gray_r", vmin=0, vmax=1)
    a.set_axis_off()
    b.barh(["recall", "precision"], [row["recall"], row["precision"]], color=["C2", "C1"])
    b.set_xlim(0, 1)
    b.set_title(f"FID (LeNet) {row['fid']:.3f}\nclasses covered {row['classes_covered']}/10",
                fontsize=10)
    fig.tight_layout()
    return fig


def recompute(noise, blur):
    from flowlib.data import load_mnist
    x = fidmod.corrupt(load_mnist("train").images[:SIZES["grid_n"]], noise=noise, blur=blur)
    r = fidmod.fid(x, reference="mnist-test")
    return frame({"examples": x[:16], "fid": r.fid, "precision": r.precision,
                  "recall": r.recall, "classes_covered": r.classes_covered})


import ipywidgets as W  # noqa: E402

controls = {"noise": W.FloatSlider(value=0.15, min=0, max=0.8, step=0.05, description="noise"),
            "blur": W.FloatSlider(value=0.5, min=0, max=4, step=0.25, description="blur")}
by_blur = {}
for b in SIZES["grid_blur"]:
    rows = [r for r in grid if r["blur"] == b]
    by_blur[f"blur {b:g} px"] = widgets.frame_slider(
        [frame(r) for r in rows], [f"noise σ = {r['noise']:g}" for r in rows], "noise",
        recompute=recompute if b == SIZES["grid_blur"][0] else None,
        recompute_controls=controls if b == SIZES["grid_blur"][0] else None)
plt.close("all")
widgets.frame_choice(by_blur, "blur")

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
bench_path = RESULTS / "fid-benchmarks" / "fid_benchmarks.json"
if bench_path.exists():
    bench = json.loads(bench_path.read_text())
    tvt = bench["train_vs_test"]
    rows = [f"| {name} | {v['n']:,} vs {v['n_reference']:,} | {v['fid']:.3f} | "
            f"{v['precision']:.3f} | {v['recall']:.3f} |" for name, v in tvt.items()]
    display(Markdown("**FID(MNIST train subset, MNIST test)** from the shipped benchmark run\n\n"
                     "| features | n (generated vs reference) | FID | precision | recall |\n"
                     "|---|---|---|---|---|\n" + "\n".join(rows)))
    lt, it = bench["lenet_fid_timing"], bench["inception_throughput"]
    display(Markdown(
        f"Speed on the benchmark machine: one LeNet `fid()` call on {lt['n']:,} images "
        f"(features, statistics, precision/recall, coverage) took {lt['warm_best_s']:.1f} s "
        f"with cached reference statistics; Inception features ran at "
        f"{it['flowlib_images_per_s']:.1f} images/s ({it['ratio']:.2f}× a plain "
        f"pytorch-fid-style loop at batch size {it['batch_size']})."))
else:
    print(f"{bench_path} is missing: run `python benchmarks/fid_bench.py` to make it.")

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
