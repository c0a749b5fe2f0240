"""F2 from initialisation as two readings, and the two notions of instability (issue 35).

Stated on 2026-12-07, after the search and the final runs were seen; reading (b) is therefore
*exploratory*, and says so in its status.

The rule F2 was judged by (:func:`flowlib.studies.nll_vs_gan.f2_init_rule`, fixed before the
final runs) reads only the three seeds of the *selected* NSGAN configuration. Three seeds
have little power (at a 30% failure rate per seed, 0/3 happens 34% of the time), and the
selected configuration is by construction one that lived. So F2 from initialisation is read
twice, each named in the findings table:

- **(a) the selected configuration** (:data:`SELECTED`): the rule as fixed, unchanged: a seed is
  unstable when it diverged, ended dead, or its validation LeNet-FID rose above
  :data:`~flowlib.studies.nll_vs_gan.REBOUND` times its own best at a later check; *supported*
  when NSGAN's share of unstable seeds exceeds NLL's.
- **(b) sensitivity to settings across the whole search** (:data:`ACROSS`,
  :func:`search_sensitivity`): the share of the search's configurations that ended dead or
  diverged, NSGAN against NLL, *by the same criterion for both* (:func:`~flowlib.studies.
  nll_vs_gan.alive`: a generator gradient at the last logged step and at least 8 classes at
  the last check; NLL's selection only excluded diverged runs, so NLL's diverged-only share is
  given beside it). *Supported (exploratory)* when NSGAN's share exceeds NLL's. Seen before
  this reading was written: it cannot count as a test, only as what the search showed.

**Two notions of instability** the chapter uses, counted per loss for the search, the hybrid's
sweep and the final runs (:func:`instability_counts`):

1. *sample quality falling* ("dead"): the run diverged or ended dead (:func:`~flowlib.studies.
   nll_vs_gan.alive` fails), or its validation LeNet-FID rose above ``REBOUND`` times its best
   at a later check: F2's criterion above, about the samples (the runs' ``coverage_collapse``
   events, classes lost during a run, are the part of it logged as it happens);
2. *likelihood exploding*: the run's ``bpd_exploded`` events, a quality check whose exact
   validation bits/dim lie more than one bit above the run's best
   (:mod:`flowlib.training.monitor`): about the density the flow assigns to real digits, which
   an adversarial loss never asks for.

The first is what F2 and F2 at the equilibrium judge (there: leaving the equilibrium, by the
exact KL); the second counts every check of a GAN-trained flow whose likelihood is drifting
away from the data, which is the adversarial loss working as designed, not a failure to train.
"""
from __future__ import annotations

import math

from flowlib.studies import nll_vs_gan as exp1
from flowlib.studies.results import Run

SELECTED = f"F2 (from initialisation: the selected configuration, {len(exp1.FINAL_SEEDS)} seeds)"
ACROSS = "F2 (from initialisation: across the search, exploratory)"
EXPLORATORY = "exploratory: seen before this reading was written"
FAMILIES = ("nll", "nsgan", "wgan-gp", "hybrid")
SHORT = {"nll": "NLL", "nsgan": "NSGAN", "wgan-gp": "WGAN-GP", "hybrid": "hybrid"}


def fisher_greater(a: int, n_a: int, b: int, n_b: int) -> float:
    """One-sided Fisher exact p: the chance of ``a`` or more failures of ``n_a`` in the first
    group when ``a + b`` failures fall at random among ``n_a + n_b`` runs."""
    k, n = a + b, n_a + n_b
    if n == 0:
        return math.nan
    total = math.comb(n, k)
    return sum(math.comb(n_a, i) * math.comb(n_b, k - i)
               for i in range(a, min(n_a, k) + 1)) / total


def search_counts(search: list[dict]) -> dict[str, tuple[int, int]]:
    """Reading (b)'s counts on ``search`` (:func:`flowlib.studies.nll_vs_gan.search_rows`):
    ``(ended dead or diverged, configurations)`` for ``nsgan`` and ``nll`` by the same criterion
    (``alive_strict``), and ``nll_diverged``, NLL's by its own selection's (``alive``). The
    numbers :func:`search_sensitivity` reads, for a chapter that quotes them."""
    def count(family, key):
        xs = [x for x in search if x["family"] == family]
        return sum(not x.get(key, x["alive"]) for x in xs), len(xs)
    return {"nsgan": count("nsgan", "alive_strict"), "nll": count("nll", "alive_strict"),
            "nll_diverged": count("nll", "alive")}


def search_sensitivity(search: list[dict]) -> tuple[str, str]:
    """Reading (b) on ``search`` (:func:`flowlib.studies.nll_vs_gan.search_rows`: ``family``,
    ``alive``, ``alive_strict``): NSGAN's share of configurations dead or diverged at their end
    against NLL's, by the same criterion (``alive_strict``)."""
    c = search_counts(search)
    (ns, n_ns), (nl, n_nl) = c["nsgan"], c["nll"]
    if not n_ns or not n_nl:
        return "no data", "needs the search's NSGAN and NLL configurations"
    nl_div, _ = c["nll_diverged"]
    higher = ns / n_ns > nl / n_nl
    status = f"{'supported' if higher else 'not supported'} ({EXPLORATORY})"
    return status, (f"dead or diverged at their end: {ns}/{n_ns} NSGAN configurations against "
                    f"{nl}/{n_nl} NLL ones by the same criterion (a gradient and at least "
                    f"{exp1.ALIVE_MIN_CLASSES} classes), {nl_div}/{n_nl} NLL ones diverged; "
                    f"one-sided Fisher exact p = {fisher_greater(ns, n_ns, nl, n_nl):.2g}")


def findings(runs: list[Run], search: list[dict] | None = None) -> dict[str, dict]:
    """:func:`flowlib.studies.nll_vs_gan.findings` with F2 from initialisation as its two
    readings: (a) its verdict on the selected runs under :data:`SELECTED` (the search no longer
    appended to its numbers: it is reading (b)), and (b) :func:`search_sensitivity` under
    :data:`ACROSS` (given whenever the search is, even while the final runs are incomplete)."""
    out = exp1.findings(runs)
    a = out.pop("F2 (from initialisation)")
    out[SELECTED] = a
    if search is not None:
        status, numbers = search_sensitivity(search)
        out[ACROSS] = {"status": status, "numbers": numbers}
    return out


# ------------------------------------------------------------------ the two notions, counted
def _bpd_events(run: Run) -> int:
    return sum(e.get("kind") == "bpd_exploded" for e in run.events)


def _quality(run: Run) -> dict:
    """A search or sweep run's criterion inputs at its last check: diverged, the generator's
    gradient at its last logged step, classes at its last quality check, FID rebound."""
    checks = [x for x in run.rows if "fid" in x and not x.get("event")]
    g = next((x["grad_norm"] for x in reversed(run.rows) if "grad_norm" in x), None)
    return {"diverged_at": 0 if run.outcome == "diverged" else None, "final_grad_norm": g,
            "classes": checks[-1].get("classes_covered") if checks else None,
            "fid_rebound": exp1.fid_rebound(run)}


def instability_counts(stages: dict[str, list[Run]]) -> list[dict]:
    """Per stage (``stages``: name -> runs, e.g. ``{"search": ..., "hybrid sweep": ...,
    "final": ...}``) and loss: runs, those that ended dead or diverged, those whose validation
    FID rose above ``REBOUND`` x its best (either: notion 1, F2's criterion), those with a
    ``bpd_exploded`` event and the events in all (notion 2). A final run is read as F2 reads
    it (:func:`~flowlib.studies.nll_vs_gan.final_rows`: classes of its final test samples),
    a search run at its last validation check."""
    out = []
    for stage, runs in stages.items():
        finals = {r["run"]: r for r in exp1.final_rows(runs)} if stage == "final" else {}
        for loss in [f for f in FAMILIES if any(r.loss == f for r in runs)]:
            rs = [r for r in runs if r.loss == loss]
            q = [finals.get(r.name) or _quality(r) for r in rs]
            dead = [x["diverged_at"] is not None or not exp1.alive(x) for x in q]
            fell = [(x.get("fid_rebound") or 1.0) > exp1.REBOUND for x in q]
            ev = [_bpd_events(r) for r in rs]
            out.append({"stage": stage, "loss": loss, "runs": len(rs), "dead": sum(dead),
                        "fell": sum(fell), "quality": sum(d or f for d, f in zip(dead, fell)),
                        "bpd_runs": sum(e > 0 for e in ev), "bpd_events": sum(ev)})
    return out


def instability_table(rows: list[dict]) -> str:
    """Markdown, five columns: :func:`instability_counts`, one row per stage and loss."""
    lines = ["| runs | sample quality fell or died: runs | of which dead or diverged at the end "
             "| likelihood exploded: runs (events) |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['stage']}, {SHORT.get(r['loss'], r['loss'])} ({r['runs']}) | "
                     f"{r['quality']}/{r['runs']} | {r['dead']}/{r['runs']} | "
                     f"{r['bpd_runs']}/{r['runs']} ({r['bpd_events']}) |")
    return "\n".join(lines)
