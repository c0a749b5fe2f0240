"""A training run's settings: :class:`TrainConfig`, one instance per preset.

``smoke`` proves the code path in seconds (CI), ``quick`` fits a 2-core laptop CPU, ``full``
is the thesis-scale run on a GPU (:mod:`flowlib.core.presets`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flowlib.core.presets import pick
from flowlib.models.realnvp import RealNVPConfig


@dataclass(frozen=True)
class TrainConfig:
    size: str = "base"             # a RealNVPConfig size name
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    final_lr_frac: float = 0.0     # lr at the end of the schedule, as a fraction of lr
    max_steps: int | None = None   # schedule length when no time budget is given
    minutes: float | None = None   # training-time budget (evaluation time excluded)
    calibrate_steps: int = 50      # with a budget: steps timed before fixing the schedule
    grad_clip: float = 100.0       # max global gradient norm (nats/dim units)
    weight_decay: float = 0.0
    ema: float | None = 0.999      # EMA decay of the weights (None: off)
    eval_every: int = 500          # steps between validation evaluations
    val_images: int = 2000         # validation subset size
    test_images: int = 10000       # test images for the final number
    log_every: int = 20            # steps between metrics lines
    checkpoint_every: int = 500    # steps between checkpoints
    checkpoint_seconds: float = 120.0  # ... or this much training time, whichever first
    snapshot_minutes: tuple = ()   # training-clock minutes at which to save model weights
    quality_every: int | None = None  # steps between LeNet-FID/precision/recall/coverage checks
    quality_images: int = 2000     # samples per quality check (against quality_reference)
    quality_reference: str = "mnist-validation"
    kl_images: int = 1000          # held-out teacher samples for the exact KL (synthetic data)
    grid_images: int = 64          # fixed-noise samples saved as grids/step-NNNNNN.png per check
    bpd_jump: float = 1.0          # instability: validation bits/dim this far above its best
    min_classes: int = 8           # instability: coverage below this after having reached it
    threads: int | None = None     # torch threads (None: torch's default)
    channels_last: bool = True
    # the adversarial losses (flowlib.training.gan): both players' Adam betas (NLL keeps
    # Adam's (0.9, 0.999)), the discriminator's lr (None: the generator's; it follows the
    # generator's schedule either way), its steps per generator step, R1 weight, spectral norm;
    # `--loss wgan-gp` without these flags gets Flow-GAN's reference settings (WGAN_GP_DEFAULTS)
    gan_beta1: float = 0.5
    gan_beta2: float = 0.999
    d_lr: float | None = None
    d_steps: int = 1
    r1: float = 0.0
    spectral_norm: bool = False
    gp_weight: float = 10.0        # WGAN-GP's gradient-penalty weight (Gulrajani et al., Flow-GAN)
    optimizer: str = "adam"        # the generator's: "adam" or "sgd" (plain, no momentum)
    dense_every: int = 0           # extra checks every this many steps ...
    dense_until: int = 0           # ... up to this step (e.g. 10 and 200: the first moves)
    reverse_kl: bool = False       # synthetic data: also log KL(student || teacher)
    # the Nash study (flowlib.studies.nash_exact): the discriminator's start, "fresh"
    # (PyTorch's initialisation) or "exact" (its logits scaled by a gain that starts at 0: D =
    # 1/2 for every input and the generator's first gradient exactly 0, the game's
    # equilibrium); a discriminator that never updates (a control); the generator's Adam
    # beta1 under any loss (None: the loss's own, 0.9 for NLL, gan_beta1 for the adversarial
    # losses), so an NLL control can run on its NSGAN run's optimiser
    d_start: str = "fresh"
    freeze_disc: bool = False
    gen_beta1: float | None = None

    def steps_fixed(self) -> bool:
        return self.minutes is None


PRESETS: dict[str, TrainConfig] = {
    "smoke": TrainConfig(size="tiny", batch_size=32, lr=2e-3, warmup_steps=5, max_steps=30,
                         ema=0.9, eval_every=15, val_images=200, test_images=500, log_every=5,
                         checkpoint_every=15, threads=1, quality_every=15, quality_images=200,
                         grid_images=16, kl_images=200),
    "quick": TrainConfig(size="small", batch_size=64, lr=2e-3, warmup_steps=200, minutes=15.0,
                         ema=0.999, eval_every=1000, val_images=2000, log_every=20,
                         checkpoint_every=1000, snapshot_minutes=(2, 5, 10), quality_every=1000),
    "full": TrainConfig(size="large", batch_size=64, lr=1e-3, warmup_steps=1000,
                        max_steps=200_000, ema=0.9995, eval_every=2000, val_images=10000,
                        log_every=100, checkpoint_every=2000, checkpoint_seconds=600.0,
                        quality_every=2000, quality_images=10000),
}


# fields a resumed run may change: they do not alter what is computed
RESUME_MAY_CHANGE = {"threads"}


def preset_config(preset: str, **overrides) -> TrainConfig:
    cfg = pick(preset, PRESETS)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "size" in overrides:
        RealNVPConfig.named(overrides["size"])  # clear error for an unknown size
    return dataclasses.replace(cfg, **overrides)


# Flow-GAN's WGAN-GP (Grover et al. 2018, after Gulrajani et al. 2017): what `--loss wgan-gp`
# uses for each of these settings its command line does not give (its penalty weight is
# TrainConfig's default, gp_weight = 10, for every loss)
WGAN_GP_DEFAULTS = {"gan_beta1": 0.5, "gan_beta2": 0.9, "d_steps": 5, "lr": 1e-4}


# ------------------------------------------------------------------ losses (pluggable)
