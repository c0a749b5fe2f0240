"""The shipped teacher (``results/teacher/``) reproduces every number its manifest records."""
import json
import math

import pytest
import torch

from flowlib.data import synthetic as S
from flowlib.data.mnist import load_mnist
from flowlib.metrics.likelihood import teacher_entropy
from flowlib.models.realnvp import bits_per_dim
from flowlib.studies import teacher as study


@pytest.fixture(scope="module")
def teacher():
    return S.Teacher.load()


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOWLIB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def test_shipped_teacher_is_complete(teacher):
    for name in ("model.pt", "manifest.json", "samples.png", "real.png", "training-metrics.jsonl"):
        assert (S.teacher_dir() / name).exists(), name
    m = teacher.manifest
    assert m["config"]["rule"] == study.RULE and m["config"]["aims"] == study.AIMS
    assert not m["config"]["source"].startswith("/")
    tr = m["config"]["training"]
    assert tr["steps"] > 10_000 and tr["fid_curve"], "the teacher is a long run, with its FID curve"
    res = m["results"]
    assert res["test_images"] == 10_000 and res["entropy"]["n"] == 10_000


def test_shipped_teacher_temperature_follows_the_rule(teacher):
    scan = teacher.manifest["results"]["temperature_scan"]
    assert [r["temperature"] for r in scan] == list(study.TEMPERATURES)
    assert teacher.temperature == study.choose_temperature(scan)


def test_choose_temperature_takes_the_lowest_fid_and_the_first_on_a_tie():
    scan = [{"temperature": 1.0, "lenet_fid": 5.0}, {"temperature": 0.9, "lenet_fid": 3.0},
            {"temperature": 0.8, "lenet_fid": 3.0}, {"temperature": 0.7, "lenet_fid": 9.0}]
    assert study.choose_temperature(scan) == 0.9


def test_shipped_teacher_reproduces_its_test_bits_per_dim(teacher):
    res = teacher.manifest["results"]
    x = load_mnist("test").images[:res["test_subset_images"]]
    assert bits_per_dim(teacher.model, x, seed=0) == pytest.approx(res["test_bpd_subset"], abs=1e-5)


def test_shipped_teacher_reproduces_its_entropy(teacher, fresh_cache):
    e = teacher.manifest["results"]["entropy"]
    h = teacher_entropy(S.synthetic_mnist("test", e["subset_n"], teacher))
    assert h.value == pytest.approx(e["subset_nats"], rel=1e-7)
    # the full-split estimate and its standard error are consistent with the subset's
    assert abs(h.value - e["nats"]) < 5 * h.se and e["se"] == pytest.approx(h.se * math.sqrt(h.n / e["n"]), rel=0.2)


def test_shipped_teacher_quality_figures_are_consistent(teacher):
    q = teacher.manifest["results"]["quality"]
    assert q["n"] == 10_000 and sum(q["class_shares"]) == pytest.approx(1.0)
    assert q["max_class_share"] == max(q["class_shares"])
    assert q["aims_met"]["lenet_fid"] == (q["lenet_fid"] <= study.AIMS["lenet_fid_max"])
    assert q["aims_met"]["confidence"] == (q["mean_confidence"] >= study.AIMS["confidence_min"])


def test_shipped_teacher_reproduces_its_sample_quality(teacher):
    """2 000 fresh samples from the shipped weights give the recorded LeNet-FID, confidence and
    class shares (the 10 000-sample figures come from the same code with more samples)."""
    rec = teacher.manifest["results"]["quality_subset"]
    got = study.sample_quality(teacher.model, n=rec["n"], seed=rec["seed"])
    assert got["lenet_fid"] == pytest.approx(rec["lenet_fid"], rel=1e-4)
    assert got["mean_confidence"] == pytest.approx(rec["mean_confidence"], abs=1e-5)
    assert got["class_shares"] == pytest.approx(rec["class_shares"], abs=1e-9)


def _shipped_edge_rate() -> dict:
    path = S.teacher_dir() / study.EDGE_RATE_FILE
    assert path.exists(), (f"{path.name} is missing from results/teacher/: measure it with "
                           f"`{study.EDGE_RATE_COMMAND}`")
    return json.loads(path.read_text())


def test_shipped_edge_rate_is_the_current_teachers_with_its_provenance(teacher):
    rec = _shipped_edge_rate()
    assert rec["teacher_sha256"] == teacher.sha256, "measured on another teacher: remeasure"
    assert rec["command"] == study.EDGE_RATE_COMMAND
    prov = rec["provenance"]
    assert prov["commit"] and prov["device"] and prov["finished_utc"] and prov["wall_time_s"] > 0
    splits = rec["splits"]
    assert {s: r["draws"] for s, r in splits.items()} == S.SPLIT_MAX   # every draw of every split
    for r in [*splits.values(), rec["total"]]:
        assert r["redraws"] >= r["edge_samples"] and (r["edge_pixels"] > 0) == (r["edge_samples"] > 0)
        assert r["rate"] == r["edge_samples"] / r["draws"] and r["ci95"][0] <= r["rate"] <= r["ci95"][1]
        assert r["rate"] <= r["upper95"] <= r["ci95"][1]
    for s, r in splits.items():
        assert sum(r["chunk_edge_samples"]) == r["edge_samples"]
        assert len(r["chunk_edge_samples"]) == S.SPLIT_MAX[s] // rec["chunk"]
        assert min(r["chunk_closest_to_edge"]) == r["closest_to_edge"] > 0
    for k in ("draws", "edge_samples", "edge_pixels", "redraws"):
        assert rec["total"][k] == sum(r[k] for r in splits.values())


def test_shipped_edge_rate_reproduces_and_is_what_the_code_and_book_claim(teacher):
    """The first chunk of the test split redrawn here gives the recorded count; the claim in
    :meth:`Teacher.draw` (and the chapter, which prints :func:`study.edge_rate_claim`) is the
    one the shipped numbers make."""
    rec = _shipped_edge_rate()
    counts = {}
    g = torch.Generator().manual_seed(S.SPLIT_SEEDS["test"] * 1_000_003)
    x = teacher.draw(S.CHUNK, g, counts)
    first = {k: v[0] for k, v in rec["splits"]["test"].items() if k.startswith("chunk_")}
    assert counts["edge_samples"] == first["chunk_edge_samples"]
    lo, hi = teacher.model.support()
    assert float(torch.minimum(x - lo, hi - x).min()) == pytest.approx(
        first["chunk_closest_to_edge"], rel=1e-4)
    assert counts["draws"] == S.CHUNK
    claim = study.edge_rate_claim(rec)
    assert rec["claim"] == claim
    assert claim in " ".join(S.Teacher.draw.__doc__.split()), (
        "Teacher.draw's docstring must state the measured rate: " + claim)
    t = rec["total"]
    if "single pixel on the edge and was replaced at the first redraw" in " ".join(
            S.Teacher.draw.__doc__.split()):
        assert t["edge_pixels"] == t["edge_samples"] == t["redraws"], t
    # the log-density of the truncated teacher is off by -log(1 - P(edge)): below 1e-3 nats
    assert -math.log1p(-rec["total"]["upper95"]) < 1e-3
