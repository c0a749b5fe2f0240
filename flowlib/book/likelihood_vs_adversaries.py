"""Small numerical companions to the chapter *Maximum likelihood and the GAN game*.

Everything here works on 1-D densities tabulated on a grid ``xs`` (numpy), so the
quantities of the theory (KL in both directions, Jensen-Shannon, the optimal
discriminator) can be computed exactly up to the grid's resolution.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy import optimize
from scipy.stats import norm

EPS = 1e-300


def mixture_pdf(xs: np.ndarray, means, stds, weights) -> np.ndarray:
    return sum(w * norm.pdf(xs, m, s) for m, s, w in zip(means, stds, weights))


def kl(p: np.ndarray, q: np.ndarray, xs: np.ndarray) -> float:
    """KL(p || q) in nats for densities tabulated on the uniform grid ``xs``."""
    dx = xs[1] - xs[0]
    mask = p > 0
    return float(np.sum(p[mask] * (np.log(p[mask] + EPS) - np.log(q[mask] + EPS))) * dx)


def jsd(p: np.ndarray, q: np.ndarray, xs: np.ndarray) -> float:
    m = 0.5 * (p + q)
    return 0.5 * kl(p, m, xs) + 0.5 * kl(q, m, xs)


def optimal_discriminator(p_data: np.ndarray, p_model: np.ndarray) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_model): the best response to a fixed generator."""
    return p_data / np.maximum(p_data + p_model, EPS)


def fit_gaussian(p: np.ndarray, xs: np.ndarray, direction: str) -> tuple[float, float]:
    """The Gaussian (mean, std) closest to ``p`` in ``KL(p||q)`` ("forward": MLE) or ``KL(q||p)``.

    Forward KL is what maximum likelihood minimises with infinite data: it has a closed
    form (moment matching), reached here numerically like the reverse one so that both
    go through the same code. The reverse fit starts from several means and keeps the best.
    """
    if direction not in ("forward", "reverse"):
        raise ValueError("direction is 'forward' (KL(p||q), maximum likelihood) or 'reverse'")

    def objective(theta):
        q = norm.pdf(xs, theta[0], np.exp(theta[1]))
        return kl(p, q, xs) if direction == "forward" else kl(q, p, xs)

    dx = xs[1] - xs[0]
    mean = float(np.sum(xs * p) * dx)
    starts = [mean] if direction == "forward" else np.linspace(xs[0] / 2, xs[-1] / 2, 9)
    best = None
    for m0 in starts:
        res = optimize.minimize(objective, x0=[m0, 0.0], method="Nelder-Mead",
                                options={"xatol": 1e-5, "fatol": 1e-9, "maxiter": 4000})
        if best is None or res.fun < best.fun:
            best = res
    return float(best.x[0]), float(np.exp(best.x[1]))


def generator_losses(d: np.ndarray) -> dict[str, np.ndarray]:
    """Generator losses and their derivatives w.r.t. the discriminator's logit, at D(G(z)) = d.

    minimax: log(1 - d), d/dl = -d;  NSGAN: -log d, d/dl = -(1 - d), with l = logit(d).
    """
    d = np.clip(d, 1e-12, 1 - 1e-12)
    return {"minimax": np.log1p(-d), "nsgan": -np.log(d),
            "minimax_grad": -d, "nsgan_grad": -(1 - d)}


# ------------------------------------------------------------------ the chapter's figures
XS = np.linspace(-8, 8, 4001)


def divergences_figure():
    """A bimodal data density p, a broad model q and the optimal discriminator D*; returns
    the figure and the divergences (KL both ways, JSD) as lines of text."""
    p = mixture_pdf(XS, means=[-2.0, 2.5], stds=[0.6, 0.8], weights=[0.45, 0.55])
    q = mixture_pdf(XS, means=[0.5], stds=[2.0], weights=[1.0])
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(XS, p, label="data $p$")
    ax.plot(XS, q, label="model $q$")
    ax2 = ax.twinx()
    ax2.plot(XS, optimal_discriminator(p, q), "k--", lw=1, label="$D^*(x)$")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("$D^*$")
    ax.set_xlim(-6, 6)
    ax.legend(loc="upper left")
    ax2.legend(loc="upper right")
    text = "\n".join([
        f"KL(p||q) = {kl(p, q, XS):.3f} nats   (what maximum likelihood minimises)",
        f"KL(q||p) = {kl(q, p, XS):.3f} nats   (the reverse direction)",
        f"JSD(p,q) = {jsd(p, q, XS):.3f} nats   (what the minimax GAN minimises, given D*)",
        f"at q = p: D* = {optimal_discriminator(p, p)[2000]:.2f} everywhere, JSD = {jsd(p, p, XS):.1e}"])
    return fig, text


def generator_losses_figure():
    """Minimax and non-saturating generator losses and their gradients against D(G(z))."""
    d = np.linspace(0.001, 0.999, 999)
    curves = generator_losses(d)
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
    axes[0].plot(d, curves["minimax"], label=r"minimax: $\log(1 - D)$")
    axes[0].plot(d, curves["nsgan"], label=r"NSGAN: $-\log D$")
    axes[0].set(xlabel="$D(G(z))$", ylabel="generator loss (minimised)")
    axes[0].legend()
    axes[1].plot(d, np.abs(curves["minimax_grad"]), label="minimax")
    axes[1].plot(d, np.abs(curves["nsgan_grad"]), label="NSGAN")
    axes[1].set(xlabel="$D(G(z))$", ylabel="|d loss / d logit|", title="gradient reaching the generator")
    axes[1].legend()
    fig.tight_layout()
    text = "\n".join(
        f"D(G(z)) = {v:4}: |grad| minimax {abs(c['minimax_grad'][0]):.2f}, NSGAN {abs(c['nsgan_grad'][0]):.2f}"
        for v, c in ((v, generator_losses(np.array([v]))) for v in (0.01, 0.5, 0.99)))
    return fig, text


def mode_fitting_frames(separations):
    """One frame per separation of a two-mode density: the Gaussian that maximum likelihood
    fits (forward KL) and the reverse-KL fit; returns frames, labels and a text table."""
    frames, labels, rows = [], [], ["separation | forward fit mean, std | reverse fit mean, std"]
    for sep in separations:
        p_sep = mixture_pdf(XS, means=[-sep / 2, sep / 2], stds=[0.7, 0.7], weights=[0.5, 0.5])
        fits = {d: fit_gaussian(p_sep, XS, d) for d in ("forward", "reverse")}
        fig, ax = plt.subplots(figsize=(6, 2.8))
        ax.fill_between(XS, p_sep, alpha=0.3, label="data $p$")
        for direction, (m, s) in fits.items():
            name = "max. likelihood: KL(p‖q)" if direction == "forward" else "reverse KL(q‖p)"
            ax.plot(XS, mixture_pdf(XS, [m], [s], [1.0]), label=name)
        ax.set(xlim=(-7, 7), ylim=(0, 0.65), title=f"mode separation {sep:.1f}")
        ax.legend(loc="upper right", fontsize=9)
        frames.append(fig)
        labels.append(f"separation {sep:.1f}")
        (fm, fs), (rm, rs) = fits["forward"], fits["reverse"]
        rows.append(f"{sep:10.1f} | {fm:+.2f}, {fs:.2f}          | {rm:+.2f}, {rs:.2f}")
        plt.close(fig)
    return frames, labels, "\n".join(rows)


# ------------------------------------------------------------------ the lesson's numbers
MODES = {"stds": [0.7, 0.7], "weights": [0.5, 0.5]}   # the two modes of the slider's density


def two_modes(sep: float) -> np.ndarray:
    """The slider's data density: two equal modes ``sep`` apart."""
    return mixture_pdf(XS, means=[-sep / 2, sep / 2], **MODES)


def findings_box(sep: float = 4.0):
    """The chapter's "What this chapter finds" box, computed exactly on the grid."""
    from flowlib.book.lesson import findings_box as box
    p = two_modes(sep)
    (fm, fs), (rm, rs) = (fit_gaussian(p, XS, d) for d in ("forward", "reverse"))
    g = generator_losses(np.array([0.01]))
    return box([
        "Minimising the average negative log-likelihood is minimising $\\mathrm{KL}(p\\,\\|\\,q)$, "
        "the *forward* KL: a model is punished without limit wherever the data have mass and "
        "it has almost none.",
        f"Fit one Gaussian to two modes {sep:g} apart. Maximum likelihood puts it at "
        f"{fm:+.2f} with standard deviation {fs:.2f}: over both modes and the empty gap between "
        f"them. The reverse KL, the direction the non-saturating GAN leans towards, puts it at "
        f"{rm:+.2f} with standard deviation {rs:.2f}: on one mode, ignoring the other.",
        f"Where the discriminator wins easily ($D(G(z)) = 0.01$), the gradient reaching the "
        f"generator is {abs(g['minimax_grad'][0]):.2f} under the minimax loss and "
        f"{abs(g['nsgan_grad'][0]):.2f} under the non-saturating one: why practice trains "
        "NSGAN, which is not the game whose equilibrium the theory describes.",
    ])


def jump_answer(separations) -> str:
    """Where, on the slider, the reverse-KL fit leaves the middle for one mode."""
    before = None
    for sep in separations:
        m, _ = fit_gaussian(two_modes(sep), XS, "reverse")
        if sep > 0 and abs(m) > sep / 4:
            _, fs = fit_gaussian(two_modes(sep), XS, "forward")
            where = (f"between separations {before:g} and {sep:g}" if before is not None
                     else f"by separation {sep:g}")
            return (f"The reverse fit jumps {where}: at {sep:g} it sits on one mode (mean "
                    f"{m:+.2f}); below that the two modes overlap enough that one Gaussian in the "
                    f"middle is the reverse-KL optimum too. The forward (likelihood) fit never "
                    f"leaves the middle; it only widens (standard deviation {fs:.2f} at "
                    f"separation {sep:g}) to keep both modes under it. Which mode the reverse fit "
                    f"picks is arbitrary: the two are mirror images, and the optimiser keeps the "
                    f"better of its starts.")
        before = sep
    return "On this slider's range the reverse fit never leaves the middle."


def asymmetry_answer(sep: float = 4.0) -> str:
    """KL both ways between the two-mode density and a Gaussian on one of its modes."""
    p = two_modes(sep)
    q = mixture_pdf(XS, [sep / 2], [0.7], [1.0])
    return (f"$\\mathrm{{KL}}(p\\,\\|\\,q) = {kl(p, q, XS):.1f}$ nats but "
            f"$\\mathrm{{KL}}(q\\,\\|\\,p) = {kl(q, p, XS):.2f}$ nats $= \\ln 2$: a model that "
            "drops a whole mode costs a likelihood-trained model dearly, while the reverse "
            "direction charges only for the probability the surviving mode takes from the "
            "other (here half, hence ln 2), however far apart they are.")
