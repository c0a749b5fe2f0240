"""The positive control of the adversarial machinery: a DCGAN-style generator trained by the
*same* discriminator, losses, range handling and evaluation as the adversarial Real NVP.

``python -m flowlib gan-control --preset quick --seed 0 --out runs/NAME [--resume]``

If this cannot train a generator of recognisable digits, a failure of the adversarial flow
says nothing about NSGAN; if it can, the machinery is shown to work. The run writes what a
flow run writes: ``metrics.jsonl`` (a row every ``log_every`` steps with both players' figures,
a quality check every ``quality_every`` steps: LeNet-FID, precision/recall and class coverage
of 2 000 samples against MNIST validation, and a fixed-noise grid), ``checkpoint.pt`` (resumes
bit for bit on the CPU), and at the end ``model.pt`` and ``final.json`` (LeNet-FID of 10 000
samples against MNIST test).

By default the control is DCGAN's recipe (Adam 2e-4, betas (0.5, 0.999) for both players, one
discriminator step, no regulariser, no averaging, a constant rate): the shipped
``results/gan-control-quick``. Flags give it any recipe the flow's adversarial runs use, with
the flow trainer's meaning: ``--lr``/``--d-lr`` (two time-scale rates), ``--gan-beta1``/
``--gan-beta2`` (both players), ``--d-steps``, ``--r1``, ``--spectral-norm``, ``--ema`` (the
weights evaluated and saved are then the average, as a flow run's are), ``--warmup-steps`` and
``--final-lr-frac`` (linear warm-up, then a cosine to that fraction at the last step; both
players follow it), ``--grad-clip`` and ``--steps``. The study ``gan-control-recipe``
(:func:`flowlib.studies.registry.recipe_control_design`) runs it with the recipe Experiment 1's
search selected for NSGAN.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from flowlib.core.errors import FlowlibError
from flowlib.core.images import image_grid, to_png
from flowlib.core.paths import atomic_write_bytes
from flowlib.core.presets import pick
from flowlib.core.runlock import hold_run
from flowlib.data.mnist import load_mnist
from flowlib.metrics.fid import fid
from flowlib.models.dcgan import DCGANConfig, DCGANGenerator
from flowlib.models.discriminators import ConvDiscriminator
from flowlib.models.flows import dequantize, draw, evaluating
from flowlib.training.gan import (LossSpec, discriminator_update, generator_objective, grad_norm,
                                  input_gradient, to_pixel_range)
from flowlib.training.metrics_file import METRICS, append_metrics, read_metrics, truncate_metrics
from flowlib.training.monitor import quality
from flowlib.training.trainer import EMA, lr_factor, save_file  # one EMA, schedule and atomic save

CHECKPOINT, MODEL, FINAL = "checkpoint.pt", "model.pt", "final.json"


class ControlError(FlowlibError, RuntimeError):
    """The control run cannot start or continue as asked."""


@dataclass(frozen=True)
class ControlConfig:
    steps: int = 9000
    batch_size: int = 64
    lr: float = 2e-4            # the generator's (and the discriminator's unless d_lr), DCGAN's
    beta1: float = 0.5          # both players
    beta2: float = 0.999
    loss: str = "nsgan"
    d_lr: float | None = None   # the discriminator's rate (None: lr)
    d_steps: int = 1            # discriminator steps per generator step
    r1: float = 0.0             # R1 weight on real images (0: none)
    spectral_norm: bool = False
    ema: float | None = None    # EMA decay of the generator's weights (None: none)
    warmup_steps: int = 0       # linear warm-up, then a cosine ...
    final_lr_frac: float = 1.0  # ... to this fraction of the rate at the last step (1: constant)
    grad_clip: float | None = None   # max global norm of the generator's gradient (None: none)
    quality_every: int = 500
    quality_images: int = 2000
    final_images: int = 10_000
    log_every: int = 50
    threads: int | None = None


PRESETS = {"smoke": ControlConfig(steps=30, quality_every=15, quality_images=300, final_images=500,
                                  log_every=5, threads=1),
           "quick": ControlConfig(steps=9000),  # ~25 minutes on one CPU thread
           "full": ControlConfig(steps=20_000, quality_every=2000, log_every=200)}


def train_control(cfg: ControlConfig, out, *, seed: int = 0, resume: bool = False,
                  preset: str | None = None, stop_after_steps: int | None = None) -> dict:
    """Train the control generator; returns the final figures (``final.json``). Holds ``out``
    (:mod:`flowlib.core.runlock`: one writer per run folder) from before its first write."""
    out = Path(out)
    with hold_run(out):
        return _train_control(cfg, out, seed=seed, resume=resume, preset=preset,
                              stop_after_steps=stop_after_steps)


def _train_control(cfg: ControlConfig, out: Path, *, seed: int, resume: bool,
                   preset: str | None, stop_after_steps: int | None) -> dict:
    ck_path = out / CHECKPOINT
    if resume and not ck_path.exists():
        raise ControlError(f"--resume was given but {ck_path} does not exist.")
    if not resume and ck_path.exists():
        raise ControlError(f"{out} already holds a run: continue it with --resume.")
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        _check(cfg)
        torch.manual_seed(seed)
        gen, disc = DCGANGenerator(DCGANConfig()), ConvDiscriminator(spectral_norm=cfg.spectral_norm)
        betas = (cfg.beta1, cfg.beta2)
        d_lr = cfg.lr if cfg.d_lr is None else cfg.d_lr
        g_opt = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=betas)
        d_opt = torch.optim.Adam(disc.parameters(), lr=d_lr, betas=betas)
        ema = EMA(gen, cfg.ema) if cfg.ema else None
        scheduled = cfg.warmup_steps > 0 or cfg.final_lr_frac != 1.0
        spec = LossSpec(cfg.loss)
        images = load_mnist("train").images
        data_gen = torch.Generator().manual_seed(seed * 1000 + 1)
        noise = torch.Generator().manual_seed(seed * 1000 + 2)
        step, perm, pos = 0, torch.randperm(len(images), generator=data_gen), 0
        if resume:
            ck = torch.load(ck_path, weights_only=True)   # tensors, numbers and strings only
            if ck["config"] != dataclasses.asdict(cfg):
                raise ControlError(f"{ck_path} was made with {ck['config']}: resume with the same preset.")
            gen.load_state_dict(ck["gen"]), disc.load_state_dict(ck["disc"])
            if ema is not None:
                ema.model.load_state_dict(ck["ema"])
            g_opt.load_state_dict(ck["g_opt"]), d_opt.load_state_dict(ck["d_opt"])
            data_gen.set_state(ck["data_gen"]), noise.set_state(ck["noise"])
            torch.set_rng_state(ck["rng"])
            step, perm, pos = ck["step"], ck["perm"], ck["pos"]
            truncate_metrics(out / METRICS, step)
        else:
            out.mkdir(parents=True, exist_ok=True)
            (out / METRICS).unlink(missing_ok=True)
            append_metrics(out / METRICS, [{"event": "start", "step": 0, "seed": seed, "preset": preset,
                                            "control": dataclasses.asdict(cfg),
                                            "generator_parameters": gen.num_parameters()}])
        rows, t0 = [], time.time()

        def evaluated():
            """The weights checked, saved and measured: the average when there is one."""
            return ema.model if ema is not None else gen

        def check():
            with evaluating(evaluated()):
                grid = evaluated().sample(64, generator=torch.Generator().manual_seed(seed + 7919))
            atomic_write_bytes(out / "grids" / f"step-{step:06d}.png", to_png(image_grid(grid)))
            return {"step": step, **quality(evaluated(), cfg.quality_images, seed),
                    "wall_seconds": round(time.time() - t0, 1)}

        def next_real():
            nonlocal perm, pos
            if pos + cfg.batch_size > len(perm):
                perm, pos = torch.randperm(len(images), generator=data_gen), 0
            batch = images[perm[pos:pos + cfg.batch_size]]
            pos += cfg.batch_size
            return dequantize(batch, noise)

        if step == 0:
            rows.append(check())
        while step < cfg.steps and (stop_after_steps is None or step < stop_after_steps):
            if scheduled:   # both players follow the generator's schedule, as in a flow run
                f = lr_factor(step, cfg.warmup_steps, cfg.steps, cfg.final_lr_frac)
                for opt, base in ((g_opt, cfg.lr), (d_opt, d_lr)):
                    for group in opt.param_groups:
                        group["lr"] = base * f
            for _ in range(cfg.d_steps - 1):   # extra discriminator steps, on further batches
                extra = next_real()
                with torch.no_grad():
                    z = draw(torch.randn, (len(extra), gen.dim), noise, gen.device, gen.dtype)
                    fake = to_pixel_range(gen.decode(z))
                discriminator_update(disc, d_opt, extra, fake, spec.kind, cfg.r1)
            real = next_real()
            z = draw(torch.randn, (len(real), gen.dim), noise, gen.device, gen.dtype)
            fake = to_pixel_range(gen.decode(z))
            logs = discriminator_update(disc, d_opt, real, fake, spec.kind, cfg.r1)
            g_opt.zero_grad(set_to_none=True)
            g_loss = generator_objective(disc, fake, spec)
            g_loss.backward()
            g_grad = (float(torch.nn.utils.clip_grad_norm_(gen.parameters(), cfg.grad_clip))
                      if cfg.grad_clip else grad_norm(gen.parameters()))
            g_opt.step()
            disc.requires_grad_(True)
            if ema is not None:
                ema.update(gen, step)
            step += 1
            if step % cfg.log_every == 0:
                rows.append({"step": step, **logs, "g_loss": float(g_loss.detach()), "grad_norm": g_grad,
                             "d_input_grad_fake": float(input_gradient(disc, fake).norm(dim=1).mean()),
                             "wall_seconds": round(time.time() - t0, 1)})
            if step % cfg.quality_every == 0 or step == cfg.steps:
                rows.append(check())
                append_metrics(out / METRICS, rows)
                rows = []
                save_file(ck_path, {"config": dataclasses.asdict(cfg), "gen": gen.state_dict(),
                                "disc": disc.state_dict(), "g_opt": g_opt.state_dict(),
                                "d_opt": d_opt.state_dict(), "data_gen": data_gen.get_state(),
                                "ema": ema.model.state_dict() if ema is not None else None,
                                "noise": noise.get_state(), "rng": torch.get_rng_state(),
                                "step": step, "perm": perm, "pos": pos})
        append_metrics(out / METRICS, rows)
        if step < cfg.steps:
            return {}
        final_gen = evaluated()
        save_file(out / MODEL, {"format": "flowlib.dcgan/1", "config": dataclasses.asdict(gen.config),
                            "state_dict": final_gen.state_dict()})
        with evaluating(final_gen):
            g = torch.Generator().manual_seed(12345)
            r = fid(lambda b: final_gen.sample(b, generator=g), reference="mnist-test",
                    n=cfg.final_images, pr_n=cfg.final_images)
        final = {"lenet": {"fid": r.fid, "n": cfg.final_images, "precision": r.precision,
                           "recall": r.recall, "classes_covered": r.classes_covered,
                           "class_histogram": r.class_histogram},
                 "steps": step, "sample_seed": 12345}
        atomic_write_bytes(out / FINAL, (json.dumps(final, indent=1) + "\n").encode())
        return final
    finally:
        torch.set_num_threads(threads)


def _check(cfg: ControlConfig) -> None:
    """Refuse settings that would train nothing or nonsense, by name."""
    bad = [f"{k}={v}" for k, v, ok in (
        ("steps", cfg.steps, cfg.steps >= 1), ("lr", cfg.lr, cfg.lr > 0),
        ("d_lr", cfg.d_lr, cfg.d_lr is None or cfg.d_lr > 0), ("d_steps", cfg.d_steps, cfg.d_steps >= 1),
        ("r1", cfg.r1, cfg.r1 >= 0), ("ema", cfg.ema, cfg.ema is None or 0 < cfg.ema < 1),
        ("warmup_steps", cfg.warmup_steps, cfg.warmup_steps >= 0),
        ("final_lr_frac", cfg.final_lr_frac, 0 <= cfg.final_lr_frac <= 1),
        ("grad_clip", cfg.grad_clip, cfg.grad_clip is None or cfg.grad_clip > 0),
        ("beta1", cfg.beta1, 0 <= cfg.beta1 < 1), ("beta2", cfg.beta2, 0 <= cfg.beta2 < 1))
        if not ok]
    if bad:
        raise ControlError(f"The control cannot train with {', '.join(bad)}: steps, rates and "
                           "the EMA decay must be positive (the decay below 1), betas in [0, 1), "
                           "the final rate fraction in [0, 1].")


def load_generator(path) -> DCGANGenerator:
    blob = torch.load(path, weights_only=True)
    cfg = dict(blob["config"])
    cfg["image_shape"] = tuple(cfg["image_shape"])
    gen = DCGANGenerator(DCGANConfig(**cfg))
    gen.load_state_dict(blob["state_dict"])
    return gen.eval()


# flag -> ControlConfig field: the recipe flags, spelled as ``flowlib train`` spells them
RECIPE_FLAGS = {"steps": "steps", "lr": "lr", "d_lr": "d_lr", "gan_beta1": "beta1",
                "gan_beta2": "beta2", "d_steps": "d_steps", "r1": "r1",
                "spectral_norm": "spectral_norm", "ema": "ema", "warmup_steps": "warmup_steps",
                "final_lr_frac": "final_lr_frac", "grad_clip": "grad_clip"}


def config_from_args(args) -> ControlConfig:
    """The preset's :class:`ControlConfig` with the flags given on the command line."""
    cfg = pick(args.preset, PRESETS)
    given = {field: getattr(args, flag) for flag, field in RECIPE_FLAGS.items()
             if getattr(args, flag) is not None and getattr(args, flag) is not False}
    if args.threads:
        given["threads"] = args.threads
    cfg = dataclasses.replace(cfg, **given)
    _check(cfg)
    return cfg


def _cmd(args) -> int:
    cfg = config_from_args(args)
    final = train_control(cfg, args.out, seed=args.seed, resume=args.resume, preset=args.preset)
    rows = [r for r in read_metrics(args.out) if "fid" in r]
    print(f"control: LeNet-FID (2k vs validation) {rows[0]['fid']:.1f} at step 0 -> "
          f"{rows[-1]['fid']:.1f} at step {rows[-1]['step']}; final {final['lenet']['fid']:.1f} "
          f"({final['lenet']['n']} samples vs test), {final['lenet']['classes_covered']}/10 classes",
          file=sys.stderr)
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("gan-control", help="the positive control: a DCGAN generator, same GAN machinery")
    p.add_argument("--preset", default="quick")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-progress", action="store_true", help="(accepted for the runner)")
    p.add_argument("--device", default="cpu", help="(the control trains on the CPU)")
    g = p.add_argument_group("recipe (default: the preset's, DCGAN's)")
    g.add_argument("--steps", type=int, default=None, help="generator steps")
    g.add_argument("--lr", type=float, default=None, help="the generator's Adam rate")
    g.add_argument("--d-lr", type=float, default=None, help="the discriminator's (default: --lr)")
    g.add_argument("--gan-beta1", type=float, default=None, help="Adam beta1, both players")
    g.add_argument("--gan-beta2", type=float, default=None, help="Adam beta2, both players")
    g.add_argument("--d-steps", type=int, default=None, help="discriminator steps per generator step")
    g.add_argument("--r1", type=float, default=None, help="R1 weight on real images")
    g.add_argument("--spectral-norm", action="store_true", help="spectral norm in the discriminator")
    g.add_argument("--ema", type=float, default=None,
                   help="EMA decay of the generator's weights (evaluated and saved)")
    g.add_argument("--warmup-steps", type=int, default=None, help="linear warm-up steps")
    g.add_argument("--final-lr-frac", type=float, default=None,
                   help="rate at the last step as a fraction of the rate, after a cosine (1: constant)")
    g.add_argument("--grad-clip", type=float, default=None, help="max norm of the generator's gradient")
    p.set_defaults(func=_cmd)
