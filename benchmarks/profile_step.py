"""Where a quick training step's time goes (issue 36): a benchmark that prints measured numbers.

    flock /tmp/flowlib-cpu.lock python benchmarks/profile_step.py [--size tiny --lr 5e-3 \
        --batch-size 32] [--steps 100] [--threads 1 2] [--write]

For each thread count it builds the run exactly as ``flowlib train --preset quick`` does (the
:class:`flowlib.training.Trainer`, in a throwaway folder), takes ``--warmup`` steps, then times
``--steps`` steps of :meth:`Trainer.optimizer_step` split into its parts, in the method's own
order and with its own objects:

- ``batch``: the next training batch (uint8 MNIST, a random permutation);
- ``forward``: the loss, i.e. dequantisation noise, the logit map, every coupling layer and
  its log-determinant, the prior (one bucket: the log-determinant is computed beside each
  transform, as in normflows and nflows, so it cannot be timed apart without changing the code);
- ``backward``; ``clip`` (the gradient norm and clipping); ``adam`` (the optimiser step);
  ``schedule``; ``ema`` (the weight average);

and, outside the training clock (the 15-minute budget counts optimiser steps only, so these cost
wall time, not bits/dim), the loop's other work per 100 steps: the log row (with the distance
travelled in parameter space), the validation check (every ``eval_every`` steps) and the
checkpoint (every ``checkpoint_every`` steps or 2 minutes), each measured once and amortised.
The whole ``optimizer_step`` is timed too, interleaved with the split one, so the split's
overhead (the timers' synchronisation) is visible. ``torch.profiler``'s ten most expensive
operators of forward and backward follow.

Run it alone on the machine: other jobs change every number. ``--write`` stores the table in
``results/realnvp-step-profile/profile.json`` with the machine's description.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlib import training as T  # noqa: E402
from flowlib.core.manifest import write_benchmark  # noqa: E402
from flowlib.core.paths import results_root  # noqa: E402

PARTS = ("batch", "forward", "backward", "clip", "adam", "schedule", "ema")


def split_step(tr: T.Trainer, clock: dict) -> None:
    """One :meth:`Trainer.optimizer_step`, its parts timed into ``clock`` (seconds)."""
    t = time.perf_counter

    def tick(name, t0):
        now = t()
        clock[name] += now - t0
        return now
    t0 = t()
    batch = tr.next_batch().to(tr.device)
    t0 = tick("batch", t0)
    lr = tr.opt.param_groups[0]["lr"]
    tr.loss_fn.set_lr_factor(lr / tr.cfg.lr)
    value, _ = tr.loss_fn.loss(tr.model, batch, tr.step, tr.noise_gen)
    t0 = tick("forward", t0)
    tr.opt.zero_grad(set_to_none=True)
    value.backward()
    t0 = tick("backward", t0)
    torch.nn.utils.clip_grad_norm_(tr.model.parameters(), tr.cfg.grad_clip)
    t0 = tick("clip", t0)
    tr.opt.step()
    t0 = tick("adam", t0)
    tr.sched.step()
    t0 = tick("schedule", t0)
    if tr.ema is not None:
        tr.ema.update(tr.model, tr.step)
    tick("ema", t0)
    tr.step += 1


def profile(cfg: T.TrainConfig, threads: int, steps: int, warmup: int) -> dict:
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = T.mnist_data(cfg)
        tr = T.Trainer(cfg, Path(tmp) / "run", T.make_loss("nll"), data, seed=0, preset="quick",
                       progress=False)
        tr.initialize() if tr.step == 0 else None
        tr.model.train()
        for _ in range(warmup):
            tr.optimizer_step()
        clock = dict.fromkeys(PARTS, 0.0)
        whole = 0.0
        for i in range(steps):   # interleaved: the split and the plain step see the same machine
            split_step(tr, clock)
            t0 = time.perf_counter()
            tr.optimizer_step()
            whole += time.perf_counter() - t0
        per100 = {k: 100 * v / steps for k, v in clock.items()}
        t0 = time.perf_counter()
        tr.param_distance()
        log_row = time.perf_counter() - t0
        t0 = time.perf_counter()
        tr.evaluate()
        tr.model.train()
        check = time.perf_counter() - t0
        t0 = time.perf_counter()
        tr.checkpoint()
        ckpt = time.perf_counter() - t0
        ckpt_every = min(cfg.checkpoint_every, 120 * steps / max(whole, 1e-9))   # steps
        outside = {"log row": log_row * 100 / cfg.log_every,
                   "validation check": check * 100 / cfg.eval_every,
                   "checkpoint": ckpt * 100 / ckpt_every}
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(10):
                tr.optimizer_step()
        ops = [(e.key, e.self_cpu_time_total / 1e6 * 10) for e in prof.key_averages()]  # s per 100 steps
        ops = sorted(ops, key=lambda x: -x[1])[:10]
        tr._unlock()
    return {"threads": threads, "steps": steps, "batch_size": cfg.batch_size,
            "split_s_per_100": per100, "split_total_s_per_100": sum(per100.values()),
            "step_s_per_100": 100 * whole / steps,
            "img_per_s": cfg.batch_size * steps / whole,
            "outside_clock_s_per_100": outside, "top_ops_s_per_100": ops}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    cfg = T.PRESETS["quick"]
    for k in ("size", "lr", "batch_size"):
        if getattr(args, k) is not None:
            cfg = dataclasses.replace(cfg, **{k: getattr(args, k)})
    t0 = time.time()
    out = []
    for th in args.threads:
        r = profile(cfg, th, args.steps, args.warmup)
        out.append(r)
        print(f"\n{cfg.size}, batch {cfg.batch_size}, {th} thread(s): {r['img_per_s']:.0f} images/s "
              f"(plain step {r['step_s_per_100']:.2f} s per 100 steps; split {r['split_total_s_per_100']:.2f})")
        total = r["split_total_s_per_100"]
        for k, v in r["split_s_per_100"].items():
            print(f"  {k:10s} {v:7.3f} s/100 steps  {100 * v / total:5.1f}%")
        for k, v in r["outside_clock_s_per_100"].items():
            print(f"  {k:18s} {v:7.3f} s/100 steps (wall, outside the training clock)")
        print("  top operators (forward + backward + step, self time):")
        for k, v in r["top_ops_s_per_100"]:
            print(f"    {k:40s} {v:7.3f} s/100 steps")
    if args.write:
        path = write_benchmark(results_root("realnvp-step-profile"), "profile.json",
                               {"config": dataclasses.asdict(cfg), "profiles": out},
                               config=vars(args), wall_time_s=time.time() - t0,
                               threads=max(args.threads))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
