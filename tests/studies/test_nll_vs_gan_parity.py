"""Experiment 1's compute table (issue 35) on constructed runs, and read from the shipped ones:
minutes and images per loss, the teacher as a compute-matched NLL row whose FID waits for its
evaluation, a table narrow enough for the book's column."""
from __future__ import annotations

import json
from pathlib import Path

from flowlib.core.paths import results_root
from flowlib.studies import nll_vs_gan as exp1
from flowlib.studies import nll_vs_gan_parity as P
from flowlib.studies.results import Run, load_study


def _run(name, loss, seed, minutes, d_steps=1, family=None, steps=6000):
    rows = [{"event": "start", "step": 0, "train": {"batch_size": 64, "d_steps": d_steps, "max_steps": steps}},
            {"step": steps, "fid": 100.0, "classes_covered": 10, "train_seconds": minutes * 60},
            {"step": steps, "grad_norm": 1.0}]
    return Run(name, loss, seed, Path("/nowhere") / name,
               {"results": {"outcome": "done", "steps": steps}}, rows,
               {"test_bpd": 1.5, "lenet": {"fid": 400.0 if loss == "nll" else 90.0, "n": 10_000,
                                           "classes_covered": 10}}, {},
               {"loss": loss, "seed": seed, **({"family": family} if family else {})})


def _teacher(tmp_path, evaluation=None):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"config": {"training": {"steps": 34_000, "train_minutes": 132.1, "train": {"batch_size": 64}}},
         "results": {"temperature": 0.9}}))
    if evaluation:
        (tmp_path / P.TEACHER_EVALUATION).write_text(json.dumps(evaluation))
    return tmp_path


def test_minutes_and_images_per_loss_and_the_teacher_placeholder(tmp_path):
    final = ([_run(f"nll-seed{s}", "nll", s, 20 + s) for s in range(3)]
             + [_run(f"wgan-gp-seed{s}", "wgan-gp", s, 60 + s, d_steps=5) for s in range(3)])
    search = ([_run(f"nll-c{i:02d}", "nll", 0, 5, family="nll", steps=1000) for i in range(4)]
              + [_run(f"wgan-gp-c{i:02d}", "wgan-gp", 0, 30, d_steps=5, family="wgan-gp", steps=1000)
                 for i in range(2)])
    rows = P.parity_rows(final, search, teacher=_teacher(tmp_path))
    nll, wgan, teacher = rows
    assert (nll["search_minutes"], nll["search_configs"], nll["final_minutes"]) == (20, 4, [20, 21, 22])
    assert (nll["real"], nll["generated"], nll["discriminator_real"]) == (384_000, 0, 0)
    assert (wgan["real"], wgan["generated"], wgan["discriminator_real"]) == (0, 384_000, 1_920_000)
    assert wgan["search_minutes"] == 60
    assert teacher["real"] == 34_000 * 64 and teacher["final_minutes"] == [132.1]
    table = P.parity_table(rows)
    lines = table.splitlines()
    assert len(lines) <= 2 + 8 and all(line.count("|") == 6 for line in lines)   # five columns
    assert "| NLL, 34 000 steps (the teacher) | to be measured | to be measured (T = 0.9) | —; 132 |" in table
    assert "D: 1 920k real (38.4 epochs)" in table and "384k real (7.7 epochs)" in table
    # once the teacher's evaluation is shipped, its cells are read from it
    shipped = P.parity_table(P.parity_rows(final, search, teacher=_teacher(
        tmp_path, {"lenet_fid_T1": 310.0, "lenet_fid_chosen": 280.0, "temperature": 0.9})))
    assert "| 310.0 | 280.0 (T = 0.9) |" in shipped


def test_the_chosen_temperature_column_waits_for_every_seed():
    final = [_run(f"nll-seed{s}", "nll", s, 20) for s in range(2)]
    reading = {"temperature": 0.8, "test": {"lenet": {"fid": 150.0}}}
    assert P.parity_rows(final, [], temperatures={"nll-seed0": reading})[0]["lenet_fid_chosen"] is None
    both = P.parity_rows(final, [], temperatures={"nll-seed0": reading, "nll-seed1": reading})
    assert both[0]["lenet_fid_chosen"] == [150.0, 150.0]
    assert "150.0 (T = 0.8, 0.8)" in P.parity_table(both)


def test_the_shipped_runs_minutes_and_images():
    """The figures the chapter's table shows, read from results/ (review notes, 2026-12-07:
    search NLL 175, NSGAN 150, WGAN-GP 264, hybrid 127 minutes; WGAN-GP's critic about 38
    epochs of real digits, NLL about 7)."""
    rows = {r["loss"]: r for r in P.parity_rows(
        exp1.load(results_root("nll-vs-gan-quick")), load_study(results_root("nll-vs-gan-search-quick")),
        load_study(results_root("nll-vs-gan-hybrid-quick")), results_root("teacher"))}
    assert {k: round(v["search_minutes"]) for k, v in rows.items() if v["search_minutes"] is not None} == {
        "nll": 175, "nsgan": 150, "wgan-gp": 264, "hybrid": 127}
    assert [round(m) for m in rows["nll"]["final_minutes"]] == [56, 25, 24]
    assert rows["wgan-gp"]["discriminator_real"] == 6000 * 5 * 64
    assert rows["nll"]["real"] == rows["nsgan"]["discriminator_real"] == 6000 * 64
    assert rows["teacher"]["real"] == 34_000 * 64 and rows["teacher"]["final_minutes"] == [132.1]


def test_the_teacher_evaluation_measures_both_temperatures_and_is_reused(tmp_path):
    """teacher_evaluation on a stand-in teacher (a tiny random Real NVP whose base std 0.9 is
    its 'chosen temperature'), at smoke (500 LeNet samples, no Inception): the two FIDs differ
    (the samples do), the file is what parity_rows reads, and a second call reuses it."""
    import dataclasses

    from flowlib.models.realnvp import RealNVP, RealNVPConfig
    cfg = dataclasses.replace(RealNVPConfig.named("tiny"), base_std=0.9)
    RealNVP(cfg).save(tmp_path / "model.pt")
    first = P.teacher_evaluation(tmp_path, "smoke")
    assert first["temperature"] == 0.9 and first["plan"]["lenet_images"] == 500
    assert first["lenet_T1"]["n"] == first["lenet_chosen"]["n"] == 500
    assert first["lenet_fid_T1"] != first["lenet_fid_chosen"]
    assert "inception_fid_T1" not in first                       # smoke's plan has no Inception
    assert P.teacher_evaluation(tmp_path, "smoke") == first       # the same weights: reused
    rows = P.parity_rows([], [], teacher=_teacher(tmp_path))
    assert rows[-1]["lenet_fid"] == [first["lenet_fid_T1"]]


def test_the_shipped_teacher_evaluation_is_the_teachers_and_reproduces():
    """The compute-matched row's figures: measured on the shipped teacher's weights, and its
    LeNet-FID at the chosen temperature re-measured from them (10 000 samples, the final noise
    seed; a tolerance, not bit for bit: the file may come from another CPU)."""
    import torch

    from flowlib.core.paths import sha256_file
    from flowlib.data.synthetic import teacher_dir
    from flowlib.metrics.fid import fid
    from flowlib.metrics.final import SAMPLE_SEED
    from flowlib.models.realnvp import RealNVP
    path = teacher_dir() / P.TEACHER_EVALUATION
    assert path.exists(), "the teacher's evaluation is missing (results/teacher/nll-vs-gan-evaluation.json)"
    ev = json.loads(path.read_text())
    assert ev["model_sha256"] == sha256_file(teacher_dir() / "model.pt")
    assert ev["lenet_chosen"]["n"] == ev["lenet_T1"]["n"] == 10_000
    model = RealNVP.load(teacher_dir() / "model.pt").eval()
    g = torch.Generator().manual_seed(SAMPLE_SEED)
    r = fid(lambda b: model.sample(b, generator=g), reference="mnist-test", n=10_000,
            precision_recall_k=None, coverage=False)
    assert abs(r.fid - ev["lenet_fid_chosen"]) < 1e-3 * ev["lenet_fid_chosen"], (r.fid, ev["lenet_fid_chosen"])
