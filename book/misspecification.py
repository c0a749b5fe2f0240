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
# # Experiment 2: misspecification and overfitting
#
# The heart of the thesis. Students of the synthetic-MNIST teacher — Real NVPs **smaller**
# than it (fewer or narrower couplings: *misspecified*, they cannot represent it), of **its
# own size** from a random initialisation (*well-specified*: the teacher is one of its
# parameter settings) and **larger** (*overparameterised*) — are trained by NLL on finite
# synthetic training sets of several sizes. Because the teacher's density is known, each
# student's distance to the truth is measured exactly: $\mathrm{KL}(T\,\|\,S)$ on held-out
# teacher samples, with its standard error.
#
# The thesis reports (**F3**) that students of different misspecification reach different
# training NLL but converge alike, and (**F4**) that validation NLL exposes overfitting to the
# finite set — so much that a well-specified student can validate *worse* than a
# misspecified one.
#
# **This study was redesigned before its runs.** Its first version (kept, marked superseded,
# in `results/superseded/misspecification-quick`) stopped every student after 800 steps of a
# shared cosine schedule, before anything overfitted: it measured undertraining. The design
# and the rules below were written down, implemented in `flowlib.studies.misspecification`
# and unit-tested on constructed studies (where every claim holds, and where none does)
# before any of its runs.
#
# ## The design
#
# * **Students** `tiny` (a third of the teacher's parameters), **`slim`** (the teacher's
#   architecture with narrower coupling nets, 72% of its parameters: only mildly
#   misspecified), `small` (the teacher's size) and `medium` (twice it).
# * **Training sets** of 300, 1 000, 3 000 and 10 000 synthetic images, and an
#   **infinite-data control** per student (fresh teacher samples every step): its error is
#   approximation alone, so a finite run minus its control is the overfitting.
# * **Long enough to overfit**: 3 000 steps of 64 images (640 epochs of the smallest set) at a
#   constant learning rate after the preset's warm-up, per student from a stated search: its
#   infinite-data control (seed 0) at 1e-3, 2e-3 and 4e-3 for the full 3 000 steps, scored by
#   the median validation bits/dim of its last five checks (a rate that turns unstable late
#   loses; one noisy check does not decide). The selected run *is* the control's seed 0.
# * **Seeds**: three where verdicts are read (300 and 1 000 images, and the controls), two at
#   3 000 and 10 000, which show the trend: 52 runs.
# * **Checks** every 100 steps: bits/dim of the validation split and of (up to) 2 000 of the
#   student's own training images, in MNIST's units; every 500 steps the exact KL on 1 000
#   held-out teacher samples and LeNet-FID of 2 000 samples against teacher samples with its
#   bootstrap standard error (20 resamples of the generated features).
#
# ```
# python -m flowlib experiment misspecification-lr --preset quick --seeds 0   # the rate search
# python -m flowlib experiment misspecification --preset quick
# ```
#
# ## The rules, fixed before the runs
#
# Seeds are read as a set: "A above B" means A's whole seed range lies above B's by more than
# a tolerance in the quantity's units. A run's *final* bits/dim is the median of its last five
# checks (steps 2 600-3 000), the search's own score, so that one jump at the last check does
# not decide a verdict. No verdict (*incomplete*) until every run a rule reads has finished.
#
# * **F3** (different training NLL, alike convergence): every pair of neighbouring students'
#   final training bits/dim (on their own 1 000 images) has disjoint seed ranges more than
#   0.01 apart, and every student's control curve (the median over seeds), normalised to its
#   own range from 10% of the run on, stays within 0.15 of the teacher-size student's.
# * **F4**, at 300 and at 1 000 images: the teacher-size student's final validation bits/dim
#   lies above its own best in every seed by more than 0.01 plus its infinite-data control's
#   own final-minus-best (the lowest of ~30 noisy checks lies below the end even without
#   overfitting) (overfitting), and some smaller student's final range lies more than 0.01
#   below it; the same comparison at the early-stopping point is shown beside it.
# * **F5** (chapter {doc}`What NLL and FID say about each other <nll_vs_fid>`) and **F6**
#   (chapter {doc}`Overparameterised models <overparameterised>`) read the same runs.
#
# Each rule gives *supported* when both of its parts hold, *not supported* when neither,
# *mixed* otherwise.
#
# *Revised after a review, before any finite-set run or any third control had finished:* F3's
# curves are compared from 10% of the run on (every student first falls from a random flow's
# 12 bits/dim to about 2 in a few hundred steps; normalised from step 0, that shared drop made
# any two curves "alike"); F4's overfitting must exceed the control's own final-minus-best; F5
# reads KL and FID never at the step-0 check and FID above the teacher's own FID at the same
# sample size (5.2 at 2 000); F6's speed comes from a quiet-machine benchmark.
#
# *The rate search, redone after two controls had run* (before any finite-set run): the first
# search ran 1 000 of the study's 3 000 steps and chose each rate by its last check: 4e-3, the
# grid's top, for tiny, slim and small, 2e-3 for medium. At 4e-3 the controls of tiny and slim
# then jumped by 0.1 and 0.3 bits/dim over their last 300 steps (slim also at step 1 500), on
# fresh data where nothing can overfit: instabilities that F3's shapes, F4's control rise and
# F6's counts would all have read. The search now runs at the study's length with the score
# above; the grid and the rules are unchanged. The first search is kept in
# `results/superseded/misspecification-lr-quick-1000-steps`; the two controls already run at
# 4e-3 are the new search's runs at that rate (the same command).
#
# *"Final" made the median of the last five checks, after those two controls and before any
# finite-set run*: F3's training bits/dim, F4's final validation bits/dim and its control's
# rise, F5's test of which runs overfit and F6's gap all read one check at the end before; a
# jump like the controls' 0.3 bits/dim at the last check alone would have read as
# overfitting. A rise held over the last five checks still does
# (`tests/studies/test_misspecification_rules.py` has both cases).
#
# ## The calibrated rules, stated before the long controls and the shared-rate runs
#
# A rule must pass where its effect cannot exist. Measured on the shipped infinite-data
# controls (nothing can overfit there), three of the rules above cannot: two seeds of one
# student's control are 0.13-0.97 apart by F3's shape distance, against its tolerance of 0.15;
# two seeds' FIDs differ by a factor of up to 3.6 at the last checks, against F5's allowance
# of two bootstrap standard errors (3-5% of FID); and the larger student's gradient spikes,
# which F6 counts, come at the end of warm-up in every one of its controls too. F4's second
# half compares students trained at different searched rates. So these rules were rewritten
# (`flowlib.studies.misspecification_calibrated`, unit-tested on constructed inputs, each
# shown to read differently from the first rule where that rule was blind), each taking its
# tolerance from a null measured in the same runs:
#
# * **F3**, on **long controls** (each student on fresh teacher samples for 30 000 steps, ten
#   times the study's length, seeds 0 and 1, at its searched rate), so that "converge alike"
#   is asked where optimisation no longer limits every student: every student's curves come
#   as close to the teacher-size student's (the smallest distance over seed pairs) as two
#   seeds of one student come (the largest such distance of any student). On constructed
#   curves it passes identical students in about 95% of draws and fails a student converging
#   five times slower in about 98%. The long controls also say how close each student gets to
#   the teacher: its exact KL at the end, in nats and bits/dim, with its standard error.
# * **F5**: each finite-set run against its own infinite-data control (same student, seed and
#   rate) at the end, on a log scale: the KL's and FID's growth factors over the control, each
#   against the largest such factor between two seeds of that student's controls. A run
#   overfits when its KL factor beats that noise; it is a *hit* when the KL's growth is at
#   least the square of the largest FID growth the noise allows, a *miss* when FID grew, even
#   at its smallest, by at least the square root of the KL's growth, and *inconclusive*
#   otherwise. Runs where FID rose and fell are counted apart. No early point is read.
# * **F6**: a gradient spike counts only after step 400 (twice the warm-up), and a student's
#   instability is its share of unstable seeds *beyond* its own controls'; "poorer images"
#   needs the larger student's FID range above the teacher-size student's by the controls'
#   FID noise.
# * **F4** at one rate: tiny and the teacher-size student retrained at 2e-3 (where slim's and
#   medium's searches landed, and where the teacher-size student's search was a near tie) at
#   300 and 1 000 images, three seeds, with their controls at that rate; the rule is unchanged.
#
# F5 and F6 read runs that had been seen: for them these are rules changed after seeing
# results, and both verdicts are shown.

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"
rerun = False
seeds = [0]          # used only when the study is run here (rerun, or nothing shipped)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from flowlib.book import misspecification as C
from flowlib.studies import misspecification as exp2
from flowlib.studies.registry import locate
from flowlib.studies.results import load_study, provenance, shipped_results, teacher_notes

root, note = locate("misspecification", preset, rerun=rerun, seeds=tuple(seeds))
runs = exp2.load(root)
done, planned = exp2.progress(runs)
display(Markdown(f"**{done} of the design's {planned} runs have finished.** "
                 + " ".join(teacher_notes(runs)) + "\n\n" + provenance(runs, note)))

# %% [markdown]
# ## The students
#
# The named sizes of `flowlib.models.realnvp`; the teacher is `small`.

# %%
display(Markdown(exp2.parameter_table()))

# %% [markdown]
# ## The rate search
#
# Each student's control at every searched rate; the shaded checks are the ones that score it.

# %%
search = load_study(shipped_results("misspecification-lr", preset))
fig = C.search_figure(search)
plt.show()
display(Markdown(exp2.search_table(search) + "\n\n" + provenance(
    search, "The search: `results/misspecification-lr-quick`.")))

# %% [markdown]
# ## Learning curves, against the control
#
# For each training-set size, one panel per student: validation (solid) and training (dashed)
# bits/dim, the median over seeds with their range as a band, and the student's infinite-data
# control (dotted). Where the dashed curve keeps falling while the solid one turns up, the
# student is learning its training set rather than the teacher; the distance from the solid
# curve down to the dotted one is what the finite set costs.

# %%
for n in exp2.finite_sizes(runs):
    fig = C.curves_figure(runs, n)
    plt.show()

# %% [markdown]
# ## Overfitting against the size of the training set
#
# Each student's validation bits/dim above its own control, at the end (solid, with the
# seeds' range) and at its early-stopping point (dashed).

# %%
fig = C.overfitting_figure(runs)
plt.show()

# %% [markdown]
# ## Early-stopped and final, side by side
#
# Where early stopping would stop (the lowest validation bits/dim: dashed, open markers)
# and at the end (solid, with the seeds' range as a band), for the three yardsticks: the
# validation bits/dim, the exact KL to the teacher and LeNet-FID against teacher samples (KL
# and FID at the quality check nearest the early-stopping step: they are measured every 500
# steps). On the FID panel the bars are two bootstrap standard errors of the final FID: the
# noise of drawing one set of samples, against which "FID barely changed" is to be read. The
# short lines at the right are the infinite-data controls' final values.

# %%
fig = C.early_final_figure(runs)
plt.show()

# %% [markdown]
# The same, in numbers: median and range over seeds; *best-val step* is where early stopping
# would stop; the ± is the bootstrap standard error of the final FID.

# %%
display(Markdown(exp2.early_final_table(runs)))

# %% [markdown]
# ## The findings, as these numbers have it

# %%
display(Markdown(C.verdicts_table(runs, preset, ("F3", "F4"))))

# %% [markdown]
# ## What the shipped runs show
#
# *Written after the runs, from the shipped `quick` runs, by the first rules; the calibrated
# rules' runs (long controls, one shared rate) are not all shipped yet, and their rows above
# say so.*
#
# **F4 holds, at both sizes, and by the margin the rule asks for.** The teacher-size student
# passes its minimum and climbs: its final validation lies above its best by +2.3, +2.4 and
# +3.4 bits/dim at 300 images and by +0.09 to +0.10 at 1 000, against +0.01 to +0.02 for its
# own infinite-data control. At both sizes `tiny`, with a third of the teacher's parameters,
# ends below it in every seed (3.03-3.63 against 4.20-5.32 bits/dim at 300; 1.72-1.75 against
# 1.82-1.84 at 1 000), and at 1 000 images it validates better even where early stopping
# would stop (1.70 against 1.73). So a misspecified student *can* validate better than the
# well-specified one here; but tiny and the teacher-size student ran at 4e-3 and slim and
# medium at 2e-3 (each its searched rate), so this contrast is not yet one of specification
# alone: the calibrated F4 reads every student at one rate.
#
# **But "smaller" is not "regularised".** `slim`, with 72% of the teacher's parameters (the
# teacher's couplings, narrower), overfits *more* than the teacher-size student at both
# sizes (6.2 against 4.3 bits/dim at 300; 1.92 against 1.84 at 1 000). That suggests what
# protects `tiny` is having far fewer parameters to memorise with rather than being
# misspecified, a reading these runs cannot test while the rates differ.
#
# **F3 is not supported: neither of its parts holds.**
# - *Different training NLL*: on their own 1 000 images the students end at 1.49 (tiny), 1.45
#   (slim), 1.44 (small) and 1.09 (medium) bits/dim, and only `medium` is apart from its
#   neighbour; the three smaller students' seed ranges overlap. On a finite set, training NLL
#   measures how much a student memorises as much as how well it can fit the teacher, and the
#   three smaller ones memorise alike.
# - *Alike convergence*: normalised to their own range, the controls' curves stay within
#   0.15 of the teacher-size student's for none of the three others (tiny 0.34, slim 0.20,
#   medium 0.16). But two seeds of one student's own control are 0.13-0.97 apart by the same
#   distance: a tolerance of 0.15 fails a student against itself, so this "no" says nothing
#   about the students. The calibrated F3 takes its tolerance from that seed-to-seed distance
#   and reads it on controls ten times longer.
#
# **More data, less overfitting; the trend the two-seed cells show.** The final validation
# bits/dim above each student's own control falls from 2.0-15.6 at 300 images (median per
# student: tiny 2.0, slim 4.6, small 2.7, medium 15.6) to 0.14-1.3 at 1 000, and to 0.02 or
# less at 3 000 and 10 000 for tiny and slim. The teacher-size student's 0.18 at 3 000 and 0.11
# at 10 000 come from one seed each whose validation jumped late and stayed up (flagged as
# unstable; its rate, 4e-3, won its search by 1.601 against 1.603 bits/dim); `medium` keeps a
# small gap (0.09 at 3 000, 0.03 at 10 000). At the early-stopping point the median gap is
# 0.4 bits/dim or less for every student at every size.
#
# **Instability is not only the larger student's.** The gradient-spike criterion of F6 flags
# 2 of 3 seeds of `tiny` at 1 000 images as well as `medium`'s (chapter
# {doc}`Overparameterised models <overparameterised>`).

# %% [markdown]
# ## The pilot the design was based on
#
# One run, before the design was fixed: the teacher-size student on only 500 synthetic images
# for 4 000 steps (571 epochs) at a constant learning rate.

# %%
from flowlib.core.manifest import read_manifest
from flowlib.core.paths import results_root
from flowlib.data.synthetic import teacher_dir

pilot_runs = load_study(results_root("misspecification-pilot"))
h_bpd = read_manifest(teacher_dir())["results"]["entropy"]["bits_per_dim"]
C.pilot_figure(pilot_runs[0], h_bpd)
plt.show()
display(Markdown(C.pilot_text(pilot_runs[0], h_bpd) + "\n\n"
                 + provenance(pilot_runs, "The pilot: `results/misspecification-pilot`.")))

# %% [markdown]
# ## Caveats
#
# - **One teacher, one family.** Every student is a Real NVP like the teacher; "misspecified"
#   here means too few or too narrow couplings, not a different kind of model.
# - **A rate at the edge of the grid** (1e-3 or 4e-3) may not be the student's best: the
#   search table shows where each choice fell. The grid is left as it was stated.
# - **3 000 steps.** At 10 000 images that is 19 epochs: the larger sets are still far from
#   memorised, which is the point of having them, but "does not overfit" there is a
#   statement about this length.
# - **FID against teacher samples** at 2 000 samples is biased upward; its bootstrap error is
#   the noise of drawing one sample set, not that bias (which is shared by every run).
