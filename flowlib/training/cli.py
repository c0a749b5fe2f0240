"""``python -m flowlib train``: the command line of the one training loop."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from flowlib.core.errors import FlowlibError
from flowlib.core.paths import atomic_write_bytes
from flowlib.core.presets import check_preset
from flowlib.core.runlock import hold_run
from flowlib.models.realnvp import SIZES
from flowlib.training.config import WGAN_GP_DEFAULTS, preset_config
from flowlib.training.data_sources import train_data
from flowlib.training.losses import LOSSES, make_loss
from flowlib.training.trainer import TrainingDiverged, train


def _config_from_args(args):
    """The run's TrainConfig from the command line: the preset's, with the flags given."""
    check_preset(args.preset)
    cfg = preset_config(args.preset, size=args.size, minutes=args.minutes,
                        max_steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                        checkpoint_every=args.checkpoint_every,
                        threads=args.threads, eval_every=args.eval_every,
                        quality_every=args.quality_every, quality_images=args.quality_images,
                        gan_beta1=args.gan_beta1, gan_beta2=args.gan_beta2, d_lr=args.d_lr,
                        d_steps=args.d_steps, r1=args.r1, gp_weight=args.gp_weight,
                        spectral_norm=True if args.spectral_norm else None,
                        warmup_steps=args.warmup_steps, final_lr_frac=args.final_lr_frac,
                        optimizer=args.optimizer, reverse_kl=True if args.reverse_kl else None,
                        dense_every=args.dense_checks[0] if args.dense_checks else None,
                        dense_until=args.dense_checks[1] if args.dense_checks else None)
    if args.loss == "wgan-gp":
        # each default named after its flag's attribute: only the flags not given are filled
        cfg = dataclasses.replace(cfg, **{k: v for k, v in WGAN_GP_DEFAULTS.items()
                                          if getattr(args, k) is None})
    if args.steps is not None and args.minutes is None:
        cfg = dataclasses.replace(cfg, minutes=None)
    if args.no_ema:
        cfg = dataclasses.replace(cfg, ema=None)
    return cfg


COMMAND = "command.json"


def _replayed(args):
    """``train --out DIR --resume``: the options not given again come from the command that
    started the run (``DIR/command.json``); options given again win (a changed configuration
    is then refused by the checkpoint, with the difference named)."""
    stored = json.loads((Path(args.out) / COMMAND).read_text())["argv"]
    typed = [a for a in getattr(args, "argv", [])[1:]]
    parser = argparse.ArgumentParser(prog="python -m flowlib")
    add_cli(parser.add_subparsers())
    replay = parser.parse_args(["train", *stored, *typed])
    replay.argv = ["train", *stored, *typed]
    return replay


def _record(args) -> None:
    """Keep the command that starts a run, without --out/--resume, beside it."""
    argv, keep, skip = getattr(args, "argv", [])[1:], [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--out":
            skip = True
            continue
        if a.startswith("--out=") or a == "--resume":
            continue
        keep.append(a)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / COMMAND, (json.dumps({"argv": keep}, indent=1) + "\n").encode())


def _cmd_train(args) -> int:
    try:
        if args.resume and (Path(args.out) / COMMAND).exists():
            args = _replayed(args)
        # bad settings are refused before anything is written
        cfg = _config_from_args(args)
        loss = make_loss(args.loss, args.hybrid_lambda, args.pretrain_disc)
        data = None
        if args.data != "mnist" or args.init or args.train_size is not None:
            data = train_data(cfg, args.data, train_size=args.train_size, init=args.init)
        # one writer per run folder: held before command.json is written, until the run ends
        with hold_run(args.out):
            if not args.resume and not (Path(args.out) / "checkpoint.pt").exists():
                _record(args)
            result = train(cfg, args.out, loss=loss, seed=args.seed, resume=args.resume,
                           progress=not args.no_progress, preset=args.preset, data=data,
                           device=args.device)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except FlowlibError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"finished {result.step} steps in {result.train_seconds / 60:.1f} training minutes; "
          f"validation {result.val_bpd:.4f} bits/dim; run in {result.out}")
    return 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a Real NVP (NLL now; GAN losses later)",
                              description="Train a Real NVP by a loss (see flowlib.training.trainer).")
    p.add_argument("--loss", default="nll", help=f"training loss: {', '.join(LOSSES)}")
    p.add_argument("--hybrid-lambda", type=float, default=None,
                   help="weight of the NLL term (nats/dim) in --loss hybrid")
    p.add_argument("--preset", default="quick", help="smoke | quick | full")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path, help="run directory, e.g. runs/NAME")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--size", default=None, help=f"model size: {', '.join(SIZES)}")
    p.add_argument("--minutes", type=float, default=None, help="training-time budget")
    p.add_argument("--steps", type=int, default=None, help="schedule length in steps")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu",
                   help="cpu (default: bit-reproducible), cuda, cuda:N or auto")
    p.add_argument("--eval-every", type=int, default=None, help="steps between validation bits/dim")
    p.add_argument("--quality-every", type=int, default=None,
                   help="steps between LeNet-FID/precision/recall/coverage checks and sample grids")
    p.add_argument("--quality-images", type=int, default=None, help="samples per quality check")
    p.add_argument("--data", default="mnist", choices=["mnist", "synthetic", "teacher-stream"],
                   help="MNIST; synthetic MNIST (a fixed set of teacher samples, see "
                        "--train-size); or fresh teacher samples every step")
    p.add_argument("--train-size", type=int, default=None,
                   help="synthetic training-set size (a prefix of the 50k split)")
    p.add_argument("--init", default=None,
                   help="start from a model file ('teacher': the synthetic-MNIST teacher)")
    p.add_argument("--pretrain-disc", type=int, default=0,
                   help="GAN losses: discriminator-only steps before the generator moves")
    p.add_argument("--gan-beta1", type=float, default=None,
                   help="GAN losses: Adam beta1 of both players (default 0.5, DCGAN)")
    p.add_argument("--gan-beta2", type=float, default=None,
                   help="GAN losses: Adam beta2 of both players (default 0.999; WGAN-GP uses 0.9)")
    p.add_argument("--d-lr", type=float, default=None,
                   help="GAN losses: the discriminator's lr (default: the generator's; TTUR if not)")
    p.add_argument("--d-steps", type=int, default=None,
                   help="GAN losses: discriminator steps per generator step (default 1; 5 for wgan-gp)")
    p.add_argument("--r1", type=float, default=None,
                   help="GAN losses: R1 penalty weight gamma on real data (default 0: off)")
    p.add_argument("--gp-weight", type=float, default=None,
                   help="WGAN-GP: gradient-penalty weight (default 10). Without --gan-beta2, "
                        "--d-steps and --lr, --loss wgan-gp uses Flow-GAN's 0.9, 5 and 1e-4")
    p.add_argument("--spectral-norm", action="store_true",
                   help="GAN losses: spectral normalisation in the discriminator")
    p.add_argument("--warmup-steps", type=int, default=None, help="linear warm-up steps (0: none)")
    p.add_argument("--final-lr-frac", type=float, default=None,
                   help="lr at the end of the cosine, as a fraction of --lr (1: a constant lr)")
    p.add_argument("--optimizer", default=None, help="the generator's optimiser: adam (default) or sgd")
    p.add_argument("--dense-checks", type=int, nargs=2, default=None, metavar=("EVERY", "UNTIL"),
                   help="extra checks every EVERY steps up to step UNTIL (e.g. 10 200)")
    p.add_argument("--reverse-kl", action="store_true",
                   help="synthetic data: also log the exact KL(student || teacher)")
    p.add_argument("--checkpoint-every", type=int, default=None,
                   help="steps between checkpoints (also every 2 training minutes at least)")
    p.add_argument("--no-ema", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train)
