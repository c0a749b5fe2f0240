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
# # Findings
#
# The six findings of the thesis' abstract, as this book's runs have them. The table is
# generated from the shipped results in `results/` by `flowlib.studies.findings` (the same code as
# `python -m flowlib findings --preset quick`, which also writes
# `results/findings-quick.json`; a test regenerates that file and checks it is identical).
# Each verdict applies a rule stated in the chapter it comes from; a rule changed after its
# runs were seen is said to be so there. A study not yet run shows as *not run yet*, and
# one whose runs are still being made as *incomplete* with how many of the runs its rule
# reads have finished: never a verdict from part of a study. Two more statuses keep a failed baseline from passing for a result:
# *inconclusive: the adversarial baseline failed* (no NSGAN generator alive at its end) and
# *inconclusive: runs made before the adversarial machinery was corrected*; and a source
# marked *(retired teacher)* was made on the synthetic MNIST of the teacher that has since
# been replaced, awaiting its rerun. The statuses describe these `quick`-size runs only:
# small models, short schedules, a 2-core CPU (and, where the chapters say so, a lent GPU).

# %% tags=["parameters"]
preset = "quick"

# %%
from IPython.display import Markdown, display

from flowlib.studies import findings

shown = preset if preset != "smoke" else "quick"   # smoke builds show the shipped quick results
rows = findings.findings_table(shown)
display(Markdown(f"Preset of the runs: `{shown}`.\n\n" + findings.markdown(rows)))

# %% [markdown]
# Chapters: F1 and F2 (from a random start) in {doc}`Experiment 1 <nll_vs_gan>`; F2 at the equilibrium in
# {doc}`Is the Nash equilibrium a resting place? <nash>`; F3 and F4 in *Experiment 2:
# misspecification*; F5 in {doc}`What NLL and FID say about each other <nll_vs_fid>`; F6 in
# {doc}`Overparameterised models <overparameterised>`.
