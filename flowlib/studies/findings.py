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
    """One row per verdict: finding id, verdict name, status, numbers, study folder; read
    from the shipped studies of ``preset`` by the same row builders the chapters use on the
    runs they show (:func:`e1_rows`, :func:`nash_rows`, :func:`nash_exact_rows`,
    :func:`e2_rows`)."""
    e1 = STUDIES["nll-vs-gan"].shipped(preset)
    searched = STUDIES["nll-vs-gan-search"].shipped(preset)
    search = nll_vs_gan.search_rows(load_study(searched)) if searched else None
    ns, nx = STUDIES["nash"].shipped(preset), STUDIES["nash-exact"].shipped(preset)
    e2 = STUDIES["misspecification"].shipped(preset)
    long, shared = (STUDIES[n].shipped(preset) for n in ("misspecification-long",
                                                         "misspecification-shared-lr"))
    return (e1_rows(nll_vs_gan.load(e1) if e1 else None, search, preset)
            + nash_rows(nash.load(ns) if ns else None, preset)
            + nash_exact_rows(nash_exact.load(nx) if nx else None, preset)
            + e2_rows(misspecification.load(e2) if e2 else None,
                      load_study(long) if long else [], load_study(shared) if shared else [],
                      preset, long_shipped=bool(long), shared_shipped=bool(shared)))


def _rows(fid: str, verdicts: dict | None, source: str, missing: str = "",
          name: str | None = None) -> list[dict]:
    """Verdict rows in the table's format; one *not run yet* row (saying how to run it) where
    ``verdicts`` is None."""
    if verdicts is None:
        return [{"id": fid, "verdict": name or fid, "status": "not run yet",
                 "numbers": missing, "source": source}]
    return [{"id": fid, "verdict": k, "status": v["status"], "numbers": v["numbers"],
             "source": source} for k, v in verdicts.items()]


def e1_rows(runs, search_rows, preset: str = "quick") -> list[dict]:
    """Experiment 1's verdict rows (F1 and F2 from initialisation, the latter as its two
    readings: the selected configuration, the whole search) from its final runs (None: not
    run) and the search's rows."""
    got = nll_vs_gan_f2.findings(runs, search_rows) if runs else None
    how = f"`python -m flowlib experiment nll-vs-gan --preset {preset}`"
    src = f"results/nll-vs-gan-{preset}"
    return [r for k in ("F1", "F2") for r in _rows(
        k, {n: v for n, v in got.items() if n.startswith(k)} if got else None, src, how)]


def nash_rows(runs, preset: str = "quick") -> list[dict]:
    """The first Nash study's verdict rows (F2 at the equilibrium; None: not run)."""
    return _rows("F2", nash.findings(runs) if runs else None,
                 f"results/nash-{preset}" + _retired(runs),
                 f"`python -m flowlib experiment nash --preset {preset}`")


def nash_exact_rows(runs, preset: str = "quick") -> list[dict]:
    """The exact-equilibrium Nash study's verdict row (issue 33; None: not run)."""
    return _rows("F2", nash_exact.findings(runs) if runs else None, f"results/nash-exact-{preset}",
                 "F2 at the exact equilibrium (issue 33): "
                 f"`python -m flowlib experiment nash-exact --preset {preset}`",
                 name="F2 (at the exact Nash equilibrium)")


def e2_rows(runs, long=(), shared=(), preset: str = "quick", long_shipped: bool = True,
            shared_shipped: bool = True) -> list[dict]:
    """Experiment 2's verdict rows, F3-F6, each by the first rule and beside it by the
    calibrated rule (which also reads the long controls ``long`` and the shared-rate runs
    ``shared``); each row's name says its rule. ``runs`` None: not run."""
    first = misspecification.findings(runs) if runs else None
    cal = misspecification_calibrated.findings(runs, list(long), list(shared)) if runs else None
    out = []
    for k in ("F3", "F4", "F5", "F6"):   # F4 and F6 are read at two training-set sizes
        out += _rows(k, {_named(n, "first rule"): v for n, v in first.items() if n.startswith(k)}
                     if first else None, f"results/misspecification-{preset}" + _retired(runs),
                     f"`python -m flowlib experiment misspecification --preset {preset}`")
        if cal:
            out += _rows(k, {_named(n, "calibrated"): v for n, v in cal.items() if n.startswith(k)},
                         f"results/misspecification-{preset}" + "".join(
                             f", results/misspecification-{n}-{preset}" for n, got in
                             (("long", long_shipped), ("shared-lr", shared_shipped)) if got))
    return out


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


# ------------------------------------------------------------------ six rows, one per finding
# The verdict rows above are the evidence; a reader scans six rows, one per finding, each with
# one verdict in plain words, one headline number, a one-line reason and where to read more,
# and finds the readings beneath it (:func:`summary`). Everything is derived from the verdict
# rows (so from ``results/findings-<preset>.json`` as well as from the runs): the numbers are
# read out of the rules' own ``numbers`` text, never typed, and a reading whose text does not
# have the expected shape falls back to its status rather than to an invented number.

SHORT = {
    "F1": "Trained by NLL, Real NVP does unexpectedly well in FID against the same model "
          "trained as a GAN (NSGAN).",
    "F2": "NSGAN training of Real NVP is unstable, even started at the Nash equilibrium.",
    "F3": "Students of different misspecification reach different training NLL but converge alike.",
    "F4": "Validation NLL shows overfitting on a finite synthetic set; a well-specified student "
          "can validate worse than a misspecified one.",
    "F5": "Overfitting hurts validation NLL much more than FID.",
    "F6": "Overparameterised students are slow, often unstable, overfit heavily and give poorer "
          "images.",
}
# Where each finding is read in the book: the chapter (its page name and number) and the
# section holding its verdicts (the heading's anchor on the built page).
WHERE = {
    "F1": ("nll_vs_gan", 6, "f1-whose-samples-are-closer-to-real-digits", "F1"),
    "F2": ("nash", 8, "the-verdicts", "the verdicts"),
    "F3": ("misspecification", 9, "the-verdicts-first-and-calibrated", "the verdicts"),
    "F4": ("misspecification", 9, "the-verdicts-first-and-calibrated", "the verdicts"),
    "F5": ("nll_vs_fid", 11, "f5-overfitting-seen-by-each-yardstick", "F5, by each yardstick"),
    "F6": ("overparameterised", 10, "f6-by-both-rules", "F6, by both rules"),
}
VERDICTS = ("supported", "not supported", "mixed")


def plain(status: str) -> str:
    """A rule's status in plain words: 'supported' -> 'holds', 'mixed (...)' -> 'holds in
    part', 'incomplete: 8/18 runs' -> 'not decided yet (8/18 runs)'."""
    s = status.strip()
    if s.startswith("not supported"):
        return "does not hold"
    if s.startswith("supported"):
        return "holds"
    if s.startswith("mixed"):
        return "holds in part"
    if s.startswith("incomplete"):
        rest = s.split(":", 1)[1].strip() if ":" in s else ""
        return "not decided yet" + (f" ({rest} made)" if rest else "")
    if s.startswith("not run"):
        return "not run yet"
    return s   # 'inconclusive: ...', 'no data': already plain


def decided(row: dict | None) -> bool:
    """Whether ``row`` carries a verdict (supported, not supported, mixed), not a state."""
    return bool(row) and row["status"].startswith(VERDICTS)


def combine(statuses: list[str]) -> str:
    """One verdict in plain words from several readings' statuses: 'holds' when every decided
    one holds, 'does not hold' when none does, 'holds in part' otherwise; when none is
    decided, the first one's state."""
    got = [plain(s) for s in statuses if s.startswith(VERDICTS)]
    if not got:
        return plain(statuses[0]) if statuses else "not run yet"
    if all(g == "holds" for g in got):
        return "holds"
    if all(g == "does not hold" for g in got):
        return "does not hold"
    return "holds in part"


def _pick(rows: list[dict], *needles: str, without: str | None = None) -> dict | None:
    """The first verdict row whose name contains every needle (and not ``without``)."""
    return next((r for r in rows if all(n in r["verdict"] for n in needles)
                 and not (without and without in r["verdict"])), None)


def _grab(pattern: str, row: dict | None):
    """The groups of ``pattern`` in ``row``'s numbers, or None."""
    import re
    m = re.search(pattern, row["numbers"]) if row else None
    return m.groups() if m else None


def _current(first: list[dict], calibrated: list[dict]) -> tuple[list[dict], str]:
    """The readings a verdict is taken from: the calibrated rule's where all its readings are
    decided, else the first rule's (and which one it is)."""
    if calibrated and all(decided(r) for r in calibrated):
        return calibrated, "calibrated rule"
    return first, "first rule"


def _range(values: list[str], unit: str = "") -> str:
    nums = sorted(float(v) for v in values)
    if not nums:
        return "—"
    d = 2 if max(abs(x) for x in nums) < 0.1 else 1
    return (f"{nums[0]:+.{d}f}{unit}" if round(nums[0], d) == round(nums[-1], d)
            else f"{nums[0]:+.{d}f} to {nums[-1]:+.{d}f}{unit}")


def _f1(rs):
    main = _pick(rs, "(LeNet-FID)") or rs[0]
    out = {"verdict": plain(main["status"]), "primary": [main["verdict"]]}
    seeds, fids = _grab(r"NLL lower in (\d+)/(\d+) seeds", main), _grab(
        r"NLL ([\d.]+) \([^)]*\) vs NSGAN ([\d.]+)", main)
    out["headline"] = (f"LeNet-FID {float(fids[0]):.0f} (NLL) vs {float(fids[1]):.0f} (NSGAN), "
                       "median of the seeds; lower is better" if fids else main["status"])
    out["reason"] = (f"the NLL-trained flow has the lower FID in {seeds[0]} of {seeds[1]} seeds"
                     if seeds else main["numbers"].split(";")[0])
    names = [r["verdict"][len("F1 ("):-1] for r in rs if r["verdict"].startswith("F1 (")]
    same = {plain(r["status"]) for r in rs}
    out["reconcile"] = (
        f"All {len(rs)} readings agree ({same.pop()}): the same comparison by another feature "
        "network (Inception) and against the other adversarial losses (WGAN-GP, the hybrid) "
        "gives the same answer as LeNet-FID against NSGAN." if len(same) == 1 else
        "The readings differ: " + "; ".join(f"{n}: {plain(r['status'])}" for n, r in zip(names, rs))
        + ". LeNet-FID against NSGAN is the comparison the thesis makes; the others test how far "
        "it carries.")
    return out


def _f2(rs):
    sel, across = _pick(rs, "selected configuration"), _pick(rs, "across the search")
    eq = _pick(rs, "Nash equilibrium, by step size")
    first, stab, exact = (_pick(rs, "D trained first"), _pick(rs, "stabilised"),
                          _pick(rs, "exact Nash equilibrium"))
    parts = [r for r in (sel, eq) if r]
    out = {"verdict": combine([r["status"] for r in parts]), "primary": [r["verdict"] for r in parts]}
    lr, unst = _grab(r"NSGAN leaves at (\d+)/(\d+) learning rates", eq), _grab(
        r"(\d+)/(\d+) NSGAN seeds unstable", sel)
    out["headline"] = "; ".join(
        ([f"leaves the equilibrium at {lr[0]} of {lr[1]} step sizes"] if lr else []) +
        ([f"{unst[0]} of {unst[1]} seeds unstable from a random start"] if unst else [])) or \
        combine([r["status"] for r in parts])
    if sel and eq and plain(sel["status"]) == "does not hold" and plain(eq["status"]) == "holds":
        out["reason"] = ("NSGAN always leaves the equilibrium, but the configuration the search "
                         "selected trains stably from a random start")
    else:
        out["reason"] = (f"at the equilibrium it {plain(eq['status']) if eq else 'was not run'}; "
                         f"from a random start it {plain(sel['status']) if sel else 'was not run'}")
    dead = _grab(r"(\d+)/(\d+) NSGAN configurations", across)
    kept = stab["status"].split("kept at the equilibrium:", 1)[1].strip(" )") if stab and \
        "kept at the equilibrium:" in stab["status"] else None
    variants = _grab(r"NSGAN leaves in (\d+)/(\d+) variants", stab)
    bits = []
    if sel:
        bits.append(f"from a random start, the configuration the search selected "
                    f"{'was stable' if plain(sel['status']) == 'does not hold' else plain(sel['status'])}"
                    + (f" ({unst[0]} of {unst[1]} seeds unstable)" if unst else ""))
    if across:
        bits.append((f"{dead[0]} of {dead[1]} NSGAN configurations of "
                    "the search ended dead or diverged" if dead else f"the search {plain(across['status'])}")
                    + " (an exploratory reading, made after the search was seen)")
    eq_bits = []
    if eq:
        eq_bits.append("at every step size" if plain(eq["status"]) == "holds" else
                       f"by step size: {plain(eq['status'])}")
    if first:
        eq_bits.append("with the discriminator trained first too" if plain(first["status"]) == "holds"
                       else f"with the discriminator trained first: {plain(first['status'])}")
    if stab:
        eq_bits.append((f"with {variants[0]} of {variants[1]} stabilisers" if variants else
                        f"with stabilisers: {plain(stab['status'])}")
                       + (f" ({kept} kept it there)" if kept else ""))
    text = ", while ".join(bits)
    if eq_bits:
        text += "; started at the equilibrium, NSGAN left it " + ", ".join(eq_bits)
    if exact:
        text += f"; at the exact equilibrium: {plain(exact['status'])}"
    if sel and eq and plain(sel["status"]) == "does not hold" and plain(eq["status"]) == "holds":
        text += (". So the instability F2 names is real where the thesis places its strongest "
                 "claim, at the equilibrium, while a tuned configuration avoids it from a random "
                 "start")
    out["reconcile"] = text[0].upper() + text[1:] + "."
    return out


def _f3(rs):
    first, cal = [r for r in rs if "first rule" in r["verdict"]], [r for r in rs if "calibrated" in r["verdict"]]
    cur, rule = _current(first, cal)
    row = cur[0] if cur else rs[0]
    out = {"verdict": combine([r["status"] for r in cur]), "primary": [r["verdict"] for r in cur]}
    pairs = _grab(r"distinct final training NLL: (\d+)/(\d+)", row)
    import re
    dist = [(s, float(d)) for s, d in re.findall(r"(\w+) (\d+\.\d+)", row["numbers"].split("student's:")[-1])]
    tol = _grab(r"alike at <= ([\d.]+)", row)
    far = [s for s, d in dist if tol and d > float(tol[0])]
    out["headline"] = ((f"{pairs[0]} of {pairs[1]} neighbouring students differ in training NLL"
                        if pairs else row["status"])
                       + (f"; {len(dist) - len(far)} of {len(dist)} curves alike" if dist and tol else ""))
    if pairs and dist and tol:
        out["reason"] = (("training NLL differs between every pair of neighbours" if pairs[0] == pairs[1]
                          else "training NLL overlaps between most neighbouring students")
                         + (", and the curves converge alike" if not far else
                            f", and the curves of {', '.join(far)} do not converge like the "
                            "teacher-size student's"))
    else:
        out["reason"] = row["numbers"].split(";")[0]
    out["reconcile"] = _rules_sentence(first, cal, rule)
    return out


def _f4(rs):
    first, cal = [r for r in rs if "first rule" in r["verdict"]], [r for r in rs if "calibrated" in r["verdict"]]
    cur, rule = _current(first, cal)
    out = {"verdict": combine([r["status"] for r in cur]), "primary": [r["verdict"] for r in cur]}
    row = _pick(cur, "n = 300") or (cur[0] if cur else rs[0])
    rise = _grab(r"final minus best validation bits/dim ([^(]+)\(its control's: ([^)]+)\)", row)
    better = [_grab(r"smaller students validating better at the end: ([^;]+);", r) for r in cur]
    if rise:
        out["headline"] = (f"teacher-size student {_range(rise[0].replace(' ', '').split(','), ' bits/dim')} "
                           f"above its best validation at 300 images (its control "
                           f"{_range(rise[1].replace(' ', '').split(','))})")
    else:
        out["headline"] = row["status"]
    names = sorted({b[0].strip() for b in better if b and b[0].strip() != "none"})
    out["reason"] = ("the teacher-size student overfits"
                     + (f", and a smaller student ({', '.join(names)}) validates better at the end"
                        if names else ", but no smaller student validates better") if rise
                     else row["numbers"].split(";")[0])
    def at(group):
        said = list(dict.fromkeys(plain(r["status"]) for r in group))
        return (said[0] + " at both training-set sizes" if len(said) == 1 else
                ", ".join(f"{plain(r['status'])} at {r['verdict'].split('n = ')[-1].split(';')[0].split(',')[0]} images"
                          for r in group))
    out["reconcile"] = (f"Read at 300 and at 1,000 images, the first rule {at(first)}"
                        + (f", the calibrated rule {at(cal)}" if cal and rule != "first rule" else "")
                        + ". " + _rules_sentence(first, cal, rule))
    return out


def _f5(rs):
    first, cal = _pick(rs, "first rule"), _pick(rs, "calibrated")
    cur, rule = _current([first] if first else [], [cal] if cal else [])
    row = cur[0] if cur else rs[0]
    out = {"verdict": plain(row["status"]), "primary": [row["verdict"]]}
    f = _grab(r"KL x([\d.]+) \([^)]*\) vs FID x([\d.]+)", row)
    n = _grab(r"(\d+)/(\d+) runs overfit.*?of those (\d+) hit, (\d+) miss, (\d+) inconclusive", row)
    if f:
        out["headline"] = f"KL ×{f[0]} vs FID ×{f[1]} of the control (median over overfitting runs)"
    else:
        g = _grab(r"KL ([+\-\d%]+) .*? vs FID ([+\-−\d%]+)", row)
        out["headline"] = f"KL {g[0]} vs FID {g[1]} (median)" if g else row["status"]
    out["reason"] = (f"in {n[2]} of {n[0]} overfitting runs the KL grew far more than FID; "
                     f"{n[3]} against, {n[4]} too noisy to tell" if n else row["numbers"].split(";")[0])
    fell = _grab(r"FID fell by more than its noise in (\d+)/(\d+)", first)
    out["reconcile"] = (
        f"The first rule ({plain(first['status']) if first else 'not run'}) compared each run's end "
        "with its own early-stopping point, where FID was still improving with training"
        + (f" (it fell there in {fell[0]} of {fell[1]} runs)" if fell else "")
        + f"; the calibrated rule ({plain(cal['status']) if cal else 'not run'}) compares each run "
        "with its own infinite-data control at the same step, and each change with the spread of "
        "two seeds of that control: F5 holds wherever overfitting is large and is undecided where "
        "FID's noise is larger than the effect.")
    return out


def _f6(rs):
    import re
    first, cal = [r for r in rs if "first rule" in r["verdict"]], [r for r in rs if "calibrated" in r["verdict"]]
    cur, rule = _current(first, cal)
    out = {"verdict": combine([r["status"] for r in cur]), "primary": [r["verdict"] for r in cur]}

    def props(r):
        return {k: plain(v) for k, _, _, v in re.findall(
            r"(slow|unstable|overfits heavily|poorer images): (\d+)/(\d+) \(([^)]*)\)", r["numbers"])}
    row = _pick(cur, "n = 300") or (cur[0] if cur else rs[0])
    p = props(row)
    yes, no = [k for k, v in p.items() if v == "holds"], [k for k, v in p.items() if v != "holds"]
    out["headline"] = (f"{len(yes)} of {len(p)} properties hold at 300 images" if p else row["status"])
    out["reason"] = ((", ".join(yes) or "none holds") + ("; not " + ", not ".join(no) if no else "")
                     if p else row["numbers"].split(";")[0])
    diff = []
    for a in first:
        b = next((c for c in cal if c["verdict"].split(";")[0] == a["verdict"].split(";")[0]), None)
        if b and decided(b):
            pa, pb = props(a), props(b)
            diff += [k for k in pa if k in pb and pa[k] != pb[k]]
    diff = list(dict.fromkeys(diff))
    out["reconcile"] = ((f"The first and calibrated rules agree but on {', '.join(diff)}: the "
                         "calibrated rule counts only instability beyond the student's own "
                         "infinite-data controls and judges images against FID's seed spread, and "
                         "it is the one read here. " if diff else "")
                        + _rules_sentence(first, cal, rule, say_agree=not diff)).strip()
    return out


def _rules_sentence(first, cal, rule, say_agree: bool = True) -> str:
    """How the first and the calibrated rule's readings of one finding relate, in a sentence."""
    if not cal:
        return "Only the first rule has been read."
    if rule == "first rule":
        waiting = [r["status"] for r in cal if not decided(r)]
        return (f"The calibrated rule, stated before the runs it adds, is not decided yet "
                f"({waiting[0]}), so the first rule's verdict is the one shown until it is.")
    if [plain(r["status"]) for r in first] == [plain(r["status"]) for r in cal]:
        return "Both rules give the same verdict." if say_agree else ""
    return ("The rules differ, and the calibrated one, which measures each change against the "
            "spread between seeds, is the one shown.")


SUMMARISE = {"F1": _f1, "F2": _f2, "F3": _f3, "F4": _f4, "F5": _f5, "F6": _f6}


def summary(rows: list[dict]) -> list[dict]:
    """Six rows, one per finding F1..F6: ``id``, ``statement``, ``verdict`` (plain words),
    ``headline``, ``reason``, ``reconcile`` (one sentence relating its readings), ``chapter``,
    ``number``, ``anchor``, ``section``, and ``readings`` (its verdict rows, each with
    ``plain``; ``primary`` for the ones the verdict is taken from)."""
    out = []
    for fid in STATEMENTS:
        mine = [r for r in rows if r["id"] == fid]
        if not mine:
            mine = [{"id": fid, "verdict": fid, "status": "not run yet", "numbers": "", "source": ""}]
        try:
            s = SUMMARISE[fid](mine)
        except (TypeError, ValueError, AttributeError, IndexError, KeyError):
            # a rule's text changed shape: its statuses, never a made-up number
            s = {"verdict": combine([r["status"] for r in mine]), "primary": [mine[0]["verdict"]],
                 "headline": mine[0]["status"], "reason": mine[0]["numbers"].split(";")[0],
                 "reconcile": "; ".join(f"{r['verdict']}: {plain(r['status'])}" for r in mine) + "."}
        chapter, number, anchor, section = WHERE[fid]
        readings = [dict(r, plain=plain(r["status"]), primary=r["verdict"] in s["primary"])
                    for r in mine]
        out.append({"id": fid, "statement": SHORT[fid], "verdict": s["verdict"],
                    "headline": s["headline"], "reason": s["reason"], "reconcile": s["reconcile"],
                    "chapter": chapter, "number": number, "anchor": anchor, "section": section,
                    "readings": readings})
    return out


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
