"""The study ``teacher``: the synthetic-MNIST teacher made from a long Real NVP run.

``python -m flowlib teacher build --source RUN --replace``, ``python -m flowlib teacher show``
and ``python -m flowlib teacher edge-rate`` (:func:`write_edge_rate`).
The teacher itself (loading, sampling, its exact density, the cached splits) is
:mod:`flowlib.data.synthetic`; this module turns a finished training run into
``results/teacher/``: the weights with their SHA-256 and the base temperature chosen by
:data:`RULE`, and everything a reader needs to judge the teacher, each re-verified by the
tests (``tests/data/test_synthetic.py``).

**The temperature rule, fixed before the long run finished** (and not changed after):
sample 2 000 images at each base temperature of :data:`TEMPERATURES` (the same noise seed for
all), compute their LeNet-FID against the 10 000 MNIST *validation* digits, and take the
temperature of lowest FID. Test digits are never used to choose; the shipped quality figures
are then measured on 10 000 fresh samples against MNIST *test*.

**The aims** (the realistic-teacher issue), reported as met or not, never tuned towards:
LeNet-FID of 10 000 samples against MNIST test at most 150, mean classifier confidence at
least 0.95, no class above 15% of the samples, all 10 classes present (:data:`AIMS`).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from flowlib.core.images import image_grid, to_png
from flowlib.core.manifest import provenance, write_manifest
from flowlib.core.paths import REPO_ROOT, atomic_write_bytes, sha256_file
from flowlib.data.mnist import load_mnist
from flowlib.data.synthetic import (CHUNK, SPLIT_MAX, SPLIT_SEEDS, SyntheticError,
                                    Teacher, synthetic_mnist, teacher_dir)
from flowlib.metrics.fid import classify_with_confidence, fid
from flowlib.metrics.likelihood import bpd_256, teacher_entropy
from flowlib.models.flows import evaluating
from flowlib.models.realnvp import RealNVP, bits_per_dim
from flowlib.training.metrics_file import METRICS, read_metrics

TEMPERATURES = tuple(round(0.5 + 0.05 * k, 2) for k in range(11))  # 0.50, 0.55, ..., 1.00
SCAN_IMAGES = 2000
QUALITY_IMAGES = 10_000
SUBSET = 2000  # samples / images the tests recompute figures on
RULE = ("lowest LeNet-FID of 2 000 samples (noise seed 0) against the 10 000 MNIST validation "
        "digits over base temperatures 0.50, 0.55, ..., 1.00")
AIMS = {"lenet_fid_max": 150.0, "confidence_min": 0.95, "class_share_max": 0.15, "classes": 10}
EDGE_RATE_FILE = "edge-rate.json"
EDGE_RATE_COMMAND = "python -m flowlib teacher edge-rate"


def temperature_scan(model: RealNVP, temperatures=TEMPERATURES, n: int = SCAN_IMAGES,
                     seed: int = 0, reference: str = "mnist-validation",
                     n_reference: int | None = None) -> list[dict]:
    """LeNet-FID, precision/recall and class coverage of ``n`` samples at each base temperature
    (the same noise for every temperature), against ``reference`` (``n_reference`` of its
    images; None: :func:`~flowlib.metrics.fid.fid`'s default, as many as ``n``)."""
    rows = []
    for t in temperatures:
        m = model.with_base_temperature(t)
        g = torch.Generator().manual_seed(seed)
        with evaluating(m):
            r = fid(lambda b: m.sample(b, generator=g), reference=reference, n=n, pr_n=n,
                    n_reference=n_reference)
        rows.append({"temperature": float(t), "lenet_fid": r.fid, "precision": r.precision,
                     "recall": r.recall, "classes_covered": r.classes_covered,
                     "class_entropy": r.class_entropy})
    return rows


def choose_temperature(scan: list[dict]) -> float:
    """:data:`RULE`: the scanned temperature of lowest LeNet-FID (the first on a tie)."""
    return min(scan, key=lambda r: r["lenet_fid"])["temperature"]


def sample_quality(model: RealNVP, n: int = QUALITY_IMAGES, seed: int = 1) -> dict:
    """How MNIST-like ``n`` samples of ``model`` are: LeNet-FID, precision/recall against
    MNIST test, the classifier's mean confidence, the class histogram (shares), and whether each
    of :data:`AIMS` is met. Samples are clipped to [0, 1] for the classifier, as for FID."""
    g = torch.Generator().manual_seed(seed)
    with evaluating(model):
        x = torch.cat([model.sample(min(1000, n - i), generator=g) for i in range(0, n, 1000)])
    r = fid(x, reference="mnist-test", n=n, pr_n=n)
    pred, conf = classify_with_confidence(x)
    shares = (torch.bincount(pred, minlength=10).double() / n).tolist()
    out = {"n": n, "seed": seed, "lenet_fid": r.fid, "precision": r.precision, "recall": r.recall,
           "mean_confidence": float(conf.mean()), "class_shares": shares,
           "max_class_share": max(shares), "classes_present": sum(s > 0 for s in shares)}
    out["aims_met"] = {
        "lenet_fid": out["lenet_fid"] <= AIMS["lenet_fid_max"],
        "confidence": out["mean_confidence"] >= AIMS["confidence_min"],
        "class_balance": out["max_class_share"] <= AIMS["class_share_max"],
        "classes": out["classes_present"] == AIMS["classes"]}
    return out


def real_reference(n: int = QUALITY_IMAGES) -> dict:
    """The same figures for real digits: MNIST validation against MNIST test (the floor)."""
    x = load_mnist("validation").images[:n].float() / 255
    r = fid(x, reference="mnist-test", n=n, pr_n=n)
    _, conf = classify_with_confidence(x)
    return {"n": n, "lenet_fid": r.fid, "precision": r.precision, "recall": r.recall,
            "mean_confidence": float(conf.mean())}


def training_record(run: Path) -> dict:
    """Steps, training minutes, device and the FID-over-training curve of the source run."""
    rows = read_metrics(run)
    start = next(r for r in rows if r.get("event") == "start")
    timed = [r for r in rows if "train_seconds" in r and "img_per_s" in r]
    curve = [{"step": r["step"], "train_minutes": round(r["train_seconds"] / 60, 2),
              "val_bpd": r.get("val_bpd"), "lenet_fid_T1": r["fid"]}
             for r in rows if "fid" in r and not r.get("event")]
    return {"steps": timed[-1]["step"], "train_minutes": round(timed[-1]["train_seconds"] / 60, 1),
            "wall_minutes": round(timed[-1]["wall_seconds"] / 60, 1), "device": start.get("device"),
            "threads": (start.get("train") or {}).get("threads"), "train": start.get("train"),
            "fid_curve": curve}


def build_teacher(run, dest: Path | None = None, *, replace: bool = False,
                  temperatures=TEMPERATURES, command: str | None = None,
                  training_command: str | None = None) -> dict:
    """Make ``dest/`` from a finished training run directory ``run`` (its ``model.pt``, the
    EMA weights, and ``metrics.jsonl``): the base temperature by :data:`RULE`, the weights and
    their SHA-256, test bits/dim on all 10 000 test digits, H(teacher) with its standard error,
    the temperature scan, sample quality against the :data:`AIMS`, sample grids beside real
    digits, and how often its draws reach the support's edge (:func:`write_edge_rate`).
    Refuses to replace an existing teacher unless ``replace`` (every synthetic data set is
    defined by it)."""
    run, dest = Path(run), Path(dest) if dest is not None else teacher_dir()
    if (dest / "model.pt").exists() and not replace:
        raise SyntheticError(f"{dest} already holds a teacher; every synthetic data set is "
                             "defined by it. Pass --replace to build another in its place.")
    t0 = time.time()
    trained = RealNVP.load(run / "model.pt")
    scan = temperature_scan(trained, temperatures)
    t = choose_temperature(scan)
    model = trained.with_base_temperature(t).eval()
    dest.mkdir(parents=True, exist_ok=True)
    model.save(dest / "model.pt")
    teacher = Teacher.from_file(dest / "model.pt")
    test = load_mnist("test").images
    # H(teacher) from the synthetic test split (10 000 teacher samples, cached)
    data = synthetic_mnist("test", 10_000, teacher)
    h, h_sub = teacher_entropy(data), teacher_entropy(synthetic_mnist("test", SUBSET, teacher))
    quality = sample_quality(model)
    g = torch.Generator().manual_seed(2)
    with evaluating(model):
        grid = model.sample(100, generator=g)
    atomic_write_bytes(dest / "samples.png", to_png(image_grid(grid, nrow=10)))
    atomic_write_bytes(dest / "real.png", to_png(image_grid(test[:100], nrow=10)))
    atomic_write_bytes(dest / "training-metrics.jsonl", (run / METRICS).read_bytes())
    manifest = write_manifest(
        dest, config={"source": _shown(run), "rule": RULE, "temperatures": list(temperatures),
                      "scan_images": SCAN_IMAGES, "aims": AIMS, "command": command,
                      "training": {**training_record(run), "command": training_command}},
        seed=0, wall_time_s=time.time() - t0, model_sha256=sha256_file(dest / "model.pt"),
        temperature=t, parameters=model.num_parameters(), size=model.config.name,
        test_bpd=bits_per_dim(model, test, seed=0), test_images=len(test),
        test_bpd_at_T1=bits_per_dim(trained, test, seed=0),
        test_bpd_subset=bits_per_dim(model, test[:SUBSET], seed=0), test_subset_images=SUBSET,
        entropy={"nats": h.value, "se": h.se, "n": h.n, "bits_per_dim": bpd_256(-h.value),
                 "bits_per_dim_se": h.se / (784 * math.log(2)), "split": "test",
                 "subset_nats": h_sub.value, "subset_n": h_sub.n},
        temperature_scan=scan, quality=quality, quality_subset=sample_quality(model, n=SUBSET),
        real_reference=real_reference())
    write_edge_rate(Teacher.load(dest), dest)
    return manifest


def edge_rate(teacher: Teacher, splits=("test", "validation", "train")) -> dict:
    """How often a teacher draw lands on the edge of the support and is drawn again
    (:meth:`Teacher.draw`), counted on exactly the draws that make the synthetic splits: each
    split's :data:`~flowlib.data.synthetic.SPLIT_MAX` samples, chunk by chunk from the split's
    own generators, as :func:`~flowlib.data.synthetic.synthetic_mnist` makes them (the cache is
    neither read nor written). Per split and in total: the draws, how many of them reached the
    edge (``edge_samples``), their pixels on it, the redraws made (repeats included), and the
    smallest distance of a kept pixel to the edge, each also chunk by chunk. The rate is
    ``edge_samples / draws`` with its binomial standard error, its exact (Clopper-Pearson) 95%
    interval and one-sided 95% upper bound; with none on the edge, the bound is what to quote."""
    lo, hi = teacher.model.support()
    per_split = {}
    for split in splits:
        counts, chunks, closest = {}, [], []
        for i in range(SPLIT_MAX[split] // CHUNK):
            g = torch.Generator().manual_seed(SPLIT_SEEDS[split] * 1_000_003 + i)
            before = counts.get("edge_samples", 0)
            x = teacher.draw(CHUNK, g, counts)
            chunks.append(counts["edge_samples"] - before)
            closest.append(float(torch.minimum(x - lo, hi - x).min()))
        per_split[split] = {**counts, **_binomial(counts["edge_samples"], counts["draws"]),
                            "closest_to_edge": min(closest), "chunk_edge_samples": chunks,
                            "chunk_closest_to_edge": closest}
    total = {k: sum(r[k] for r in per_split.values())
             for k in ("draws", "edge_samples", "edge_pixels", "redraws")}
    total.update(_binomial(total["edge_samples"], total["draws"]),
                 closest_to_edge=min(r["closest_to_edge"] for r in per_split.values()))
    return {"teacher_sha256": teacher.sha256, "chunk": CHUNK, "support": [lo, hi],
            "pixels_per_draw": teacher.dim, "splits": per_split, "total": total}


def _binomial(k: int, n: int) -> dict:
    """A binomial rate ``k / n``, its standard error, its exact (Clopper-Pearson) two-sided
    95% interval and its exact one-sided 95% upper bound (``1 - 0.05^(1/n)``, about 3/n, when
    ``k = 0``)."""
    from scipy import stats
    p = k / n
    ci_lo = 0.0 if k == 0 else float(stats.beta.ppf(0.025, k, n - k + 1))
    ci_hi = 1.0 if k == n else float(stats.beta.ppf(0.975, k + 1, n - k))
    upper = 1.0 if k == n else float(stats.beta.ppf(0.95, k + 1, n - k))
    return {"rate": p, "se": math.sqrt(p * (1 - p) / n), "ci95": [ci_lo, ci_hi],
            "upper95": upper}


def edge_rate_claim(record: dict) -> str:
    """The sentence that states the measured edge rate (``record``: the content of
    ``results/teacher/edge-rate.json``), as the code's docstring and the book quote it."""
    t = record["total"]
    n = f"{t['draws']:,}".replace(",", " ")
    splits = list(record["splits"])
    which = ("the three splits" if len(splits) == 3 else
             f"the {' and '.join(splits)} split{'s' * (len(splits) > 1)}")
    if t["edge_samples"] == 0:
        return (f"no draw of the {n} that make {which} reaches the edge, so "
                f"P(edge) < {t['upper95']:.1e} (exact one-sided 95% bound)")
    return (f"{t['edge_samples']} draws of the {n} that make {which} reach the edge: "
            f"P(edge) = {t['rate']:.1e} ± {t['se']:.1e} (95% interval {t['ci95'][0]:.1e} to "
            f"{t['ci95'][1]:.1e})")


def write_edge_rate(teacher: Teacher | None = None, directory: Path | None = None,
                    command: str = EDGE_RATE_COMMAND) -> dict:
    """Measure :func:`edge_rate` for ``teacher`` (default the shipped one) and write it to
    ``directory/edge-rate.json`` with its provenance (commit, machine, date, command)."""
    directory = Path(directory) if directory is not None else teacher_dir()
    teacher = teacher or Teacher.load(directory)
    t0 = time.time()
    record = edge_rate(teacher)
    record["claim"] = edge_rate_claim(record)
    record["command"] = command
    record["provenance"] = provenance(time.time() - t0)
    atomic_write_bytes(Path(directory) / EDGE_RATE_FILE,
                       (json.dumps(record, indent=1) + "\n").encode())
    return record


def _shown(path: Path) -> str:
    """Relative to the clone, else the bare name: a manifest never records a machine's folders."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return Path(path).name


def _cmd_teacher(args) -> int:
    if args.action == "build":
        m = build_teacher(Path(args.source), replace=args.replace,
                          command=f"python -m flowlib teacher build --source {args.source}",
                          training_command=args.training_command)
        print(json.dumps({k: v for k, v in m["results"].items() if k != "temperature_scan"}, indent=1))
    elif args.action == "edge-rate":
        rec = write_edge_rate()
        print(json.dumps(rec["total"], indent=1))
        print(f"{rec['claim']}; written to {_shown(teacher_dir() / EDGE_RATE_FILE)}")
    else:
        t = Teacher.load()
        res = t.manifest.get("results", {})
        print(f"teacher {t.model.config.name}, {t.model.num_parameters():,} parameters, "
              f"temperature {t.temperature}, sha256 {t.sha256}; test {res.get('test_bpd')} "
              f"bits/dim; H = {res.get('entropy', {}).get('nats')} nats/image")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("teacher", help="build or show the synthetic-MNIST teacher, or measure "
                                       "how often its draws reach the support's edge")
    p.add_argument("action", choices=["build", "show", "edge-rate"])
    p.add_argument("--source", default=str(REPO_ROOT / "runs" / "teacher-long"),
                   help="a finished training run (its directory: model.pt and metrics.jsonl)")
    p.add_argument("--training-command", default=None,
                   help="how the source run was made (recorded in the manifest)")
    p.add_argument("--replace", action="store_true",
                   help="build in place of the existing teacher (synthetic data sets change)")
    p.set_defaults(func=_cmd_teacher)
