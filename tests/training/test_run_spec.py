"""The typed run spec (issue 37): one description of a run for the API, the command line and
the job files. Round trip over every field; the loss's defaults applied in one place (the API
once trained WGAN-GP with 1 critic step and beta2 0.999, the CLI with Flow-GAN's 5 and 0.9);
job files of any flag order, or written before the spec, read as the same run."""
from __future__ import annotations

import dataclasses

import pytest

from flowlib.training.config import WGAN_GP_DEFAULTS
from flowlib.training.spec import RunSpec, SpecError, same_run

# a value other than the default for every field
OTHER = {"loss": "hybrid", "hybrid_lambda": 0.25, "preset": "smoke", "seed": 3,
         "data": "synthetic", "train_size": 500, "init": "teacher", "pretrain_disc": 7,
         "device": "cuda", "size": "tiny", "logit_alpha": 0.01, "minutes": 2.5, "steps": 123, "batch_size": 16,
         "lr": 3.3e-4, "threads": 2, "eval_every": 11, "quality_every": 22, "quality_images": 99,
         "gan_beta1": 0.1, "gan_beta2": 0.95, "d_lr": 1.23456789e-4, "d_steps": 2, "r1": 10.0,
         "gp_weight": 5.0, "spectral_norm": True, "d_start": "exact", "freeze_disc": True,
         "gen_beta1": 0.5, "warmup_steps": 0, "final_lr_frac": 1.0, "optimizer": "sgd",
         "dense_checks": (10, 200), "reverse_kl": True, "checkpoint_every": 50, "no_ema": True,
         "no_progress": True}


def test_other_covers_every_field():
    assert set(OTHER) == {f.name for f in dataclasses.fields(RunSpec)}
    assert all(OTHER[f.name] != f.default for f in dataclasses.fields(RunSpec))


@pytest.mark.parametrize("name", sorted(OTHER))
def test_every_field_round_trips_through_its_flags(name):
    spec = RunSpec(**{name: OTHER[name]})
    assert RunSpec.from_argv(spec.to_argv()) == spec
    assert spec.to_argv() != ["train"]          # it is written, not dropped


def test_all_fields_at_once_round_trip():
    spec = RunSpec(**OTHER)
    assert RunSpec.from_argv(spec.to_argv()) == spec


def test_wgan_gp_gets_flow_gans_settings_from_the_api_as_from_the_cli():
    cfg = RunSpec(loss="wgan-gp", preset="smoke").config()
    assert {k: getattr(cfg, k) for k in WGAN_GP_DEFAULTS} == WGAN_GP_DEFAULTS
    # a setting given wins over the loss's default
    assert RunSpec(loss="wgan-gp", preset="smoke", d_steps=2).config().d_steps == 2
    assert RunSpec(loss="nsgan", preset="smoke").config().d_steps == 1


def test_flag_order_does_not_make_another_run():
    a = ["train", "--loss", "nll", "--seed", "1", "--lr", "0.002", "--steps", "30"]
    b = ["train", "--steps", "30", "--lr", "2e-3", "--seed", "1"]
    assert same_run(a, b)
    assert not same_run(a, b[:-1] + ["2"])


def test_bad_flags_are_named():
    with pytest.raises(SpecError, match="--no-such-flag"):
        RunSpec.from_argv(["train", "--no-such-flag", "1"])
    with pytest.raises(SpecError, match="Cannot read"):
        RunSpec.from_argv(["train", "--seed", "one"])


def test_every_shipped_run_is_its_specs_config():
    """Behaviour unchanged: for every shipped run made by `flowlib train`, the settings its
    manifest recorded are what its command's spec resolves to (settings added since are at
    their defaults, so they are compared where recorded)."""
    import json

    from flowlib.core.paths import results_root
    checked = 0
    for command in sorted(results_root().glob("**/command.json")):
        argv = json.loads(command.read_text())["argv"]
        man = command.parent / "manifest.json"
        if not man.exists() or (argv and argv[0] not in ("train",) and argv[0].startswith("-") is False):
            continue
        recorded = json.loads(man.read_text())["config"].get("train")
        if recorded is None:
            continue
        now = dataclasses.asdict(RunSpec.from_argv(argv).config())
        diff = {k: (recorded[k], now[k]) for k in recorded if k in now and _norm(recorded[k]) != _norm(now[k])}
        assert not diff, (str(command.parent), diff)
        checked += 1
    assert checked >= 100, checked


def _norm(v):
    return list(v) if isinstance(v, tuple) else v


@pytest.mark.parametrize("loss", ["nll", "nsgan", "wgan-gp"])
def test_the_api_and_the_command_line_train_the_same_model(tmp_path, loss):
    """`RunSpec(...).train(out)` and `flowlib train` with the same flags: the same weights,
    bit for bit, and the same logged numbers (the old API trained WGAN-GP with 1 critic step
    and beta2 0.999, the command line with 5 and 0.9)."""
    import torch

    from flowlib.cli import main
    from flowlib.training.metrics_file import read_metrics
    spec = RunSpec(loss=loss, preset="smoke", steps=4, eval_every=2, quality_every=0,
                   threads=1, no_progress=True)
    assert main([*spec.to_argv(), "--out", str(tmp_path / "cli")]) == 0
    spec.train(tmp_path / "api")
    a, b = (torch.load(tmp_path / k / "model.pt", weights_only=False) for k in ("cli", "api"))
    a, b = (x.get("state_dict", x) if isinstance(x, dict) else x for x in (a, b))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a if torch.is_tensor(a[k]))
    timing = {"img_per_s", "train_seconds", "wall_seconds", "quality_seconds", "eval_seconds"}
    rows = [[{k: v for k, v in r.items() if k not in timing} for r in read_metrics(tmp_path / k)
             if r.get("event") != "start"] for k in ("cli", "api")]
    assert rows[0] == rows[1] and len(rows[0]) > 2
    if loss == "wgan-gp":
        start = next(r for r in read_metrics(tmp_path / "api") if r.get("event") == "start")
        assert start["train"]["d_steps"] == 5 and start["train"]["gan_beta2"] == 0.9


def test_a_job_file_from_before_the_spec_in_another_flag_order_is_the_same_run(tmp_path):
    import json

    from flowlib.studies.runner import Job, StudyError, job_state
    job = Job("a", ("train", "--loss", "nll", "--preset", "quick", "--lr", "0.002", "--seed", "1"))
    out = tmp_path / "a"
    out.mkdir()
    (out / "job.json").write_text(json.dumps({"argv": ["train", "--seed", "1", "--lr", "2e-3",
                                                       "--preset", "quick", "--loss", "nll"]}))
    (out / "manifest.json").write_text("{}")
    assert job_state(out, job) == "finished"
    (out / "job.json").write_text(json.dumps({"argv": ["train", "--seed", "2"]}))
    with pytest.raises(StudyError, match="another configuration"):
        job_state(out, job)
