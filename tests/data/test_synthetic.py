"""Synthetic MNIST: the known teacher, deterministic data, exact densities and KL identities."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from flowlib.core.paths import results_root
from flowlib.data import synthetic as S
from flowlib.metrics import likelihood as L
from flowlib.models.realnvp import RealNVP, RealNVPConfig, bits_per_dim


@pytest.fixture(scope="module")
def teacher():
    return S.Teacher.load()


@pytest.fixture
def fresh_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_teacher_reproduces_its_recorded_bits_per_dim(teacher):
    from flowlib.data.mnist import load_mnist
    rec = teacher.manifest["results"]
    assert teacher.temperature == rec["temperature"] <= 1.0
    n = rec["test_subset_images"]
    got = bits_per_dim(teacher.model, load_mnist("test").images[:n], seed=0)
    assert got == pytest.approx(rec["test_bpd_subset"], abs=1e-4)


def test_synthetic_splits_are_deterministic_prefixes_with_exact_log_densities(teacher, fresh_cache):
    a = S.synthetic_mnist("validation", 600, teacher)
    assert a.images.shape == (600, 1, 28, 28) and a.images.dtype == torch.float32
    assert a.log_p.dtype == torch.float64
    lo, hi = teacher.model.support()
    assert lo < float(a.images.min()) and float(a.images.max()) < hi
    shutil.rmtree(fresh_cache)                      # regenerate from nothing: identical
    b = S.synthetic_mnist("validation", 300, teacher)
    assert torch.equal(b.images, a.images[:300]) and torch.equal(b.log_p, a.log_p[:300])
    again = S.synthetic_mnist("validation", 600, teacher)   # extends the cache, same prefix
    assert torch.equal(again.images, a.images) and torch.equal(again.log_p, a.log_p)
    # stored densities are the teacher's own log_prob of the stored images
    recomputed = torch.cat([teacher.log_prob(a.images[i:i + 500]) for i in range(0, 600, 500)])
    assert torch.allclose(recomputed, a.log_p, rtol=1e-6, atol=1e-3)
    assert not torch.equal(S.synthetic_mnist("test", 300, teacher).images, b.images)


def test_bad_inputs(teacher, tmp_path, fresh_cache):
    with pytest.raises(S.SyntheticError, match="holds 10,000 samples"):
        S.synthetic_mnist("test", 10_001, teacher)
    with pytest.raises(S.SyntheticError, match="Unknown split"):
        S.synthetic_mnist("holdout", 10, teacher)
    data = S.synthetic_mnist("test", 50, teacher)
    odd = RealNVP(RealNVPConfig(image_shape=(1, 8, 8), scales=2, checkerboard=1, channelwise=1,
                                last=1, width=8, blocks=1))
    with pytest.raises(S.SyntheticError, match="image_shape"):
        L.kl_to_teacher(odd, data)
    other_alpha = RealNVP(RealNVPConfig(checkerboard=1, channelwise=1, last=1, width=8, blocks=1,
                                        alpha=0.0))
    with pytest.raises(S.SyntheticError, match="must lie in this model's support"):
        L.kl_to_teacher(other_alpha, data)
    fake = tmp_path / "teacher"
    shutil.copytree(S.teacher_dir(), fake)
    m = json.loads((fake / "manifest.json").read_text())
    m["results"]["model_sha256"] = "0" * 64
    (fake / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(S.SyntheticError, match="does not match its manifest"):
        S.Teacher.load(fake)


NASH_SMOKE = ("nsgan-reference-lr0.0001-seed0", "nll-reference-lr0.0001-seed0",
              "nsgan-pretrained-d-lr0.0001-seed0")


@pytest.mark.slow
def test_nash_study_jobs_end_to_end_at_smoke(tmp_path, capsys):
    """Three jobs of the design through the study's own command: dense checks, both exact KLs,
    the pre-trained discriminator where the variant has one, and a rerun that skips."""
    from flowlib.cli import main
    from flowlib.studies import nash
    from flowlib.studies.runner import collect
    from flowlib.training.metrics_file import read_metrics

    def job(name):
        return main(["job", "nash", "--preset", "smoke", "--seeds", "0", "--root", str(tmp_path),
                     "--job", name])
    for name in NASH_SMOKE:
        assert job(name) == 0
    runs = collect(tmp_path)
    assert sorted(m["name"] for m in runs) == sorted(NASH_SMOKE)
    for m in runs:
        rows = read_metrics(tmp_path / m["name"])
        checks = [r for r in rows if "kl" in r]
        assert [r["step"] for r in checks] == [0, 10, 15, 20, 30]   # dense to 20, then every 15
        assert abs(checks[0]["kl"]) < 0.05 and abs(checks[0]["reverse_kl"]) < 0.05  # at the teacher
        assert all(r["kl"] is not None and r["kl"] > -3 * r["kl_se"] - 1e-9 for r in checks)
        # recorded at every check; None where infinite (a student sample beyond the teacher's
        # support, which even NLL's first steps at smoke size produce)
        assert all("reverse_kl" in r for r in checks)
        pre = [r for r in rows if r.get("event") == "disc_pretrain"]
        assert bool(pre) == ("pretrained" in m["name"])
        assert m["results"]["outcome"] == "done"
    assert nash.departures(nash.load(tmp_path))[0]["control"]   # the NSGAN runs find their control
    assert job(NASH_SMOKE[0]) == 0
    assert "skipped (finished)" in capsys.readouterr().out


NASH_SHIPPED = results_root("nash-quick")


def test_shipped_nash_runs_are_study_jobs_that_start_at_the_teacher():
    from flowlib.studies import nash
    from flowlib.studies.registry import study_jobs
    assert any(NASH_SHIPPED.glob("*/manifest.json")), "the shipped quick Nash study is missing (results/nash-quick)"
    _, jobs = study_jobs("nash", "quick", (0, 1, 2))
    argv = {j.name: list(j.argv) for j in jobs}
    teacher = S.Teacher.load()
    runs = nash.load(NASH_SHIPPED)
    # the verdicts read every cell in three seeds: a missing run is a missing result
    assert sorted(r.name for r in runs) == sorted(argv), sorted(set(argv) - {r.name for r in runs})
    for r in runs:
        assert json.loads((r.directory / "job.json").read_text())["argv"] == argv[r.name]
        assert r.manifest["commit"] and r.manifest["results"]["outcome"] in ("done", "diverged")
        assert abs(nash.value_at(r, "kl", 0)) < 0.05           # the student starts as the teacher
        assert r.rows[0]["teacher_sha256"] == teacher.sha256    # made with the current teacher


def test_shipped_nash_models_reproduce_their_exact_kl_both_ways():
    """The shipped weights of the NSGAN and NLL runs at the reference rate (seed 0) give the
    forward and reverse exact KL their runs recorded at their last check."""
    from flowlib.metrics.likelihood import kl_to_teacher, reverse_kl
    from flowlib.models.realnvp import RealNVP
    from flowlib.training.metrics_file import read_metrics
    models = sorted(NASH_SHIPPED.glob("*/model.pt"))
    assert {p.parent.name for p in models} >= {"nsgan-reference-lr0.0001-seed0",
                                                "nll-reference-lr0.0001-seed0"}, models
    for path in models:
        rows = read_metrics(path.parent)
        start = next(r for r in rows if r.get("event") == "start")
        last = [r for r in rows if r.get("kl") is not None][-1]
        assert last["step"] == start["train"]["max_steps"]
        teacher = S.Teacher.by_sha256(start["teacher_sha256"])
        student = RealNVP.load(path)
        fwd = kl_to_teacher(student, S.synthetic_mnist("test", start["kl_images"], teacher))
        rev = reverse_kl(student, teacher.model, start["kl_images"], seed=0)
        # the same samples and weights on the same kind of CPU: arithmetic noise only
        assert abs(fwd.value - last["kl"]) <= 1e-3 * max(1.0, abs(last["kl"])), (path, fwd, last)
        if last["reverse_kl"] is None:     # recorded as infinite: a sample beyond the teacher's support
            assert rev.value == float("inf"), (path, rev)
        else:
            assert abs(rev.value - last["reverse_kl"]) <= 1e-3 * max(1.0, abs(last["reverse_kl"])), (path, rev, last)


def test_draw_redraws_samples_on_the_edge_and_counts_them():
    """A teacher whose sampler puts constructed rows on the support's edge: they are drawn
    again until none is, and ``counts`` records the first draws on the edge, their pixels and
    every redraw."""
    teacher = S.Teacher(RealNVP(RealNVPConfig(image_shape=(1, 8, 8), scales=2, checkerboard=1,
                                              channelwise=1, last=1, width=8, blocks=1)))
    lo, hi = teacher.model.support()
    batches = [torch.full((4, 1, 8, 8), 0.5), torch.full((2, 1, 8, 8), 0.5),
               torch.full((1, 1, 8, 8), 0.25)]
    batches[0][1, 0, 0, :3] = hi          # row 1: three pixels on the upper edge
    batches[0][3, 0, 5, 5] = lo           # row 3: one on the lower edge
    batches[1][0, 0, 2, 2] = lo - 0.1     # the first redraw of row 1 lands beyond it again
    calls = []

    def sample(n, generator=None, clamp=True):
        calls.append(n)
        return batches[len(calls) - 1][:n].clone()
    teacher.model.sample = sample
    counts = {"draws": 10, "edge_samples": 1, "edge_pixels": 1, "redraws": 1}   # accumulates
    x = teacher.draw(4, torch.Generator(), counts)
    assert calls == [4, 2, 1]
    assert counts == {"draws": 14, "edge_samples": 3, "edge_pixels": 5, "redraws": 4}
    assert float(x.min()) > lo and float(x.max()) < hi
    assert torch.equal(x[1], batches[2][0]) and torch.equal(x[3], batches[1][1])


def test_edge_rate_uncertainty_on_constructed_counts():
    from flowlib.studies.teacher import _binomial
    none = _binomial(0, 1000)
    assert none["rate"] == 0 and none["ci95"][0] == 0
    assert none["upper95"] == pytest.approx(1 - 0.05 ** (1 / 1000))        # about 3 / n
    assert none["ci95"][1] == pytest.approx(1 - 0.025 ** (1 / 1000))
    some = _binomial(12, 70_000)
    assert some["se"] == pytest.approx((12 / 70_000 * (1 - 12 / 70_000) / 70_000) ** 0.5)
    assert some["ci95"][0] < some["rate"] < some["upper95"] < some["ci95"][1]
