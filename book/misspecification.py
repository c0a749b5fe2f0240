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
rerun = False
seeds = [0]          # used only when the study is run here (rerun, or nothing shipped)

# %% [markdown]
# # Experiment 2: misspecification and overfitting
#
# **The question.** A model too small for the truth cannot reach it; a model of the truth's
# own size can. But trained by maximum likelihood on a *finite* set of images, which one ends
# closer to the truth, and does the likelihood of held-out images tell you? Here the truth is
# known: the data are drawn from a Real NVP *teacher* with fixed weights (chapter
# {doc}`Synthetic MNIST <synthetic_mnist>`), so every student's distance to it,
# $\mathrm{KL}(\text{teacher}\,\|\,\text{student})$, is measured exactly.

# %% tags=["remove-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from flowlib.book import misspecification as C
from flowlib.book.code import show_source
from flowlib.book.lesson import findings_box
from flowlib.book.live import chapter_preset
from flowlib.studies import misspecification as exp2
from flowlib.studies import misspecification_calibrated as cal
from flowlib.studies.registry import get as get_study
from flowlib.studies.registry import locate
from flowlib.studies.results import load_study, provenance, teacher_notes

preset = chapter_preset(preset)   # the shipped results, or a live run at smoke without them

root, note = locate("misspecification", preset, rerun=rerun, seeds=tuple(seeds))
runs = exp2.load(root)
done, planned = exp2.progress(runs)
findings_box(C.findings_points(runs, preset),
             footer="Every verdict, with its numbers, is in the table {ref}`below <exp2-verdicts>` "
             "and on the {doc}`findings page <findings>`; the rules, their history and the runs "
             "are in {ref}`Methods <exp2-methods>` at the end of the chapter."
             + ("\n\n" + " ".join(teacher_notes(runs)) if teacher_notes(runs) else ""))

# %% [markdown]
# ## The idea
#
# Training by NLL minimises $-\frac1N\sum_i \log p_S(x_i)$ over the training images $x_i$. With
# infinitely many images from the teacher $T$ that is $H(T) + \mathrm{KL}(T\,\|\,S)$: the
# teacher's entropy, which no student can beat, plus the student's distance to the teacher.
# Two things keep a student from reaching KL 0:
#
# - **Misspecification.** A student *smaller* than the teacher (fewer or narrower couplings)
#   cannot represent it: even with infinite data its KL stays above some floor. A student of
#   the teacher's *own size* is **well-specified** (the teacher is one of its parameter
#   settings); a *larger* one is **overparameterised**.
# - **Finite data.** On $N$ images the training NLL is only an estimate of that expectation,
#   and a flexible student can lower it by putting density on *those* images (memorising)
#   rather than on the teacher's distribution. Training NLL then keeps falling while the true
#   KL rises: **overfitting**, which validation NLL on held-out images is meant to reveal.
#
# Four students (`tiny`, a third of the teacher's parameters; `slim`, the teacher's couplings
# made narrower, 72% of them; `small`, the teacher's own size; `medium`, twice it) train for
# 3 000 steps on 300, 1 000, 3 000 or 10 000 teacher images, and each also on fresh teacher
# samples at every step, its **infinite-data control**: nothing can overfit there, so a
# finite run minus its control is what the finite set costs. Figure {numref}`fig-exp2-idea`
# shows both effects in one run.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The teacher-size student trained on the smallest set of teacher images (seed 0). Above: bits/dim of its training images (dashed) and of held-out validation images (solid), the validation bits/dim of the same student trained on fresh data (dotted, its control) and the teacher's own bits/dim (black). Below: the exact KL from the teacher to the student, measured every 500 steps, for the run and its control. Look at step 500 onwards: the training curve falls below the teacher's own bits/dim, which only memorising can do, while the validation curve and the exact KL climb; on fresh data both keep falling.", "name": "fig-exp2-idea"}, "image": {"alt": "Two panels over 3000 training steps: training bits per dimension falling below the teacher's line while validation rises; below, the exact KL of the run rising steeply while its control's falls."}}
C.lesson_figure(runs);

# %% tags=["remove-input"]
notes = C.figure_notes(runs)
display(Markdown(notes.get("idea", "")))

# %% [markdown]
# Each student learns at its own rate, chosen by a stated search on its control (see
# {ref}`Methods <exp2-methods>`). Figure {numref}`fig-exp2-curves` shows all four students on
# the smallest set.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "All four students on the smallest training set: validation (solid) and training (dashed) bits/dim, median of three seeds with their range as a band, and each student's control on fresh data (dotted). Look at where the solid curve leaves the dotted one: every student starts to memorise after a few hundred steps; the larger the student, the further its validation climbs and the lower its training curve falls (the peaks are under the figure).", "name": "fig-exp2-curves"}, "image": {"alt": "Four panels, one per student, of bits per dimension over training steps on the smallest training set: training curves falling, validation curves rising after a few hundred steps, control curves flat."}}
sizes = exp2.finite_sizes(runs)
C.curves_figure(runs, sizes[0]);

# %% tags=["remove-input"]
display(Markdown(notes.get("curves", "")))

# %% [markdown]
# The same panels for the larger training sets (open the cell's output): the climb shrinks
# with more data and is gone by 3 000 images for all but one teacher-size seed.

# %% tags=["remove-input", "hide-output"]
for n in sizes[1:]:
    C.curves_figure(runs, n)
    plt.show()

# %% [markdown]
# ## What early stopping saves, and what it does not
#
# Stopping at the lowest validation NLL (*early stopping*) is the usual remedy.
# Figure {numref}`fig-exp2-early-final` sets it against the end of training for the three
# yardsticks: validation bits/dim, the exact KL, and LeNet-FID of 2 000 samples against
# teacher samples (chapter {doc}`Measuring image quality <measuring_quality>`).

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Early-stopped (dashed, open markers) against final (solid; band: the seeds' range) for each student (columns) and yardstick (rows), against the training-set size; the dotted line is the student's control on fresh data. FID bars: two bootstrap standard errors. Look at the left end: on the smallest set early stopping keeps the KL at about one level for every student, where the end of training is several times higher (the numbers are under the figure); with more images the two come together. The FID row does not follow: on the smallest set the early point is the worse one, read while the students were still undertrained.", "name": "fig-exp2-early-final"}, "image": {"alt": "Grid of 12 log-scale panels, students in columns and validation bits per dimension, exact KL and FID in rows, against training-set sizes 300 to 10000; final values fall steeply with more data towards the control line, early-stopped values stay near it."}}
C.early_final_figure(runs);

# %% tags=["remove-input"]
display(Markdown(notes.get("early_final", "")))

# %% [markdown]
# In numbers, the exact KL (nats/image, median over seeds) at the end of training and, in
# brackets, where early stopping would stop:

# %% tags=["remove-input"]
display(Markdown(C.summary_table(runs)))
display(Markdown(C.anomaly_text(runs)))
display(Markdown(C.dropdown(
    "The full table: every student and size, median and range over seeds, with validation "
    "bits/dim, KL and FID",
    "*Best-val step* is where early stopping would stop; KL and FID are measured every 500 "
    "steps, so their early value is the measurement nearest that step; the ± is the bootstrap "
    "standard error of the final FID.\n\n" + C.early_final_table(runs))))

# %% [markdown]
# The overfitting itself, validation bits/dim above each student's control, against the size
# of the training set (open the output):

# %% tags=["remove-input", "hide-output"]
C.overfitting_figure(runs);

# %% [markdown]
# ## The code behind the numbers
#
# The exact KL is one line of arithmetic on two exact log-densities, averaged over held-out
# teacher samples (the runs use 1 000, drawn once and reused at every measurement):

# %% tags=["remove-input"]
from flowlib.metrics.likelihood import kl_to_teacher

show_source(kl_to_teacher)

# %% [markdown]
# `data.log_p` holds the teacher's log-density of each sample, stored when the samples were
# drawn; `student_log_prob` scores the same images under the student. Because the difference
# is taken per image before averaging, its standard error is that of the difference, far
# smaller than those of the student's NLL and the teacher's entropy apart. The NLL that
# training minimises is `NLLLoss.loss`, shown in chapter {doc}`Real NVP on MNIST <realnvp_mnist>`.
#
# The table above reads the KL "where early stopping would stop" like this:

# %% tags=["remove-input"]
show_source(exp2.early_and_final)

# %% [markdown]
# The KL and FID exist only every fifth check, so the early value is the measurement
# *nearest* the best validation step (`_nearest`, which may lie after it): that is how the
# one odd cell explained above arises.
#
# Whether overfitting hurts the likelihood more than the images (F5) is decided per run by
# the calibrated rule, on growth factors over the run's own control, in log units:

# %% tags=["remove-input"]
show_source(cal.f5_outcome)

# %% [markdown]
# `dk` and `df` are the logs of the KL's and FID's growth over the control at the end of the
# run; `kl_noise` and `fid_noise` the largest such difference between two seeds of the same
# student's controls, where nothing overfits. A run that overfits is a *hit* when the KL grew
# at least as the square of the most FID could have grown (`F5_RATIO` is 2 in log units), a
# *miss* when FID grew at least as the square root of the KL's growth even at its least, and
# *inconclusive* when FID's own noise is too large to tell.
#
# (exp2-verdicts)=
# ## The verdicts, first and calibrated
#
# Each finding by the rule stated before the runs (*first*) and by the rule recalibrated
# against each quantity's own noise (*calibrated*, stated before its new runs; see
# {ref}`Methods <exp2-methods>`). *Incomplete* means some run it reads is not shipped yet.

# %% tags=["remove-input"]
display(Markdown(C.verdicts_table(runs, preset, ("F3", "F4", "F5"))))

# %% [markdown]
# ## What the shipped runs show

# %% tags=["remove-input"]
display(Markdown(C.shared_rate_text(runs, preset)))

# %% [markdown]
# *Written after the runs, from the shipped `quick` runs at each student's searched rate, by
# the first rules; the calibrated rules' long controls are not all shipped yet, and their rows
# above say so.*
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
# misspecified, a reading these runs cannot test while the rates differ; at one rate (the
# paragraph above) the order changes.
#
# **F3 is not supported by the first rule, and that rule could not have said otherwise.**
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
# **More data, less overfitting.** The final validation bits/dim above each student's own
# control falls from 2.0-15.6 at 300 images (median per student: tiny 2.0, slim 4.6, small
# 2.7, medium 15.6) to 0.14-1.3 at 1 000, and to 0.02 or less at 3 000 and 10 000 for tiny
# and slim. The teacher-size student's 0.18 at 3 000 and 0.11 at 10 000 come from one seed
# each whose validation jumped late and stayed up (flagged as unstable; its rate, 4e-3, won
# its search by 1.601 against 1.603 bits/dim); `medium` keeps a small gap (0.09 at 3 000,
# 0.03 at 10 000). At the early-stopping point the median gap is 0.4 bits/dim or less for
# every student at every size.
#
# **Instability is not only the larger student's.** The gradient-spike criterion of F6's
# first rule flags 2 of 3 seeds of `tiny` at 1 000 images as well as `medium`'s (chapter
# {doc}`Overparameterised models <overparameterised>`).
#
# ## Caveats
#
# One teacher and one family: every student is a Real NVP like the teacher, so
# "misspecified" means too few or too narrow couplings, not a different kind of model. A
# rate at the edge of the searched grid (1e-3 or 4e-3) may not be a student's best, and the
# two rates differ between the students F4 compares (the calibrated F4 removes that). 3 000
# steps are 19 epochs of 10 000 images, so "does not overfit" at the larger sizes is a
# statement about this length. FID against teacher samples at 2 000 samples is biased
# upward; its bootstrap error is the noise of drawing one sample set, not that bias, and
# between two seeds of one control FID differs far more than that error (which is why the
# calibrated F5 measures its noise on the controls).
#
# ## Exercises
#
# **1. Recompute one KL (smoke size).** The shipped teacher-size student trained on 300 images
# (seed 0) has its final weights beside its logs. Score it against the teacher yourself, on
# the 1 000 held-out samples the run used, and on only 200 (a smoke-size check):
#
# ```python
# from flowlib.data.synthetic import Teacher, synthetic_mnist
# from flowlib.metrics.likelihood import kl_to_teacher
# from flowlib.models.realnvp import RealNVP
# teacher = Teacher.load()
# student = RealNVP.load("results/misspecification-quick/small-n300-seed0/model.pt")
# for n in (1000, 200):
#     print(n, kl_to_teacher(student, synthetic_mnist("test", n, teacher)))
# ```
#
# Compare with the run's last logged KL.

# %% tags=["remove-input"]
C.exercise_kl_answer(runs)

# %% [markdown]
# **2. When does early stopping stop mattering?** In Figure {numref}`fig-exp2-early-final`,
# read for each training-set size how many times larger the final KL is than the
# early-stopped one. Where does the ratio reach about 1?

# %% tags=["remove-input"]
C.exercise_ratio_answer(runs)

# %% [markdown]
# **3. The F5 rule by hand.** A run's KL ended 5 times its control's and its FID 1.5 times;
# two seeds of the same student's controls differ by a factor of 1.3 in KL and 1.6 in FID.
# What does the calibrated rule say, and what if the FID noise were only a factor of 1.1?
# Work it out, then check with
# `cal.f5_outcome(math.log(5), math.log(1.5), math.log(1.3), math.log(1.6))`.

# %% tags=["remove-input"]
C.exercise_f5_answer()

# %% [markdown]
# (exp2-methods)=
# ## Methods: the design, the rules and their history, the runs
#
# Everything the verdicts rest on, collapsed; open what you want to check.
#
# :::{dropdown} The design
# Students of the synthetic-MNIST teacher — Real NVPs **smaller** than it (fewer or narrower
# couplings: *misspecified*, they cannot represent it), of **its own size** from a random
# initialisation (*well-specified*: the teacher is one of its parameter settings) and
# **larger** (*overparameterised*) — are trained by NLL on finite synthetic training sets of
# several sizes. $\mathrm{KL}(T\,\|\,S)$ is measured on held-out teacher samples, with its
# standard error. The thesis reports (**F3**) that students of different misspecification
# reach different training NLL but converge alike, and (**F4**) that validation NLL exposes
# overfitting to the finite set — so much that a well-specified student can validate *worse*
# than a misspecified one.
#
# **This study was redesigned before its runs.** Its first version (kept, marked superseded,
# in `results/superseded/misspecification-quick`) stopped every student after 800 steps of a
# shared cosine schedule, before anything overfitted: it measured undertraining. The design
# and the rules below were written down, implemented in `flowlib.studies.misspecification`
# and unit-tested on constructed studies (where every claim holds, and where none does)
# before any of its runs.
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
# :::
#
# :::{dropdown} The rules, fixed before the runs (the first rules)
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
# :::
#
# :::{dropdown} Changed after seeing results, and why
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
# *The calibrated rules (next), after all 52 runs had been seen*: for F5 and F6, which read
# those runs, they are rules changed after seeing results; both verdicts are shown.
# :::
#
# :::{dropdown} The calibrated rules, stated before the long controls and the shared-rate runs
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
# :::

# %% tags=["remove-input"]
display(Markdown(C.dropdown("The runs: what ran, where, and the code's commit", f"**{done} of the "
                            f"design's {planned} runs have finished.** " + provenance(runs, note)
                            + "\n\n" + C.calibrated_provenance(runs, preset))))
display(Markdown(C.dropdown("The students' sizes (the named sizes of the model; the teacher is "
                            "the teacher-size student, <code>small</code>)", C.parameter_table())))

# %% [markdown]
# ### The rate search
#
# Each student's control at every searched rate; the shaded checks are the ones that score
# it (open the output for the figure, and the dropdown for the scores).

# %% tags=["remove-input", "hide-output"]
search_root = get_study("misspecification-lr").shipped(preset)
search = load_study(search_root) if search_root else []
C.search_figure(search);

# %% tags=["remove-input"]
display(Markdown(C.dropdown("The rate search in numbers", C.search_table(search) + "\n\n"
                            + provenance(search, "The search: `results/misspecification-lr-quick`."))))

# %% [markdown]
# ### The pilot the design was based on
#
# One run, before the design was fixed: the teacher-size student on only 500 synthetic images
# for 4 000 steps (571 epochs) at a constant learning rate (open the output).

# %% tags=["remove-input", "hide-output"]
pilot_runs, h_bpd = C.pilot_runs(), C.teacher_entropy_bpd()
C.pilot_figure(pilot_runs[0], h_bpd)
plt.show()
display(Markdown(C.pilot_text(pilot_runs[0], h_bpd) + "\n\n"
                 + provenance(pilot_runs, "The pilot: `results/misspecification-pilot`.")))
