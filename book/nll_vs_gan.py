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
# # Experiment 1: the same Real NVP, trained by NLL and by adversarial losses
#
# The thesis' first finding (**F1**): with the architecture and the data held fixed, a
# Real NVP trained by maximum likelihood does *unexpectedly well* in FID against the very
# same network trained as the generator of a non-saturating GAN, and the adversarial
# training is unstable (**F2**). This chapter tests that comparison as a *fair fight*: each
# side gets a stated search of as many configurations over its own knobs (not as many
# minutes: the compute each loss took is tabulated below), the adversarial machinery
# is first shown to train an ordinary GAN (a positive control), and the verdicts come from
# rules fixed before the runs they read.
#
# **The contestants.** For each seed, one Real NVP is initialised (`torch.manual_seed(seed)`,
# then its data-dependent ActNorm initialisation on the same real batch for every loss), and
# copies of that initialisation are trained on MNIST for the same number of steps from the
# same data stream (a discriminator that takes several steps per generator step draws extra
# real batches from it, so those runs' later batches differ):
#
# * **NLL**: maximum likelihood of dequantised pixels (chapter {doc}`Real NVP on MNIST <realnvp_mnist>`);
# * **NSGAN**: the flow is the generator, $G(z) = f^{-1}(z)$, trained against a small
#   convolutional discriminator with the non-saturating loss $-\log D(G(z))$;
# * **WGAN-GP**: the same generator against a critic with a gradient penalty (Flow-GAN's
#   reference variant);
# * **hybrid**: NSGAN plus $\lambda\cdot$NLL (Flow-GAN, {ref}`Grover et al. 2018 <ref-grover2018>`),
#   $\lambda$ chosen by a stated sweep (NLL in nats per dimension).
#
# **The adversarial machinery** (`flowlib.training.gan`), shared by every GAN run of the book:
# both players' Adam betas are stated (the search chooses beta1, the same for both players), both follow
# the same learning-rate schedule (no discriminator head start during a warm-up), the
# discriminator sees real images dequantised exactly as the NLL sees them and fakes clipped to
# the same pixel range with a straight-through gradient, so it can win neither by the
# 256-level grid nor by range; R1, spectral norm, several discriminator steps and separate
# learning rates (TTUR) are flags recorded in each run's manifest. Every run logs the
# generator's gradient norm, D(real), D(fake) and the norm of the discriminator's input
# gradient on fakes, so a reader can see how a run fails when it does.
#
# **What is measured.** At every quality check each run records, on its exponential moving
# average of the weights (on the raw weights for a configuration searched with `--no-ema`): the
# **exact validation bits/dim** (the generator is a flow, so even the GAN's likelihood is
# known), the LeNet-FID of 2 000 samples against 2 000 validation images with its bootstrap
# standard error (held-out real digits score 32.8 there: the floor drawn in the figures), precision, recall, class coverage, and a grid of samples from **fixed
# noise** (the same $z$ at every step and for every loss of a seed). Instabilities (a
# non-finite loss, bits/dim more than one bit above their best, class coverage that
# collapses) are recorded as events; a run that degrades is a result, not a crash. After
# training, each final model is measured once on the **test** split: exact test bits/dim
# over all 10 000 test images, LeNet-FID of 10 000 samples, and Inception-FID of 500 samples
# (Inception runs at a few images per second on this CPU; an FID from 500 samples is biased
# upwards and comparable only with other FIDs at the same $n$).
#
# The runs come from three resumable studies (a rerun skips finished runs; `--jobs N` for
# parallel processes, `--emit slurm` for a cluster):
#
# ```
# python -m flowlib experiment nll-vs-gan-search --preset quick    # 48 configurations
# python -m flowlib experiment nll-vs-gan-hybrid --preset quick    # lambda, with NSGAN's selection
# python -m flowlib experiment nll-vs-gan --preset quick --seeds 0 1 2   # the selected runs
# ```
#
# The last refuses to start until the first two have finished: nothing is selected from part
# of a search. The book shows the shipped studies in `results/`; set `rerun = True` to run
# the selected runs here.

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"
rerun = False
seeds = [0]          # used only when the study is run here (rerun, or nothing shipped)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from flowlib.book import nll_vs_gan as C
from flowlib.book import widgets
from flowlib.data.synthetic import teacher_dir
from flowlib.studies.registry import get as get_study
from flowlib.studies import nll_vs_gan as exp1
from flowlib.studies import nll_vs_gan_f2 as f2
from flowlib.studies import nll_vs_gan_parity as parity
from flowlib.studies import nll_vs_gan_temperature as temp
from flowlib.studies.registry import locate
from flowlib.studies.results import load_study, provenance, shipped_results, shown

# %% [markdown]
# ## The protocol, stated before the runs
#
# The experiment follows a protocol written here, and in `flowlib.studies.nll_vs_gan`,
# before any of its runs; the decisions made later are listed after it, each with when.
#
# - **As many configurations on both sides.** A random search of 24 configurations for NLL
#   and 24 for the adversarial losses (16 NSGAN, 8 WGAN-GP), drawn once from a fixed seed;
#   every configuration trains the same Real NVP from the same initialisation for 1 000 steps
#   of 64 images (one seed), with quality checks every 250 steps. Not the same compute: the
#   minutes and images each loss took are in *Compute, in minutes and images* below.
# - **The spaces.** NLL: learning rate log-uniform in [3e-4, 5e-3], warm-up 0, 100 or 200
#   steps, final learning rate 0 or 10%, EMA on or off. NSGAN: generator learning rate
#   log-uniform in [3e-5, 1e-3], discriminator learning rate 0.5 to 4 times it (TTUR),
#   beta1 0, 0.5 or 0.9, no regulariser, R1 (gamma 0.1, 1 or 10) or spectral norm, 1 or 2
#   discriminator steps. WGAN-GP: learning rate log-uniform in [3e-5, 1e-3], critic 1 or 2
#   times it, beta1 0 or 0.5, beta2 0.9, 5 critic steps, penalty 10 (Flow-GAN's settings lie
#   inside this space). Each side searches its own knobs: NLL its schedule and averaging,
#   the adversarial families their players' rates, momentum, regulariser and steps, while
#   they keep the preset's schedule (200 warm-up steps, cosine decay to 0) and an EMA of
#   0.999 throughout.
# - **Alive.** A generator is *alive* at its end when its gradient at the last logged step is
#   not zero and its final samples cover at least 8 of the 10 digit classes (a class counts
#   when it holds a quarter of its share, by the MNIST classifier); for the selection an NLL
#   configuration only has to not diverge.
# - **Selection** by the validation LeNet-FID of 2 000 samples at the last step, never by a
#   test figure, among generators alive at their end. The selected configuration of each
#   family then runs 3 seeds for 6 000 steps, with test figures (LeNet-FID on 10 000 samples,
#   Inception-FID) and the real-versus-real floor at the same sample size.
# - **Reported whole**: the distribution of the validation FID over every configuration of
#   each side, as a figure, not only the winners ({ref}`Lucic et al. 2018 <ref-lucic2018>`); the hybrid loss swept
#   over lambda up to Flow-GAN's effective weight with the selected NSGAN settings (lambda
#   0.05, 0.5, 5, 50 and 500 nats per dimension, one seed, the search's length; these values
#   were fixed while the search ran, before any hybrid run), its best live lambda then run
#   like the other families.
# - **The verdicts on the selected runs.** **F1**, seed by seed (the same initialisation),
#   counting only seeds whose adversarial generator is alive: *supported* when NLL's final FID
#   is lower in every such seed, *not supported* in none, *mixed* otherwise, and *inconclusive:
#   the adversarial baseline failed* when no adversarial generator is alive
#   (`flowlib.studies.nll_vs_gan.f1_verdict`, tested on a dead baseline that must not be
#   called a win, a working one that loses, one that wins and mixed seeds); on the test LeNet-FID of 10 000 samples and on
#   Inception-FID against NSGAN, and on LeNet-FID against WGAN-GP and the hybrid beside it;
#   medians and ranges over seeds, with the real-versus-real floor at the same sample size.
#   **F2 from initialisation**, fixed before any selected run: a seed is *unstable* when it
#   diverged, ended dead (the same criterion for NLL as for NSGAN), or its validation
#   LeNet-FID rose above 1.5 times its own best at a later check; *supported* when NSGAN's
#   share of unstable seeds exceeds NLL's, *not supported* otherwise
#   (`flowlib.studies.nll_vs_gan.f2_init_rule`, tested on constructed runs). The search's
#   share of configurations that ended dead or diverged is reported beside it and not
#   counted, since it was seen before the rule was written; NLL's share is given both ways,
#   diverged (its selection's criterion) and dead by NSGAN's. No verdict while a selected run
#   lacks its final figures.
# - **Cost**, estimated before running on this 2-core CPU: about 9 CPU-hours for the search
#   (WGAN-GP's five critic steps cost the most) and about 10 for the selected runs; the second
#   estimate was too low: a WGAN-GP run of 6 000 steps takes about 3.5 hours of a shared core
#   (1.9 s per generator step with its five critic steps, measured while two ran side by
#   side), so about 10.5 for its three runs and about 17 for all twelve, and the hybrid sweep
#   took 2.2 hours, not 1. The measured minutes of each study are in its provenance line.
#
# **Decided later, each before the runs it concerns:**
#
# - the hybrid's lambdas, fixed while the search ran, before any hybrid run;
# - the positive control's length (below), after its first run;
# - F2's rule from initialisation, written before any selected run and revised after a
#   review, still before them (a first version counted the search's death rate; a review
#   pointed out that this half could then never fail, and it was dropped);
# - F1 read against WGAN-GP and the hybrid too (beside the verdict against NSGAN, whose rule
#   is unchanged): added while the search ran, after the first WGAN-GP configuration (c00) had
#   been seen at validation LeNet-FID 471, before any selected run;
# - the saturation decision (in the search section), after the 16 NSGAN configurations were
#   seen;
# - selection per family: each family is selected once *its own* configurations have
#   finished (the rule itself unchanged), so the long WGAN-GP final runs could start while
#   NLL's last configurations still ran.
#
# Related work: {ref}`Grover et al. 2018 <ref-grover2018>` (Flow-GAN), {ref}`Danihelka et al. 2017 <ref-danihelka2017>` (*Comparison of maximum
# likelihood and GAN-based training of Real NVPs*), {ref}`Mescheder et al. 2018 <ref-mescheder2018>` (R1 and the local
# convergence of GAN training), {ref}`Lucic et al. 2018 <ref-lucic2018>` (*Are GANs created equal?*).
# Danihelka et al. trained one Real NVP both by maximum likelihood and as a Wasserstein GAN's
# generator and compared samples, exact log-densities and approximate Wasserstein distances;
# Grover et al. report that adversarially trained Flow-GANs give good samples but extremely
# poor log-likelihoods, worse even than a mixture model memorising the training data, and the
# opposite when trained by maximum likelihood. This chapter asks the same question with each
# side's settings searched with as many configurations, and with a positive control.

# %% [markdown]
# ## The positive control: does this machinery train any GAN?
#
# Before an adversarial flow can be judged, the discriminator, losses, range handling and
# evaluation that train it must be shown to train *some* generator: a small DCGAN-style
# convolutional generator (`flowlib.models.dcgan`), same discriminator, same update
# functions, same LeNet-FID, Adam 2e-4 with betas (0.5, 0.999) for both players, batch 64.
# Its length was set to 9 000 steps (about 25 minutes on one CPU thread, inside the 30
# CPU-minutes the plan allowed) after a first run of 3 000 steps that was not kept (so its
# figures are not reported); the shipped run's own validation curve below passes 580 at step
# 3 000 and is still falling at 9 000.

# %%
fig, text = C.control_section(get_study("gan-control").folder("quick"),
                              (exp1.fid_floors(preset) or {}).get("lenet_validation"))
plt.show()
display(Markdown(text))

# %% [markdown]
# ## The search
#
# Configurations were shipped as they finished (curves and manifests; weights for a few). A
# family's configuration is selected once every one of *that family's* stated configurations
# has finished, and only by the rule above: a selection reads its own family's runs only, so
# NSGAN's selection (for the hybrid sweep) and the long WGAN-GP final runs could start while
# NLL's last configurations still ran.
#
# Noticed while it ran: of the 11 NSGAN configurations that died, six ended on one all-black
# image (the same LeNet-FID, 5327, to the last digit) and five on one or two classes
# (LeNet-FID 3342 to 7748). The all-black ones had pushed their flow's output sigmoid into its
# flat ends, where its slope is below $10^{-6}$: the generator's gradient vanishes *inside the
# flow*, which the straight-through clip on the pixel range cannot undo. Measured below from
# the shipped weights of two of them and of both selected adversarial runs (and of the NLL
# configurations whose weights are shipped): the share of the pixels of 256 samples in the
# flat ends, and which end they sit at. The live generators' saturated pixels are almost all
# at the black end (the table's column 'of which black'), background, where a saturated pixel is what a
# digit image needs. GAN runs now log this share while they train (`g_saturated`).
#
# **Decided after the 16 NSGAN configurations were seen, before any selected run:** the
# machinery stays as stated. The saturation is what NSGAN did to this flow, whose output
# sigmoid is part of the model both losses train; a second machinery (for instance a
# discriminator that sees the flow's pre-sigmoid, logit-space images) chosen *after* seeing
# which configurations died would be a change fitted to the results, and it would need its
# own search of as many configurations. The search found live NSGAN configurations (5 of 16, every
# one with R1 and a discriminator at 1 to 4 times the generator's rate), so the rule selects
# among them; the death rate is reported with the verdict as part of what NSGAN costs here,
# and the logit-space discriminator is left as a question for a future study. So the plan's
# requirement that the generator's gradient must not vanish because its output saturates is
# met only in part: the clip keeps a gradient where the flow's raw output leaves the pixel
# range (tested), but nothing keeps the flow's own sigmoid out of its flat ends, where six of
# the 16 NSGAN configurations died.

# %%
sroot, snote = locate("nll-vs-gan-search", preset)
sruns = load_study(sroot)
srows = exp1.search_rows(sruns)
display(Markdown(exp1.search_summary(srows, sruns[0].spec.get("preset", preset))
                 + "\n\n" + provenance(sruns, snote)))
floors = exp1.fid_floors(preset) or {}
C.search_figure(srows, floors.get("lenet_validation"))
plt.show()
display(Markdown(C.saturation_table(exp1.saturated_shares(sroot))))

# %% [markdown]
# ## The hybrid sweep
#
# Stated above: the selected NSGAN configuration (c12) with λ·NLL added,
# λ = 0.05, 0.5, 5, 50 and 500 nats per dimension (the last two inside Flow-GAN's effective
# weight, about 40 to 800 in these units), one seed, the search's 1 000 steps; its
# best live λ by the same rule (validation LeNet-FID, alive at its end) joins the final runs.
# Left, the sweep's validation LeNet-FID; right, its exact validation bits/dim: how much
# likelihood the adversarial loss gives up, and what it buys.

# %%
hroot = shipped_results("nll-vs-gan-hybrid", preset)
if not any(hroot.glob("*/manifest.json")):
    display(Markdown("*The hybrid sweep has no finished run yet* "
                     f"(`python -m flowlib experiment nll-vs-gan-hybrid --preset {preset} --seeds 0`)."))
else:
    hruns = load_study(hroot)
    C.hybrid_figure(hruns, floors.get("lenet_validation"))
    plt.show()
    display(Markdown(provenance(hruns, f"The sweep: `{shown(hroot)}`.")))

# %% [markdown]
# ## The selected configurations
#
# By the rule above, from the shipped search and sweep; each family's three final runs get
# exactly these flags (`flowlib.studies.nll_vs_gan.fair_fight_jobs`).

# %%
display(Markdown(C.selections_table(exp1.selections(preset))))

# %% [markdown]
# ## The final runs
#
# Three seeds of each selected configuration, 6 000 generator steps on batches of 64. NLL
# reads 384 000 real images; an adversarial generator learns from the data only through its
# discriminator, which reads one real batch per discriminator step: 384 000 images for the
# selected NSGAN (one step per generator step), five times as many for WGAN-GP's critic. The
# minutes each run trained (the trainer's own clock, summed over resumes, quality checks
# excluded) are in the tables' last column; the CPU was shared with other jobs, so they are
# upper bounds of what each run needs alone.

# %%
root, note = locate("nll-vs-gan", preset, rerun=rerun, seeds=tuple(seeds))
runs = exp1.load(root)
display(Markdown(provenance(runs, note)))

# %% [markdown]
# **Final figures**, median and range over seeds (FIDs of dead and live generators span a
# decade). Lower is better for bits/dim and FID; higher for precision, recall and classes
# covered (a class counts as covered when it holds at least a quarter of its share of the
# samples, by the MNIST classifier). *Unstable seeds*: diverged, ended dead, or validation
# FID above 1.5 times its own best at a later check (F2's criterion, below). The last row is
# the floor: held-out real digits against MNIST test at the same sample sizes. Run by run
# below, each run's validation FID at its best check (what early stopping on FID would have
# kept) beside its last, so a run that peaked early shows it.

# %%
display(Markdown(exp1.markdown_table(runs, exp1.fid_floors(preset))))
display(Markdown(C.run_table(exp1.final_rows(runs))))
display(Markdown(C.control_comparison(shipped_results("gan-control", preset), runs, exp1.fid_floors(preset))))

# %% [markdown]
# **Over training.** Per loss, the median over seeds (line) and their range (band),
# at every quality check. Bits/dim and FID are on log scales: an adversarially trained flow
# can give the data a likelihood orders of magnitude worse than the NLL-trained one while
# its samples improve; the GAN loss never asks for a density.

# %%
fig = C.curves_figure(runs, floor=(exp1.fid_floors(preset) or {}).get("lenet_validation"))
plt.show()

# %% [markdown]
# **Samples from the same noise, step by step.** Pick a seed, then move the slider. Each
# frame shows, for every loss, the samples decoded from the *same* latent vectors at that
# step: at step 0 all are the same initial network. The frames were rendered when the book
# was built, so the slider also works in the static web page.

# %%
by_seed = {}
for s in sorted({r.seed for r in runs}):
    frames, labels = C.grid_frames(runs, s)
    if frames:
        by_seed[str(s)] = widgets.frame_slider(frames, labels, "step")
widgets.frame_choice(by_seed, "seed") if by_seed else print("no sample grids in this study")

# %% [markdown]
# **Instability events**: every event the runs recorded (none is a valid result too).

# %%
display(Markdown(C.events_table(runs)))

# %% [markdown]
# ## The verdicts, by the rules stated above
#
# Computed by `flowlib.studies.nll_vs_gan.findings` from the runs above and the search, F2
# from initialisation as its two readings (`flowlib.studies.nll_vs_gan_f2`, below); no
# verdict while any of the twelve selected runs lacks its final figures.

# %%
verdicts = f2.findings(runs, srows)
display(Markdown("| finding | status | numbers |\n|---|---|---|\n" + "".join(
    f"| {k} | **{v['status']}** | {v['numbers']} |\n" for k, v in verdicts.items())))

# %% [markdown]
# ## What the verdicts say
#
# Read from the shipped `quick` runs, after all twelve had finished:
#
# - **F1 is not supported, on every reading.** In every seed the adversarially trained flow
#   has the lower FID: on LeNet-FID (10 000 samples) NSGAN 78-93, WGAN-GP 36-40 and the hybrid
#   110-129, against NLL's 405-416 (held-out real digits: 5.4); on Inception-FID (500 samples)
#   NSGAN 34.5-35.4 against NLL's 64-68 (floor 19). The thesis' "NLL does unexpectedly well
#   in FID" is not what these runs show: with a searched adversarial side that is shown to
#   work, NLL loses by a factor of 4 to 10 on LeNet-FID and about 2 on Inception-FID.
# - **The price is likelihood**, as {ref}`Grover et al. 2018 <ref-grover2018>` reported for
#   Flow-GANs: NLL's test bits/dim are 1.52-1.54, NSGAN's 7 000 to 32 000 and WGAN-GP's
#   500 000 to 1 500 000, so the adversarial flows put almost no density on the test digits
#   they resemble. The hybrid sits between on both axes (2.20-2.23 bits/dim).
# - **F2 from initialisation is not supported**: none of the three selected NSGAN seeds
#   diverged, died or let its validation FID rise above 1.5 times its best, and neither did
#   NLL's. That is a statement about the *selected* configuration: in the search, 11 of the 16
#   NSGAN configurations ended dead or diverged, none of NLL's 24 diverged (reported, not
#   counted: seen before the rule was written). Read together: NSGAN on this flow is fragile in its
#   settings (every live configuration had R1 and a discriminator at 1 to 4 times the
#   generator's rate) and stable once a live one is found.
# - **What this does not settle**: whether the order holds for the `full` preset's larger
#   flow trained longer, where NLL's samples improve; and whether another adversarial
#   machinery (a discriminator on the flow's logit-space images, above) would change NSGAN's
#   death rate. FID here compares sample statistics only; it says nothing of the likelihood
#   each model assigns.

# %% [markdown]
# ## Stated after the runs, before any new one
#
# A review of the finished study found what the verdicts above leave out. The rules and code
# below were written and unit-tested before any new run or evaluation
# (`flowlib.studies.nll_vs_gan_parity`, `nll_vs_gan_f2`, `nll_vs_gan_temperature`); cells
# that need a new measurement say *to be measured* until it is shipped.
#
# **Compute, in minutes and images.** The search gave both sides as many configurations and
# the final runs as many generator steps, not as many minutes or real digits: every
# adversarial step also trains a discriminator, and WGAN-GP's critic takes five steps per
# generator step. The book's teacher (the same architecture trained by NLL for longer,
# {doc}`Synthetic MNIST <synthetic_mnist>`) is the compute-matched NLL row.

# %%
hruns = load_study(hroot) if any(hroot.glob("*/manifest.json")) else []
display(Markdown(parity.parity_table(parity.parity_rows(runs, sruns, hruns, teacher_dir(),
                                                        temp.read(root)))))

# %% [markdown]
# **F2 from initialisation, read twice.** (a) The rule fixed before the final runs reads the
# three seeds of the *selected* NSGAN configuration, one selected for having lived; three
# seeds have little power. (b) Across the whole search, the share of configurations that
# ended dead or diverged, NSGAN against NLL by the same criterion: written after the search
# was seen, so *exploratory*. The chapter uses two notions of instability, counted apart below:
# sample quality falling (a run that diverged, ended dead, or whose validation FID rose above
# 1.5 times its best) and likelihood exploding (`bpd_exploded`: a check whose exact
# validation bits/dim lie more than one bit above the run's best). F2 at the equilibrium
# ({doc}`Is the Nash equilibrium a resting place? <nash>`) is read on the exact KL to the
# teacher, the second notion's kind: there NSGAN leaves at every rate, as here every NSGAN
# and WGAN-GP run drifts away from the data's likelihood, while whether its *samples* fail
# depends on its settings.

# %%
display(Markdown(f2.instability_table(f2.instability_counts(
    {"search": sruns, "hybrid sweep": hruns, "final": runs}))))

# %% [markdown]
# **Sampling temperature.** Every figure above samples at temperature 1, while flows are
# customarily sampled below it and the teacher's own rule chose 0.9. The rule for a second
# reading (for NLL and, alike, the adversarial runs), its constants in
# `flowlib.studies.nll_vs_gan_temperature`; temperature 1 stays the primary reading:

# %%
display(Markdown(f"> {temp.RULE}.\n\n" + temp.readings_markdown(runs, temp.read(root))))

# %% [markdown]
# **The positive control's bar** is LeNet-FID below 300 on 10 000 samples; the shipped control
# (above) misses it, and uses none of the selected NSGAN recipe. A new control, the same DCGAN
# trained with that recipe (rates, beta1, R1, EMA, schedule) for the flow's 6 000 generator
# steps, is stated as the study `gan-control-recipe`; its test is marked as expected to fail
# until a control that meets the bar is shipped.

# %% [markdown]
# ## What to keep in mind
#
# - **Size.** These are `quick` runs: a small Real NVP and 6 000 steps (sizes, steps and
#   devices in the provenance notes), so absolute numbers are far from the literature's; what
#   the chapter tests is the *comparison* at equal architecture, data and generator steps.
# - **Selection noise.** The search ran one seed per configuration for 1 000 steps; its
#   ranking at 1 000 steps need not be the ranking at 6 000, and a validation FID of 2 000
#   samples has its own noise (the `fid_se` column of each run's metrics, a bootstrap over
#   the generated features). The three seeds of the final runs measure the seed-to-seed part
#   of that noise; the search's distribution above shows how much a family depends on its
#   settings.
# - **Compute.** Parity is in generator steps; in training time WGAN-GP's five critic steps
#   make each of its steps several times dearer than NLL's, as the tables' minutes show.
# - **The saturation decision** above: NSGAN here is NSGAN *on this flow*, output sigmoid
#   included. A discriminator on logit-space images might change NSGAN's death rate; it would
#   need its own search.
#
# **The first study, superseded.** An earlier version of this chapter showed a study (now in
# `results/superseded/nll-vs-gan-quick`, with a README) whose NSGAN generators all died by
# step 80: a generator gradient of exactly zero, all-black samples, LeNet-FID 5255 in every
# seed. That was evidence about four faults of the adversarial machinery, found after the
# fact, not about NSGAN: the flow's data-dependent (ActNorm) initialisation ran for NLL but
# never for NSGAN, so the two did not start from the same network; the generator's Adam used
# beta1 = 0.9 where DCGAN found 0.5 necessary; the discriminator learned at its full rate
# while the generator was still warming up; and the discriminator saw the flow's samples
# unclipped, on $(-0.056, 1.056)^{784}$ against real pixels on $[0, 1)$, so it could win by
# range and push the generator into the flat tails of its output sigmoid. Its F1 read
# "supported" because the rule never asked whether the baseline worked; the rule now does
# (`tests/studies/test_f1_rule.py` includes a dead baseline that must not be called a win).
