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
# # Likelihood versus adversaries
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

from flowlib import theory, widgets
from flowlib.presets import pick

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
# Goodfellow et al. (2014) pit a generator $G$ (here: samples of $q_\theta$) against a
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
xs = np.linspace(-8, 8, 4001)
p = theory.mixture_pdf(xs, means=[-2.0, 2.5], stds=[0.6, 0.8], weights=[0.45, 0.55])
q = theory.mixture_pdf(xs, means=[0.5], stds=[2.0], weights=[1.0])
d_star = theory.optimal_discriminator(p, q)

fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(xs, p, label="data $p$")
ax.plot(xs, q, label="model $q$")
ax2 = ax.twinx()
ax2.plot(xs, d_star, "k--", lw=1, label="$D^*(x)$")
ax2.set_ylim(0, 1)
ax2.set_ylabel("$D^*$")
ax.set_xlim(-6, 6)
ax.legend(loc="upper left")
ax2.legend(loc="upper right")
plt.show()
print(f"KL(p||q) = {theory.kl(p, q, xs):.3f} nats   (what maximum likelihood minimises)")
print(f"KL(q||p) = {theory.kl(q, p, xs):.3f} nats   (the reverse direction)")
print(f"JSD(p,q) = {theory.jsd(p, q, xs):.3f} nats   (what the minimax GAN minimises, given D*)")
print(f"at q = p: D* = {theory.optimal_discriminator(p, p)[2000]:.2f} everywhere, JSD = "
      f"{theory.jsd(p, p, xs):.1e}")

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
# $\mathrm{KL}(q\,\|\,p) - 2\,\mathrm{JSD}(p\,\|\,q)$ (Arjovsky & Bottou, 2017), a
# reverse-KL-like objective, and the game no longer has the minimax value function.

# %%
d = np.linspace(0.001, 0.999, 999)
curves = theory.generator_losses(d)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(d, curves["minimax"], label=r"minimax: $\log(1 - D)$")
axes[0].plot(d, curves["nsgan"], label=r"NSGAN: $-\log D$")
axes[0].set_xlabel("$D(G(z))$")
axes[0].set_ylabel("generator loss (minimised)")
axes[0].legend()
axes[1].plot(d, np.abs(curves["minimax_grad"]), label="minimax")
axes[1].plot(d, np.abs(curves["nsgan_grad"]), label="NSGAN")
axes[1].set_xlabel("$D(G(z))$")
axes[1].set_ylabel("|d loss / d logit|")
axes[1].set_title("gradient reaching the generator")
axes[1].legend()
plt.tight_layout()
plt.show()
for value in (0.01, 0.5, 0.99):
    c = theory.generator_losses(np.array([value]))
    print(f"D(G(z)) = {value:4}: |grad| minimax {abs(c['minimax_grad'][0]):.2f}, "
          f"NSGAN {abs(c['nsgan_grad'][0]):.2f}")

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
frames, labels, rows = [], [], []
for sep in separations:
    p_sep = theory.mixture_pdf(xs, means=[-sep / 2, sep / 2], stds=[0.7, 0.7],
                               weights=[0.5, 0.5])
    fits = {direction: theory.fit_gaussian(p_sep, xs, direction)
            for direction in ("forward", "reverse")}
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.fill_between(xs, p_sep, alpha=0.3, label="data $p$")
    for direction, (m, s) in fits.items():
        name = "max. likelihood: KL(p‖q)" if direction == "forward" else "reverse KL(q‖p)"
        ax.plot(xs, theory.mixture_pdf(xs, [m], [s], [1.0]), label=f"{name}")
    ax.set_xlim(-7, 7)
    ax.set_ylim(0, 0.65)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"mode separation {sep:.1f}")
    frames.append(fig)
    labels.append(f"separation {sep:.1f}")
    rows.append((sep, *fits["forward"], *fits["reverse"]))
    plt.close(fig)
print("separation | forward fit mean, std | reverse fit mean, std")
for sep, fm, fs, rm, rs in rows:
    print(f"{sep:10.1f} | {fm:+.2f}, {fs:.2f}          | {rm:+.2f}, {rs:.2f}")
widgets.frame_slider(frames, labels, description="separation")

# %% [markdown]
# These are properties of the *divergences*, at their optima. A GAN trained by gradient
# steps need not reach its optimum, and a flow trained by NLL has a fixed architecture
# that may not contain $p$. Which effects survive in practice, with the model and the
# data held fixed, is what the rest of the book measures — first in two dimensions, where
# training takes seconds (*Flows in 2D*), then on MNIST.
