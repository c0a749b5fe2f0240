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
# # Synthetic MNIST: a data set whose density is known
#
# On MNIST nobody knows the true density $p_{\text{data}}$, so nobody can say how far a
# trained model is from the truth: its NLL mixes the model's error with the (unknown)
# entropy of the data. The thesis' way out: **make the data with a flow**. Train a Real NVP
# on MNIST, freeze it — the *teacher* $T$ with known weights — and sample it. Every sample
# then comes with its exact log-density $\log p_T(x)$, and for any student flow $S$
#
# $$\mathrm{KL}(T \,\|\, S) = \mathbb{E}_{x\sim T}\bigl[\log p_T(x) - \log p_S(x)\bigr]
#   = \underbrace{\mathbb{E}_{x\sim T}[-\log p_S(x)]}_{\text{NLL of the student}}
#   - \underbrace{\mathbb{E}_{x\sim T}[-\log p_T(x)]}_{H(T)} \;\ge 0 ,$$
#
# estimated without bias from held-out teacher samples. The NLL that training minimises is
# the KL plus a constant we now know.
#
# **The teacher** is the book's canonical quick NLL run (chapter *Real NVP on MNIST*),
# with one addition: a **base temperature** $\sigma$. Its latent is $z \sim \mathcal N(0,
# \sigma^2 I)$ instead of $\mathcal N(0, I)$, so $\log p_T(x) = \log\mathcal N(f(x); 0,
# \sigma^2 I) + \log|\det \partial f/\partial x|$ — still exact, only the base density
# changed. Sampling flows at $\sigma < 1$ is the classic trick for cleaner samples (Glow);
# here it is part of the teacher's *definition*, not a sampling hack, so the stored
# densities are the densities of the samples. $\sigma$ was chosen once, by the lowest
# LeNet-FID against MNIST among $\sigma \in \{1, 0.9, \dots, 0.6\}$ (`python -m flowlib
# teacher build`). The weights ship in `results/teacher/` with their SHA-256; loading
# refuses any other file.
#
# **The data space.** A Real NVP with the logit pre-processing ($\alpha = 0.05$) lives on
# the slightly larger cube $(-a, 1 + a)^{784}$, $a = \alpha/(1-2\alpha) \approx 0.056$.
# Samples are kept there, *unclipped*, so that their stored density is exact; students use
# the same $\alpha$, hence the same support. Only for pictures, the classifier and FID are
# the images clipped to $[0, 1]$.
#
# **Units.** On MNIST the book reports the bits/dim of dequantised pixels, $y = (k+u)/256$:
# $-(\log p(y) - D\log 256)/(D \log 2)$. A continuous synthetic image $x$ gets *the same
# formula*: it is the bits/dim of $256\,x$, the image on the 0..256 pixel scale. Teacher
# entropy and student NLLs on synthetic MNIST are therefore directly comparable with bits/dim
# on MNIST. (A KL, a *difference* of log-densities, needs no offset: nats / $(D\log 2)$.)

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"

# %%
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from flowlib.data import synthetic as S
from flowlib.metrics import likelihood as L
from flowlib.book import synthetic_mnist as SB
from flowlib.book import widgets
from flowlib.data.mnist import load_mnist
from flowlib.metrics.fid import classify_with_confidence, fid
from flowlib.core.presets import pick
from flowlib.models.realnvp import RealNVP

N = pick(preset, {"smoke": 500, "quick": 10_000, "full": 10_000})  # held-out teacher samples
t0 = time.time()
teacher = S.Teacher.load()
rec = teacher.manifest["results"]
src = teacher.manifest["config"]["source_manifest"] or {}
display(Markdown(
    f"Teacher: the `{rec['size']}` Real NVP, {rec['parameters']:,} parameters, base temperature "
    f"σ = {teacher.temperature}, SHA-256 `{teacher.sha256[:16]}…`; trained by NLL on MNIST "
    f"(source run: test {src.get('results', {}).get('test_bpd', float('nan')):.4f} bits/dim at σ = 1, "
    f"commit `{str(src.get('commit'))[:10]}`). At σ = {teacher.temperature} it scores "
    f"{rec['test_bpd_subset']:.4f} bits/dim on the first {rec['test_subset_images']} MNIST test digits."))

# %% [markdown]
# ## Choosing the temperature
#
# The scan that fixed σ (2 000 samples per temperature, LeNet features, against MNIST
# test). Lower temperatures trade recall (diversity, classes) for precision (clean strokes);
# FID balances the two.

# %%
fig = SB.temperature_figure(rec["temperature_scan"], teacher.temperature)
plt.show()

# %% [markdown]
# ## Exact densities and the teacher's entropy
#
# The held-out split (`synthetic_mnist("test", N)`) is generated deterministically from the
# teacher and cached with a checksum; each sample's exact log-density is stored beside it.
# Its mean is a Monte-Carlo estimate of the entropy $H(T)$, with the standard error of a mean.

# %%
data = S.synthetic_mnist("test", N, teacher, progress=False)
H = L.teacher_entropy(data)
h_bpd = L.bpd_256(-H.value)
mnist = load_mnist("test").images[:N]
mnist_lp = SB.mnist_log_p(teacher, mnist)
display(Markdown(
    f"H(teacher) = **{H.value:.2f} ± {H.se:.2f} nats** per image (n = {H.n:,}), i.e. "
    f"**{h_bpd:.4f} ± {H.se / (784 * 0.6931471805599453):.4f} bits/dim** in MNIST's units. The same "
    f"teacher gives the first {N:,} real MNIST test digits {SB.mnist_bpd(mnist_lp):.4f} bits/dim "
    f"(dequantised bound): real digits are {'less' if SB.mnist_bpd(mnist_lp) > h_bpd else 'more'} "
    "likely under the teacher than its own samples are, on average."))
fig = SB.density_histogram(data, mnist_lp)
plt.show()

# %% [markdown]
# ## KL = NLL − H, exactly
#
# Three "students" scored on the same held-out samples: the teacher itself (KL must be 0
# *exactly*, since both terms are computed identically), the teacher's weights with the
# base temperature reset to σ = 1 (the plain MNIST model: a misspecified temperature), and a
# freshly initialised Real NVP of the same size. The KL is averaged per sample (paired), so
# its standard error is far below those of NLL and entropy.

# %%
def with_temperature(t):
    return teacher.model.with_base_temperature(t).eval()

torch.manual_seed(0)
students = {"the teacher itself": teacher.model, "teacher weights at σ = 1": with_temperature(1.0),
            "random initialisation": RealNVP(teacher.model.config).eval()}
lines = ["| student | NLL (bits/dim, MNIST units) | KL (nats/image) | KL (bits/dim) | NLL − H − KL (nats) |",
         "|---|---|---|---|---|"]
for name, st in students.items():
    nll = L.student_nll(st, data)
    kl = L.kl_to_teacher(st, data)
    lines.append(f"| {name} | {L.bpd_256(-nll.value):.4f} | {kl.value:.3f} ± {kl.se:.3f} | "
                 f"{L.nats_to_bits_per_dim(kl.value):.5f} | {nll.value - H.value - kl.value:.1e} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Does it look like MNIST?
#
# The book's MNIST classifier labels the (clipped) teacher samples; LeNet-FID, precision and
# recall compare them with the MNIST test digits. For scale, the same yardstick puts MNIST's
# own training digits against its test digits (the floor any generator can hope for).

# %%
x01 = data.clipped()
pred_s, conf_s = classify_with_confidence(x01)
pred_r, conf_r = classify_with_confidence(mnist.float() / 255)
fig = SB.class_figure(pred_s, conf_s, pred_r, conf_r)
plt.show()
r_syn = fid(x01, reference="mnist-test", n=N)
r_floor = fid(load_mnist("train").images[:N], reference="mnist-test", n=N)
display(Markdown(
    f"| images (n = {N:,}) vs MNIST test | LeNet-FID | precision | recall | classes covered | "
    f"mean confidence |\n|---|---|---|---|---|---|\n"
    f"| synthetic MNIST | {r_syn.fid:.2f} | {r_syn.precision:.3f} | {r_syn.recall:.3f} | "
    f"{r_syn.classes_covered}/10 | {float(conf_s.mean()):.3f} |\n"
    f"| MNIST train digits | {r_floor.fid:.2f} | {r_floor.precision:.3f} | {r_floor.recall:.3f} | "
    f"{r_floor.classes_covered}/10 | — |\n"
    f"\nMNIST test digits get mean confidence {float(conf_r.mean()):.3f}. Largest gap in the class "
    f"histogram: digit {int((torch.bincount(pred_s, minlength=10) - torch.bincount(pred_r, minlength=10)).abs().argmax())}."))

# %% [markdown]
# So "synthetic MNIST" is MNIST-*like*, not MNIST: judge by the FID gap to the floor above.
# That is fine for its purpose — the experiments that follow need a distribution that looks
# like digits and whose density is known exactly, not a perfect copy.
#
# ## Browse the samples by their exact density
#
# The slider runs from the most likely samples (lowest bits/dim) to the least likely; each
# sample is titled with its exact bits/dim in MNIST's units. Frames were rendered when the
# book was built, so the slider also works on the static page.

# %%
frames, labels = SB.browse_frames(data, frames=12)
widgets.frame_slider(frames, labels, "rank")

# %%
print(f"chapter computed in {time.time() - t0:.0f} s")
