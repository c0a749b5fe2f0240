"""Companion of the *Preface* (``book/preface.py``): the book's answers in one box, read
from the shipped findings table (``results/findings-<preset>.json``, which
``python -m flowlib findings`` writes and a test regenerates from the runs)."""
from __future__ import annotations

import json
import re

from flowlib.core.paths import results_root

# The thesis' findings in a few words each (the full statements are on the Findings page).
SHORT = {
    "F1": "NLL-trained Real NVP does unexpectedly well in FID against the NSGAN-trained one",
    "F2": "NSGAN training of Real NVP is unstable, even at the Nash equilibrium",
    "F3": "students of different misspecification converge alike",
    "F4": "validation NLL shows overfitting on the finite synthetic set",
    "F5": "overfitting hurts validation NLL much more than FID",
    "F6": "overparameterised students are slow, unstable, overfit, give poorer images",
}


def findings_rows(preset: str = "quick") -> list[dict]:
    """The shipped findings table (the quick one when ``preset`` is smoke): one row per
    verdict, ``{"id", "verdict", "status", "numbers", "source"}``; empty when not shipped."""
    path = results_root(f"findings-{'quick' if preset == 'smoke' else preset}.json")
    return json.loads(path.read_text()) if path.exists() else []


def _qualifier(row: dict) -> str:
    """'LeNet-FID' from 'F1 (LeNet-FID)'; '' for a verdict without one."""
    m = re.match(rf"{re.escape(row['id'])}\s*\((.*)\)\s*$", row["verdict"])
    return m.group(1) if m else ""


def verdict_line(rows: list[dict]) -> str:
    """One finding's verdicts in a line: each status once, with the cases it holds for."""
    by_status: dict[str, list[str]] = {}
    for r in rows:
        by_status.setdefault(r["status"], []).append(_qualifier(r))
    parts = []
    for status, cases in by_status.items():
        cases = [c for c in cases if c]
        parts.append(f"*{status}*" + (f" ({'; '.join(cases)})" if cases else ""))
    return "; ".join(parts)


def findings_box(preset: str = "quick"):
    """The preface's "What this book finds" box: per finding of the thesis, the verdicts of
    this book's runs, and F1's headline numbers."""
    from flowlib.book.lesson import findings_box as box
    rows = findings_rows(preset)
    if not rows:
        return box(["No findings table is shipped yet: run `python -m flowlib findings --preset "
                    "quick` after the studies."], title="What this book finds")
    ids = list(dict.fromkeys(r["id"] for r in rows))
    points = []
    for fid in ids:
        mine = [r for r in rows if r["id"] == fid]
        points.append(f"**{fid}**, {SHORT.get(fid, '')}: {verdict_line(mine)}.")
    head = next((r for r in rows if r["id"] == "F1"), None)
    footer = ("The verdicts describe this book's `quick`-size runs (small models, short "
              "schedules, a 2-core CPU and, where a chapter says so, a lent GPU); each applies "
              "a rule stated in its chapter. The numbers behind every verdict are on the page "
              "{doc}`findings`.")
    if head and "; " in head["numbers"]:
        footer = (f"F1's headline, {_qualifier(head) or 'FID'} (lower is better), median and "
                  f"range over seeds: {head['numbers'].split('; ')[-1]}. " + footer)
    return box(points, footer, title="What this book finds")
