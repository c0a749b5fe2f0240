"""``metrics.jsonl``: the one writer and the one reader of a run's metrics file.

One JSON object per line: a ``start`` event (config, seed, device), then a row every
``log_every`` steps (step, train bits/dim, lr, gradient norm, images/s, seconds), check rows
(validation bits/dim, FID, coverage...) and events (``instability``, ``diverged``). Lines
are appended at checkpoints only; a kill can leave a torn last line, which every reader
skips, and a resumed run first drops the lines written after its checkpoint.
"""
from __future__ import annotations

import json
from pathlib import Path

from flowlib.core.paths import atomic_write_bytes

METRICS = "metrics.jsonl"


def _rows(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a torn last line from a kill
    return rows


def read_metrics(run_dir) -> list[dict]:
    """Every row of ``run_dir/metrics.jsonl``, torn lines skipped."""
    path = Path(run_dir) / METRICS
    if not path.exists():
        raise FileNotFoundError(f"No {METRICS} in {run_dir}: not a flowlib training run.")
    return _rows(path)


def append_metrics(path: Path, rows: list[dict]) -> None:
    with open(path, "a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines written after the checkpoint being resumed (they will be redone)."""
    if not path.exists():
        return
    keep = [json.dumps(r) for r in _rows(path)
            if r.get("step", 0) <= step and r.get("event") != "diverged"]
    atomic_write_bytes(path, ("\n".join(keep) + ("\n" if keep else "")).encode())


def headline(run_dir) -> dict:
    """Headline numbers of a run for its manifest: the last value of each numeric key
    (``final_<key>``; None where the last value was non-finite, stored as null), the last step, the parameter count, where it diverged and its
    instability events."""
    path = Path(run_dir) / METRICS
    last: dict = {}
    for row in _rows(path) if path.exists() else []:
        if row.get("event") == "start" and "parameters" in row:
            last["parameters"] = row["parameters"]
        if row.get("event") == "diverged":
            last["diverged_at_step"] = row.get("step")
        if row.get("event") == "instability":
            kinds = last.setdefault("instability_first_step", {})
            kinds.setdefault(row["kind"], row.get("step"))
            last["instability_events"] = last.get("instability_events", 0) + 1
        if row.get("event"):
            continue
        for k, v in row.items():
            if v is None and k != "step":
                # the writers store a non-finite value (an infinite KL, a diverged bits/dim)
                # as null: the last value is then non-finite, not the last finite one before it
                last[f"final_{k}"] = None
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and k != "step":
                last[f"final_{k}"] = v
        if "step" in row:
            last["steps"] = row["step"]
    return last
