"""Synthetic MNIST: the known teacher, deterministic data, exact densities and KL identities."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

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
    shutil.copytree(S.TEACHER_DIR, fake)
    m = json.loads((fake / "manifest.json").read_text())
    m["results"]["model_sha256"] = "0" * 64
    (fake / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(S.SyntheticError, match="does not match its manifest"):
        S.Teacher.load(fake)


@pytest.mark.slow
def test_nash_study_end_to_end_at_smoke(tmp_path, capsys):
    from flowlib.cli import main
    from flowlib.studies.runner import collect
    from flowlib.training.metrics_file import read_metrics
    args = ["experiment", "nash", "--preset", "smoke", "--seeds", "0", "--out", str(tmp_path)]
    assert main(args) == 0
    runs = collect(tmp_path)
    assert sorted(m["name"] for m in runs) == sorted(
        f"{m}-{d}-seed0" for m in ("nsgan", "nsgan-pretrained-d", "nll") for d in ("finite", "stream"))
    for m in runs:
        rows = read_metrics(tmp_path / m["name"])
        checks = [r for r in rows if "kl" in r]
        assert [r["step"] for r in checks] == [0, 15, 30]
        assert abs(checks[0]["kl"]) < 0.05          # it starts *at* the teacher (nats/image)
        assert all(r["kl"] is not None and r["kl"] > -3 * r["kl_se"] - 1e-9 for r in checks)
        pre = [r for r in rows if r.get("event") == "disc_pretrain"]
        assert bool(pre) == ("pretrained" in m["name"])
        assert m["results"]["outcome"] == "done"
    assert main(args) == 0
    assert capsys.readouterr().out.count("skipped (finished)") == 6


def test_shipped_nash_runs_are_study_jobs_that_start_at_the_teacher():
    from flowlib.core.paths import RESULTS
    from flowlib.studies import nash
    from flowlib.studies.registry import study_jobs
    root = RESULTS / "nash-quick"
    assert any(root.glob("*/manifest.json")), "the shipped quick Nash study is missing (results/nash-quick)"
    _, jobs = study_jobs("nash", "quick", (0, 1, 2))
    argv = {j.name: list(j.argv) for j in jobs}
    runs = nash.load(root)
    seeds = {r.seed for r in runs}
    assert sorted(r.name for r in runs) == sorted(n for n in argv if int(n.rsplit("seed", 1)[1]) in seeds)
    for r in runs:
        assert json.loads((r.directory / "job.json").read_text())["argv"] == argv[r.name]
        assert r.manifest["commit"] and r.manifest["results"]["outcome"] == "done"
        assert abs(nash.value_at(r, "kl", 0)) < 0.01          # the student starts as the teacher
        # a shipped teacher, current or retired, made it
        assert S.Teacher.by_sha256(r.rows[0]["teacher_sha256"]).sha256 == r.rows[0]["teacher_sha256"]
