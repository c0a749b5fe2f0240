"""Benchmark (prints measured numbers; not a test): how much compute the quick target's
15 CPU-minutes hold, and what bits/dim the shipped Real NVP runs reached per unit of compute.

    flock /tmp/flowlib-cpu.lock python benchmarks/compute_budget.py [--out DIR]

1. This CPU's float32 matrix-multiply rate (2048x2048 ``torch.mm``, best of 5), a practical
   ceiling for what convolutions can reach on it.
2. For every named Real NVP size: parameters, training FLOPs per image (forward + backward of
   ``-log_prob``, counted by ``torch.utils.flop_counter`` at batch 64: convolutions and matrix
   products, the elementwise work is not counted), and the training throughput measured here
   (Adam steps at batch 64), hence the FLOP rate reached and its fraction of the ceiling.
3. The compute frontier of the shipped runs: for each test bits/dim snapshot of
   ``results/realnvp-size-sweep``, ``results/realnvp-quick-benchmark``,
   ``results/realnvp-lr-sweep`` and ``results/realnvp-full-gpu``, the images seen by then
   (from the run's own metrics) times the size's FLOPs per image, against the 15-CPU-minute
   budget.
4. With normflows installed (``requirements-bench.txt``), the same FLOP count for its Real NVP
   at the issue's best stable setting (~60k parameters) and at flowlib's quick parameter count.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlib.data.mnist import load_mnist  # noqa: E402
from flowlib.core.paths import results_root  # noqa: E402
from flowlib.models.realnvp import SIZES, RealNVP  # noqa: E402

BATCH = 64
BUDGET_S = 15 * 60
TARGET = 1.40


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def train_flops_per_image(loss_fn, x) -> float:
    with FlopCounterMode(display=False) as fc:
        loss_fn(x).backward()
    return fc.get_total_flops() / len(x)


def train_img_per_s(model, loss_fn, x, seconds: float) -> float:
    """Adam steps at batch ``len(x)`` for about ``seconds`` after two warm-up steps."""
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    steps, t0 = -2, None
    while True:
        if steps == 0:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(x).backward()
        opt.step()
        steps += 1
        if t0 is not None and steps >= 1 and time.perf_counter() - t0 >= seconds:
            return steps * len(x) / (time.perf_counter() - t0)


def images_seen(metrics: Path, minutes: float, batch: int = BATCH) -> float:
    """Images trained on by ``minutes`` of training clock, interpolated from the run's
    metrics lines (``step`` against ``train_seconds``)."""
    pts = [(0.0, 0)]
    for line in metrics.read_text().splitlines():
        r = json.loads(line)
        if "train_bpd" in r and "train_seconds" in r:
            pts.append((r["train_seconds"], r["step"]))
    t = minutes * 60
    for (t0, s0), (t1, s1) in zip(pts, pts[1:]):
        if t0 <= t <= t1:
            return batch * (s0 + (s1 - s0) * (t - t0) / max(t1 - t0, 1e-9))
    return batch * pts[-1][1]  # a snapshot after the last line: the run's final step


def shipped_curves():
    """(run, size, device, {minute: test bpd}, metrics path, batch) of the shipped NLL runs."""
    sweep = results_root("realnvp-size-sweep")
    summary = json.loads((sweep / "summary.json").read_text())
    for size in ("tiny", "medium"):
        yield (f"size sweep ({size})", size, "CPU", summary[size]["test_bpd"],
               sweep / f"{size}-metrics.jsonl", BATCH)
    q = results_root("realnvp-quick-benchmark")
    bench = json.loads((q / "benchmark.json").read_text())
    yield ("quick benchmark (small)", bench["flowlib"]["size"], "CPU",
           bench["flowlib"]["test_bpd"], q / "flowlib-metrics.jsonl", bench["batch"])
    lrs = results_root("realnvp-lr-sweep")
    for path in sorted(lrs.glob("*-benchmark.json")):
        bench = json.loads(path.read_text())
        f = bench["flowlib"]
        label = f"lr sweep ({f['size']}, lr {f['lr']:g}" + (
            f", batch {bench['batch']})" if bench["batch"] != BATCH else ")")
        yield (label, f["size"], "CPU", f["test_bpd"],
               path.with_name(path.name.replace("-benchmark.json", "-metrics.jsonl")),
               bench["batch"])
    g = results_root("realnvp-full-gpu")
    bench = json.loads((g / "benchmark.json").read_text())
    yield ("full preset (large)", bench["size"], bench["device"], bench["test_bpd"],
           g / "metrics.jsonl", bench["batch"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="timing window per size")
    ap.add_argument("--out", type=Path, default=None, help="write budget.json and the log here")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    x = load_mnist("train").images[:BATCH]
    peak = matmul_gflops()
    say(f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; float32 2048^3 matmul: {peak:.1f} GFLOP/s")
    say()
    say(f"{'size':8} {'params':>11} {'GFLOP/img':>10} {'img/s':>7} {'GFLOP/s':>8} "
        f"{'of matmul':>9} {'15-min TFLOP':>12}")
    sizes = {}
    for name in ("tiny", "small", "medium", "base", "large"):
        model = RealNVP(SIZES[name])
        def loss_fn(b, m=model):
            return -m.log_prob(b).mean()
        with torch.no_grad():
            loss_fn(x[:16])  # ActNorm's data-dependent initialisation, outside the count
        f = train_flops_per_image(loss_fn, x)
        ips = train_img_per_s(model, loss_fn, x, args.seconds)
        rate = f * ips / 1e9
        sizes[name] = dict(parameters=model.num_parameters(),
                           train_gflop_per_image=f / 1e9, img_per_s=ips, gflop_per_s=rate,
                           fraction_of_matmul=rate / peak)
        say(f"{name:8} {sizes[name]['parameters']:>11,} {f / 1e9:>10.3f} {ips:>7.1f} "
            f"{rate:>8.1f} {rate / peak:>9.0%} {rate * BUDGET_S / 1e3:>12.1f}")
    best_rate = max(s["gflop_per_s"] for s in sizes.values())
    budget = best_rate * BUDGET_S / 1e3
    ceiling = peak * BUDGET_S / 1e3
    say()
    say(f"15 CPU-minutes hold {budget:.0f} TFLOP at the best rate measured above, "
        f"{ceiling:.0f} TFLOP at the matmul rate.")

    say()
    say(f"{'shipped run':32} {'device':14} {'min':>5} {'images':>9} {'TFLOP':>8} "
        f"{'x budget':>8} {'test bpd':>8}")
    frontier = []
    for run, size, device, curve, metrics, batch in shipped_curves():
        f = sizes[size]["train_gflop_per_image"]
        for minute, bpd in curve.items():
            n = images_seen(metrics, float(minute), batch)
            tflop = n * f / 1e3
            frontier.append(dict(run=run, size=size, device=device, minutes=float(minute),
                                 images=n, tflop=tflop, budget_multiple=tflop / budget,
                                 test_bpd=bpd))
            say(f"{run:32} {device:14} {float(minute):>5.1f} {n:>9,.0f} {tflop:>8.1f} "
                f"{tflop / budget:>8.2f} {bpd:>8.3f}")
    within = [p for p in frontier if p["tflop"] <= budget * 1.05]
    best_within = min(within, key=lambda p: p["test_bpd"])
    reached = [p for p in frontier if p["test_bpd"] <= 1.45]
    say()
    say(f"Best test bits/dim within the budget (+5%): {best_within['test_bpd']:.3f} "
        f"({best_within['run']}, {best_within['tflop']:.0f} TFLOP). Target: {TARGET}.")
    for p in reached:
        say(f"{p['run']} reached {p['test_bpd']:.3f} only after {p['tflop']:.0f} TFLOP = "
            f"{p['budget_multiple']:.0f}x the budget ({p['tflop'] / ceiling:.0f}x at the "
            "matmul rate).")

    nf = {}
    if importlib.util.find_spec("normflows") is None:
        say("\nnormflows not installed: its FLOP count is skipped.")
    else:
        import benchmarks.realnvp_quick as rq
        say()
        for label, target in (("best stable (~60k params)", 60_000),
                              ("flowlib quick params", sizes["small"]["parameters"])):
            hidden = rq.matched_normflows(target)[0]
            m = rq.normflows_model(hidden)
            g = torch.Generator().manual_seed(0)
            f = train_flops_per_image(lambda b: -rq.nf_log_prob_uint8(m, b, g).mean(), x)
            nf[label] = dict(hidden=hidden, parameters=rq.n_params(m),
                             train_gflop_per_image=f / 1e9)
            say(f"normflows {label}: hidden {hidden}, {rq.n_params(m):,} parameters, "
                f"{f / 1e9:.3f} GFLOP per training image")

    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "budget.json").write_text(json.dumps(dict(
            matmul_gflop_per_s=peak, threads=torch.get_num_threads(), torch=torch.__version__,
            batch=BATCH, budget_seconds=BUDGET_S, budget_tflop=budget,
            ceiling_tflop=ceiling, sizes=sizes, frontier=frontier, normflows=nf), indent=1))
        (args.out / "log.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
