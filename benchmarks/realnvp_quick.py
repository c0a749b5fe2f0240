"""Benchmark (prints measured numbers; not a test): the `quick` Real NVP on this CPU, side by
side with normflows 1.7.3 at the same parameter count and batch size, in one run.

    flock /tmp/flowlib-cpu.lock python benchmarks/realnvp_quick.py [--minutes 15] [--publish]

1. flowlib: the Real NVP chapter's quick setting (``flowlib.training.canonical_config("quick")``,
   the same code path as `python -m flowlib train`), training clock of
   ``--minutes``; weight snapshots at 2/5/10 minutes; test bits/dim of each (all 10k test
   images, evaluated after training, so evaluation time is not training time).
2. normflows, twice, one after the other: a ``MultiscaleFlow`` of checkerboard/channel
   ``AffineCouplingBlock``s with ``Logit(alpha)`` (flowlib's alpha: the same pre-processing, so
   the same bound), the same batch, Adam with the same warm-up and gradient clipping, its
   ``exp`` scale (its default), trained for the same training clock with a NaN guard; snapshots
   at the same minutes. (a) At flowlib's parameter count (hidden width matched within 10%) and
   flowlib's rate; (b) at its best stable setting (``--nf-best-params``, about 60k parameters,
   Adam 1e-3): normflows' larger models with the ``exp`` scale diverge or lag at this budget.
3. Raw training throughput of both at equal parameters, measured in alternating windows.

``--publish`` copies the flowlib run to ``results/realnvp-nll-quick`` (model, metrics, sample
grid, manifest). Requires ``pip install -r requirements-bench.txt --no-deps``.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlib import training as T  # noqa: E402
from flowlib.data.mnist import load_mnist  # noqa: E402
from flowlib.core.paths import REPO_ROOT, results_root  # noqa: E402
from flowlib.models.realnvp import LOG2, RealNVP, bits_per_dim  # noqa: E402

MARKS = (2, 5, 10)


# ------------------------------------------------------------------ normflows
def normflows_model(hidden: int, n_cb: int = 3, n_ch: int = 3, scale_map: str = "exp",
                    alpha: float = 0.05):
    """Real NVP in normflows: two levels (28x28 and 14x14), each checkerboard couplings,
    squeeze, channel couplings; final latent 8x7x7; DiagGaussian bases; Logit(alpha), the
    same pre-processing as flowlib's model (both score the same dequantised bound)."""
    import normflows as nf

    def block(c_cond, mode):
        net = nf.nets.ConvNet2d([c_cond, hidden, hidden, 2 * c_cond], [3, 1, 3],
                                leaky=0.0, init_zeros=True)
        return nf.flows.AffineCouplingBlock(net, scale=True, scale_map=scale_map,
                                            split_mode=mode)

    def level(c):  # c = channels entering the level (encode direction)
        enc = [block(c, "checkerboard" if i % 2 == 0 else "checkerboard_inv") for i in range(n_cb)]
        enc.append(nf.flows.Squeeze())  # our encode direction = normflows' inverse
        enc += [block(2 * c, "channel" if i % 2 == 0 else "channel_inv") for i in range(n_ch)]
        return list(reversed(enc))  # normflows lists flows in the sampling direction

    flows = [level(2), level(1)]      # index 0 = coarsest
    q0 = [nf.distributions.DiagGaussian((8, 7, 7)), nf.distributions.DiagGaussian((2, 14, 14))]
    merges = [nf.flows.Merge()]
    return nf.MultiscaleFlow(q0, flows, merges, transform=nf.transforms.Logit(alpha),
                             class_cond=False)


def nf_log_prob_uint8(model, x, gen):
    u = torch.rand(x.shape, generator=gen)
    y = (x.float() + u) / 256.0
    return model.log_prob(y, None) - 784 * math.log(256.0)


@torch.no_grad()
def nf_bpd(model, images, seed=0, bs=500):
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    tot = 0.0
    for i in range(0, len(images), bs):
        tot += float(nf_log_prob_uint8(model, images[i:i + bs], gen).double().sum())
    model.train()
    return -tot / len(images) / (784 * LOG2)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def matched_normflows(target: int):
    best = None
    for hidden in range(8, 513, 4):
        m = normflows_model(hidden)
        n = n_params(m)
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (hidden, n)
        if n > target * 1.2:
            break
    return best


def train_normflows(hidden, cfg: T.TrainConfig, minutes, seed, train_images, log, alpha=0.05):
    torch.manual_seed(seed)
    model = normflows_model(hidden, alpha=alpha)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    total = None
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: T.lr_factor(s, cfg.warmup_steps, total, cfg.final_lr_frac))
    data_gen = torch.Generator().manual_seed(seed * 1000 + 1)
    noise = torch.Generator().manual_seed(seed * 1000 + 2)
    perm, pos, step, t_train = torch.randperm(len(train_images), generator=data_gen), 0, 0, 0.0
    snaps, curve, diverged = {}, [], None
    win_imgs, win_t = 0, 0.0
    while t_train < minutes * 60:
        t0 = time.perf_counter()
        if pos + cfg.batch_size > len(perm):
            perm, pos = torch.randperm(len(train_images), generator=data_gen), 0
        xb = train_images[perm[pos:pos + cfg.batch_size]]
        pos += cfg.batch_size
        loss = -nf_log_prob_uint8(model, xb, noise).mean() / 784
        if not torch.isfinite(loss):
            diverged = step + 1
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        g = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if not torch.isfinite(g):
            diverged = step + 1
            break
        opt.step()
        sched.step()
        step += 1
        dt = time.perf_counter() - t0
        t_train += dt
        win_imgs += len(xb)
        win_t += dt
        if step == cfg.calibrate_steps:
            total = int(step + step / t_train * (minutes * 60 - t_train))
        for m in MARKS:
            if m not in snaps and t_train >= m * 60 * minutes / 15:
                snaps[m] = copy.deepcopy(model.state_dict())
        if step % 100 == 0:
            curve.append({"step": step, "train_bpd": float(loss) / LOG2,
                          "img_per_s": win_imgs / win_t, "train_seconds": t_train})
            win_imgs, win_t = 0, 0.0
            log(f"  normflows step {step}: train {float(loss) / LOG2:.3f} bpd, "
                f"{curve[-1]['img_per_s']:.0f} img/s, {t_train / 60:.1f} min")
    if diverged is None:
        snaps[15] = copy.deepcopy(model.state_dict())
    return model, snaps, curve, diverged, step, t_train


# ------------------------------------------------------------------ throughput
def throughput(ours: RealNVP, theirs, batch: int, rounds: int = 3, steps: int = 15):
    """img/s of forward + NLL + backward + Adam step, alternating windows (steadier ratios)."""
    x = load_mnist("train").images[:batch * steps]
    gen = torch.Generator().manual_seed(0)
    res = {"flowlib": [], "normflows": []}
    models = {"flowlib": ours, "normflows": theirs}
    opts = {k: torch.optim.Adam(m.parameters(), 1e-5) for k, m in models.items()}
    for _ in range(rounds):
        for k, m in models.items():
            m.train()
            for i in range(steps + 2):
                if i == 2:
                    t0 = time.perf_counter()
                xb = x[(i % steps) * batch:(i % steps + 1) * batch]
                lp = m.log_prob(xb, generator=gen) if k == "flowlib" else nf_log_prob_uint8(m, xb, gen)
                loss = -lp.mean() / 784
                opts[k].zero_grad()
                loss.backward()
                opts[k].step()
            res[k].append(steps * batch / (time.perf_counter() - t0))
    return {k: sorted(v)[len(v) // 2] for k, v in res.items()}


# ------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", default=None,
                    help="flowlib model size (default: the chapter's quick setting's); with --skip-normflows, "
                         "a size sweep at the same clock")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "bench-realnvp-quick")
    ap.add_argument("--publish", action="store_true", help="write results/realnvp-nll-quick")
    ap.add_argument("--skip-normflows", action="store_true")
    ap.add_argument("--test-images", type=int, default=10000, help="test images evaluated")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="flowlib batch (default: the chapter's quick setting's)")
    ap.add_argument("--lr", type=float, default=None, help="flowlib lr (default: the chapter's quick setting's)")
    ap.add_argument("--logit-alpha", type=float, default=None,
                    help="flowlib's logit pre-processing alpha (default: the chapter's quick setting's)")
    ap.add_argument("--nf-lr", type=float, default=None,
                    help="normflows lr at equal parameters (default: flowlib's)")
    ap.add_argument("--nf-best-params", type=int, default=60_000,
                    help="normflows' best stable setting: about this many parameters")
    ap.add_argument("--nf-best-lr", type=float, default=1e-3,
                    help="normflows' best stable setting: its Adam rate")
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    scale = args.minutes / 15
    cfg = dataclasses.replace(T.canonical_config("quick"), minutes=args.minutes,
                              snapshot_minutes=tuple(m * scale for m in MARKS))
    if args.size:
        cfg = dataclasses.replace(cfg, size=args.size)
    if args.lr:
        cfg = dataclasses.replace(cfg, lr=args.lr)
    if args.batch_size:
        cfg = dataclasses.replace(cfg, batch_size=args.batch_size)
    if args.logit_alpha is not None:
        cfg = dataclasses.replace(cfg, logit_alpha=args.logit_alpha)
    test = load_mnist("test").images[:args.test_images]
    train_images = load_mnist("train").images
    args.out.mkdir(parents=True, exist_ok=True)
    run = args.out / "flowlib"
    if (run / T.CHECKPOINT).exists():
        import shutil
        shutil.rmtree(run)
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads; the chapter's quick setting: {cfg}")
    t0 = time.time()
    T.train(cfg, run, seed=args.seed, preset="quick", progress=False)
    wall = time.time() - t0
    ours_curve = {}
    for m in MARKS:
        snap = RealNVP.load(run / f"snapshot-{m * scale:g}min.pt")
        ours_curve[m] = bits_per_dim(snap, test)
    final = RealNVP.load(run / T.MODEL)
    ours_curve[15] = bits_per_dim(final, test)
    rows = T.read_metrics(run)
    ips = [r["img_per_s"] for r in rows if "img_per_s" in r]
    log(f"flowlib: {final.num_parameters():,} parameters; test bpd "
        + ", ".join(f"{m * scale:g} min {v:.4f}" for m, v in ours_curve.items())
        + f"; median {sorted(ips)[len(ips) // 2]:.0f} img/s during training")
    report = {"minutes": args.minutes, "batch": cfg.batch_size, "threads": torch.get_num_threads(),
              "flowlib": {"parameters": final.num_parameters(), "size": cfg.size,
                          "lr": cfg.lr, "logit_alpha": final.config.alpha,
                          "test_bpd": {f"{m * scale:g}": v for m, v in ours_curve.items()},
                          "train_img_per_s_median": sorted(ips)[len(ips) // 2],
                          "wall_seconds": wall}}

    if not args.skip_normflows:
        # normflows twice, one after the other: at flowlib's parameter count (the same model
        # size) and at its best stable setting (a small model, lr 1e-3), so the lead is always
        # measured against normflows at its best, on this machine, in this run
        hidden, n = matched_normflows(final.num_parameters())
        best_hidden, best_n = matched_normflows(args.nf_best_params)
        settings = {"equal": (hidden, n, args.nf_lr or cfg.lr),
                    "best": (best_hidden, best_n, args.nf_best_lr)}
        report["normflows"] = {}
        model = None
        for label, (h, n_p, lr) in settings.items():
            log(f"normflows ({label}): hidden {h} -> {n_p:,} parameters "
                f"({n_p / final.num_parameters():.3f}x flowlib's), lr {lr:g}")
            nf_cfg = dataclasses.replace(cfg, lr=lr)
            m_nf, snaps, curve, diverged, steps, t_train = train_normflows(
                h, nf_cfg, args.minutes, args.seed, train_images, log, alpha=final.config.alpha)
            nf_curve = {}
            for m, sd in snaps.items():
                m_nf.load_state_dict(sd)
                nf_curve[m] = nf_bpd(m_nf, test)
            log(f"normflows ({label}): test bpd " + ", ".join(
                f"{m * scale:g} min {v:.4f}" for m, v in nf_curve.items())
                + (f"; DIVERGED (NaN) at step {diverged}" if diverged else "")
                + f"; {steps} steps in {t_train / 60:.1f} min")
            ips_nf = [r["img_per_s"] for r in curve]
            report["normflows"][label] = {
                "version": __import__("normflows").__version__, "hidden": h, "parameters": n_p,
                "scale_map": "exp", "lr": lr, "batch": cfg.batch_size, "grad_clip": cfg.grad_clip,
                "logit_alpha": final.config.alpha,
                "test_bpd": {f"{m * scale:g}": v for m, v in nf_curve.items()},
                "train_img_per_s_median": sorted(ips_nf)[len(ips_nf) // 2] if ips_nf else None,
                "diverged_at_step": diverged, "steps": steps, "train_curve": curve}
            if label == "equal":
                model = m_nf
        tp = throughput(final, model, cfg.batch_size)
        ratio_tp = tp["flowlib"] / tp["normflows"]
        log(f"throughput at equal parameters (batch {cfg.batch_size}, fwd+bwd+Adam): flowlib "
            f"{tp['flowlib']:.0f} img/s, normflows {tp['normflows']:.0f} img/s -> ratio "
            f"{ratio_tp:.2f}x")
        finite = {label: [v for v in r["test_bpd"].values() if math.isfinite(v)]
                  for label, r in report["normflows"].items()}
        best = min(v for vals in finite.values() for v in vals)
        gap = best - ours_curve[15]
        log(f"test bpd at {args.minutes:g} min: flowlib {ours_curve[15]:.4f}; normflows at equal "
            f"size {min(finite['equal'], default=float('nan')):.4f}, at its best setting "
            f"{min(finite['best'], default=float('nan')):.4f} -> flowlib lower than normflows' best "
            f"by {gap:.4f}")
        report["throughput_img_per_s"] = tp
        report["throughput_ratio"] = ratio_tp
        report["bpd_gap_vs_normflows_best"] = gap
    (args.out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {args.out / 'benchmark.json'}")
    if args.publish:
        dest = results_root("realnvp-nll-quick")
        T.publish_run(run, dest, preset="quick", seed=args.seed, extra={
            "test_bpd_curve": report["flowlib"]["test_bpd"],
            "benchmark": {k: v for k, v in report.items() if k != "normflows"} | (
                {"normflows_test_bpd": {k: r["test_bpd"] for k, r in report["normflows"].items()}}
                if "normflows" in report else {})})
        (dest / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
        log(f"published the canonical run to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
