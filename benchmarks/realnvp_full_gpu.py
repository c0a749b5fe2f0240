"""Benchmark (prints measured numbers; not a test): the `full` Real NVP preset on a GPU.

    python benchmarks/realnvp_full_gpu.py --minutes 5 --out runs/bench-realnvp-full

The same code path as ``python -m flowlib train --preset full --device cuda``: the `full`
preset's model (size ``large``), batch, learning rate, warm-up, EMA and clipping, with the
preset's 200k-step schedule replaced by a cosine schedule fitted to a training clock of
``--minutes`` (evaluation time excluded), because a lent GPU is held for minutes, not hours.
Weight snapshots at fixed fractions of the clock; test bits/dim of each on all 10k test
images, evaluated after training on the same GPU. Writes ``benchmark.json`` (the curve,
throughput, steps, device) beside the run. Say in any report what else shared the GPU.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlib import training as T  # noqa: E402
from flowlib.core.devices import resolve_device  # noqa: E402
from flowlib.data.mnist import load_mnist  # noqa: E402
from flowlib.core.manifest import device_description, git_commit  # noqa: E402
from flowlib.core.paths import REPO_ROOT  # noqa: E402
from flowlib.models.realnvp import RealNVP, bits_per_dim  # noqa: E402

FRACTIONS = (0.2, 0.4, 0.6, 0.8)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="training clock")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "bench-realnvp-full")
    ap.add_argument("--dry-run", action="store_true",
                    help="a tiny model and few images: checks the script on a CPU in a minute")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    marks = tuple(round(f * args.minutes, 3) for f in FRACTIONS)
    cfg = dataclasses.replace(T.PRESETS["full"], minutes=args.minutes, max_steps=None,
                              snapshot_minutes=marks)
    if args.dry_run:
        cfg = dataclasses.replace(cfg, size="micro", val_images=200, quality_images=200,
                                  eval_every=20, quality_every=20, test_images=200)
    run = args.out / "flowlib"
    if run.exists():
        import shutil
        shutil.rmtree(run)
    print(f"torch {torch.__version__} on {device_description(device)}; full preset with a "
          f"{args.minutes:g}-minute clock: {cfg}", flush=True)
    t0 = time.time()
    T.train(cfg, run, seed=args.seed, preset="full", progress=False, device=device)
    wall = time.time() - t0
    test = load_mnist("test").images[:cfg.test_images]
    curve = {}
    for m in marks:
        snap = run / f"snapshot-{m:g}min.pt"
        if snap.exists():  # absent if training ended before that mark of the clock
            curve[f"{m:g}"] = bits_per_dim(RealNVP.load(snap).to(device), test)
    final = RealNVP.load(run / T.MODEL).to(device)
    rows = T.read_metrics(run)
    clock = max(r.get("train_seconds", 0) for r in rows) / 60
    curve[f"{clock:.3g}"] = bits_per_dim(final, test)
    ips = sorted(r["img_per_s"] for r in rows if "img_per_s" in r)
    steps = max(r.get("step", 0) for r in rows)
    vals = [(r["step"], r["val_bpd"]) for r in rows if r.get("val_bpd") is not None]
    fids = [(r["step"], r["fid"]) for r in rows if "fid" in r]
    report = {"preset": "full", "size": cfg.size, "parameters": final.num_parameters(),
              "batch": cfg.batch_size, "lr": cfg.lr, "minutes": args.minutes, "steps": steps,
              "epochs": steps * cfg.batch_size / 50000, "test_bpd": curve,
              "val_bpd": vals, "lenet_fid": fids, "train_img_per_s_median": ips[len(ips) // 2],
              "wall_seconds": round(wall, 1), "device": device_description(device),
              "torch": torch.__version__, **git_commit()}
    (args.out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    print("test bits/dim: " + ", ".join(f"{m} min {v:.4f}" for m, v in curve.items())
          + f"; {steps} steps ({report['epochs']:.1f} epochs), median "
          f"{report['train_img_per_s_median']:.0f} img/s; target <= 1.05", flush=True)


if __name__ == "__main__":
    main()
