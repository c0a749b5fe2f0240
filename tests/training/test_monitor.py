"""Instability events: what counts as an exploding bits/dim or a coverage collapse."""
from __future__ import annotations

import math

from flowlib.training.monitor import InstabilityDetector, replay


def test_bpd_jump_and_non_finite_are_flagged_relative_to_the_best():
    d = InstabilityDetector(bpd_jump=1.0)
    assert d.check(1, {"val_bpd": 3.0}) == []
    assert d.check(2, {"val_bpd": 2.0}) == []
    assert d.check(3, {"val_bpd": 2.9}) == []          # worse, but within one bit of the best
    (e,) = d.check(4, {"val_bpd": 3.5})
    assert e["event"] == "instability" and e["kind"] == "bpd_exploded" and e["step"] == 4
    assert math.isclose(e["best_bpd"], 2.0)
    (e,) = d.check(5, {"val_bpd": None})                # a non-finite value is stored as None
    assert e["kind"] == "bpd_exploded" and e["val_bpd"] is None
    assert d.check(6, {"fid": 3.0}) == []               # a row without bpd says nothing about it


def test_coverage_collapse_needs_coverage_first_and_survives_a_resume():
    d = InstabilityDetector(min_classes=8)
    assert d.check(0, {"classes_covered": 1}) == []     # never covered: not a collapse
    assert d.check(1, {"classes_covered": 9}) == []
    (e,) = d.check(2, {"classes_covered": 5})
    assert e["kind"] == "coverage_collapse" and e["classes_covered"] == 5
    again = InstabilityDetector(min_classes=8)
    again.load_state_dict(d.state_dict())
    assert again.check(3, {"classes_covered": 6})[0]["kind"] == "coverage_collapse"
    assert len(again.seen) == 2


def test_vanishing_gradient_is_flagged_once_and_replay_finds_the_same_events():
    rows = [{"step": 20, "grad_norm": 3.0}, {"step": 40, "grad_norm": 0.0},
            {"step": 50, "val_bpd": 2.0}, {"step": 60, "grad_norm": 0.0},
            {"step": 100, "val_bpd": 5.0}, {"event": "start", "step": 0}]
    d = InstabilityDetector()
    live = [e for r in rows if not r.get("event") for e in d.check(r["step"], r)]
    assert [(e["step"], e["kind"]) for e in live] == [(40, "vanishing_gradient"), (100, "bpd_exploded")]
    assert replay(rows) == live


def test_a_manifests_final_value_is_the_last_one_even_when_it_is_non_finite(tmp_path):
    """A run whose last KL check was infinite (stored as null) must not report an earlier
    finite KL as its final one; a key whose last value is finite reports that value."""
    from flowlib.training.metrics_file import METRICS, append_metrics, headline
    append_metrics(tmp_path / METRICS, [
        {"event": "start", "parameters": 10},
        {"step": 90, "reverse_kl": 4.9e5, "kl": 12.0},
        {"step": 100, "reverse_kl": None, "kl": 15.0},
    ])
    h = headline(tmp_path)
    assert h["final_reverse_kl"] is None
    assert h["final_kl"] == 15.0 and h["steps"] == 100 and h["parameters"] == 10
