"""The fair fight's search: stated, deterministic, the same size on both sides, and a
selection that never picks a dead generator."""
from pathlib import Path

from flowlib.studies import nll_vs_gan as S
from flowlib.studies.results import Run


def test_search_is_deterministic_and_the_same_size_on_both_sides():
    a, b = S.search_configs("quick"), S.search_configs("quick")
    assert a == b
    families = [cfg["loss"] for _, cfg in a]
    assert families.count("nll") == families.count("nsgan") + families.count("wgan-gp") == 24
    jobs = S.search_jobs("quick")
    assert len({j.name for j in jobs}) == len(jobs) == 48
    assert all("--steps" in j.argv and j.argv[j.argv.index("--steps") + 1] == "1000" for j in jobs)


def test_search_draws_stay_inside_the_stated_space():
    for _, cfg in S.search_configs("quick"):
        if cfg["loss"] == "nll":
            assert 3e-4 <= cfg["lr"] <= 5e-3 and cfg["warmup-steps"] in (0, 100, 200)
        else:
            assert 3e-5 <= cfg["lr"] <= 1e-3 and cfg["gan-beta1"] in (0.0, 0.5, 0.9)
        if cfg["loss"] == "wgan-gp":
            assert cfg["d-steps"] == 5 and cfg["gan-beta2"] == 0.9


def _run(name, family, fid, grad, classes, outcome="done"):
    rows = [{"event": "start", "step": 0}, {"step": 1000, "grad_norm": grad},
            {"step": 1000, "fid": fid, "classes_covered": classes}]
    return Run(name, family, 0, Path("/nonexistent"), {"results": {"outcome": outcome}}, rows, None,
               spec={"family": family})


def test_selection_takes_the_lowest_validation_fid_among_live_generators():
    runs = [_run("a", "nsgan", 300.0, 0.0, 10),       # lowest FID, but its gradient is gone
            _run("b", "nsgan", 400.0, 0.5, 3),        # collapsed to 3 classes
            _run("c", "nsgan", 500.0, 0.5, 10),
            _run("d", "nsgan", 450.0, 0.5, 9),
            _run("e", "nll", 700.0, 2.0, 10, outcome="diverged"),
            _run("f", "nll", 800.0, 2.0, 10)]
    assert S.select(runs, "nsgan").name == "d"
    assert S.select(runs, "nll").name == "f"
    assert S.select(runs, "wgan-gp") is None


def test_every_searched_configuration_is_a_valid_command():
    from flowlib.cli import build_parser
    from flowlib.training.cli import _config_from_args
    parser = build_parser()
    for job in S.search_jobs("quick"):
        args = parser.parse_args([*job.argv, "--out", "unused"])
        cfg = _config_from_args(args)
        assert cfg.max_steps == 1000 and cfg.lr == job.spec["config"]["lr"]


def test_the_reported_distribution_counts_every_finished_configuration_and_marks_the_dead():
    runs = [_run("a", "nsgan", 300.0, 0.0, 10), _run("b", "nsgan", 400.0, 0.5, 3),
            _run("c", "nsgan", 500.0, 0.5, 10), _run("f", "nll", 800.0, 2.0, 10),
            _run("e", "nll", 700.0, 2.0, 10, outcome="diverged")]
    rows = S.search_rows(runs)
    assert [r["name"] for r in rows] == ["e", "f", "a", "b", "c"]      # family, then FID
    assert {r["name"]: r["alive"] for r in rows} == {"a": False, "b": False, "c": True,
                                                     "e": False, "f": True}
    from flowlib.book.nll_vs_gan import search_summary   # the table is the book layer's
    table = search_summary(rows, "quick")
    assert "| nsgan | 3 / 16 | 1 | 400 (300–500) | 500 (500–500) |" in table
    assert "| nll | 2 / 24 | 1 |" in table and "| wgan-gp | 0 / 8 | 0 | — |" in table


def test_the_hybrid_sweep_and_the_final_runs_follow_the_selection():
    import pytest
    from flowlib.cli import build_parser
    from flowlib.studies.runner import StudyError
    nsgan = {"loss": "nsgan", "lr": 3.14e-05, "d-lr": 0.000126, "gan-beta1": 0.5, "d-steps": 2,
             "r1": 1.0}
    sweep = S.hybrid_sweep_jobs("quick", nsgan)
    parser = build_parser()
    lams = []
    for j in sweep:
        a = parser.parse_args([*j.argv, "--out", "x"])
        assert a.loss == "hybrid" and a.lr == 3.14e-05 and a.r1 == 1.0 and a.d_steps == 2
        lams.append(a.hybrid_lambda)
    assert lams == sorted(lams) and lams[0] == 0.05 and lams[-1] >= 100   # up to Flow-GAN's
    with pytest.raises(StudyError, match="No selected configuration for wgan-gp"):
        S.final_jobs("quick", {"nll": {"lr": 2e-3}, "nsgan": nsgan, "hybrid": {"hybrid-lambda": 5}})
    selected = {"nll": {"loss": "nll", "lr": 0.00306, "no-ema": True}, "nsgan": nsgan,
                "wgan-gp": {"loss": "wgan-gp", "lr": 3e-4, "d-steps": 5, "gan-beta2": 0.9},
                "hybrid": {**{k: v for k, v in nsgan.items() if k != "loss"}, "hybrid-lambda": 5.0}}
    jobs = S.final_jobs("quick", selected)
    assert len(jobs) == 4 * 3
    for j in jobs:
        a = parser.parse_args([*j.argv, "--out", "x"])
        assert a.steps == 6000 and a.loss == j.spec["family"]
        assert a.lr == selected[j.spec["family"]]["lr"]


def test_nothing_is_selected_from_part_of_a_search(tmp_path, monkeypatch):
    import json

    import pytest
    from flowlib.studies.runner import StudyError
    monkeypatch.setenv("FLOWLIB_RESULTS", str(tmp_path))
    done = tmp_path / "nll-vs-gan-search-quick" / "nll-c00"
    done.mkdir(parents=True)
    (done / "manifest.json").write_text('{"config": {}, "results": {"outcome": "done"}}')
    (done / "metrics.jsonl").write_text("")
    # a family is selected from all of its own configurations, never from part of them
    with pytest.raises(StudyError, match="23 of 24 configurations of nll-vs-gan-search have "
                                         "not finished"):
        S.selections("quick")
    with pytest.raises(StudyError, match="23 of 24"):   # smoke reads the quick search
        S.selections("smoke")
    with pytest.raises(StudyError, match="23 of 24"):   # no final run from part of a search
        S.fair_fight_jobs("quick")
    with pytest.raises(StudyError, match="8 of 8"):
        S.fair_fight_jobs("quick", families=("wgan-gp",))
    # NSGAN's selection (for the hybrid sweep) waits for the NSGAN configurations only
    for call in (S.selected_nsgan, S.hybrid_jobs):
        with pytest.raises(StudyError, match="16 of 16 configurations"):
            call("quick")
    search = tmp_path / "nll-vs-gan-search-quick"
    for j in S.search_jobs("quick"):
        if j.spec["family"] == "nsgan":
            (search / j.name).mkdir()
            (search / j.name / "manifest.json").write_text('{"config": {}, "results": {"outcome": "done"}}')
            (search / j.name / "job.json").write_text(json.dumps({"spec": {"family": "nsgan"},
                                                                  "argv": list(j.argv)}))
            (search / j.name / "metrics.jsonl").write_text("")
    with pytest.raises(StudyError, match="No NSGAN configuration of the search is alive"):
        S.selected_nsgan("quick")      # finished, but these constructed runs logged nothing
    # a run left by another configuration under a stated job's name is refused, by name
    (search / "nsgan-c03" / "job.json").write_text(json.dumps({"spec": {"family": "nsgan"},
                                                                "argv": ["train", "--lr", "1"]}))
    with pytest.raises(StudyError, match="nsgan-c03 .* ran another configuration"):
        S.selected_nsgan("quick")


def test_a_finished_family_is_selected_while_another_family_still_searches(tmp_path, monkeypatch):
    """WGAN-GP's final runs may start once every WGAN-GP configuration has finished, from
    the lowest validation FID among its live ones, while NLL's search still runs."""
    import json

    import pytest
    from flowlib.studies.runner import StudyError
    monkeypatch.setenv("FLOWLIB_RESULTS", str(tmp_path))
    search = tmp_path / "nll-vs-gan-search-quick"
    wgan = [j for j in S.search_jobs("quick") if j.spec["family"] == "wgan-gp"]
    for i, j in enumerate(wgan):
        (search / j.name).mkdir(parents=True)
        (search / j.name / "manifest.json").write_text('{"config": {}, "results": {"outcome": "done"}}')
        (search / j.name / "job.json").write_text(json.dumps({"spec": j.spec, "argv": list(j.argv)}))
        # c03 has the lowest FID but ended with 3 classes: dead, so c05 (next lowest) is chosen
        fid, classes = {3: (100.0, 3), 5: (200.0, 10)}.get(i, (300.0 + i, 10))
        rows = [{"step": 1000, "grad_norm": 1.0},
                {"step": 1000, "fid": fid, "classes_covered": classes}]
        (search / j.name / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    jobs = S.fair_fight_jobs("quick", families=("wgan-gp",))
    assert [j.name for j in jobs] == ["wgan-gp-seed0", "wgan-gp-seed1", "wgan-gp-seed2"]
    assert all(j.spec["config"] == wgan[5].spec["config"] for j in jobs)
    with pytest.raises(StudyError, match="23 of 24|24 of 24"):   # NLL's search is unfinished
        S.fair_fight_jobs("quick")


def test_shipped_hybrid_sweep_runs_are_the_sweeps_jobs_with_the_selected_nsgan_flags():
    import json
    from flowlib.core.paths import results_root
    root = results_root("nll-vs-gan-hybrid-quick")
    shipped = sorted(root.glob("*/manifest.json"))
    assert shipped, "the shipped hybrid sweep is missing (results/nll-vs-gan-hybrid-quick)"
    stated = {j.name: list(j.argv) for j in S.hybrid_jobs("quick")}
    nsgan = S.selected_nsgan("quick")
    for m in shipped:
        job = json.loads((m.parent / "job.json").read_text())
        assert job["argv"] == stated[m.parent.name]
        assert {k: v for k, v in job["spec"]["config"].items() if k not in ("loss", "hybrid-lambda")} == \
            {k: v for k, v in nsgan.items() if k != "loss"}


def test_the_dead_nsgan_configurations_saturate_their_output_sigmoid():
    """The chapter's account of why 11 of 16 NSGAN configurations died, re-measured from the
    shipped weights: the dead ones (c05, c06) put almost every pixel of their samples in the
    flat ends of the flow's output sigmoid, the live selections of NSGAN and WGAN-GP a minority
    (mostly black background), and NLL configurations almost none."""
    from flowlib.core.paths import results_root
    rows = {r["name"]: r for r in S.saturated_shares(results_root("nll-vs-gan-search-quick"))}
    assert {"nsgan-c05", "nsgan-c06", "nsgan-c12", "wgan-gp-c05"} <= set(rows), \
        "the shipped weights of the search's dead and selected runs are missing"
    for dead in ("nsgan-c05", "nsgan-c06"):
        assert rows[dead]["saturated"] > 0.95 and not rows[dead]["alive"]
    for live in ("nsgan-c12", "wgan-gp-c05"):
        assert 0.1 < rows[live]["saturated"] < 0.6 and rows[live]["alive"]
        assert rows[live]["black"] > 0.9     # the chapter: mostly black background
    assert all(r["saturated"] < 0.01 for n, r in rows.items() if n.startswith("nll"))
