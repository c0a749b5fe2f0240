# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
preset = "quick"

# %% [markdown]
# # Preface
#
# *An executable book about the negative log-likelihood loss in generative modelling.*
#
# **The question.** Is maximum likelihood a poor way to train a model that should make
# realistic images, as is often argued, and are generative adversarial networks better at
# it? A master thesis from KTH, *Analyzing the Negative Log-Likelihood Loss in Generative
# Modeling* ({ref}`Espuña i Fontcuberta, 2022 <ref-thesis>`), put this to the test with a
# method that holds the confounders fixed: the **same** Real NVP normalizing flow is trained
# on MNIST once by minimising the negative log-likelihood (NLL) and once as the generator of
# a non-saturating GAN (NSGAN), and image quality is measured by the Fréchet Inception
# Distance (FID). It then builds a synthetic, MNIST-looking data set sampled from a Real NVP
# *teacher* with known weights, so that the true density is known, and studies how NLL
# behaves when the model is misspecified, under- or over-parameterised.

# %% tags=["remove-input"]
from flowlib.book import preface as C

C.findings_box(preset)

# %% [markdown]
# Only the thesis' abstract is public. This book reproduces its experiments from that
# description with its own code, the Python package `flowlib`, and goes beyond it.
#
# ## What is reproduced, and what is new
#
# **From the thesis (its abstract):** NLL versus NSGAN training of one Real NVP on
# MNIST, judged by FID; the synthetic MNIST whose generating distribution is a Real NVP
# with known weights; students of several degrees of misspecification trained by NLL,
# with training and validation NLL and FID; the observation that NSGAN training is
# unstable even at the Nash equilibrium. The abstract reports six findings, which this
# book tests and reports as supported or not, with numbers, whatever the runs show:
#
# | | finding reported in the abstract |
# |---|---|
# | F1 | NLL-trained Real NVP does unexpectedly well in FID against the NSGAN-trained same model |
# | F2 | NSGAN training of Real NVP is unstable, even started at the Nash equilibrium |
# | F3 | students of different misspecification reach different training NLL but converge alike |
# | F4 | validation NLL shows overfitting on the finite synthetic set; well-specified students can validate worse than misspecified ones |
# | F5 | overfitting hurts validation NLL much more than FID |
# | F6 | overparameterised students are slow, often unstable, overfit heavily and give poorer images |
#
# Where each stands in this book — supported, not supported or mixed, with the numbers —
# is on the page {doc}`findings`, generated from the shipped runs in `results/`; the works
# cited are listed in {doc}`references`.
#
# **Our own additions** (not in the thesis): the exact KL divergence from the teacher to
# each student, $\mathrm{KL}(p_\text{teacher}\,\|\,p_\text{student}) =
# \mathrm{NLL}_\text{student} - H(p_\text{teacher})$, which the known teacher makes
# computable; the exact validation
# bits/dim of GAN-trained flows during training; FID with an MNIST-domain feature network
# beside the standard Inception network, with precision, recall and class coverage;
# two-dimensional flows that show mode covering and mode dropping in seconds; and
# widgets to turn the knobs.
#
# ## How to read it
#
# Every chapter is a notebook that was executed when this website was built: every
# number and figure comes from a run of `flowlib`, with its provenance (configuration,
# seed, commit, device, wall time) saved beside it under `results/`. Sliders and
# drop-downs work in this static page: they step through frames precomputed when the
# chapter was executed, and say so. Open a chapter in Jupyter to recompute at settings
# of your own.

# %% tags=["parameters"]
preset = "quick"

# %% [markdown]
# ## Rerunning a chapter: presets
#
# Every experiment comes in three sizes, one code path:

# %%
from flowlib.core.presets import PRESETS

descriptions = {
    "smoke": "seconds: proves every code path (what the tests run)",
    "quick": "minutes per chapter on a 2-core laptop CPU; results that already show the effects",
    "full": "the thesis-scale run, on a GPU",
}
for name in PRESETS:
    marker = "  <- this build" if name == preset else ""
    print(f"{name:>6}: {descriptions[name]}{marker}")

# %% [markdown]
# From a clone of the repository:
#
# ```bash
# make book                 # build this website (quick preset): _build/html/index.html
# make book PRESET=smoke    # the same book in a minute, every chapter at its smallest
# make chapter NAME=data    # re-execute one chapter, then rebuild the HTML
# make test                 # the test suite
# ```
#
# Chapters that train models show the canonical runs shipped in `results/` and retrain
# only when asked, e.g. `python -m flowlib book chapter realnvp_mnist -p rerun True`.
# The `full` preset runs the thesis-scale experiments (use the `flowlib` command line on
# a GPU, e.g. `python -m flowlib train --loss nll --preset full`).
#
# ## Opening a chapter in Jupyter
#
# The chapters live in `book/` as plain Python files in Jupytext's percent format
# (`# %%` starts a cell), so they diff and review like code. Every page of this website
# offers its executed notebook for download (the download button at the top). To work
# on the source, open `book/NAME.py` in JupyterLab with Jupytext installed (it opens as a
# notebook), or convert it once: `jupytext --to ipynb book/data.py`.

# %% [markdown]
# ## Exercises
#
# **1. A smoke build.** Build the whole book at the smallest preset,
# `make book PRESET=smoke` (minutes, not hours). Which numbers
# change, and which stay?
#
# :::{dropdown} What you should find
# Numbers read from shipped runs stay: the box above, the test bits/dim of the Real NVP, the
# teacher of synthetic MNIST, every experiment chapter (a smoke build shows the shipped
# `quick` studies, since a smoke run only proves that the code runs). Numbers computed when a
# page is built change, and at smoke mean little: the two-dimensional flows train for 40
# steps instead of 1 500, the FID checks use a few hundred images, the sliders have fewer
# frames. Each page says which of the two it is showing.
# :::
#
# **2. Where a number comes from.** Every shipped run keeps its provenance beside it. Read it
# for the Real NVP of chapter {doc}`realnvp_mnist`:
#
# ```python
# from flowlib.core.manifest import read_manifest
# from flowlib.core.paths import results_root
# m = read_manifest(results_root("realnvp-nll-quick"))
# print(m["commit"], m["device"], m["seed"], m["results"]["test_bpd"])
# ```
#
# :::{dropdown} What you should find
# The commit of the code that trained it, the device it ran on (a 2-core CPU), its seed,
# and its test bits/dim: the very number in the box at the top of chapter
# {doc}`realnvp_mnist`, which reads it from this file. `m["config"]` holds every setting of
# the run, and `results/realnvp-nll-quick/metrics.jsonl` every logged step.
# :::
#
# **3. Regenerate the verdicts.** The box above is read from `results/findings-quick.json`.
# Regenerate that file from the runs and compare:
#
# ```bash
# python -m flowlib findings --preset quick
# git diff --stat results/
# ```
#
# :::{dropdown} What you should find
# The command prints the table of verdicts and rewrites the file, and `git diff` shows no
# change: the verdicts are recomputed from the shipped runs by the rules in
# `flowlib.studies`, never typed, and the test suite checks exactly this.
# :::
