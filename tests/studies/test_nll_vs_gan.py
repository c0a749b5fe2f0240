"""Experiment 1 end to end at smoke, and the shipped quick study reproduced from its files."""
from __future__ import annotations

import json
import math

import pytest

from flowlib.core.paths import RESULTS
from flowlib.studies import nll_vs_gan as exp1


@pytest.mark.slow
def test_nll_vs_gan_study_end_to_end_at_smoke(tmp_path, capsys):
    from flowlib.cli import main
    args = ["experiment", "nll-vs-gan", "--preset", "smoke", "--seeds", "3", "--out", str(tmp_path)]
    assert main(args) == 0
    runs = exp1.load(tmp_path)
    assert [(r.loss, r.seed) for r in runs] == [("nll", 3), ("nsgan", 3), ("hybrid", 3)]
    for r in runs:
        assert r.outcome == "done" and r.final is not None
        assert set(r.grids) == {0, 15, 30}           # the same fixed noise at every check
        steps, fid = r.series("fid")
        assert list(steps) == [0, 15, 30] and all(math.isfinite(v) for v in fid)
        assert r.final["lenet"]["n"] == 500 and math.isfinite(r.final["test_bpd"])
        argv = json.loads((r.directory / "job.json").read_text())["argv"]
        assert ("--lr" in argv) == (r.loss != "nll") and ("--hybrid-lambda" in argv) == (r.loss == "hybrid")
    # the three losses of a seed start from the same initialisation
    first = [r.series("fid")[1][0] for r in runs]
    assert first[0] == first[1] == first[2]
    assert set(exp1.findings(runs)) == {"F1 (LeNet-FID)", "F1 (Inception-FID)",
                                        "F1 (LeNet-FID, against hybrid (λ·NLL + NSGAN))",
                                        "F2 (from initialisation)"}
    assert "| NLL | 1 |" in exp1.markdown_table(runs)
    capsys.readouterr()
    assert main(args) == 0                            # rerun: everything skipped
    out = capsys.readouterr().out
    assert out.count("skipped (finished)") == 3


def _shipped():
    root = RESULTS / "nll-vs-gan-quick"
    return sorted(p.parent for p in root.glob("*/final.json"))


def test_shipped_nll_vs_gan_runs_are_complete_and_made_by_the_study():
    """Every shipped run is a finished job of the quick study, with provenance and final figures
    (the study is resumable: seeds are shipped as they finish, whole seeds at a time)."""
    from flowlib.studies.registry import study_jobs
    assert _shipped(), "the shipped quick Experiment 1 is missing (results/nll-vs-gan-quick)"
    runs = exp1.load(RESULTS / "nll-vs-gan-quick")
    _, jobs = study_jobs("nll-vs-gan", "quick", (0, 1, 2))
    argv = {j.name: list(j.argv) for j in jobs}
    seeds = {r.seed for r in runs}
    assert sorted((r.loss, r.seed) for r in runs) == sorted(
        (l, s) for l in ("nll", "nsgan", "hybrid") for s in seeds)
    for r in runs:
        assert json.loads((r.directory / "job.json").read_text())["argv"] == argv[r.name]
        assert r.manifest["commit"] and r.manifest["device"] and r.manifest["wall_time_s"] > 0
        assert r.final is not None or r.outcome == "diverged", r.name


@pytest.mark.parametrize("run_dir", _shipped(), ids=lambda p: p.name)
def test_shipped_final_checkpoint_reproduces_its_figures(run_dir):
    """The shipped model.pt gives the recorded subset bits/dim and LeNet-FID (same seeds)."""
    from flowlib.metrics.final import subset_figures
    from flowlib.models.realnvp import RealNVP
    final = json.loads((run_dir / "final.json").read_text())
    got = subset_figures(RealNVP.load(run_dir / "model.pt"), final["subset_images"])
    assert got["subset_test_bpd"] == pytest.approx(final["subset_test_bpd"], rel=1e-4)
    assert got["subset_lenet_fid"] == pytest.approx(final["subset_lenet_fid"], rel=1e-3)
