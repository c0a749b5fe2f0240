"""Likelihood in the book's units, and exact estimates against a known density.

Units: densities are nats per image (shape (N,)); bits/dim divide by ``D log 2``.
:func:`bpd_256` puts a continuous density in the units of MNIST's dequantised bits/dim
(the density of ``256 x``), so synthetic and real numbers sit side by side.

Estimates: with samples from a teacher whose log-density is known exactly,
``KL(teacher || student) = E_teacher[log p_T(x) - log p_S(x)] = NLL_S - H(teacher)`` is a
mean over held-out samples; each :class:`Estimate` carries its standard error.

Independent checks of an exact density (the teacher's): :func:`temperature_kl` (an analytic
KL the estimates must reproduce), :func:`latent_chi2` (samples and density agree) and
:func:`log_prob_by_jacobian` (the change of variables from scratch), with
:func:`jacobian_check` comparing the last with the model's own log-density.

Only the last one tests the log-determinants. The analytic KL compares a flow with *itself* at
another base temperature, so every log-det appears in both densities and cancels; the latent
chi-square test uses the transform alone. A log-det term dropped or perturbed (the logit's, a
split prior's, a coupling's) leaves both untouched; ``tests/data/test_teacher_density.py``
shows each such mutation passing them and failing :func:`jacobian_check`.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from flowlib.data.synthetic import CHUNK, SyntheticData, SyntheticError
from flowlib.models.flows import evaluating
from flowlib.models.realnvp import LOG2, RealNVP, RealNVPError

# ------------------------------------------------------------------ units


def bpd_256(log_p: torch.Tensor | float, dim: int = 784) -> float:
    """Bits/dim of a continuous density in MNIST's units: ``(-log p + D log 256) / (D log 2)``."""
    lp = float(log_p.double().mean()) if isinstance(log_p, torch.Tensor) else float(log_p)
    return (-lp / dim + math.log(256.0)) / LOG2


def nats_to_bits_per_dim(nats_per_image: float, dim: int = 784) -> float:
    """A *difference* of log-densities (e.g. a KL) in bits per dimension (no offset)."""
    return nats_per_image / (dim * LOG2)


# ------------------------------------------------------------------ exact quantities


@dataclass
class Estimate:
    """A Monte-Carlo mean (nats per image) with its standard error and sample size."""
    value: float
    se: float
    n: int

    def bits_per_dim(self, dim: int = 784) -> tuple[float, float]:
        return nats_to_bits_per_dim(self.value, dim), nats_to_bits_per_dim(self.se, dim)

    def __str__(self) -> str:
        return f"{self.value:.3f} ± {self.se:.3f} nats (n={self.n})"


def _mean_se(v: torch.Tensor) -> Estimate:
    v = v.double()
    n = len(v)
    return Estimate(float(v.mean()), float(v.std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan"), n)


def teacher_entropy(data: SyntheticData) -> Estimate:
    """H(teacher) = -E[log p_T(x)] (nats per image) from teacher samples, with its standard error."""
    return _mean_se(-data.log_p)


@torch.no_grad()
def student_log_prob(student: RealNVP, data: SyntheticData, batch_size: int = CHUNK) -> torch.Tensor:
    """log p_S of every image of ``data`` (float64, (n,)), in the batches the data were made in."""
    with evaluating(student):
        if tuple(student.config.image_shape) != tuple(data.images.shape[1:]):
            raise SyntheticError(f"The student models images of shape {tuple(student.config.image_shape)}, "
                                 f"the synthetic data are {tuple(data.images.shape[1:])}: build the "
                                 "student with the teacher's image_shape.")
        try:
            return torch.cat([student.log_prob(data.images[i:i + batch_size]).double().cpu()
                              for i in range(0, len(data), batch_size)])
        except RealNVPError as err:
            raise SyntheticError(f"The student cannot score these data: {err}") from None


def kl_to_teacher(student: RealNVP, data: SyntheticData) -> Estimate:
    """KL(teacher || student) in nats per image, from held-out teacher samples ``data``.

    The per-sample differences log p_T - log p_S are averaged (paired), so the standard error
    is that of the difference, much smaller than those of NLL and entropy separately.
    """
    return _mean_se(data.log_p - student_log_prob(student, data))


@torch.no_grad()
def reverse_kl(student: RealNVP, teacher: RealNVP, n: int, seed: int = 0,
               batch_size: int = CHUNK) -> Estimate:
    """KL(student || teacher) in nats per image from ``n`` samples of the student:
    ``E_S[log p_S(x) - log p_T(x)]``, exact since both are flows. The mode-seeking direction:
    it grows when the student puts mass where the teacher has little (off-manifold images),
    which the forward KL, averaged over teacher samples, can miss. A student sample on or
    beyond the edge of the shared support (a saturated output) makes it infinite."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = teacher.support()
    diffs = []
    with evaluating(student), evaluating(teacher):
        for i in range(0, n, batch_size):
            x = student.sample(min(batch_size, n - i), generator=g, clamp=False)
            if not (bool((x > lo).all()) and bool((x < hi).all())):
                return Estimate(math.inf, math.nan, n)
            diffs.append(student.log_prob(x).double().cpu() - teacher.log_prob(x).double().cpu())
    return _mean_se(torch.cat(diffs))


def student_nll(student: RealNVP, data: SyntheticData) -> Estimate:
    """-E[log p_S] on ``data`` (nats per image) = H(teacher) + KL(teacher || student)."""
    return _mean_se(-student_log_prob(student, data))


# ------------------------------------------------------------------ independent checks of an exact density
def temperature_kl(dim: int, t: float, s: float) -> float:
    """KL(p_t || p_s) in nats for one flow with base N(0, t^2 I) against the same flow with base
    N(0, s^2 I): a bijection leaves KL unchanged, so it is the Gaussians' KL,
    ``D/2 (t^2/s^2 - 1 - ln(t^2/s^2))``."""
    r = (t / s) ** 2
    return 0.5 * dim * (r - 1.0 - math.log(r))


@torch.no_grad()
def latent_chi2(model: RealNVP, x: torch.Tensor, temperature: float) -> dict:
    """Do samples ``x`` follow the density ``model`` evaluates? If ``x ~ p`` then
    ``z = encode(x) ~ N(0, t^2 I)``: each ``|z|^2 / t^2`` is chi-square with ``D`` degrees of
    freedom. Returns the Kolmogorov-Smirnov p-value of those values against chi2(D), the mean of
    ``|z|^2 / (t^2 D)`` (1 in expectation; its standard error ``sqrt(2 / (n D))``) and the largest
    |mean| of a latent coordinate in units of its standard error ``t / sqrt(n)``."""
    from scipy import stats

    with evaluating(model):
        z = torch.cat([model.encode(x[i:i + 500])[0].double() for i in range(0, len(x), 500)])
    n, d = z.shape
    q = ((z / temperature) ** 2).sum(1).numpy()
    return {"n": n, "dim": d, "ks_p": float(stats.kstest(q, stats.chi2(d).cdf).pvalue),
            "mean_sq": float(q.mean() / d), "mean_sq_se": math.sqrt(2.0 / (n * d)),
            "max_mean_z": float((z.mean(0).abs() / (temperature / math.sqrt(n))).max())}


def log_prob_by_jacobian(model: RealNVP, x: torch.Tensor) -> torch.Tensor:
    """log p(x) by the change of variables computed from scratch, for a few images (N, C, H, W):
    ``log N(z; 0, s^2 I) + log|det dz/dx|`` with ``z = encode(x)``, the Gaussian from scipy and
    the determinant from the full D x D Jacobian by autograd: none of the model's own log-det
    bookkeeping or base density is used. Float64; D backward passes per image."""
    m = copy.deepcopy(model).double().eval()
    m.encode(x.double())  # the support check, once, outside autograd
    out = []
    # one thread: the batched backward passes of small convolutions gain little from a second
    # one, and with two on a shared 2-core machine a Jacobian took 20x the CPU time (the threads
    # wait for each other): 113 s for one teacher image against 5 s with one thread
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for xi in x.double():
            out.append(_log_prob_by_jacobian_one(m, xi.unsqueeze(0)))
    finally:
        torch.set_num_threads(threads)
    return torch.tensor(out, dtype=torch.float64)


def _log_prob_by_jacobian_one(m: RealNVP, xi: torch.Tensor) -> float:
    from scipy import stats

    # the flow's transform only (its own log-det is discarded)
    jac = torch.autograd.functional.jacobian(lambda v: m._encode(v.view_as(xi))[0][0],
                                             xi.flatten(), vectorize=True)
    _, logabsdet = torch.linalg.slogdet(jac)
    z = m._encode(xi)[0][0].detach().numpy()
    base = stats.norm(0.0, m.config.base_std).logpdf(z).sum()
    return float(base) + float(logabsdet)


def jacobian_check(model: RealNVP, x: torch.Tensor) -> torch.Tensor:
    """The model's log-density minus the change of variables from scratch, per image (nats,
    float64, (N,)): ``model.log_prob(x)`` (a float64 copy, the model's own log-det bookkeeping
    and base density) against :func:`log_prob_by_jacobian` (the transform's full Jacobian by
    autograd and scipy's Gaussian). About 1e-12 nats for a correct flow; any log-det term
    missing or wrong shows as itself. Costs what :func:`log_prob_by_jacobian` costs: about 3 s
    of CPU per image for the 784-pixel teacher (one thread)."""
    m = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        own = m.log_prob(x.double()).double().cpu()
    return own - log_prob_by_jacobian(m, x)
