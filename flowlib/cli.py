"""``python -m flowlib COMMAND ...``: one entry point, one module per command.

Each command lives in the module that does the work and registers itself through a
function ``add_cli(subparsers)`` that adds a sub-parser whose ``func`` runs it and
returns an exit status. Add a command by adding its module to ``COMMAND_MODULES``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from flowlib.core.errors import FlowlibError

COMMAND_MODULES = [
    "flowlib.data.cli",
    "flowlib.book.build",
    "flowlib.training.cli",
    "flowlib.training.gan_control",
    "flowlib.metrics.classifier",
    "flowlib.studies.registry",
    "flowlib.studies.teacher",
    "flowlib.studies.nll_vs_gan_temperature",
    "flowlib.studies.findings",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flowlib",
                                     description="Real NVP, NLL versus NSGAN, FID: the book's library.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # a command not written yet: leave it out
                continue
            raise
        module.add_cli(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # what was typed, for commands that record or replay it
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except FlowlibError as err:
        # flowlib's own errors already say what is wrong and what to do; anything else is
        # a bug and keeps its traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
