"""FID benchmarks: printed figures, saved to results/fid-benchmarks/ for the chapter.

    python benchmarks/fid_bench.py                 # the canonical run (~10 min on 2 cores)
    python benchmarks/fid_bench.py --smoke         # seconds-scale check, writes nothing

1. LeNet-FID of 10 000 "generated" images: the images are MNIST-train images with
   Gaussian noise (std 0.1) made beforehand (a fixed, deterministic stand-in for a
   model's samples); timed is one whole ``flowlib.metrics.fid(x, reference="mnist-test")`` call:
   features, float64 statistics, Fréchet distance, precision/recall (10k x 10k k-NN)
   and class coverage, with the reference statistics already cached ("warm"). The first,
   "cold" call, which also computes and caches the reference, is reported too.
2. Inception feature throughput: ``flowlib``'s extractor versus a plain
   pytorch-fid-style loop (RGB repeat, F.interpolate to 299, scale, ``torch.no_grad``,
   default memory format) over the same TorchScript network, the same images and
   batch size, interleaved (A B A B) in the same run.
3. FID of MNIST train vs test with both feature networks (LeNet: 10k vs 10k;
   Inception: ``--inception-n`` vs the same number, default 2000, because the network
   runs at ~12 images/s on this CPU).

The shipped run (results/fid-benchmarks/) used ``--inception-n 500 --throughput-n 30
--batch-size 30 --rounds 2``: the shared 2-core machine ran Inception at only 2-4 images/s
that evening, under load from other jobs. Its manifest records the arguments; rerun with
the defaults when the machine is free.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlib.metrics import fid as fidmod  # noqa: E402
from flowlib.data.mnist import load_mnist  # noqa: E402
from flowlib.core.paths import results_root  # noqa: E402

OUT_DIR = results_root("fid-benchmarks")
OUT_NAME = "fid_benchmarks.json"


def plain_inception_loop(net, images_u8: torch.Tensor, batch_size: int) -> torch.Tensor:
    """What a straightforward pytorch-fid-style script does (the baseline)."""
    feats = []
    for i in range(0, len(images_u8), batch_size):
        x = images_u8[i:i + batch_size].float().repeat(1, 3, 1, 1)  # grey -> RGB first
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = (x - 128.0) / 128.0
        with torch.no_grad():
            feats.append(net(x))
    return torch.cat(feats)


def flowlib_inception_loop(images_u8: torch.Tensor, batch_size: int) -> torch.Tensor:
    net = fidmod.inception_features(batch_size)
    feats = []
    for i in range(0, len(images_u8), batch_size):
        feats.append(net.extract(images_u8[i:i + batch_size].float() / 255.0))
    return torch.cat(feats)


def bench_lenet(n: int) -> dict:
    train = load_mnist("train")
    gen = fidmod.corrupt(train.images[:n], noise=0.1, seed=0)  # made before timing
    net = fidmod.get_features("lenet")
    cache = fidmod.reference_cache_path("lenet", net.checksum, "mnist-test", n, 0)
    cache.unlink(missing_ok=True)
    t0 = time.perf_counter()
    cold = fidmod.fid(gen, reference="mnist-test", features="lenet")
    t_cold = time.perf_counter() - t0
    warm_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        warm = fidmod.fid(gen, reference="mnist-test", features="lenet")
        warm_times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    fid_only = fidmod.fid(gen, reference="mnist-test", features="lenet", precision_recall_k=None,
                          coverage=False)
    t_fid_only = time.perf_counter() - t0
    assert abs(cold.fid - warm.fid) < 1e-9 and abs(fid_only.fid - warm.fid) < 1e-9
    out = {"n": n, "generated": f"MNIST train[:{n}] + N(0, 0.1^2) noise, clipped",
           "cold_s": round(t_cold, 2), "warm_s": [round(t, 2) for t in warm_times],
           "warm_best_s": round(min(warm_times), 2), "fid_only_warm_s": round(t_fid_only, 2),
           "fid": round(warm.fid, 4), "precision": round(warm.precision, 4),
           "recall": round(warm.recall, 4), "target_s": 10.0}
    print(f"[1] LeNet-FID of {n} generated images vs mnist-test: FID {warm.fid:.3f}, precision "
          f"{warm.precision:.3f}, recall {warm.recall:.3f}\n"
          f"    whole fid() call: warm {min(warm_times):.2f} s (best of 3: "
          f"{', '.join(f'{t:.2f}' for t in warm_times)}), cold {t_cold:.2f} s (reference "
          f"computed and cached), FID only (no P&R/coverage) {t_fid_only:.2f} s; target < 10 s")
    return out


def bench_inception_throughput(n: int, batch_size: int, rounds: int) -> dict:
    images = load_mnist("test").images[:n]
    net = torch.jit.load(str(fidmod.inception_path()), map_location="cpu").eval()
    # warm up both paths (TorchScript profiles the first calls)
    plain_inception_loop(net, images[:batch_size], batch_size)
    flowlib_inception_loop(images[:batch_size], batch_size)
    t_plain, t_ours = [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        a = plain_inception_loop(net, images, batch_size)
        t_plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = flowlib_inception_loop(images, batch_size)
        t_ours.append(time.perf_counter() - t0)
    max_diff = float((a - b).abs().max())
    plain_ips, ours_ips = n / min(t_plain), n / min(t_ours)
    out = {"n_images": n, "batch_size": batch_size, "rounds": rounds, "threads": torch.get_num_threads(),
           "plain_s": [round(t, 2) for t in t_plain], "flowlib_s": [round(t, 2) for t in t_ours],
           "plain_images_per_s": round(plain_ips, 2), "flowlib_images_per_s": round(ours_ips, 2),
           "ratio": round(ours_ips / plain_ips, 3), "max_abs_feature_diff": max_diff}
    print(f"[2] Inception features, {n} images, batch {batch_size}, {torch.get_num_threads()} "
          f"threads, best of {rounds} interleaved rounds:\n"
          f"    plain pytorch-fid-style loop {plain_ips:.2f} img/s, flowlib {ours_ips:.2f} img/s, "
          f"ratio {ours_ips / plain_ips:.3f} (target >= 1.0); max |feature difference| {max_diff:.2e}")
    return out


def bench_train_vs_test(lenet_n: int, inception_n: int) -> dict:
    train = load_mnist("train")
    out = {}
    for name, n in (("lenet", lenet_n), ("inception", inception_n)):
        t0 = time.perf_counter()
        r = fidmod.fid(train.images[:n], reference="mnist-test", features=name,
                       progress=name == "inception")
        dt = time.perf_counter() - t0
        out[name] = {"n": n, "n_reference": r.n_reference, "fid": round(r.fid, 4),
                     "precision": round(r.precision, 4), "recall": round(r.recall, 4),
                     "seconds": round(dt, 1)}
        print(f"[3] FID[{name}](MNIST train[:{n}], mnist-test n={r.n_reference}) = {r.fid:.3f}; "
              f"precision {r.precision:.3f}, recall {r.recall:.3f} ({dt:.0f} s)")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes, write nothing")
    p.add_argument("--lenet-n", type=int, default=10_000)
    p.add_argument("--inception-n", type=int, default=2000)
    p.add_argument("--throughput-n", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--skip-train-vs-test", action="store_true")
    args = p.parse_args(argv)
    if args.smoke:
        args.lenet_n, args.inception_n, args.throughput_n, args.batch_size, args.rounds = \
            1000, 20, 10, 10, 1
    t0 = time.time()
    results = {"lenet_fid_timing": bench_lenet(args.lenet_n),
               "inception_throughput": bench_inception_throughput(args.throughput_n,
                                                                  args.batch_size, args.rounds)}
    if not args.skip_train_vs_test:
        results["train_vs_test"] = bench_train_vs_test(args.lenet_n, args.inception_n)
    if args.smoke:
        print("smoke run: nothing written")
        return 0
    from flowlib.core.manifest import write_benchmark
    write_benchmark(OUT_DIR, OUT_NAME, results, config=vars(args), wall_time_s=time.time() - t0,
                    **results)
    print(f"wrote {OUT_DIR / OUT_NAME} and manifest.json ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
