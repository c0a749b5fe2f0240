"""Adversarial training: the GAN losses, one player's step each, and the GAN as a training loss.

The discriminators are in :mod:`flowlib.models.discriminators`.

The generator is always a flow (``decode`` of Gaussian noise), so the *same* model
can be trained by NLL, adversarially, or by both. Discriminators output **logits**
``l``; ``D = sigmoid(l)`` is the probability that an input is real. With
``softplus(a) = log(1 + e^a)``:

    discriminator loss      -log D(x) - log(1 - D(G(z)))   = softplus(-l_real) + softplus(l_fake)
    minimax generator        log(1 - D(G(z)))               = -softplus(l_fake)      (saturating)
    non-saturating (NSGAN)  -log D(G(z))                    = softplus(-l_fake)
    hybrid (Flow-GAN)        lambda * NLL + NSGAN
    WGAN-GP                 critic: mean l_fake - mean l_real + 10 (|grad l(x_hat)| - 1)^2
                            generator: -mean l_fake                     (l: a critic's score)

All losses are means over the batch, in nats (WGAN-GP: in the critic's units).

**One machinery for every GAN run of the book** (Experiment 1, the Nash study, the 2-D
chapter), with the choices a reader needs stated rather than buried:

- both players start from the same network as NLL does: the trainer runs the flow's
  data-dependent (ActNorm) initialisation on the first real batch for every loss;
- Adam's betas are per player and stated (:class:`GANSettings`; DCGAN's (0.5, 0.999) by
  default, WGAN-GP's (0.5, 0.9)); the discriminator's learning rate follows the generator's
  schedule, scaled by ``d_lr / lr`` (TTUR when they differ): no player has a warm-up advantage;
- the discriminator sees fakes on the support of real images: a flow's decoded images lie in
  ``(-a, 1 + a)`` (the logit margin), real pixels in ``[0, 1)``, so a discriminator could win by
  range alone and push the generator into the flat ends of its output sigmoid, where its
  gradient vanishes. Fakes are clipped to [0, 1] with a *straight-through* gradient
  (:func:`to_pixel_range`): the values are those of the images a reader, FID and the
  classifier see, and the generator's gradient passes as if unclipped. Synthetic reals (a
  teacher's samples, on the same ``(-a, 1 + a)``) are clipped the same way, so a generator
  equal to the teacher gives the discriminator exactly the reals' distribution;
- stabilisers from the literature, selectable and recorded: R1 penalty on reals
  (Mescheder et al. 2018), spectral norm in D (Miyato et al. 2018), several D steps per G
  step, separate learning rates (TTUR, Heusel et al. 2017), and WGAN-GP (Gulrajani et al.
  2017) with Flow-GAN's settings (Grover et al. 2018: penalty 10, 5 critic steps, Adam
  (0.5, 0.9), lr 1e-4);
- each step logs D(real), D(fake) (WGAN-GP: the critic's mean scores), the discriminator's
  gradient norm, and the norm of the discriminator's *input* gradient on fakes, which is what
  moves the generator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from flowlib.models.discriminators import ConvDiscriminator, GANConfigError
from flowlib.models.flows import dequantize, draw
from flowlib.models.realnvp import mnist_units_offset
from flowlib.training.config import TrainConfig

GENERATOR_LOSSES = ("nll", "nsgan", "minimax", "hybrid", "wgan-gp")


# ---------------------------------------------------------------- losses
def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the discriminator: real -> 1, fake -> 0 (nats, batch mean)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss (without its penalty): mean score of fakes minus mean score of reals."""
    return fake_scores.mean() - real_scores.mean()


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """The adversarial part of a generator loss, from the discriminator's logits on fakes."""
    if kind == "nsgan":
        return F.softplus(-fake_logits).mean()
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "wgan-gp":
        return -fake_logits.mean()
    raise GANConfigError(f"Unknown adversarial generator loss {kind!r}: use 'nsgan', 'minimax' "
                         "or 'wgan-gp'.")


def input_gradient(disc: nn.Module, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """``d D(x) / d x`` per example, flattened (N, D): the discriminator's input gradient."""
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(disc(x).sum(), x, create_graph=create_graph)
    return g.flatten(1)


def r1_penalty(disc: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ``E ||d D(x) / d x||^2`` on real data; weighted by gamma / 2."""
    return input_gradient(disc, real, create_graph=True).pow(2).sum(1).mean()


def gradient_penalty(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP's penalty ``E (||d D(x_hat) / d x_hat|| - 1)^2`` at random interpolates of real and
    (detached) fake examples."""
    eps = draw(torch.rand, (real.shape[0],) + (1,) * (real.dim() - 1), generator, real.device,
               real.dtype)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    return (input_gradient(disc, x_hat, create_graph=True).norm(dim=1) - 1).pow(2).mean()


SATURATED = 1e-6  # sigmoid'(z) below this: the pixel passes (almost) no gradient back


def saturated_fraction(raw: torch.Tensor, alpha: float) -> float:
    """The fraction of a flow's decoded pixels (``raw``, in ``(-a, 1 + a)``) that sit in the flat
    ends of its output sigmoid, where ``sigmoid'(z) = s (1 - s) < SATURATED``: there the
    generator's gradient vanishes inside the flow, whatever the discriminator's input gradient
    (the straight-through clip of :func:`to_pixel_range` cannot help). A dead NSGAN run of the
    search had its pre-sigmoid values near -2000, every pixel saturated."""
    s = alpha + (1 - 2 * alpha) * raw
    return float((s * (1 - s) < SATURATED).float().mean())


def saturated_black_share(raw: torch.Tensor, alpha: float) -> float:
    """Of the pixels :func:`saturated_fraction` counts, the share at the sigmoid's lower (black)
    end: background, where a saturated pixel is what a digit image needs; the rest sit at the
    white end, on strokes (nan when no pixel is saturated)."""
    s = alpha + (1 - 2 * alpha) * raw
    sat = s * (1 - s) < SATURATED
    return float((sat & (s < 0.5)).sum() / sat.sum()) if bool(sat.any()) else float("nan")


def to_pixel_range(fake: torch.Tensor) -> torch.Tensor:
    """Fakes clipped to [0, 1] in value, with the gradient of the identity (straight-through):
    the discriminator compares images on the same range as real ones, and the generator keeps
    a gradient where its raw output lies beyond the pixel range."""
    return fake + (fake.clamp(0, 1) - fake).detach()


@dataclass(frozen=True)
class LossSpec:
    """Which loss trains the generator. ``hybrid_lambda`` weights NLL in ``hybrid``."""
    kind: str = "nll"
    hybrid_lambda: float | None = None

    def __post_init__(self):
        if self.kind not in GENERATOR_LOSSES:
            raise GANConfigError(
                f"Unknown loss {self.kind!r}. The generator can be trained by: "
                f"{', '.join(GENERATOR_LOSSES)} (nll: maximum likelihood; nsgan: non-saturating "
                "GAN; minimax: the original saturating GAN; hybrid: lambda*NLL + NSGAN; wgan-gp: "
                "Wasserstein GAN with gradient penalty).")
        if self.kind == "hybrid" and (self.hybrid_lambda is None or not math.isfinite(
                self.hybrid_lambda) or self.hybrid_lambda <= 0):
            raise GANConfigError(
                "The hybrid loss needs a positive weight for its NLL term, a finite number "
                f"above 0 (not {self.hybrid_lambda!r}): pass "
                "hybrid_lambda (e.g. --hybrid-lambda 0.01; Flow-GAN used values of 1e-3..1).")
        if self.kind != "hybrid" and self.hybrid_lambda is not None:
            raise GANConfigError(f"hybrid_lambda is only used by the hybrid loss, not {self.kind!r}.")

    @property
    def adversarial(self) -> bool:
        return self.kind != "nll"

    @property
    def uses_nll(self) -> bool:
        return self.kind in ("nll", "hybrid")

    def generator_objective(self, nll: torch.Tensor | None,
                            fake_logits: torch.Tensor | None) -> torch.Tensor:
        """The scalar the generator minimises: NLL (nats/example), adversarial, or both."""
        if self.kind == "nll":
            return nll
        adv = generator_loss("nsgan" if self.kind == "hybrid" else self.kind, fake_logits)
        return adv + self.hybrid_lambda * nll if self.kind == "hybrid" else adv


def grad_norm(parameters) -> float:
    """The global L2 norm of the gradients of ``parameters`` (0 where none)."""
    norms = [p.grad.detach().norm() for p in parameters if p.grad is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


def discriminator_update(disc: nn.Module, d_opt: torch.optim.Optimizer, real: torch.Tensor,
                         fake: torch.Tensor, kind: str = "nsgan", r1: float = 0.0,
                         generator: torch.Generator | None = None,
                         gp_weight: float = TrainConfig.gp_weight, update: bool = True) -> dict:
    """One step of the discriminator on a real and a (detached) fake batch; its metrics.
    ``update`` False: the metrics only, no step (a frozen discriminator's control).

    ``kind``: ``wgan-gp`` trains a critic with the gradient penalty (weight ``gp_weight``), any
    other loss the cross-entropy discriminator. ``r1 > 0`` adds ``r1 / 2 * E ||grad D(real)||^2``.
    Metrics: the loss, D(real) and D(fake) (probabilities; for a critic its mean scores), the
    penalties and the norm of the discriminator's parameter gradient.
    """
    d_opt.zero_grad(set_to_none=True)
    fake = fake.detach()
    real_logits, fake_logits = disc(real), disc(fake)
    logs = {}
    if kind == "wgan-gp":
        gp = gradient_penalty(disc, real, fake, generator)
        d_loss = critic_loss(real_logits, fake_logits) + gp_weight * gp
        logs["d_gp"] = float(gp.detach())
    else:
        d_loss = discriminator_loss(real_logits, fake_logits)
    if r1:
        pen = r1_penalty(disc, real)
        d_loss = d_loss + 0.5 * r1 * pen
        logs["d_r1"] = float(pen.detach())
    d_loss.backward()
    d_grad = grad_norm(disc.parameters())
    if update:
        d_opt.step()
    with torch.no_grad():
        if kind == "wgan-gp":
            d_real, d_fake = float(real_logits.mean()), float(fake_logits.mean())
        else:
            d_real = float(torch.sigmoid(real_logits).mean())
            d_fake = float(torch.sigmoid(fake_logits).mean())
    return {"d_loss": float(d_loss.detach()), "d_real": d_real, "d_fake": d_fake,
            "d_grad_norm": d_grad, **logs}


def generator_objective(disc: nn.Module, fake: torch.Tensor, spec: LossSpec,
                        nll: torch.Tensor | None = None) -> torch.Tensor:
    """The generator's loss through a *frozen* discriminator (its parameters get no gradient).

    The caller calls ``backward`` on the result and then ``disc.requires_grad_(True)``
    before the next discriminator update (:func:`adversarial_step` does both).
    """
    disc.requires_grad_(False)
    return spec.generator_objective(nll, disc(fake))


def adversarial_step(model: nn.Module, disc: nn.Module, g_opt: torch.optim.Optimizer,
                     d_opt: torch.optim.Optimizer, real: torch.Tensor, spec: LossSpec, *,
                     fake_fn, nll_fn=None, clip: float | None = None) -> dict:
    """One discriminator update, then one generator update; returns the step's metrics.

    ``real``: a batch as the discriminator sees it (float, dequantised for images).
    ``fake_fn(n)``: ``n`` samples of the model *with* gradients to its parameters.
    ``nll_fn()``: the model's NLL (nats per example) on the real batch, for ``hybrid``.
    Each update touches only its own player's parameters: the discriminator sees
    detached fakes, and is frozen while the generator's loss flows through it.
    """
    if not spec.adversarial:
        raise GANConfigError("adversarial_step is for the nsgan, minimax and hybrid losses.")
    fake = fake_fn(real.shape[0])
    metrics = discriminator_update(disc, d_opt, real, fake)
    try:
        g_opt.zero_grad(set_to_none=True)
        nll = nll_fn() if spec.uses_nll else None
        g_loss = generator_objective(disc, fake, spec, nll)
        if not torch.isfinite(g_loss):
            raise FloatingPointError(f"non-finite generator loss ({float(g_loss)})")
        g_loss.backward()
        params = [p for g in g_opt.param_groups for p in g["params"]]
        g_grad = (float(nn.utils.clip_grad_norm_(params, clip)) if clip
                  else grad_norm(params))
        g_opt.step()
    finally:
        disc.requires_grad_(True)
    metrics.update(g_loss=float(g_loss.detach()), g_grad_norm=g_grad)
    if nll is not None:
        metrics["nll"] = float(nll.detach())
    return metrics


class GANTrainLoss:
    """The adversarial losses as a pluggable loss of :func:`flowlib.training.trainer.train`.

    Each call makes ``cfg.d_steps`` discriminator updates (the last on the step's real batch,
    dequantised with the noise stream the NLL uses, earlier ones on further batches) against
    fresh samples ``decode(z)`` in the pixel range (:func:`to_pixel_range`), then returns the
    generator's objective through the frozen discriminator; the training loop does the
    generator's backward, clipping and step. The discriminator's settings come from the run's
    :class:`~flowlib.training.config.TrainConfig` (``d_lr``, ``d_steps``, ``r1``,
    ``spectral_norm``, ``gan_beta1``/``gan_beta2``); its learning rate follows the generator's
    schedule (:meth:`set_lr_factor`). The discriminator and its optimizer live in
    ``state_dict``, so checkpoints and ``--resume`` cover them. For ``hybrid``, the NLL term is
    in nats per dimension, weighted by ``spec.hybrid_lambda``.
    """

    def __init__(self, spec: LossSpec, d_width: int = 32, pretrain_steps: int = 0):
        if not spec.adversarial:
            raise GANConfigError("GANTrainLoss is for the adversarial losses; use NLL for 'nll'.")
        if pretrain_steps < 0:
            raise GANConfigError(f"pretrain_steps must be >= 0, got {pretrain_steps}.")
        self.spec, self.name = spec, spec.kind
        self.pretrain_steps = pretrain_steps
        self.d_width = d_width
        self.disc = self.d_opt = self.cfg = None
        self.batches = None  # the trainer's source of further real batches (d_steps > 1)

    def setup(self, model, cfg) -> None:
        if cfg.d_steps < 1:
            raise GANConfigError(f"d_steps must be >= 1, got {cfg.d_steps}.")
        if cfg.r1 < 0:
            raise GANConfigError(f"The R1 weight must be >= 0, got {cfg.r1}.")
        if cfg.d_start not in ("fresh", "exact"):
            raise GANConfigError(f"Unknown discriminator start {cfg.d_start!r}: use fresh or exact.")
        if cfg.freeze_disc and self.pretrain_steps:
            raise GANConfigError("A frozen discriminator cannot be trained first: drop "
                                 "--pretrain-disc or --freeze-disc.")
        self.cfg = cfg
        self.d_lr = cfg.d_lr if cfg.d_lr is not None else cfg.lr
        self.disc = ConvDiscriminator(tuple(model.config.image_shape), self.d_width,
                                      cfg.spectral_norm,
                                      exact_start=cfg.d_start == "exact").to(model.device)
        self.d_opt = torch.optim.Adam(self.disc.parameters(), lr=self.d_lr,
                                      betas=(cfg.gan_beta1, cfg.gan_beta2))

    def generator_betas(self, cfg) -> tuple[float, float]:
        return (cfg.gan_beta1 if cfg.gen_beta1 is None else cfg.gen_beta1), cfg.gan_beta2

    def set_lr_factor(self, factor: float) -> None:
        """The generator's schedule factor at this step: the discriminator follows it."""
        for group in self.d_opt.param_groups:
            group["lr"] = self.d_lr * factor

    def loss(self, model, batch, step, noise):
        cfg, kind = self.cfg, self.spec.kind
        self.disc.requires_grad_(True)
        for _ in range(cfg.d_steps - 1):  # extra discriminator steps, on further batches
            extra = self.batches().to(model.device)
            discriminator_update(self.disc, self.d_opt, self._real(model, extra, noise),
                                 self._fake(model, extra.shape[0], noise), kind, cfg.r1, noise,
                                 cfg.gp_weight, update=not cfg.freeze_disc)
        real = self._real(model, batch, noise)
        raw = model.decode(self._latent(model, batch.shape[0], noise))
        fake = to_pixel_range(raw)
        logs = discriminator_update(self.disc, self.d_opt, real, fake, kind, cfg.r1, noise,
                                    cfg.gp_weight, update=not cfg.freeze_disc)
        nll = None
        if self.spec.uses_nll:
            nll = -model.log_prob(batch, generator=noise).mean() / model.dim
            logs["train_bpd"] = float(nll.detach()) / math.log(2) + mnist_units_offset(batch)
        objective = generator_objective(self.disc, fake, self.spec, nll)
        # what moves the generator: the discriminator's input gradient on its fakes
        logs["d_input_grad_fake"] = float(input_gradient(self.disc, fake).norm(dim=1).mean())
        logs["d_input_grad_real"] = float(input_gradient(self.disc, real).norm(dim=1).mean())
        logs["g_loss"] = float(objective.detach())
        logs["g_saturated"] = saturated_fraction(raw.detach(), model.config.alpha)
        return objective, logs

    @staticmethod
    def _real(model, batch, noise):
        """Reals as the discriminator sees them: uint8 MNIST dequantised as the NLL sees it (in
        [0, 1) already), float (synthetic) data clipped to [0, 1] like the fakes. A teacher's
        samples lie on its support (-a, 1 + a); left unclipped beside clipped fakes, they would
        let the discriminator tell a generator *equal to the teacher* from the teacher by range
        alone (no equilibrium at the Nash study's start)."""
        real = dequantize(batch, noise) if batch.dtype == torch.uint8 else batch
        return real.to(model.device, model.dtype).clamp(0, 1)

    @staticmethod
    def _latent(model, n, noise):
        """Base-distribution draws N(0, base_std^2 I), shape (n, D)."""
        return draw(torch.randn, (n, model.dim), noise, model.device, model.dtype) * model.config.base_std

    @torch.no_grad()
    def _fake(self, model, n, noise):
        return to_pixel_range(model.decode(self._latent(model, n, noise)))

    def pretrain(self, model, next_batch, noise) -> dict:
        """Train the discriminator alone for ``pretrain_steps`` steps against the current
        (frozen) generator; returns the last steps' mean metrics (nats, probabilities)."""
        logs = []
        for _ in range(self.pretrain_steps):
            batch = next_batch()
            logs.append(discriminator_update(self.disc, self.d_opt, self._real(model, batch, noise),
                                             self._fake(model, batch.shape[0], noise),
                                             self.spec.kind, self.cfg.r1, noise,
                                             self.cfg.gp_weight))
        tail = logs[-max(1, len(logs) // 10):]
        return {"steps": self.pretrain_steps,
                **{k: sum(l[k] for l in tail) / len(tail) for k in tail[0]}} if logs else {"steps": 0}

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "d_opt": self.d_opt.state_dict(),
                "spec": {"kind": self.spec.kind, "hybrid_lambda": self.spec.hybrid_lambda}}

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        saved = state.get("spec", {})
        if saved and (saved.get("kind"), saved.get("hybrid_lambda")) != (self.spec.kind,
                                                                         self.spec.hybrid_lambda):
            raise GANConfigError(f"The checkpoint was trained with loss {saved}, not "
                                 f"{self.spec}: resume with the same --loss and --hybrid-lambda.")
        self.disc.load_state_dict(state["disc"])
        self.d_opt.load_state_dict(state["d_opt"])
