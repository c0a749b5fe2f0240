"""Experiment 2 (misspecification) end to end at smoke: two students in parallel, resume, Slurm."""
from __future__ import annotations

import math

import pytest

from flowlib.core.paths import results_root
from flowlib.studies import misspecification as exp2


@pytest.mark.slow
def test_misspecification_study_two_jobs_in_parallel_then_skipped(tmp_path, capsys):
    """The whole design at smoke size (four students, two small sets and the control, the
    rates of the shipped search), two jobs at a time, then a rerun that skips them all."""
    from flowlib.cli import main
    args = ["experiment", "misspecification", "--preset", "smoke", "--seeds", "0",
            "--out", str(tmp_path), "--jobs", "2"]
    assert main(args) == 0
    runs = exp2.load(tmp_path)
    cells = [(exp2.student(r), exp2.train_size(r)) for r in runs]
    assert cells == [(s, n) for n in (0, 100, 300) for s in exp2.DESIGN_STUDENTS]
    lrs = exp2.searched_lrs("smoke")
    for r in runs:
        assert r.outcome == "done"
        assert r.manifest["device"].endswith(", 1 thread")  # each of 2 jobs on 2 cores: 1 thread
        assert r.manifest["results"]["parameters"] == r.rows[0]["parameters"]
        assert r.rows[0]["config"]["base_std"] == r.rows[0]["teacher_temperature"]  # teacher's family
        assert r.rows[0]["train"]["lr"] == lrs[exp2.student(r)]
        keys = ("val_bpd",) + (("train_eval_bpd",) if exp2.train_size(r) else ())
        for key in keys:
            steps, values = r.series(key)
            assert list(steps) == [0, 15, 30] and all(math.isfinite(v) for v in values), key
        for key in ("kl", "kl_se", "fid", "fid_se"):    # every fifth check, and the last
            steps, values = r.series(key)
            assert list(steps) == [0, 30] and all(math.isfinite(v) for v in values), key
    assert exp2.progress(runs) == (12, 36)               # the design has three seeds
    f = exp2.findings(runs)
    assert set(f) == {"F3", "F4 (n = 100)", "F4 (n = 300)", "F5", "F6 (n = 100)", "F6 (n = 300)"}
    assert all(v["status"].startswith("incomplete") for v in f.values())   # one seed of three
    from flowlib.book.overparameterised import f6_table
    assert "| medium | larger |" in f6_table(runs)
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().out.count("skipped (finished)") == 12


def test_misspecification_emits_a_slurm_array(tmp_path, capsys):
    from flowlib.cli import main
    out = tmp_path / "misspecification-smoke"
    assert main(["experiment", "misspecification", "--preset", "smoke", "--seeds", "0", "1",
                 "--out", str(out), "--emit", "slurm", "--partition", "gpu", "--account", "lab",
                 "--device", "cuda", "--time", "02:00:00"]) == 0
    folder = out.with_name("misspecification-smoke.slurm")
    text = (folder / "array.sh").read_text()
    assert "#SBATCH --array=0-23" in text                 # 4 students x (2 sizes + control) x 2 seeds
    for line in ("#SBATCH --requeue", "#SBATCH --gres=gpu:1", "#SBATCH --partition=gpu",
                 "#SBATCH --account=lab", "#SBATCH --time=02:00:00"):
        assert line in text, line
    assert "-m flowlib job misspecification --preset smoke --seeds 0 1" in text
    assert "--device cuda" in text and (folder / "logs").is_dir()
    assert "--dependency=afterok" in (folder / "submit.sh").read_text()
    assert "--collect" in (folder / "collect.sh").read_text()
    assert not out.exists()                                       # nothing ran here
    # on the CPU no GPU is asked for
    assert main(["experiment", "misspecification", "--preset", "smoke", "--seeds", "0",
                 "--out", str(tmp_path / "cpu"), "--emit", "slurm"]) == 0
    assert "--gres" not in (tmp_path / "cpu.slurm" / "array.sh").read_text()


def test_unknown_student_size_and_oversized_training_set_are_clear_errors(tmp_path, capsys):
    from flowlib.cli import main
    assert main(["train", "--preset", "smoke", "--size", "gigantic", "--data", "synthetic",
                 "--out", str(tmp_path / "a")]) == 2
    assert "Unknown Real NVP size 'gigantic'" in capsys.readouterr().err
    assert main(["train", "--preset", "smoke", "--data", "synthetic", "--train-size", "60000",
                 "--out", str(tmp_path / "b")]) == 2
    assert "holds 50,000 samples" in capsys.readouterr().err


SHIPPED = results_root("misspecification-quick")
SEARCH = results_root("misspecification-lr-quick")


def test_shipped_runs_are_the_designs_and_the_searchs_jobs_made_with_the_current_teacher():
    """The shipped study holds every one of the design's 52 runs, each made by its job's
    command with the current teacher; a design run at its student's selected rate once that
    student's search is complete (until then at one of the searched rates: the control's seed
    0 doubles as a search run)."""
    import json
    from flowlib.data.synthetic import Teacher
    from flowlib.studies.results import load_study
    searched = load_study(SEARCH)
    assert searched, "the shipped rate search is missing (results/misspecification-lr-quick)"
    assert any(SHIPPED.glob("*/manifest.json")), "the shipped quick study is missing (results/misspecification-quick)"
    chosen = exp2.select_lrs(searched)
    search_argv = {j.name: list(j.argv) for j in exp2.lr_search_jobs("quick")}
    sha = Teacher.load().sha256
    for r in searched:
        assert json.loads((r.directory / "job.json").read_text())["argv"] == search_argv[r.name]
    runs = exp2.load(SHIPPED)
    # every rule reads whole cells of seeds: a missing run is a missing result, not a smaller cell
    design = {j.name for j in exp2.design_jobs("quick", lrs={x: 1.0 for x in exp2.DESIGN_STUDENTS})}
    assert {r.name for r in runs} == design, sorted(design ^ {r.name for r in runs})
    for r in runs:
        s, lr = exp2.student(r), r.spec["lr"]
        assert lr == chosen[s] if s in chosen else lr in exp2.LR_SEARCH["lrs"], (r.name, lr, chosen)
        want = {j.name: list(j.argv) for j in exp2.design_jobs("quick", lrs={x: lr for x in exp2.DESIGN_STUDENTS})}
        assert json.loads((r.directory / "job.json").read_text())["argv"] == want[r.name]
    for r in [*searched, *exp2.load(SHIPPED)]:
        assert r.manifest["commit"] and r.manifest["results"]["outcome"] in ("done", "diverged")
        assert r.rows[0]["teacher_sha256"] == sha


def test_shipped_students_reproduce_their_kl():
    """The shipped model files give the exact KL to the teacher that their run recorded at its
    last check: the same weights and held-out samples, so only arithmetic may differ."""
    from flowlib.data.synthetic import Teacher, synthetic_mnist
    from flowlib.metrics.likelihood import kl_to_teacher
    from flowlib.models.realnvp import RealNVP
    from flowlib.training.metrics_file import read_metrics

    models = sorted([*SHIPPED.glob("*/model.pt"), *SEARCH.glob("*/model.pt")])
    assert models, "no shipped student weights under results/misspecification-quick or -lr-quick"
    for path in models:
        rows = read_metrics(path.parent)
        start = next(r for r in rows if r.get("event") == "start")
        last = [r for r in rows if r.get("kl") is not None][-1]
        assert last["step"] == max(r.get("step", 0) for r in rows)
        teacher = Teacher.by_sha256(start["teacher_sha256"])  # the teacher the run was made with
        est = kl_to_teacher(RealNVP.load(path), synthetic_mnist("test", start["kl_images"], teacher))
        assert abs(est.value - last["kl"]) <= 1e-3 * max(1.0, abs(last["kl"])), (path.parent.name, est, last["kl"])
        assert abs(est.se - last["kl_se"]) <= 1e-3 * max(1.0, last["kl_se"])
