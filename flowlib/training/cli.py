"""``python -m flowlib train``: the command line of the Real NVP's training loop."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flowlib.core.errors import FlowlibError
from flowlib.training.spec import COMMAND, RunSpec, add_arguments
from flowlib.training.trainer import TrainingDiverged


def _config_from_args(args):
    """The run's TrainConfig from parsed ``train`` flags: their :class:`RunSpec`'s (the loss's
    defaults and the preset's are applied there, for the API and the command line alike)."""
    return RunSpec.from_namespace(args).config()


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


def _cmd_train(args) -> int:
    try:
        if args.resume and (Path(args.out) / COMMAND).exists():
            args = _replayed(args)
        result = RunSpec.from_namespace(args).train(args.out, resume=args.resume)
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
    p = subparsers.add_parser("train", help="train a Real NVP by a loss (nll, nsgan, hybrid, wgan-gp)",
                              description="Train a Real NVP by a loss (see flowlib.training.trainer). "
                                          "Every flag but --out and --resume is a field of "
                                          "flowlib.training.spec.RunSpec.")
    p.add_argument("--out", required=True, type=Path, help="run directory, e.g. runs/NAME")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    add_arguments(p)
    p.set_defaults(func=_cmd_train)
