"""Experiment 1 (the fair fight) end to end at smoke, and the shipped quick study reproduced
from its files."""
from __future__ import annotations

import json
import math

import pytest

from flowlib.core.paths import results_root
from flowlib.studies import nll_vs_gan as exp1


@pytest.mark.slow
def test_nll_vs_gan_study_end_to_end_at_smoke(tmp_path, capsys):
    """At smoke the study's jobs are the selected configurations of the shipped quick search
    and sweep, at smoke length: four losses from one initialisation, then a verdict that
    waits for the twelve selected runs."""
    from flowlib.cli import main
    args = ["experiment", "nll-vs-gan", "--preset", "smoke", "--seeds", "3", "--out", str(tmp_path)]
    assert main(args) == 0
    runs = exp1.load(tmp_path)
    assert [(r.loss, r.seed) for r in runs] == [(l, 3) for l in exp1.LOSS_ORDER]
    selected = exp1.selections("smoke")
    for r in runs:
        assert r.outcome == "done" and r.final is not None
        assert set(r.grids) == {0, 15, 30}           # the same fixed noise at every check
        steps, fid = r.series("fid")
        assert list(steps) == [0, 15, 30] and all(math.isfinite(v) for v in fid)
        assert r.final["lenet"]["n"] == 500 and math.isfinite(r.final["test_bpd"])
        assert r.spec["config"] == selected[r.loss]   # the family's selected flags
    # every loss of a seed starts from the same initialisation
    first = {r.series("fid")[1][0] for r in runs}
    assert len(first) == 1
    assert {v["status"] for v in exp1.findings(runs).values()} == {
        "incomplete: 0/12 selected runs with final figures"}
    from flowlib.book.nll_vs_gan import markdown_table   # the table is the book layer's
    assert "| NLL | 1 |" in markdown_table(runs)
    capsys.readouterr()
    assert main(args) == 0                            # rerun: everything skipped
    out = capsys.readouterr().out
    assert out.count("skipped (finished)") == 4


def _shipped():
    root = results_root("nll-vs-gan-quick")
    return sorted(p.parent for p in root.glob("*/final.json"))


def test_shipped_nll_vs_gan_runs_are_the_fair_fights_selected_jobs():
    """Every job of the quick fair fight is shipped, run with its family's selected
    configuration, with provenance and final figures: F1 and F2 are read from all twelve."""
    assert _shipped(), "the shipped quick Experiment 1 is missing (results/nll-vs-gan-quick)"
    runs = exp1.load(results_root("nll-vs-gan-quick"))
    argv = {j.name: list(j.argv) for j in exp1.fair_fight_jobs("quick")}
    missing = sorted(set(argv) - {r.name for r in runs})
    assert not missing, f"fair-fight runs missing from results/nll-vs-gan-quick: {missing}"
    for r in runs:
        assert json.loads((r.directory / "job.json").read_text())["argv"] == argv[r.name]
        assert r.manifest["commit"] and r.manifest["device"] and r.manifest["wall_time_s"] > 0
        assert r.final is not None or r.outcome == "diverged", r.name


@pytest.mark.parametrize("run_dir", [p for p in _shipped() if (p / "model.pt").exists()],
                         ids=lambda p: p.name)
def test_shipped_final_checkpoint_reproduces_its_figures(run_dir):
    """The shipped model.pt gives the recorded subset bits/dim and LeNet-FID (same seeds)."""
    from flowlib.metrics.final import subset_figures
    from flowlib.models.realnvp import RealNVP
    from flowlib.core.paths import sha256_file
    final = json.loads((run_dir / "final.json").read_text())
    # the weights are the ones the final figures (10 000 samples, Inception) were measured on
    assert sha256_file(run_dir / "model.pt") == final["model_sha256"]
    got = subset_figures(RealNVP.load(run_dir / "model.pt"), final["subset_images"])
    assert got["subset_test_bpd"] == pytest.approx(final["subset_test_bpd"], rel=1e-4)
    assert got["subset_lenet_fid"] == pytest.approx(final["subset_lenet_fid"], rel=1e-3)


def test_every_family_ships_a_checkpoint_to_reverify():
    """At least one shipped run per family that has shipped runs keeps its model.pt, so the
    test above re-verifies a run of every loss; it fails when none is shipped."""
    shipped = _shipped()
    assert shipped, "the shipped quick Experiment 1 is missing (results/nll-vs-gan-quick)"
    fams = {p.name.rsplit("-seed", 1)[0] for p in shipped}
    with_model = {p.name.rsplit("-seed", 1)[0] for p in shipped if (p / "model.pt").exists()}
    assert fams == with_model


def test_bits_per_dim_get_one_number_format_in_the_summary_and_the_run_table():
    """Three decimals for a density model's bits/dim, none for an adversarial flow's
    thousands; missing and infinite values do not decide it."""
    from flowlib.studies.nll_vs_gan import bpd_decimals
    assert bpd_decimals([1.523, 1.540, None, float("inf")]) == 3
    assert bpd_decimals([1.5, 7048.0]) == 0
    assert bpd_decimals([]) == 3
