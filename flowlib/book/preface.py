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
    """The preface's "What this book finds" box: per finding of the thesis, this book's
    verdict in plain words and its headline number, as the Findings page has them (the six
    rows of :func:`flowlib.studies.findings.summary`, read from the shipped table)."""
    from flowlib.book.findings import link
    from flowlib.book.lesson import findings_box as box
    from flowlib.studies.findings import summary
    rows = findings_rows(preset)
    if not rows:
        return box(["No findings table is shipped yet: run <code>python -m flowlib findings "
                    "--preset quick</code> after the studies."], title="What this book finds")
    points = [f"**{s['id']}**, {SHORT.get(s['id'], '')}: **{s['verdict']}**; {s['headline']}."
              for s in summary(rows)]
    footer = ("The verdicts describe this book's <code>quick</code>-size runs (small models, "
              "short schedules, a 2-core CPU, and a GPU where a chapter says so); each applies "
              "a rule stated in its chapter. Each finding's readings and numbers are on the page "
              "{doc}`findings` (" + ", ".join(link(s["id"], s["id"]) for s in summary(rows)) + ").")
    return box(points, footer, title="What this book finds")
