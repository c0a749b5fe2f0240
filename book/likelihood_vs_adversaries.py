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

# %% [markdown]
# # Maximum likelihood and the GAN game
#
# **The question.** There are two ways to fit a generative model $q_\theta$ to data drawn
# from an unknown $p$: maximise the likelihood of the data, or train $q_\theta$ to fool a
# discriminator. What does each one actually minimise, and what does that do to the parts of
# $p$ a model keeps? Everything below is exact arithmetic on one-dimensional densities: no
# training, no noise.

# %% tags=["remove-input"]
from flowlib.book import likelihood_vs_adversaries as C

C.findings_box()

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowlib.book import widgets
from flowlib.book.code import show_source
from flowlib.book.lesson import answer
from flowlib.core.presets import pick

# %% [markdown]
# ## Maximum likelihood minimises KL(data ‖ model)
#
# The average negative log-likelihood (NLL) of a model over the data distribution is a
# cross-entropy, and it splits into two terms:
#
# $$
# \mathbb{E}_{x\sim p}\left[-\log q_\theta(x)\right]
#   = \underbrace{\mathbb{E}_{p}\left[-\log p(x)\right]}_{H(p)\text{, fixed}}
#   + \underbrace{\mathbb{E}_{p}\left[\log \tfrac{p(x)}{q_\theta(x)}\right]}_{\mathrm{KL}(p\,\|\,q_\theta)\ \ge\ 0}.
# $$
#
# The entropy $H(p)$ does not depend on the model, so minimising NLL is minimising the
# forward KL divergence $\mathrm{KL}(p\,\|\,q_\theta)$, and the NLL can never go below
# $H(p)$. On real data $H(p)$ is unknown, so an NLL alone does not say how far a model is
# from the truth. The synthetic MNIST of a later chapter is built so that $H(p)$ *is*
# known, and the KL becomes measurable.
#
# The forward KL weighs the log-ratio by $p$: wherever the data has mass and the model
# has almost none, $\log p/q$ explodes. A likelihood-trained model is therefore pushed to
# put mass **everywhere the data is** (mode covering), at the price of also putting some
# where the data is not.
#
# ## The GAN game and its Nash equilibrium
#
# {ref}`Goodfellow et al. (2014) <ref-goodfellow2014>` pit a generator $G$ (here: samples of $q_\theta$) against a
# discriminator $D(x) \in (0,1)$ in the game
#
# $$
# \min_G \max_D\; V(D, G) = \mathbb{E}_{x\sim p}[\log D(x)] + \mathbb{E}_{x\sim q}[\log(1 - D(x))].
# $$
#
# For a fixed generator the best discriminator is $D^*(x) = p(x) / (p(x) + q(x))$, and
# with it $V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p\,\|\,q)$: the generator minimises a
# Jensen–Shannon divergence. The game's **Nash equilibrium** is $q = p$ with
# $D^* \equiv 1/2$: neither player can improve alone. The experiment
# {doc}`Is the Nash equilibrium a resting place? <nash>` starts a GAN exactly there.
#
# Below: a data density $p$ (two modes), a model $q$, the optimal discriminator, and the
# divergences — exact, on a grid.

# %% mystnb={"figure": {"caption": "A two-mode data density $p$, a broad model $q$ and the best discriminator $D^*$ against it (dashed, right axis). $D^*$ is near 1 where only the data have mass and near 0 where only the model has: what it tells the generator is *where* $q$ is wrong, not by how much in likelihood.", "name": "fig-divergences"}, "image": {"alt": "Line plot of a two-mode data density, a single broad model density, and the optimal discriminator between them, which rises towards 1 over the data's modes and falls in the model's tails."}}
fig, text = C.divergences_figure()
plt.show()
print(text)

# %% [markdown]
# ## The non-saturating generator loss is not the minimax one
#
# Early in training the discriminator wins easily: $D(G(z)) \approx 0$. The minimax
# generator loss $\log(1 - D(G(z)))$ is flat there — its gradient with respect to the
# discriminator's logit is $-D(G(z)) \to 0$ — so the generator learns nothing when it is
# worst. Goodfellow et al. therefore proposed to have the generator minimise
# $-\log D(G(z))$ instead: the **non-saturating** GAN (NSGAN), whose gradient
# $-(1 - D(G(z)))$ is largest exactly there. Both push $D(G(z))$ up, but they are
# different objectives: with the optimal discriminator the NSGAN generator minimises
# $\mathrm{KL}(q\,\|\,p) - 2\,\mathrm{JSD}(p\,\|\,q)$ ({ref}`Arjovsky & Bottou, 2017 <ref-arjovsky2017>`), a
# reverse-KL-like objective, and the game no longer has the minimax value function.

# %% mystnb={"figure": {"caption": "The two generator losses against $D(G(z))$, the discriminator's belief that a fake is real (left), and the size of the gradient each sends back through the discriminator's logit (right). Look at the left end of the right panel: where the generator is worst, the minimax gradient vanishes and the non-saturating one is largest.", "name": "fig-generator-losses"}, "image": {"alt": "Two line plots: the minimax loss log(1-D) and the non-saturating loss -log D against D(G(z)), and the absolute gradients D and 1-D against D(G(z))."}}
fig, text = C.generator_losses_figure()
plt.show()
print(text)

# %% [markdown]
# Every GAN of this book is trained with these losses. The discriminator outputs a *logit*
# $l$, with $D = \sigma(l)$, and since $-\log\sigma(l) = \operatorname{softplus}(-l)$ and
# $-\log(1 - \sigma(l)) = \operatorname{softplus}(l)$, each loss is one line of
# `flowlib.training.gan`:

# %% tags=["remove-input"]
from flowlib.training.gan import discriminator_loss, generator_loss

show_source(discriminator_loss)

# %% tags=["remove-input"]
show_source(generator_loss)

# %% [markdown]
# - The discriminator is a binary classifier, real against fake: `softplus(-l_real)` is
#   $-\log D(x)$, `softplus(l_fake)` is $-\log(1 - D(G(z)))$.
# - `"nsgan"` is $-\log D(G(z))$ and `"minimax"` is $\log(1 - D(G(z)))$: the two curves of
#   the left panel above. Computing them from the logit with `softplus`, not as
#   `log(sigmoid(l))`, keeps them finite when the discriminator is very sure.
# - `"wgan-gp"` is the Wasserstein critic's generator loss, used in
#   {doc}`Experiment 1 <nll_vs_gan>`.

# %% [markdown]
# ## Mode covering versus mode seeking
#
# Fit a single Gaussian $q$ to a two-mode $p$ by each divergence. The forward KL (maximum
# likelihood) spreads $q$ over both modes; the reverse KL — the direction an NSGAN
# generator leans towards — locks onto one mode and ignores the other. Move the slider to
# pull the modes apart: the reverse fit jumps to a single mode once the gap between them
# is wide enough, while the likelihood fit keeps covering both.

# %%
separations = np.linspace(0.0, 6.0, pick(preset, {"smoke": 4, "quick": 13, "full": 25}))
frames, labels, table = C.mode_fitting_frames(separations)
print(table)
widgets.frame_slider(frames, labels, description="separation")

# %% [markdown]
# These are properties of the *divergences*, at their optima. A GAN trained by gradient
# steps need not reach its optimum, and a flow trained by NLL has a fixed architecture
# that may not contain $p$. Which effects survive in practice, with the model and the
# data held fixed, is what the rest of the book measures — first in two dimensions, where
# training takes seconds ({doc}`Flows in 2D <flows_2d>`), then on MNIST.
#
# ## Exercises
#
# **1. Where does the reverse fit jump?** Move the separation slider above from 0 upwards
# and watch the two fitted Gaussians. At which separation does the reverse-KL fit leave the
# middle, and what does the likelihood fit do meanwhile?

# %% tags=["remove-input"]
answer(C.jump_answer(separations))

# %% [markdown]
# **2. The price of a missing mode, both ways.** Compute the two KL divergences between the
# slider's two-mode density at separation 4 and a single Gaussian sitting on one of its
# modes, with the chapter's own functions:
#
# ```python
# from flowlib.book import likelihood_vs_adversaries as C
# p = C.two_modes(4.0)
# q = C.mixture_pdf(C.XS, [2.0], [0.7], [1.0])
# print(C.kl(p, q, C.XS), C.kl(q, p, C.XS))
# ```
#
# Which direction notices that a mode is missing?

# %% tags=["remove-input"]
answer(C.asymmetry_answer(4.0))

# %% [markdown]
# **3. A floor under the NLL.** A model's average NLL on data from $p$ can never go below
# $H(p)$. Why not, and why does that make an NLL on MNIST hard to read on its own?
#
# :::{dropdown} What you should find
# The NLL is $H(p) + \mathrm{KL}(p\,\|\,q_\theta)$ and a KL divergence is never negative, so
# the NLL reaches $H(p)$ only when $q_\theta = p$. On MNIST nobody knows $H(p)$: an NLL of
# 1.6 bits/dim could be a model 0.6 bits/dim from the truth or one almost on it. The
# {doc}`synthetic MNIST <synthetic_mnist>` is built so that $H(p)$ is known and the KL
# itself can be measured.
# :::
#
# **4. The discriminator at the equilibrium.** In the first figure's setting, what is the
# best discriminator when the model is perfect, $q = p$, and what does the generator learn
# from it? (The text printed under the figure has the numbers.)
#
# :::{dropdown} What you should find
# $D^*(x) = p/(p + p) = 1/2$ everywhere and the JSD is 0: the last line printed under the
# figure. A discriminator that says one half everywhere has no gradient with respect to its
# input, so the ideal generator is told nothing: it is a fixed point of the game. Whether
# gradient steps *stay* there is another question, which {doc}`nash` answers by starting a
# Real NVP exactly there.
# :::
