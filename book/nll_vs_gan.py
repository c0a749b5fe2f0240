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
# # Experiment 1: the same Real NVP, trained by NLL and by NSGAN
#
# The thesis' first finding (**F1**): with the architecture and the data held fixed, a
# Real NVP trained by maximum likelihood does *unexpectedly well* in FID against the very
# same network trained as the generator of a non-saturating GAN — and the adversarial
# training is unstable (**F2**). This chapter repeats that comparison with the book's own
# code, several seeds, and every number read from the runs' files.
#
# **The design.** For each seed, one Real NVP is initialised (`torch.manual_seed(seed)`),
# and three copies of that initialisation are trained on MNIST for the same number of
# steps, with the same batches:
#
# * **NLL** — maximum likelihood of dequantised pixels (chapter {doc}`Real NVP on MNIST <realnvp_mnist>`);
# * **NSGAN** — the flow is the generator, $G(z) = f^{-1}(z)$, trained against a small
#   convolutional discriminator with the non-saturating loss $-\log D(G(z))$;
# * **hybrid** — NSGAN plus $\lambda\cdot$NLL (Flow-GAN, {ref}`Grover et al. 2018 <ref-grover2018>`), $\lambda = 0.05$
#   (NLL in nats per dimension).
#
# The discriminator sees real images *dequantised exactly as the NLL sees them*
# ($(x+u)/256$), so it cannot win by spotting the 256-level grid. The adversarial runs use
# DCGAN's generator learning rate, $2\cdot 10^{-4}$, fixed before any run; NLL keeps its
# preset's. Every $k$ steps each run records, on its EMA weights: the **exact validation
# bits/dim** (the generator is a flow, so even the GAN's likelihood is known), the
# LeNet-FID, precision, recall and class coverage of 2 000 samples against the validation
# split, and a grid of samples from **fixed noise** (the same $z$ at every step and for
# every loss of a seed). Instabilities — a non-finite loss, bits/dim that jump by more than
# one bit above their best, class coverage that collapses — are recorded as events; a run
# that degrades is a result, not a crash.
#
# After training, each final model is measured once on the **test** split: exact test
# bits/dim over all 10 000 test images, LeNet-FID of 10 000 samples, and Inception-FID of
# 500 samples (Inception runs at a few images per second on this CPU; an FID from 500
# samples is biased upwards and comparable only with other FIDs at the same $n$).
#
# The runs come from
#
# ```
# python -m flowlib experiment nll-vs-gan --preset quick --seeds 0 1 2
# ```
#
# resumable (a rerun skips finished runs), with `--jobs N` for parallel processes or
# `--emit slurm` for a cluster. The book shows the shipped study in `results/nll-vs-gan-quick/`;
# set `rerun = True` to run it here.

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
from flowlib.studies import nll_vs_gan as exp1
from flowlib.studies.registry import STUDIES, locate
from flowlib.studies.results import provenance, teacher_notes

from flowlib.book import widgets

root, note = locate("nll-vs-gan", preset, rerun=rerun, seeds=tuple(seeds))
runs = exp1.load(root)
display(Markdown(" ".join(teacher_notes(runs)) + "\n\n" + provenance(runs, note)))

# %% [markdown]
# ## Final figures
#
# Median and range over seeds (FIDs of dead and live generators span a decade). Lower is
# better for bits/dim and FID; higher for precision, recall and classes covered (a class
# counts as covered when it holds at least a quarter of its share of the samples, by the MNIST
# classifier). *Unstable seeds*: diverged, ended dead, or validation FID above 1.5 times its
# own best at a later check (F2's criterion, below). The last row is the floor: held-out real
# digits against MNIST test at the same sample sizes.

# %%
display(Markdown(exp1.markdown_table(runs, exp1.fid_floors(preset))))

# %% [markdown]
# Run by run:

# %%
rows = exp1.final_rows(runs)
lines = ["| run | outcome | steps | test bits/dim | LeNet-FID | Inception-FID | precision | recall "
         "| classes | events |", "|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    def f(v, d=3):
        return "—" if v is None else (f"{v:.3g}" if abs(v) >= 1e4 else f"{v:.{d}f}")
    lines.append(f"| {r['run']} | {r['outcome']} | {r['steps']} | {f(r['test_bpd'])} | "
                 f"{f(r['lenet_fid'], 1)} | {f(r['inception_fid'], 1)} | {f(r['precision'])} | "
                 f"{f(r['recall'])} | {r['classes'] if r['classes'] is not None else '—'} | {r['events']} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Over training
#
# Each panel: per loss, the mean over seeds (line) and the range of the seeds (band), at
# every quality check. Bits/dim and FID are on log scales: an adversarially trained flow
# can give the data a likelihood orders of magnitude worse than the NLL-trained one while
# its samples improve — the GAN loss never asks for a density.

# %%
fig = C.curves_figure(runs)
plt.show()

# %% [markdown]
# ## Samples from the same noise, step by step
#
# Pick a seed, then move the slider. Each frame shows, for the three losses, the samples
# decoded from the *same* latent vectors at that step: at step 0 all three are the same
# initial network. The frames were rendered when the book was built, so the slider also
# works in the static web page.

# %%
by_seed = {}
for s in sorted({r.seed for r in runs}):
    frames, labels = C.grid_frames(runs, s)
    if frames:
        by_seed[f"seed {s}"] = widgets.frame_slider(frames, labels, "step")
widgets.frame_choice(by_seed, "seed") if by_seed else print("no sample grids in this study")

# %% [markdown]
# ## Instability events
#
# Every event the runs recorded (none is a valid result too).

# %%
ev = [(r.name, e) for r in runs for e in r.events]
if ev:
    display(Markdown("| run | step | event | detail |\n|---|---|---|---|\n" + "".join(
        f"| {n} | {e.get('step')} | {e.get('kind', e.get('event'))} | "
        f"{e.get('detail', e.get('message', ''))} |\n" for n, e in ev)))
else:
    print("no instability events and no divergence in these runs")

# %% [markdown]
# ## The finding, as these numbers have it
#
# The verdicts below are computed from the table above by `flowlib.studies.nll_vs_gan.findings`.
# **The rules were changed after these runs were seen, and say so:** the first version
# called F1 *supported* because NLL's FID was lower in every seed, although every NSGAN
# generator had died by step 80 (a gradient of exactly zero, all-black samples). A
# comparison with a dead generator is evidence about a bug, not about NSGAN. The rules now
# in force, fixed before the fair-fight reruns and unit-tested on constructed inputs
# (`tests/studies/test_f1_rule.py`, including a dead baseline that must not be called a
# win):
#
# - **F1** compares, seed by seed, only the seeds whose adversarial generator is *alive* at
#   its end (a non-zero gradient at its last logged step and at least 8 of the 10 digit
#   classes in its final samples): *supported* when NLL's final FID is lower in all of
#   them, *not supported* in none, *mixed* otherwise; with no live adversarial generator
#   it reads *inconclusive: the adversarial baseline failed*.
# - **F2 from initialisation** is judged only on runs made with the corrected adversarial
#   machinery (below); these runs were made before it and read *inconclusive*.

# %%
from flowlib.studies.results import load_study

search_root = STUDIES["nll-vs-gan-search"].shipped(preset)
verdicts = exp1.findings(runs, exp1.search_rows(load_study(search_root)) if search_root else None)
display(Markdown("| finding | status | numbers |\n|---|---|---|\n" + "".join(
    f"| {k} | **{v['status']}** | {v['numbers']} |\n" for k, v in verdicts.items())))

# %% [markdown]
# ## The fair fight: the search, stated before its runs
#
# The rerun of this experiment (`flowlib experiment nll-vs-gan-search`, then the selected
# configurations at full length) follows a protocol written here, and in
# `flowlib.studies.nll_vs_gan`, before any of its runs:
#
# - **The same budget on both sides.** A random search of 24 configurations for NLL and 24
#   for the adversarial losses (16 NSGAN, 8 WGAN-GP), drawn once from a fixed seed; every
#   configuration trains the same Real NVP from the same initialisation for 1 000 steps of
#   64 images (one seed), with quality checks every 250 steps.
# - **The spaces.** NLL: learning rate log-uniform in [3e-4, 5e-3], warm-up 0, 100 or 200
#   steps, final learning rate 0 or 10%, EMA on or off. NSGAN: generator learning rate
#   log-uniform in [3e-5, 1e-3], discriminator learning rate 0.5 to 4 times it (TTUR),
#   beta1 0, 0.5 or 0.9, no regulariser, R1 (gamma 0.1, 1 or 10) or spectral norm, 1 or 2
#   discriminator steps. WGAN-GP: learning rate log-uniform in [3e-5, 1e-3], critic 1 or 2
#   times it, beta1 0 or 0.5, beta2 0.9, 5 critic steps, penalty 10 (Flow-GAN's settings lie
#   inside this space).
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
# - **The verdicts on the selected runs.** F1 by the rule above (seed by seed, live
#   adversarial generators only), on the test LeNet-FID of 10 000 samples and on
#   Inception-FID against NSGAN, and on LeNet-FID against WGAN-GP and the hybrid beside it;
#   medians and ranges over seeds, with the real-versus-real floor at the same sample size.
#   **F2 from initialisation**, fixed before any selected run: a seed is *unstable* when it
#   diverged, ended dead (the same criterion for NLL as for NSGAN), or its validation
#   LeNet-FID rose above 1.5 times its own best at a later check; *supported* when NSGAN's
#   share of unstable seeds exceeds NLL's, *not supported* otherwise
#   (`flowlib.studies.nll_vs_gan.f2_init_rule`, tested on constructed runs). The search's
#   share of configurations that ended dead or diverged (11 of 16 NSGAN, none of NLL's) is
#   reported beside it and not counted: it was seen before the rule was written. (A first
#   version counted it; a review pointed out that this half could then never fail, and it was
#   dropped before any selected run.) No verdict while a selected run lacks its final figures.
# - **Cost**, estimated before running on this 2-core CPU: about 9 CPU-hours for the search
#   (WGAN-GP's five critic steps cost the most) and about 10 for the selected runs.
#
# Related work: {ref}`Grover et al. 2018 <ref-grover2018>` (Flow-GAN), {ref}`Danihelka et al. 2017 <ref-danihelka2017>` (*Comparison of maximum
# likelihood and GAN-based training of Real NVPs*), {ref}`Mescheder et al. 2018 <ref-mescheder2018>` (R1 and the local
# convergence of GAN training), {ref}`Lucic et al. 2018 <ref-lucic2018>` (*Are GANs created equal?*).

# %% [markdown]
# **The search so far.** Configurations are shipped as they finish (curves and manifests,
# no weights); a family's configuration is selected only once every one of that family's
# stated configurations has finished, and then only by the rule above (a selection reads its
# own family's runs only; the final runs wait for every family). Made this way, while NLL's
# and WGAN-GP's configurations were still running: NSGAN's, for the hybrid sweep.
#
# Noticed while it ran: the NSGAN configurations that died all ended on one all-black image
# (the same LeNet-FID, 5327, to the last digit). Their flows push the values entering the
# output sigmoid to about -100 (c05) and -2000 (c06), where its slope is exactly 0 in
# float32: the generator's gradient vanishes *inside the flow*, which the straight-through
# clip on the pixel range cannot undo. The live ones (and WGAN-GP's) sit near -5. GAN runs
# now log that saturated fraction (`g_saturated`).
#
# **Decided after the 16 NSGAN configurations were seen, before any selected run:** the
# machinery stays as stated. The saturation is what NSGAN did to this flow, whose output
# sigmoid is part of the model both losses train; a second machinery (for instance a
# discriminator that sees the flow's pre-sigmoid, logit-space images) chosen *after* seeing
# which configurations died would be a change fitted to the results, and it would need its
# own search of the same budget. The search found live NSGAN configurations (5 of 16, every
# one with R1 and a discriminator at 1 to 4 times the generator's rate), so the rule selects
# among them; the death rate is reported with the verdict as part of what NSGAN costs here,
# and the logit-space discriminator is left as a question for a future study.

# %%
from flowlib.studies.results import shown

sroot, snote = locate("nll-vs-gan-search", preset)
sruns = load_study(sroot)
srows = exp1.search_rows(sruns)
display(Markdown(exp1.search_summary(srows, sruns[0].spec.get("preset", preset))
                 + "\n\n" + provenance(sruns, snote)))
C.search_figure(srows)
plt.show()

# %% [markdown]
# **The hybrid sweep**, stated above: the selected NSGAN configuration (c12) with λ·NLL added,
# λ = 0.05, 0.5, 5, 50 and 500 nats per dimension, one seed, the search's 1 000 steps; its
# best live λ by the same rule (validation LeNet-FID, alive at its end) joins the final runs.
# Left, the sweep's validation LeNet-FID; right, its exact validation bits/dim: how much
# likelihood the adversarial loss gives up, and what it buys.

# %%
hroot = STUDIES["nll-vs-gan-hybrid"].shipped(preset)
if hroot is None:
    display(Markdown("*The hybrid sweep has no finished run yet* "
                     f"(`python -m flowlib experiment nll-vs-gan-hybrid --preset {preset} --seeds 0`)."))
else:
    hruns = load_study(hroot)
    C.hybrid_figure(hruns)
    plt.show()
    display(Markdown(provenance(hruns, f"The sweep: `{shown(hroot)}`.")))

# %% [markdown]
# ## The positive control: does this machinery train any GAN?
#
# Before an adversarial flow can be judged, the discriminator, losses, range handling and
# evaluation that train it must be shown to train *some* generator: a small DCGAN-style
# convolutional generator (`flowlib.models.dcgan`), same discriminator, same update
# functions, same LeNet-FID, Adam 2e-4 with betas (0.5, 0.999) for both players, batch 64.
# Its length was raised from 3 000 to 9 000 steps (about 25 minutes on one CPU thread, inside
# the 30 CPU-minutes the plan allowed) after a 3 000-step run reached LeNet-FID 554 on 10 000
# samples with 9 of 10 classes.

# %%
from flowlib.core.paths import RESULTS

fig, text = C.control_section(RESULTS / "gan-control-quick")
plt.show()
display(Markdown(text))

# %% [markdown]
# **What to keep in mind.** These are `quick` runs: a small Real NVP and a short
# schedule (sizes, steps and devices in the provenance note at the top), so absolute
# numbers are far from the literature's; what the chapter tests is the *comparison* at
# equal architecture, data and steps. Training ran on a CPU for one seed and on a lent GPU
# for the others where the provenance note says so; every final figure was measured on
# the CPU from the saved model.
#
# **Why the NSGAN runs above died, and what has changed since.** They were made with an
# adversarial machinery that had four faults, found after the fact: the flow's
# data-dependent (ActNorm) initialisation ran for NLL but never for NSGAN, so the two did
# not start from the same network; the generator's Adam used beta1 = 0.9 where DCGAN found
# 0.5 necessary; the discriminator learned at its full rate while the generator was still
# warming up; and the discriminator saw the flow's samples *unclipped*, on
# $(-0.056, 1.056)^{784}$ against real pixels on $[0, 1)$, so it could win by range and push
# the generator into the flat tails of its output sigmoid, where the gradient is exactly
# zero. The corrected machinery (`flowlib.training.gan`) initialises every loss identically,
# states both players' betas (0.5 by default), keeps the discriminator on the generator's
# schedule, shows it fakes clipped to the pixel range with a straight-through gradient, and
# adds the stabilisers of the literature (R1, spectral norm, several D steps, TTUR,
# WGAN-GP with Flow-GAN's settings). Its **positive control**, a small DCGAN-style generator
# trained by the same discriminator, losses and evaluation (`flowlib gan-control`), is in
# `results/gan-control-quick/`. The fair fight, a searched adversarial flow against a
# searched NLL flow with the same budget, reruns this chapter on it; until then F1 and F2
# here are inconclusive, whatever the table's numbers suggest.
