"""Small numerical companions to the chapter *Likelihood versus adversaries*.

Everything here works on 1-D densities tabulated on a grid ``xs`` (numpy), so the
quantities of the theory (KL in both directions, Jensen-Shannon, the optimal
discriminator) can be computed exactly up to the grid's resolution.
"""
from __future__ import annotations

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
