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
# # Maximum likelihood and the GAN game
#
# Two ways to fit a generative model $q_\theta$ to data drawn from an unknown $p$:
# maximise the likelihood of the data, or train $q_\theta$ to fool a discriminator.
# This chapter sets out what each one optimises, why the GAN generator loss used in
# practice is not the one of the original minimax game, and what that means for which
# parts of $p$ a model is pushed to cover. It is light on compute: everything below is
# exact arithmetic on one-dimensional densities.

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowlib.book import likelihood_vs_adversaries as C
from flowlib.book import widgets
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
# $D^* \equiv 1/2$: neither player can improve alone. In the experiment *The Nash
# equilibrium is not a resting place* we start a GAN exactly there.
#
# Below: a data density $p$ (two modes), a model $q$, the optimal discriminator, and the
# divergences — exact, on a grid.

# %%
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

# %%
fig, text = C.generator_losses_figure()
plt.show()
print(text)

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
