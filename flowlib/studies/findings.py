"""The thesis' findings F1-F6 as this book's shipped runs have them, generated from ``results/``.

``python -m flowlib findings --preset quick`` writes ``results/findings-quick.json`` and
prints the table; the Findings page and the tests regenerate it from the same files, so
the table is never typed by hand. A study that has not been run (or shipped) yet shows as
such, not as a verdict.
"""
from __future__ import annotations

import json
from pathlib import Path

from flowlib.core.paths import atomic_write_bytes, results_root
from flowlib.studies import (misspecification, misspecification_calibrated, nash, nash_exact,
                             nll_vs_gan, nll_vs_gan_f2)
from flowlib.studies.registry import STUDIES
from flowlib.studies.results import load_study, teacher_notes

STATEMENTS = {
    "F1": "NLL-trained Real NVP does unexpectedly well in FID against the NSGAN-trained same model.",
    "F2": "NSGAN training of Real NVP is unstable, even started at the Nash equilibrium.",
    "F3": "Students of different misspecification reach different training NLL but converge alike.",
    "F4": "Validation NLL shows overfitting from the finite synthetic set; a well-specified "
          "student can validate worse than a misspecified one.",
    "F5": "Overfitting hurts validation NLL much more than FID.",
    "F6": "Overparameterised students are slow, often unstable, overfit heavily, give poorer images.",
}
CHAPTER = {"F1": "nll_vs_gan", "F2": "nash", "F3": "misspecification", "F4": "misspecification",
           "F5": "nll_vs_fid", "F6": "overparameterised"}


def findings_table(preset: str = "quick") -> list[dict]:
    """One row per verdict: finding id, verdict name, status, numbers, study folder."""
    rows = []

    def add(fid, verdicts, source, missing=None):
        if verdicts is None:
            rows.append({"id": fid, "verdict": fid, "status": "not run yet",
                         "numbers": missing or "", "source": source})
            return
        for name, v in verdicts.items():
            rows.append({"id": fid, "verdict": name, "status": v["status"],
                         "numbers": v["numbers"], "source": source})

    e1 = STUDIES["nll-vs-gan"].shipped(preset)
    searched = STUDIES["nll-vs-gan-search"].shipped(preset)
    search = nll_vs_gan.search_rows(load_study(searched)) if searched else None
    # F2 from initialisation as its two readings: the selected configuration, the search
    f1 = nll_vs_gan_f2.findings(nll_vs_gan.load(e1), search) if e1 else None
    src1 = f"results/nll-vs-gan-{preset}"
    add("F1", {k: v for k, v in f1.items() if k.startswith("F1")} if f1 else None, src1,
        f"`python -m flowlib experiment nll-vs-gan --preset {preset}`")
    add("F2", {k: v for k, v in f1.items() if k.startswith("F2")} if f1 else None, src1,
        f"`python -m flowlib experiment nll-vs-gan --preset {preset}`")
    ns = STUDIES["nash"].shipped(preset)
    nash_runs = nash.load(ns) if ns else None
    add("F2", nash.findings(nash_runs) if ns else None,
        f"results/nash-{preset}" + _retired(nash_runs),
        f"`python -m flowlib experiment nash --preset {preset}`")
    nx = STUDIES["nash-exact"].shipped(preset)
    add("F2", nash_exact.findings(nash_exact.load(nx)) if nx else None, f"results/nash-exact-{preset}",
        f"F2 at the exact equilibrium (issue 33): `python -m flowlib experiment nash-exact --preset {preset}`")
    e2 = STUDIES["misspecification"].shipped(preset)
    e2_runs = misspecification.load(e2) if e2 else None
    f2 = misspecification.findings(e2_runs) if e2 else None
    # the calibrated rules (issue 34) beside the first ones, each row named by its rule
    long, shared = (STUDIES[n].shipped(preset) for n in ("misspecification-long", "misspecification-shared-lr"))
    cal = misspecification_calibrated.findings(
        e2_runs, load_study(long) if long else [], load_study(shared) if shared else []) if e2 else None
    for k in ("F3", "F4", "F5", "F6"):   # F4 and F6 are read at two training-set sizes
        add(k, {_named(name, "first rule"): v for name, v in f2.items() if name.startswith(k)}
            if f2 else None, f"results/misspecification-{preset}" + _retired(e2_runs),
            f"`python -m flowlib experiment misspecification --preset {preset}`")
        if cal:
            add(k, {_named(name, "calibrated"): v for name, v in cal.items() if name.startswith(k)},
                f"results/misspecification-{preset}" + "".join(
                    f", results/misspecification-{n}-{preset}" for n, got in
                    (("long", long), ("shared-lr", shared)) if got))
    return rows


def _named(name: str, rule: str) -> str:
    """'F4 (n = 300)' -> 'F4 (n = 300; first rule)'; 'F5' -> 'F5 (first rule)'."""
    return f"{name[:-1]}; {rule})" if name.endswith(")") else f"{name} ({rule})"


def _retired(runs) -> str:
    """' (retired teacher)' when the runs were made with a teacher since replaced."""
    return " (retired teacher)" if runs and teacher_notes(runs) else ""


def markdown(rows: list[dict]) -> str:
    """The statements as a list, then one table row per verdict: four columns, so the table
    fits the book's column (six wrapped to a word a line)."""
    ids = list(dict.fromkeys(r["id"] for r in rows))
    out = [f"- **{k}**: {STATEMENTS[k]}" for k in ids] + ["",
           "| finding | status | the numbers | from |", "|---|---|---|---|"]
    for r in rows:
        name = r["verdict"] if r["verdict"] != r["id"] else r["id"]
        name = name if name.startswith(r["id"]) else f"{r['id']} {name}"
        out.append(f"| **{name}** | **{r['status']}** | {r['numbers']} | `{r['source']}` |")
    return "\n".join(out)


def write(preset: str = "quick", dest: Path | None = None) -> Path:
    dest = Path(dest or results_root(f"findings-{preset}.json"))
    atomic_write_bytes(dest, (json.dumps(findings_table(preset), indent=1) + "\n").encode())
    return dest


def _cmd(args) -> int:
    path = write(args.preset)
    print(markdown(json.loads(path.read_text())))
    print(f"\nwritten to {path}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("findings", help="regenerate the findings table F1-F6 from results/")
    p.add_argument("--preset", default="quick")
    p.set_defaults(func=_cmd)
