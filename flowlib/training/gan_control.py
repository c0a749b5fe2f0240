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
from flowlib.training.trainer import _save  # the one atomic torch.save of a run's files

CHECKPOINT, MODEL, FINAL = "checkpoint.pt", "model.pt", "final.json"


class ControlError(FlowlibError, RuntimeError):
    """The control run cannot start or continue as asked."""


@dataclass(frozen=True)
class ControlConfig:
    steps: int = 9000
    batch_size: int = 64
    lr: float = 2e-4            # both players, DCGAN's
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "nsgan"
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
        torch.manual_seed(seed)
        gen, disc = DCGANGenerator(DCGANConfig()), ConvDiscriminator()
        betas = (cfg.beta1, cfg.beta2)
        g_opt = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=betas)
        d_opt = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=betas)
        spec = LossSpec(cfg.loss)
        images = load_mnist("train").images
        data_gen = torch.Generator().manual_seed(seed * 1000 + 1)
        noise = torch.Generator().manual_seed(seed * 1000 + 2)
        step, perm, pos = 0, torch.randperm(len(images), generator=data_gen), 0
        if resume:
            ck = torch.load(ck_path, weights_only=False)
            if ck["config"] != dataclasses.asdict(cfg):
                raise ControlError(f"{ck_path} was made with {ck['config']}: resume with the same preset.")
            gen.load_state_dict(ck["gen"]), disc.load_state_dict(ck["disc"])
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

        def check():
            with evaluating(gen):
                grid = gen.sample(64, generator=torch.Generator().manual_seed(seed + 7919))
            atomic_write_bytes(out / "grids" / f"step-{step:06d}.png", to_png(image_grid(grid)))
            return {"step": step, **quality(gen, cfg.quality_images, seed), "wall_seconds": round(time.time() - t0, 1)}

        if step == 0:
            rows.append(check())
        while step < cfg.steps and (stop_after_steps is None or step < stop_after_steps):
            if pos + cfg.batch_size > len(perm):
                perm, pos = torch.randperm(len(images), generator=data_gen), 0
            batch = images[perm[pos:pos + cfg.batch_size]]
            pos += cfg.batch_size
            real = dequantize(batch, noise)
            z = draw(torch.randn, (len(batch), gen.dim), noise, gen.device, gen.dtype)
            fake = to_pixel_range(gen.decode(z))
            logs = discriminator_update(disc, d_opt, real, fake, spec.kind)
            g_opt.zero_grad(set_to_none=True)
            g_loss = generator_objective(disc, fake, spec)
            g_loss.backward()
            g_grad = grad_norm(gen.parameters())
            g_opt.step()
            disc.requires_grad_(True)
            step += 1
            if step % cfg.log_every == 0:
                rows.append({"step": step, **logs, "g_loss": float(g_loss.detach()), "grad_norm": g_grad,
                             "d_input_grad_fake": float(input_gradient(disc, fake).norm(dim=1).mean()),
                             "wall_seconds": round(time.time() - t0, 1)})
            if step % cfg.quality_every == 0 or step == cfg.steps:
                rows.append(check())
                append_metrics(out / METRICS, rows)
                rows = []
                _save(ck_path, {"config": dataclasses.asdict(cfg), "gen": gen.state_dict(),
                                "disc": disc.state_dict(), "g_opt": g_opt.state_dict(),
                                "d_opt": d_opt.state_dict(), "data_gen": data_gen.get_state(),
                                "noise": noise.get_state(), "rng": torch.get_rng_state(),
                                "step": step, "perm": perm, "pos": pos})
        append_metrics(out / METRICS, rows)
        if step < cfg.steps:
            return {}
        _save(out / MODEL, {"format": "flowlib.dcgan/1", "config": dataclasses.asdict(gen.config),
                            "state_dict": gen.state_dict()})
        with evaluating(gen):
            g = torch.Generator().manual_seed(12345)
            r = fid(lambda b: gen.sample(b, generator=g), reference="mnist-test", n=cfg.final_images,
                    pr_n=cfg.final_images)
        final = {"lenet": {"fid": r.fid, "n": cfg.final_images, "precision": r.precision,
                           "recall": r.recall, "classes_covered": r.classes_covered,
                           "class_histogram": r.class_histogram},
                 "steps": step, "sample_seed": 12345}
        atomic_write_bytes(out / FINAL, (json.dumps(final, indent=1) + "\n").encode())
        return final
    finally:
        torch.set_num_threads(threads)


def load_generator(path) -> DCGANGenerator:
    blob = torch.load(path, weights_only=True)
    cfg = dict(blob["config"])
    cfg["image_shape"] = tuple(cfg["image_shape"])
    gen = DCGANGenerator(DCGANConfig(**cfg))
    gen.load_state_dict(blob["state_dict"])
    return gen.eval()


def _cmd(args) -> int:
    cfg = pick(args.preset, PRESETS)
    if args.threads:
        cfg = dataclasses.replace(cfg, threads=args.threads)
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
    p.set_defaults(func=_cmd)
