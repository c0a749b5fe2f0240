"""What the generator minimises: one registry of training losses for the Real NVP's training loop.

A loss is a :class:`TrainLoss`: ``loss(model, batch, step, noise)`` returns ``(scalar to
minimise, {name: float})``; a ``train_bpd`` entry is logged as the training bits/dim. Losses
with their own state (a discriminator and its optimizer, for the GAN losses) keep it in
``state_dict`` / ``load_state_dict`` so that checkpoints and ``--resume`` cover them too.

``nll`` is maximum likelihood; ``nsgan``, ``minimax`` and ``hybrid`` are
:class:`flowlib.training.gan.GANTrainLoss`.
"""
from __future__ import annotations

import torch

from flowlib.core.errors import FlowlibError
from flowlib.models.realnvp import LOG2, RealNVP, mnist_units_offset
from flowlib.training.config import TrainConfig
from flowlib.training.gan import GANConfigError, GANTrainLoss, LossSpec


class LossError(FlowlibError, ValueError):
    """A loss asked for with options it does not take."""


class TrainLoss:
    """A training objective for the generator (the Real NVP).

    ``loss(model, batch, step, noise)`` returns ``(scalar to minimise, {name: float})``; a
    ``train_bpd`` entry is logged as the training bits/dim. Losses with their own state (a
    discriminator and its optimizer, for the GAN losses) keep it in ``state_dict`` /
    ``load_state_dict`` so that checkpoints and ``--resume`` cover them too.
    """

    name = "abstract"

    def setup(self, model: RealNVP, cfg: TrainConfig) -> None:
        pass

    def generator_betas(self, cfg: TrainConfig) -> tuple[float, float]:
        """Adam's betas for the generator (the flow) under this loss: (0.9, 0.999), beta1
        replaced by ``cfg.gen_beta1`` where given (an NLL control on a GAN run's optimiser)."""
        return (0.9 if cfg.gen_beta1 is None else cfg.gen_beta1), 0.999

    def set_lr_factor(self, factor: float) -> None:
        """Called before each step with the schedule's factor (a second player follows it)."""

    def loss(self, model: RealNVP, batch: torch.Tensor, step: int, noise: torch.Generator):
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class NLLLoss(TrainLoss):
    """Maximum likelihood: mean negative log-likelihood of dequantised pixels, in nats/dim."""

    name = "nll"

    def loss(self, model, batch, step, noise):
        # uint8 MNIST: dequantised bound; float (synthetic MNIST): the exact continuous density
        nats_per_dim = -model.log_prob(batch, generator=noise).mean() / model.dim
        return nats_per_dim, {"train_bpd": float(nats_per_dim.detach()) / LOG2
                              + mnist_units_offset(batch)}


def _gan_loss(kind: str):
    def make(hybrid_lambda: float | None = None, pretrain_disc: int = 0):
        return GANTrainLoss(LossSpec(kind, hybrid_lambda), pretrain_steps=pretrain_disc)
    return make


# name -> factory; the GAN losses (flowlib.training.gan.GANTrainLoss) plug into this same loop
LOSSES: dict = {"nll": NLLLoss, "nsgan": _gan_loss("nsgan"), "minimax": _gan_loss("minimax"),
                "hybrid": _gan_loss("hybrid"), "wgan-gp": _gan_loss("wgan-gp")}


GAN_LOSSES = ("nsgan", "minimax", "hybrid", "wgan-gp")


def make_loss(name: str, hybrid_lambda: float | None = None, pretrain_disc: int = 0) -> TrainLoss:
    if name not in LOSSES:
        raise LossError(f"Unknown loss {name!r}: use one of {', '.join(LOSSES)}.")
    if hybrid_lambda is not None and name != "hybrid":
        raise LossError(f"--hybrid-lambda is only used by --loss hybrid, not {name!r}.")
    if not isinstance(pretrain_disc, int) or pretrain_disc < 0:
        raise LossError(f"--pretrain-disc takes a whole number of discriminator steps, 0 or "
                        f"more, not {pretrain_disc!r}.")
    if pretrain_disc and name not in GAN_LOSSES:
        raise LossError(f"--pretrain-disc trains a discriminator: it needs a GAN loss "
                         f"({', '.join(GAN_LOSSES)}), not {name!r}.")
    try:
        return (LOSSES[name](hybrid_lambda, pretrain_disc) if name in GAN_LOSSES
                else LOSSES[name]())
    except GANConfigError as err:
        raise LossError(str(err)) from None


# ------------------------------------------------------------------ helpers
