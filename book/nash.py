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
# # Is the Nash equilibrium a resting place?
#
# **The question.** GAN theory promises a fixed point: when the generator's distribution
# equals the data's, the best discriminator says $D = 1/2$ everywhere and the generator has
# nothing left to learn. Nobody can *start* a GAN there on real data, because nobody knows the
# data's distribution. On {doc}`synthetic MNIST <synthetic_mnist>` we do: the data *are*
# samples of a teacher flow. So start the generator **at the teacher's weights** and keep
# training it. Does non-saturating GAN training (NSGAN) leave the equilibrium, while training
# by maximum likelihood (NLL) stays? The thesis says it does (finding **F2**: NSGAN training
# is unstable even there).

# %% tags=["remove-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from flowlib.book import nash as C
from flowlib.book import widgets
from flowlib.book.code import show_source
from flowlib.book.lesson import answer
from flowlib.book.live import chapter_preset
from flowlib.studies import nash, nash_exact
from flowlib.studies.registry import get, locate

preset = chapter_preset(preset)   # the shipped results, or a live run at smoke without them

root, note = locate("nash", preset, rerun=rerun, seeds=tuple(seeds))
runs = nash.load(root)
# the calibrated design (issue 33): read only where its runs are shipped, never run from here
exact_root = get("nash-exact").shipped(preset) or get("nash-exact").shipped("quick")
exact_runs = nash_exact.load(exact_root) if exact_root else []
exact_note = (f"shipped runs in `{exact_root.name}`" if exact_root
              else "no runs shipped yet (`results/nash-exact-quick` does not exist).")
C.findings_box(runs, exact_runs, preset)

# %% [markdown]
# ## What the shipped study could not isolate

# %% tags=["remove-input"]
display(Markdown(C.limits_text(runs)))

# %% [markdown]
# ## The idea: a fixed point of the game, not of the training
#
# With infinitely many samples and the best discriminator, the GAN game of
# {ref}`Goodfellow et al. (2014) <ref-goodfellow2014>` has its equilibrium at $q = p$: the
# best response to $q = p$ is $D^*(x) = p(x)/(p(x)+q(x)) = 1/2$, whose slope is zero, so the
# generator's gradient vanishes (chapter {doc}`likelihood_vs_adversaries` derives it). That
# is a fixed point of the **minimax game**.
#
# Training is not the game. Each step the discriminator sees a *finite* batch of real images
# and a finite batch of fakes. Even when both come from the same distribution, two batches of
# 64 images differ, and one gradient step on the discriminator's loss fits that difference:
# after it, $D$ is no longer exactly 1/2 and its input gradient is no longer zero. The
# generator then follows that slope. So the equilibrium is a fixed point of the *expected*
# dynamics, not of the *sampled* ones, and whether training returns to it, wanders around it
# or runs away depends on the step size, the optimiser and the discriminator. Theory answers
# "locally, in continuous time, under conditions":
# {ref}`Nagarajan & Kolter (2017) <ref-nagarajan2017>` show gradient-descent GAN training
# locally stable near such an equilibrium under conditions, and
# {ref}`Mescheder, Geiger & Nowozin (2018) <ref-mescheder2018>` show that unregularised
# training need not converge locally and that a gradient penalty on the reals (R1)
# restores convergence.
#
# NLL has the same problem in milder form: at the optimum its *expected* gradient is zero,
# but each minibatch gradient is noise. That is why every NSGAN run here has an **NLL
# control** trained alike: the question is not whether the generator moves, but whether
# NSGAN moves it *away from the teacher* much more than NLL does. The distance is exact: both
# teacher and student are flows, so $\mathrm{KL}(\text{teacher}\,\|\,\text{student})$ is a
# mean of exact log-density differences over held-out teacher samples (the code is below).
#
# ## Does NSGAN leave, and how fast?

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The exact KL from the teacher over 400 steps at five constant learning rates, with a freshly initialised discriminator. Left: NSGAN (solid) against its NLL control (dashed); a line is the median over three seeds, the band their range, a cross where a seed left by the study's rule. Right: the NSGAN curves against learning rate x step, how far Adam could have travelled. Look at the gap between solid and dashed lines of one colour: at every rate NSGAN is orders of magnitude farther from the teacher.", "name": "fig-nash-step-size"}, "image": {"alt": "Two line plots on a symmetric-log KL axis. Left, against step: five solid NSGAN curves rising to thousands or millions of nats per image, five dashed NLL curves staying below about 30. Right, the NSGAN curves against learning rate times step, lying roughly on one rising band."}}
C.step_size_figure(runs, "reference")
plt.show()

# %% [markdown]
# The table reads the figure at the first check, step 10 (medians over three seeds, nats per
# image), and gives the step at which NSGAN left by the study's rule ("≤ 10": already gone
# at the first check).

# %% tags=["remove-input"]
display(Markdown(C.rate_table(runs)))

# %% [markdown]
# A smaller step only slows the departure (compare the rows): at the smallest rate NSGAN
# is still close to the teacher at step 10 but has left by the next check, while its NLL
# control stays close throughout. The same picture with a discriminator first trained
# alone against the teacher (300 steps at its own rate $10^{-4}$):

# %% tags=["remove-input"] mystnb={"figure": {"caption": "As the previous figure, with a discriminator trained first against the fixed teacher before the generator starts moving. Training the discriminator first does not keep NSGAN at the equilibrium: the curves are of the same size.", "name": "fig-nash-trained-first"}, "image": {"alt": "Two line plots like the previous figure: NSGAN curves with a pre-trained discriminator rising far above the dashed NLL curves at every learning rate."}}
C.step_size_figure(runs, "pretrained-d")
plt.show()

# %% [markdown]
# **Distance actually travelled.** Learning rate x step bounds how far Adam *can* go; with
# plain SGD a step is the rate times the gradient, which for NSGAN near the equilibrium is
# small. So the runs also log how far their parameters travelled from the teacher (from the
# study's second seed on). At equal distance, a curve that lies higher moved in a worse
# *direction*, not farther.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Exact KL against the distance the generator's parameters travelled from the teacher (Euclidean norm), one line per run of seeds 1 and 2: NSGAN solid and NLL dashed with Adam, coloured by learning rate, and the plain-SGD pair in black. Compare curves at the same x: NSGAN with Adam lies far above NLL at every distance.", "name": "fig-nash-distance"}, "image": {"alt": "Log-log style plot of KL against distance travelled: solid NSGAN lines rising steeply, dashed NLL lines staying low, and black SGD lines at small distances."}}
C.distance_figure(runs)
plt.show()

# %% [markdown]
# ## What pushes the generator
#
# The batch means $D(\text{real})$ and $D(\text{fake})$ sit near 1/2 whatever happens; what
# moves the generator is the discriminator's gradient with respect to its input, at the
# fakes. From the first check on it is far from zero in every run, fresh or trained first
# (the box at the top gives its range): the discriminator never offered the zero slope of
# the ideal one.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "What moves the generator, per learning rate (median and range over seeds, log scale). Top: the norm of the discriminator's input gradient on fakes (solid) and reals (dashed). Bottom: the norm of the generator's own gradient. Left a fresh discriminator, right one trained first. Look at the first steps: the slope is never zero.", "name": "fig-nash-input-gradient"}, "image": {"alt": "Four log-scale line plots over steps: discriminator input-gradient norms on fakes and reals (top) and generator gradient norms (bottom), for a fresh and a pre-trained discriminator, one colour per learning rate."}}
C.input_gradient_figure(runs)
plt.show()

# %% [markdown]
# ## Does a stabiliser keep NSGAN there?
#
# At learning rate $10^{-4}$, one change at a time: Adam's beta1 0.9, plain SGD for the
# generator, R1 on the reals with $\gamma$ 1 and 10, a spectrally normalised discriminator
# ({ref}`Miyato et al., 2018 <ref-miyato2018>`), a discriminator trained first, and a finite
# set of 10 000 images instead of fresh samples.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "At learning rate 1e-4, the exact KL of each NSGAN variant (median and range over seeds, crosses at departures), with the range of their NLL controls in grey. Left: how NSGAN is optimised and fed; right: how its discriminator is held back. Only plain SGD stays low, and it barely moves (previous figures).", "name": "fig-nash-variants"}, "image": {"alt": "Two line plots of KL over steps at learning rate 1e-4: every NSGAN variant rises to thousands of nats or more except plain SGD, which stays near the grey band of the NLL controls."}}
C.variants_figure(runs)
plt.show()

# %% [markdown]
# ## Forward against reverse KL
#
# The forward $\mathrm{KL}(\text{teacher}\,\|\,\text{student})$ punishes teacher images the
# student finds unlikely (a missing mode costs a lot); the reverse
# $\mathrm{KL}(\text{student}\,\|\,\text{teacher})$ punishes student images the teacher finds
# unlikely (bad images cost a lot). Both are exact here.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Each run's last check: exact forward KL against exact reverse KL, NSGAN coloured by variant (circles at lr 1e-4, triangles at the other rates), NLL controls in grey squares; hollow marks on the top edge are infinite reverse KLs. NSGAN runs lie far up and right of every NLL control, in both directions.", "name": "fig-nash-forward-reverse"}, "image": {"alt": "Scatter plot on symmetric-log axes of forward against reverse KL: grey NLL squares near the origin, coloured NSGAN marks far up and to the right, some on the top edge."}}
C.forward_reverse_figure(runs)
plt.show()

# %% tags=["remove-input"]
display(Markdown(C.reverse_kl_text(runs)))

# %% [markdown]
# ## Samples from the same noise
#
# For seed 0, each NSGAN cell beside its NLL control, decoded from the same latent vectors
# at each step (at step 0 both are the teacher; 32 of the grid's 64 digits). It opens on
# learning rate $10^{-4}$ at step 200, where the two losses differ most visibly; at
# $10^{-6}$ both still look like the teacher. Pick another cell or step.

# %% tags=["remove-input"]
choices = {k: widgets.frame_slider(frames, labels, "step", start=start)
           for k, (frames, labels, start) in C.sample_choices(runs).items()}
widgets.frame_choice(choices, "cell") if choices else print("no sample grids in this study")

# %% [markdown]
# ## The code
#
# The calibrated design's exact start is one parameter of the library's discriminator: a
# gain on its logits that starts at 0.

# %% tags=["remove-input"]
from flowlib.models.discriminators import ConvDiscriminator

show_source(ConvDiscriminator)

# %% [markdown]
# - With `exact_start=True` the logits are `gain * logits` and `gain` is 0: every image gets
#   logit 0, so $D = \sigma(0) = 1/2$, and the logit does not depend on the input at all, so
#   the generator's first gradient is exactly zero.
# - The gain's own gradient is not zero (it is the mean logit difference between the
#   batches), so the discriminator can still learn: the first Adam step sets the gain to
#   about $\pm$ the learning rate, and from then on the slope is whatever the finite batches
#   taught it (exercise 3 below).
# - A gain rather than a zeroed last layer, because spectral normalisation divides the last
#   layer by its norm, which a zero layer does not have.
#
# The generator's step of NSGAN: the discriminator updates on a real batch and a fresh batch
# of fakes, then the generator's objective goes through the discriminator with its
# parameters frozen.

# %% tags=["remove-input"]
from flowlib.training.gan import GANTrainLoss, generator_loss

show_source(generator_loss)

# %% tags=["remove-input"]
show_source(GANTrainLoss.loss)

# %% [markdown]
# - `generator_loss("nsgan", ...)` is $\operatorname{softplus}(-\ell) = -\log D(G(z))$, the
#   non-saturating loss; the training loop then calls `backward` on it and takes the
#   generator's optimiser step.
# - `update=not cfg.freeze_disc` is the frozen-discriminator control of the calibrated
#   design: the discriminator's metrics are computed, its step is not taken.
# - `d_input_grad_fake` and `d_input_grad_real` are what the input-gradient figure plots.
#
# The exact distance to the teacher, both ways:

# %% tags=["remove-input"]
from flowlib.metrics.likelihood import kl_to_teacher, reverse_kl

show_source(kl_to_teacher)

# %% tags=["remove-input"]
show_source(reverse_kl)

# %% [markdown]
# - The forward KL averages $\log p_T(x) - \log p_S(x)$ over held-out teacher images whose
#   $\log p_T$ was stored when they were drawn: the paired difference has a far smaller
#   standard error than either term.
# - The reverse KL draws from the *student* and returns infinity as soon as one draw reaches
#   the edge of the support: the infinite values in the forward-reverse figure.
#
# ## The verdicts
#
# By the departure rule stated before the runs: an NSGAN run *leaves* at the first check
# where its KL exceeds ten times the largest KL its NLL control has reached so far, and at
# least 1 nat per image (the full rule and its history are in the methods below).

# %% tags=["remove-input"]
display(Markdown(C.verdict_table(runs)))
display(Markdown(C.methods(runs, note, exact_note)))

# %% [markdown]
# ## The calibrated design: stated, its runs pending
#
# A second design answers the objections above, written down and unit-tested before any of
# its runs, in the library's study module for it:
#
# - **The exact start**: the gain above starts at 0, so $D(x) = 1/2$ for every image and the
#   generator's first gradient is exactly 0. Any departure then comes from the
#   discriminator learning from finite samples of two identical distributions: the thesis'
#   question, and nothing else.
# - **Controls that differ only in the loss**: NLL on NSGAN's own optimiser and betas, and a
#   **frozen discriminator**, which from the exact start must keep the generator bit for bit
#   still (a check of the machinery) and from a fresh start isolates what a fixed slope does
#   under Adam.
# - **An absolute bar**: a run *leaves* at the first check where its exact KL minus two
#   standard errors exceeds 1 nat per image; otherwise it *drifts* if its KL rose by more
#   than two standard errors, else it *stays*. Controls are read by the same rule, never
#   used as the bar.
# - **Matched distance**: NSGAN's and its control's KL where each has travelled 0.003, 0.01,
#   0.03 and 0.1 in parameter space, seed by seed.

# %% tags=["remove-input"]
display(Markdown(C.exact_summary(exact_runs, preset)))
display(Markdown(":::{dropdown} Every cell of the calibrated design and what its runs read\n"
                 + C.exact_table(exact_runs, preset) + "\n:::\n"))

# %% [markdown]
# :::{dropdown} The calibrated design in full, as stated before its runs
# Read against its own logs, the shipped design does not start at the game's equilibrium:
# its discriminator, fresh or trained first, has an input gradient of 0.065-0.082 at step 0,
# so the generator starts with a push, and Adam, whose steps have size about the learning
# rate per parameter whatever the gradient's scale, turns that push into full-size steps. Its
# NLL controls also run on another optimiser (beta1 0.9 against 0.5), and its departure bar,
# ten times the control's largest KL, was set by a control that swung (NLL with SGD reached
# 164-270 nats), which hid a steady NSGAN drift to 1.4-1.85 nats. So a second design, written
# down and unit-tested before any of its runs (<code>flowlib.studies.nash_exact</code>):
#
# * **The exact start.** The discriminator's output is scaled by a gain that starts at 0:
#   $D(x) = 1/2$ for every $x$, and the generator's first gradient is exactly 0 (a test shows
#   both). Any departure now comes from the discriminator learning, from finite samples, to
#   tell two identical distributions apart: the thesis' question.
# * **Controls that differ only in the loss**: NLL on NSGAN's own optimiser and betas (Adam
#   (0.5, 0.999), or the same plain SGD); a **frozen discriminator**, which from the exact
#   start must keep the generator bit for bit still (the machinery's check), and from a fresh
#   start isolates what a fixed slope does under Adam.
# * **An absolute bar.** A run *leaves* at the first check where its exact KL minus two
#   standard errors exceeds 1 nat per image (about 28 standard errors of the estimator);
#   otherwise it *drifts* if its KL rose by more than two standard errors over the run, else
#   it *stays*. Controls are read by the same rule, never used as the bar.
# * **Matched distance.** NSGAN's and its control's KL where each has travelled 0.003, 0.01,
#   0.03 and 0.1 in parameter space, seed by seed: the comparison step size cannot fake.
# * **The grid**: the exact start at the five rates with Adam and with plain SGD (SGD for
#   2 000 steps, a cap: it moves about 30 times less per step), three seeds, each with its
#   control; a frozen fresh discriminator at every Adam rate; at $10^{-4}$, one change at a
#   time: R1 ($\gamma$ 1 and 10), spectral norm, beta1 0.9, the finite set, the fresh and the
#   trained-first discriminators, and the frozen exact one. 105 runs, about 17 CPU
#   core-hours.
#
# The verdict (F2 at the exact equilibrium): *supported* when NSGAN leaves at every Adam rate
# while none of its NLL controls does, *not supported* when it leaves at no rate, *mixed*
# otherwise. Until its runs are shipped, the verdicts above are the first design's.
#
# Its command: <code>python -m flowlib experiment nash-exact --preset quick</code>.
# :::
#
# ## Caveats
#
# Everything above is about 400 steps of one architecture that can represent the teacher
# exactly: "stays" means stays for 400 steps (at $10^{-6}$ that is a distance of at most
# $4\cdot10^{-4}$ per parameter), and departures at the first check (step 10) are upper
# bounds. The bar of the shipped rule is relative to a control that runs on another
# optimiser, and the discriminator never started at the exact equilibrium, so "NSGAN leaves"
# is shown for the discriminators that were used, not yet for the ideal one. A forward KL
# of thousands of nats can coexist with samples that cover all ten classes; the samples and
# the reverse KL read the other way round.
#
# :::{dropdown} All caveats of the shipped study
# - **400 steps.** A cell that *stays* stays for 400 steps at its rate; at $10^{-6}$ that is
#   a distance (learning rate x steps) of $4\cdot10^{-4}$, what $2\cdot10^{-4}$ travels in
#   two steps. "Stays" is a statement about this horizon.
# - **Departures at the first check are censored**: at the large rates NSGAN may leave
#   before step 10, so their departure steps (and lr x step) are upper bounds.
# - **The bound is relative.** "Leaves" means ten times farther than NLL trained alike, and
#   at least 1 nat per image; an NSGAN run can drift a few nats and still "stay" when its
#   control drifts too. The departure table gives the controls' largest KL so a reader can
#   judge the bound.
# - **Plain SGD and its bound.** With SGD a step is the rate times the gradient. At the
#   equilibrium NSGAN's generator gradient is about 0.15 in norm, NLL's minibatch gradient
#   16 to 90, so NSGAN-SGD takes steps hundreds of times smaller than its NLL-SGD control,
#   whose KL swung to 164 nats per image in seed 0: that cell's bar (ten times its control)
#   is loose. The distance figure shows how far each run moved, so a reader can tell whether
#   NSGAN-SGD stays because of where it goes or because it barely moves.
# - **The controls' optimiser is not NSGAN's.** NLL keeps its own Adam (0.9, 0.999),
#   NSGAN's generator uses (0.5, 0.999): the bound compares each loss at its usual settings,
#   not two losses that differ in nothing else. The "Adam beta1 0.9" variant shows what
#   NSGAN does with the control's beta1.
# - **The discriminator judges images clipped to [0, 1]**, reals and fakes alike: the
#   equilibrium is that of the clipped game. At step 0 both inputs are the same images
#   (tested); a generator can differ from the teacher only beyond the pixel range and look
#   equal to it, which the exact KLs (on the unclipped flows) would still show.
# - **One architecture, one teacher.** The student *is* the teacher's architecture: the
#   equilibrium is exactly representable. Whether the same holds for a misspecified
#   generator (no exact equilibrium) is another question.
# - **A forward KL of thousands of nats can coexist with samples that cover all ten
#   classes**: the forward KL punishes any teacher sample the student makes unlikely. The
#   reverse KL and the sample grids read the other way round.
# - **The discriminator's input gradient**, not the batch means $D(\text{real}) =
#   D(\text{fake}) = 1/2$, is what moves the generator; it is logged in every run's metrics
#   file (<code>d_input_grad_fake</code>, <code>d_input_grad_real</code>).
# :::
#
# ## Methods and history of the shipped study
#
# :::{dropdown} Methods / history: the design, its rule, and what changed when
# **This study was redesigned before its runs** (the first version let the step size grow
# with time and could not separate NSGAN from its settings; it is kept, marked superseded,
# in <code>results/superseded/nash-quick</code>). The design, the rule and the verdict below
# were written down, implemented in <code>flowlib.studies.nash</code> and unit-tested on
# constructed curves *before* any run of this study, so that the verdict cannot be fitted to
# the runs.
#
# **The design.** A student with the teacher's architecture, base temperature and weights
# (the exact KL is 0 at step 0), trained for 400 steps without weight averaging (the raw
# weights are what moves). Two questions, each answered against an **NLL control** trained
# alike (same learning rate, data, steps, seed and starting point; NLL keeps its own Adam
# (0.9, 0.999)):
#
# * **Does the time to leave depend on the step size?** NSGAN with Adam betas (0.5, 0.999)
#   for both players, no regulariser, a freshly initialised discriminator at the generator's
#   rate and fresh teacher samples every step (infinite data), at *constant* learning rates
#   $10^{-6}, 10^{-5}, 3\cdot10^{-5}, 10^{-4}, 2\cdot10^{-4}$: no warm-up, no decay.
# * **Does any optimiser or regulariser keep NSGAN at the equilibrium?** At $10^{-4}$, one
#   change at a time: Adam beta1 0.9; plain SGD for the generator (with its own NLL control,
#   since SGD's steps are not Adam's; the discriminator keeps Adam (0.5, 0.999)); an R1
#   penalty on reals with $\gamma = 1$ and $10$ (which restores local convergence in theory,
#   {ref}`Mescheder et al., 2018 <ref-mescheder2018>`); a spectrally normalised
#   discriminator; a discriminator first trained alone against the fixed generator
#   ("pre-trained to chance"); a finite synthetic set of 10 000 images instead of the stream
#   (with its own NLL control).
#
# A full factorial (5 rates x 8 variants x 2 losses) would be 240 runs: the reference is
# crossed with every rate, the other variants are at $10^{-4}$ only; 19 cells x 3 seeds =
# 57 runs.
#
# **Added after the first three reference runs were seen** (before any cell had its three
# seeds; prompted by a review): a freshly initialised discriminator learning at the
# generator's rate barely trains at the small rates (at $10^{-6}$ its input gradient stayed
# near 0.065 from step 20 to 400, in a run later superseded, below), so there the generator
# drifts along a *random* discriminator's gradient: the generator starts at the equilibrium,
# the discriminator does not. So the "discriminator trained first" variant is crossed with
# every rate as well, its discriminator always at $10^{-4}$ (300 steps alone against the
# fixed teacher, then learning on): both players start at, and can stay near, the
# equilibrium. 4 more cells, 69 runs. Checks every 10 steps for the first 200, then every
# 100: the exact forward $\mathrm{KL}(T\,\|\,S)$ on 1 000 held-out teacher samples, the
# exact reverse $\mathrm{KL}(S\,\|\,T)$ on 1 000 of the student's own samples (both are
# flows, so both are exact up to sampling error), LeNet-FID and class coverage against
# teacher samples. The generator's gradient norm and the discriminator's input-gradient
# norms on fakes and reals are logged with the training rows, every 20 steps and at every
# dense check (the latter added with the rerun below; the five NLL controls of seed 0, made
# before it, log every 20 steps).
#
# **Rerun after a bug, found by a review once 14 runs had finished.** The discriminator saw
# the teacher's samples (the reals) unclipped, on the teacher's support $(-0.056, 1.056)$,
# while it saw the generator's images clipped to $[0, 1]$ (the fair fight's fix against a
# discriminator winning by range, which on MNIST, whose reals lie in $[0, 1)$, is right).
# So a generator *equal* to the teacher still differed from it in what the discriminator
# saw: the study did not start at an equilibrium. Now the reals are clipped the same way,
# and a test checks that at step 0 the discriminator's two inputs are the same images. The
# nine NSGAN runs made before the fix (seed 0, every one of which left within 20 steps) are
# kept in <code>results/superseded/nash-quick-unclipped-reals</code> and shown nowhere else;
# every NSGAN run above was made after it. The design and the rule are unchanged; the NLL
# controls, which never meet a discriminator, are unaffected and were kept. The fix moved no
# departure in any of the nine cells rerun (seed 0: every one left at the same check as
# before, with about the same KL there, from 39 nats per image at step 10 for $10^{-5}$ to
# 12 707 for beta1 0.9, 12 964 before the fix): at $10^{-4}$, seed 0 left at step 10 again,
# with an exact KL of 4 249 nats per image there (4 263 before the fix), while the
# discriminator sat at $D = 0.50$ on both inputs with the same small input gradient (0.065)
# on fakes and reals. With the fix, a rule case no run had met was settled too: once a
# control's own KL is non-finite, nothing finite counts as ten times farther.
#
# **The rule.** An NSGAN run *leaves the equilibrium* at the first check where its forward
# KL exceeds 10 times the largest KL its NLL control has reached so far, and at least 1 nat
# per image (a control that stays within sampling noise of 0 must not make any wobble a
# departure); a non-finite KL counts as leaving. A cell *leaves* when every seed leaves,
# *stays* when none does, *mixed* otherwise. **The verdicts:** F2 *by step size* is
# *supported* when the reference cell leaves at every learning rate, *not supported* when it
# stays at every rate, *mixed* otherwise (a cell whose seeds disagree is neither); the same
# over the "D trained first" cells (added, above); F2 *stabilised* is *supported* when every
# other variant leaves at $10^{-4}$, *not supported* when every one stays, *mixed* otherwise,
# naming those that keep NSGAN at the equilibrium. No verdict ("incomplete") until every run
# of the cells it reads has finished. (Worded this way after a review, before any cell was
# complete: the first wording, "not supported when it leaves at none", would have read cells
# whose seeds disagree as staying.) Whatever the runs show is the finding, including "R1
# keeps NSGAN at the equilibrium" if that is what happens. **What the verdicts do not
# test:** whether the time to leave depends on the step size. The figures answer that
# descriptively; a departure at the first check (step 10) is only an upper bound, "<= 10".
#
# **The distance figure, as first read** (from the shipped runs of seeds 1 and 2; written
# after seeing them; no rule reads it): every NSGAN run with Adam, at every rate, lies on
# about one curve, its KL growing roughly as the square of the distance travelled (about 0.4
# nats per image at 0.004, 20 at 0.02, thousands at 0.3); the rates differ in how fast they
# move along it. The NLL controls with Adam travel as far (0.7 by step 400 at $10^{-4}$,
# against NSGAN's 2.2) and stay within a few nats: at equal distance NSGAN's KL is hundreds
# to thousands of times larger. The plain-SGD NSGAN runs stay because they barely move
# (0.003 by step 400), on the same curve rather than off it. The NLL-SGD controls move ten
# times farther and reach 160 to 270 nats, more than NSGAN with Adam at that distance: where
# a step goes depends on the optimiser as well as on the loss. (Issue 33 reads the same
# SGD points at matched distance as lying 2.2 to 5.6 times above the Adam-NSGAN curve, not
# on it; the calibrated design's matched-distance reading will settle it.)
#
# **The sample slider** shows seed 0 of the reference cells and of the variants at
# $10^{-4}$, 32 digits of each grid, at seven steps, to keep the page light; every grid of
# every run (all seeds, every check, the "D trained first" cells at the other rates) is in
# the run's <code>grids/</code> folder under <code>results/nash-quick</code>.
#
# **Commands.** The shipped study: <code>python -m flowlib experiment nash --preset
# quick</code>; the calibrated one: <code>python -m flowlib experiment nash-exact --preset
# quick</code>.
# :::
#
# ## Exercises
#
# **1. Where do the losses differ?** In the sample slider, choose learning rate $10^{-6}$,
# then $10^{-4}$, and move from step 0 to step 400 in each. At which rate can you tell NSGAN
# from NLL by eye, and from which step?
#
# :::{dropdown} What you should find
# At $10^{-6}$ the two grids look alike for all 400 steps, although NSGAN's exact KL has
# left the equilibrium by step 20 (the rate table): a few hundred nats per image spread over
# 784 pixels is invisible. At $10^{-4}$ they differ by step 50, where NSGAN's strokes are
# bolder; by step 200 many of its digits have become thick, similar shapes, and by step 400
# thin, broken ones, while NLL's grid stays the teacher's. The exact KL sees departures long
# before the eye does.
# :::
#
# **2. Rerun a piece at smoke.** Train one NSGAN run from the teacher at the smoke preset
# with the calibrated design's exact-start discriminator, and one with a fresh
# discriminator (under a minute each on a 2-core CPU):

# %% tags=["remove-input"]
display(Markdown("```\n" + C.smoke_command(exact=True) + "\n" + C.smoke_command(exact=False)
                 + "\n```\n\nThen compare the exact KL at step 10 (the <code>kl</code> and "
                 "<code>kl_se</code> columns of each run's <code>metrics.jsonl</code>) with the "
                 "shipped quick runs in the rate table above."))

# %% tags=["remove-input"]
answer(C.smoke_answer(runs, exact_runs))

# %% [markdown]
# **3. The discriminator learns from noise.** Build the exact-start discriminator, check
# that it says 1/2 with zero slope, then give it one Adam step on two halves of the *same*
# batch of real digits:
#
# ```python
# import torch
# from flowlib.data.mnist import load_mnist
# from flowlib.models.discriminators import ConvDiscriminator
# from flowlib.training.gan import discriminator_update, input_gradient
#
# x = torch.as_tensor(load_mnist("test").images[:128]).float() / 255
# disc = ConvDiscriminator(exact_start=True)
# opt = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=(0.5, 0.999))
# print(torch.sigmoid(disc(x[64:])).unique(), input_gradient(disc, x[64:]).norm(dim=1).mean())
# discriminator_update(disc, opt, x[:64], x[64:])
# print(disc.gain, input_gradient(disc, x[64:]).norm(dim=1).mean())
# ```

# %% tags=["remove-input"]
answer(C.exact_start_answer())

# %% [markdown]
# **4. How far is "infinite"?** The forward-reverse figure puts some runs on its top edge.
# Using the section on forward and reverse KL, explain why an NLL control whose forward KL
# is a few nats can have an infinite reverse KL at step 10 and a finite one at step 20.
#
# :::{dropdown} What you should find
# The reverse KL is infinite as soon as one of the student's 1 000 draws has a pixel on the
# edge of the support, where the teacher's density cannot be evaluated. The teacher's own
# tails reach that edge (its measured edge rate is in the text), so a student whose tails
# widen a little, as after ten full-size Adam steps, touches it; ten steps later the tails
# have narrowed again and no draw does. An infinite reverse KL marks a little mass on the
# edge, not a student far from the teacher.
# :::
