"""Companion of the *Findings* page (``book/findings.py``): the six findings as a reader scans
them, and the readings beneath each, rendered from :mod:`flowlib.studies.findings` (the one
builder of the findings table: its rows, its six-row summary, its verdict logic).

A chapter that shows its own verdicts uses :func:`readings_table` (the same rows, never
assembled by hand) and :func:`link` (to its row on the Findings page).
"""
from __future__ import annotations

import re

from flowlib.studies import findings as F

RETIRED = " (retired teacher)"


def link(fid: str, text: str | None = None) -> str:
    """Inline HTML: a link to finding ``fid``'s row on the Findings page (from a chapter)."""
    return f'<a href="findings.html#{fid.lower()}">{text or f"{fid} on the Findings page"}</a>'


def _where(s: dict) -> str:
    return (f'<a href="{s["chapter"]}.html#{s["anchor"]}">Chapter {s["number"]}, '
            f'§ {s["section"]}</a>')


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (code spans as HTML, as everywhere on the page)."""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", str(text))
    return text.replace("|", "\\|").replace("\n", " ")


def _reading(name: str, fid: str) -> str:
    """'F2 (at the Nash equilibrium, by step size)' -> 'at the Nash equilibrium, by step size'."""
    if name.startswith(f"{fid} (") and name.endswith(")"):
        return name[len(fid) + 2:-1]
    return "the reading" if name == fid else name


def _source(source: str) -> str:
    """A source folder list in plain words (an older teacher said as such, not as jargon)."""
    old = source.endswith(RETIRED)
    folders = source[:-len(RETIRED)] if old else source
    text = ", ".join(f"<code>{f.strip()}</code>" for f in folders.split(",") if f.strip())
    return text + (" (made on the synthetic MNIST of an earlier teacher, since replaced; "
                   "to be rerun)" if old else "")


def main_table(summary: list[dict]) -> str:
    """The six rows (MyST Markdown), inside a container the book's CSS gives fixed columns."""
    out = [":::{container} flowlib-findings", "",
           "| finding | verdict, and why | headline number | read it in |",
           "|---|---|---|---|"]
    for s in summary:
        out.append(f'| <span id="{s["id"].lower()}"></span>**{s["id"]}**: {_cell(s["statement"])} '
                   f'| **{_cell(s["verdict"].capitalize())}**: {_cell(s["reason"])}. '
                   f'| {_cell(s["headline"])} | {_where(s)} |')
    return "\n".join(out + ["", ":::"])


def readings_table(rows: list[dict], fid: str | None = None) -> str:
    """Markdown: verdict rows as reading, verdict (plain words and the rule's own status),
    numbers. ``fid``: the finding all rows belong to, to shorten the readings' names (without
    it each row keeps its full name, 'F4 (n = 300; calibrated)', as rows of several findings
    would otherwise read alike)."""
    out = ["| reading | verdict | the numbers |", "|---|---|---|"]
    for r in rows:
        status = F.plain(r["status"])
        said = r["status"] if r["status"] != status else ""
        out.append(f"| {_cell(_reading(r['verdict'], fid) if fid else r['verdict'])} | **{_cell(status)}**"
                   + (f" ({_cell(said)})" if said else "") + f" | {_cell(r['numbers'])} |")
    return "\n".join(out)


def beneath(summary: list[dict]) -> str:
    """Per finding, a collapsed dropdown: the sentence that reconciles its readings, then the
    readings (every verdict row of the table)."""
    out = []
    for s in summary:
        n = len(s["readings"])
        out += [f":::{{dropdown}} {s['id']}: {n} reading{'s' if n != 1 else ''}, and how they fit",
                f"**{s['reconcile']}**", "", readings_table(s["readings"], s["id"]), "", ":::", ""]
    return "\n".join(out)


def provenance(summary: list[dict], preset: str) -> str:
    """A collapsed dropdown: where every reading's runs are, what the statuses mean, how the
    table is regenerated."""
    lines = [f"- **{_cell(r['verdict'])}**: {_source(r['source'])}" for s in summary
             for r in s["readings"] if r.get("source")]
    return "\n".join([
        ":::{dropdown} Where the numbers come from",
        "Every row is generated from the shipped runs under <code>results/</code> by "
        "<code>flowlib.studies.findings</code>, the same code as <code>python -m flowlib findings "
        f"--preset {preset}</code>, which also writes <code>results/findings-{preset}.json</code> "
        "(a test regenerates it and checks it is identical). Each verdict applies a rule stated "
        "in its chapter before the runs it reads; a rule changed after its runs were seen is said "
        "to be so there. The six rows above take their verdict from the calibrated rule where it "
        "is decided, else from the first rule.", "",
        "States that are not verdicts: *not run yet* (the study has not been run or shipped); "
        "*not decided yet* (its runs are still being made: never a verdict from part of a "
        "study); *inconclusive: the adversarial baseline failed* (no NSGAN generator alive at "
        "its end); *inconclusive: runs made before the adversarial machinery was corrected*.", "",
        f"These are the book's <code>{preset}</code>-size runs: small models and short schedules "
        "on a 2-core CPU, with a GPU for the runs whose chapters say so.", "",
        "The runs each reading reads:", ""] + lines + ["", ":::"])


def page(rows: list[dict], preset: str) -> str:
    """The whole generated part of the Findings page."""
    s = F.summary(rows)
    return "\n\n".join([main_table(s), "### Beneath each finding",
                        "Each finding is read by more than one rule, size or setting; the "
                        "sentence in bold says how its readings fit together.",
                        beneath(s), provenance(s, preset)])
