"""Experiment 1's temperature rule (issue 35) on constructed scans, before any real scan: the
best at temperature 1, a minimum inside the noise, one outside it, no null, a dead sampler;
and the secondary F1 reading, which must say whether it changes the primary verdict."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from flowlib.studies import nll_vs_gan_temperature as T


def _scan(scores: dict, noise: float = 0.0, seeds=(0, 1, 2)) -> list[dict]:
    """A scan whose FID at temperature t and seed s is scores[t] + noise * (s - 1): each
    temperature's spread is noise * (len(seeds) - 1), its mean scores[t] (three seeds)."""
    return [{"temperature": t, "seed": s, "lenet_fid": v + noise * (s - 1)}
            for t, v in scores.items() for s in seeds]


def test_the_stated_constants():
    assert T.TEMPERATURES == (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert (T.SCAN_IMAGES, T.REFERENCE, T.REFERENCE_IMAGES) == (2000, "mnist-validation", 10_000)
    assert T.NOISE_SEEDS == (0, 1, 2)
    assert T.PLANS["quick"] == T.TemperaturePlan(T.TEMPERATURES, 2000, 10_000, (0, 1, 2))


def test_the_best_at_temperature_one_is_chosen():
    c = T.choose_temperature(_scan({0.5: 800, 0.7: 500, 0.9: 420, 1.0: 400}, noise=5))
    assert c["temperature"] == 1.0 and c["minimum"] == 1.0


def test_a_minimum_beyond_the_noise_is_chosen():
    # the teacher's scan, thinned: 0.9 lowest, 1.0 26 above it, seeds 10 apart at most
    c = T.choose_temperature(_scan({0.5: 806, 0.7: 380, 0.8: 297, 0.9: 284, 1.0: 310}, noise=5))
    assert c["temperature"] == 0.9 and c["minimum"] == 0.9 and c["tolerance"] == pytest.approx(10)


def test_a_minimum_inside_the_noise_goes_to_temperature_one():
    # 0.9 lowest by 8, but two noise seeds of one temperature differ by up to 20
    c = T.choose_temperature(_scan({0.7: 380, 0.8: 300, 0.9: 292, 1.0: 300}, noise=10))
    assert c["minimum"] == 0.9 and c["temperature"] == 1.0
    assert c["tolerance"] == pytest.approx(20) and c["tied"] == [0.8, 0.9, 1.0]


def test_of_the_tied_temperatures_the_highest_wins_not_always_one():
    # 0.7 lowest, 0.8 inside its noise, 0.9 and 1.0 beyond it
    c = T.choose_temperature(_scan({0.6: 330, 0.7: 280, 0.8: 285, 0.9: 320, 1.0: 360}, noise=4))
    assert (c["minimum"], c["temperature"]) == (0.7, 0.8)


def test_the_tolerance_is_the_larger_spread_of_the_two_temperatures_compared():
    scan = _scan({0.9: 300, 1.0: 315}, noise=2)       # spreads 4 each: 1.0 not tied
    assert T.choose_temperature(scan)["temperature"] == 0.9
    noisy = [dict(r, lenet_fid=r["lenet_fid"] + (10 * (r["seed"] - 1) if r["temperature"] == 1.0 else 0))
             for r in scan]                             # 1.0's own spread is now 24: tied
    assert T.choose_temperature(noisy)["temperature"] == 1.0


def test_without_a_null_the_plain_minimum():
    one = _scan({0.8: 300, 0.9: 299, 1.0: 300.5}, seeds=(0,))
    c = T.choose_temperature(one)
    assert c["temperature"] == 0.9 and c["tolerance"] == 0.0 and math.isnan(c["spread"]["0.9"])
    # equal scores: the higher temperature
    assert T.choose_temperature(_scan({0.8: 300, 1.0: 300}, seeds=(0,)))["temperature"] == 1.0


def test_a_dead_temperature_is_never_chosen_and_a_dead_sampler_is_refused():
    scan = _scan({0.5: 300, 1.0: 400}, noise=1)
    scan[0]["lenet_fid"] = math.nan
    assert T.choose_temperature(scan)["temperature"] == 1.0
    with pytest.raises(T.TemperatureError):
        T.choose_temperature(_scan({1.0: math.inf}))
    with pytest.raises(T.TemperatureError):
        T.choose_temperature(_scan({0.9: 300, 1.0: 310})[:-1])   # a (temperature, seed) missing
    with pytest.raises(T.TemperatureError):
        T.choose_temperature([])


def _runs(nll: float, adv: float):
    """Two seeds of NLL and NSGAN, alive, final LeNet-FID nll / adv at temperature 1."""
    from flowlib.studies.results import Run
    runs = []
    for loss, f in (("nll", nll), ("nsgan", adv)):
        for seed in (0, 1):
            runs.append(Run(f"{loss}-seed{seed}", loss, seed, Path("/nowhere"),
                            {"results": {"outcome": "done", "steps": 6000}},
                            [{"step": 20, "grad_norm": 1.0}, {"step": 6000, "fid": f}],
                            {"test_bpd": 1.5, "lenet": {"fid": f, "classes_covered": 10}}, {},
                            {"loss": loss, "seed": seed}))
    return runs


def _reading(t: float, fid: float, classes: int = 10) -> dict:
    return {"temperature": t, "test": {"lenet": {"fid": fid, "classes_covered": classes}}}


def test_the_secondary_reading_says_whether_it_changes_f1():
    runs = _runs(nll=400.0, adv=90.0)                  # primary: not supported
    same = {f"nll-seed{s}": _reading(0.8, 150.0) for s in (0, 1)}
    same.update({f"nsgan-seed{s}": _reading(1.0, 90.0) for s in (0, 1)})
    r = T.f1_readings(runs, same)["F1 (LeNet-FID)"]
    assert (r["primary"], r["secondary"], r["changed"]) == ("not supported", "not supported", False)
    assert "(0.8, 1)" in r["numbers"]
    flipped = dict(same, **{f"nll-seed{s}": _reading(0.7, 60.0) for s in (0, 1)})
    r = T.f1_readings(runs, flipped)["F1 (LeNet-FID)"]
    assert (r["secondary"], r["changed"]) == ("supported", True)
    # an adversarial generator that collapses at its chosen temperature is not compared
    dead = dict(same, **{f"nsgan-seed{s}": _reading(0.5, 900.0, classes=3) for s in (0, 1)})
    assert T.f1_readings(runs, dead)["F1 (LeNet-FID)"]["secondary"].startswith("inconclusive")


def test_the_secondary_reading_waits_for_every_seed():
    runs = _runs(nll=400.0, adv=90.0)
    part = {"nll-seed0": _reading(0.9, 300.0), "nsgan-seed0": _reading(1.0, 90.0)}
    r = T.f1_readings(runs, part)["F1 (LeNet-FID)"]
    assert r["secondary"] == "incomplete: 1/2 seeds with both runs' temperature readings"
    assert r["changed"] is None and r["primary"] == "not supported"


def test_the_job_refuses_a_run_without_weights_and_smoke_into_the_shipped_study(tmp_path):
    with pytest.raises(T.TemperatureError, match="no model.pt"):
        T.temperature_evaluation(tmp_path, "quick")
    from flowlib.cli import main
    assert main(["nll-vs-gan-temperature", "--preset", "smoke"]) == 2


def test_the_chapter_table_of_the_two_readings():
    runs = _runs(nll=400.0, adv=90.0)
    assert T.readings_markdown(runs, {}).startswith("*No final run has its temperature reading yet*")
    both = {f"nll-seed{s}": _reading(0.9, 300.0) for s in (0, 1)}
    both.update({f"nsgan-seed{s}": _reading(1.0, 90.0) for s in (0, 1)})
    row = T.readings_markdown(runs, both).splitlines()[2]
    assert row.startswith("| F1 (LeNet-FID) | not supported | not supported: ") and row.endswith("| no |")
