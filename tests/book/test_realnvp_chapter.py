"""The Real NVP chapter's generated sentences about the quick target and the logit's margin
(issue 36): read from the runs, and right on constructed inputs."""
import math

import pytest

from flowlib.book import realnvp_mnist as C


def _p(run, minutes, bpd, device="CPU"):
    return {"run": run, "device": device, "minutes": minutes, "test_bpd": bpd, "tflop": 1.0}


def test_the_target_note_counts_only_cpu_runs_within_the_budget():
    points = [_p("a", 5, 1.45), _p("a", 15, 1.39), _p("b", 15, 1.41),
              _p("gpu", 6, 1.30, device="NVIDIA H200"), _p("long", 30, 1.35)]
    note = C.target_note(points)
    assert "a: 1.390" in note and "b" not in note.split("reached by")[1]
    assert "gpu" not in note and "long" not in note
    # the case that must not pass: nothing under the line within 15 CPU-minutes
    assert C.target_note([_p("b", 15, 1.41), _p("gpu", 6, 1.30, "GPU")]).startswith("No run")


def test_the_margins_price_is_the_logit_steps_constant():
    # D log(1 - 2 alpha) nats per image, in bits per dimension
    assert C.margin_cost_bpd(0.05) == pytest.approx(-math.log(0.9) / math.log(2))
    assert C.margin_cost_bpd(0.0) == 0.0
    assert C.margin_cost_bpd(0.01) < C.margin_cost_bpd(0.05)


def test_the_shown_runs_snapshots_are_placed_on_the_frontier():
    """The canonical run's curve joins the compute figure: one point per snapshot, at the
    images its metrics say it had seen by then."""
    import json

    from flowlib.core.paths import results_root
    run = C.canonical_or_train("quick", False)
    assert run.canonical, "the canonical run results/realnvp-nll-quick is missing"
    budget = json.loads(results_root("realnvp-compute-budget", "budget.json").read_text())
    pts = C.run_frontier(run, budget)
    curve = run.manifest["results"]["test_bpd_curve"]
    assert [p["test_bpd"] for p in pts] == list(curve.values())
    assert all(a["images"] < b["images"] for a, b in zip(pts, pts[1:]))
