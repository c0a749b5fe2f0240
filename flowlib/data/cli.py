"""``python -m flowlib data``: fetch MNIST into the cache, verify it, describe it."""
from __future__ import annotations

from flowlib.data import mnist as data


def add_cli(sub) -> None:
    p = sub.add_parser("data", help="fetch and verify real MNIST (prints where it is cached)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    print(data.describe())
    return 0
