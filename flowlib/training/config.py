"""A training run's settings: :class:`TrainConfig`, one instance per preset.

``smoke`` proves the code path in seconds (CI), ``quick`` fits a 2-core laptop CPU, ``full``
is the thesis-scale run on a GPU (:mod:`flowlib.core.presets`).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

from flowlib.core.errors import FlowlibError
from flowlib.core.presets import pick
from flowlib.models.realnvp import SIZES, RealNVPConfig


OPTIMIZERS = ("adam", "adamax", "sgd")  # the generator's optimiser choices


class ConfigError(FlowlibError, ValueError):
    """A training setting that cannot work: the message names it, its flag and the fix."""


@dataclass(frozen=True)
class TrainConfig:
    size: str = "base"             # a RealNVPConfig size name
    logit_alpha: float | None = None  # the model's logit pre-processing alpha (None: the size's)
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
    optimizer: str = "adam"        # the generator's: "adam", "adamax" (Real NVP's, Glow's) or "sgd" (plain)
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

    def __post_init__(self):
        self.validate()

    def validate(self) -> "TrainConfig":
        """Refuse a setting that cannot train (a :class:`ConfigError` naming the setting, its
        command-line flag and the fix) rather than train 0 steps or end in a traceback; every
        TrainConfig is checked when it is made, so the Python API and the command line agree.
        Returns the config."""
        _check(self, "size", self.size in SIZES, f"a Real NVP size: one of {', '.join(SIZES)}")
        _check(self, "logit_alpha", self.logit_alpha is None or (
            _real(self.logit_alpha) and 0 <= self.logit_alpha < 0.5), "None or a number in [0, 0.5)")
        for name in ("batch_size", "eval_every", "val_images", "test_images", "log_every",
                     "checkpoint_every", "calibrate_steps", "quality_images", "kl_images",
                     "grid_images", "d_steps"):
            _check(self, name, _whole(getattr(self, name), 1), "a whole number of at least 1")
        for name in ("warmup_steps", "dense_every", "dense_until"):
            _check(self, name, _whole(getattr(self, name), 0), "a whole number, 0 or more")
        _check(self, "max_steps", self.max_steps is None or _whole(self.max_steps, 1),
               "a whole number of steps, at least 1 (or none, with a time budget --minutes)")
        _check(self, "quality_every", self.quality_every is None or _whole(self.quality_every, 0),
               "a whole number of steps (0: no quality checks)")
        _check(self, "threads", self.threads is None or _whole(self.threads, 1),
               "a whole number of threads, at least 1 (leave it out for torch's default)")
        _check(self, "lr", _real(self.lr) and self.lr > 0, "a finite learning rate above 0, "
               "e.g. 1e-3")
        _check(self, "d_lr", self.d_lr is None or _real(self.d_lr) and self.d_lr > 0,
               "a finite learning rate above 0 (leave it out for the generator's)")
        _check(self, "minutes", self.minutes is None or _real(self.minutes) and self.minutes > 0,
               "a finite number of training minutes above 0 (or none, with --steps)")
        _check(self, "final_lr_frac", _real(self.final_lr_frac) and 0 <= self.final_lr_frac <= 1,
               "a fraction from 0 (decay to nothing) to 1 (a constant rate)")
        _check(self, "ema", self.ema is None or _real(self.ema) and 0 < self.ema < 1,
               "an EMA decay between 0 and 1, e.g. 0.999 (or none: --no-ema)")
        for name in ("gan_beta1", "gan_beta2"):
            v = getattr(self, name)
            _check(self, name, _real(v) and 0 <= v < 1, "an Adam beta from 0 up to (not) 1")
        for name in ("weight_decay", "r1", "gp_weight"):
            v = getattr(self, name)
            _check(self, name, _real(v) and v >= 0, "a finite number, 0 or more")
        for name in ("grad_clip", "checkpoint_seconds"):  # inf: never
            v = getattr(self, name)
            _check(self, name, isinstance(v, numbers.Real) and v > 0, "a number above 0")
        _check(self, "bpd_jump", _real(self.bpd_jump) and self.bpd_jump > 0,
               "a finite number of bits/dim above 0")
        _check(self, "min_classes", _whole(self.min_classes, 0) and self.min_classes <= 10,
               "a number of MNIST classes from 0 to 10")
        _check(self, "snapshot_minutes", isinstance(self.snapshot_minutes, (tuple, list)) and all(
            _real(m) and m >= 0 for m in self.snapshot_minutes), "a tuple of minutes, each 0 or more")
        _check(self, "optimizer", self.optimizer in OPTIMIZERS, " or ".join(OPTIMIZERS))
        return self

    def steps_fixed(self) -> bool:
        return self.minutes is None


# the command-line flag of each setting that has one (the others are set from Python)
_FLAGS = {"max_steps": "--steps", "dense_every": "--dense-checks",
          "dense_until": "--dense-checks", **{name: "--" + name.replace("_", "-") for name in (
              "size", "logit_alpha", "batch_size", "lr", "warmup_steps", "final_lr_frac", "minutes",
              "threads", "eval_every", "quality_every", "quality_images", "checkpoint_every", "gan_beta1",
              "gan_beta2", "d_lr", "d_steps", "r1", "gp_weight", "optimizer")}}


def _whole(value, least: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= least


def _real(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _check(cfg: "TrainConfig", name: str, ok: bool, need: str) -> None:
    if ok:
        return
    value = getattr(cfg, name)
    flag = _FLAGS.get(name)
    where = f"{flag} ({name} = {value!r})" if flag else f"TrainConfig.{name} = {value!r}"
    fix = (f"pass a valid {flag}, or leave it out for the preset's value" if flag else
           "set a valid value, or leave it at the preset's")
    raise ConfigError(f"Bad training setting {where}: it must be {need}; {fix}.")


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


# The Real NVP chapter's own run where it differs from the preset (issue 36): at quick, the
# setting `benchmarks/realnvp_search.py` ranked first and `benchmarks/realnvp_quick.py` confirmed
# at 15 minutes in two seeds, alone on the machine. The studies keep the presets' settings (each
# names its own), so this changes none of them.
CANONICAL_SETTINGS: dict[str, dict] = {
    "quick": {"size": "tiny", "batch_size": 16, "lr": 3.5e-3, "logit_alpha": 0.01},
}


def canonical_config(preset: str, **overrides) -> TrainConfig:
    """The Real NVP chapter's setting at ``preset``: the preset's, with :data:`CANONICAL_SETTINGS`
    (then ``overrides``) on top."""
    return preset_config(preset, **{**CANONICAL_SETTINGS.get(preset, {}), **overrides})


# Flow-GAN's WGAN-GP (Grover et al. 2018, after Gulrajani et al. 2017): what `--loss wgan-gp`
# uses for each of these settings its command line does not give (its penalty weight is
# TrainConfig's default, gp_weight = 10, for every loss)
WGAN_GP_DEFAULTS = {"gan_beta1": 0.5, "gan_beta2": 0.9, "d_steps": 5, "lr": 1e-4}


# ------------------------------------------------------------------ losses (pluggable)
