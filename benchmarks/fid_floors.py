"""The real-versus-real floor of the final FIDs: what a perfect generator would score.

    python benchmarks/fid_floors.py --preset quick     # writes results/fid-floors-<preset>/floors.json

Held-out real digits (MNIST validation, never trained on) against MNIST test, through the
same FID code and at the *same sample sizes* as a run's final figures
(:data:`flowlib.metrics.final.PLANS`): LeNet-FID of ``fid_images`` and Inception-FID of
``inception_images`` images a side. FID is biased upwards at small n, so a model's final
FID is read against the floor at its own n, never against one at another n. Beside them, the
floor of the quality checks made *during* training (``lenet_validation``): held-out real
digits (MNIST test) against the validation split, ``quality_images`` a side as in those
checks: what the search's and the curves' validation FIDs are read against.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlib.core.paths import results_root  # noqa: E402
from flowlib.data.mnist import load_mnist  # noqa: E402
from flowlib.metrics.fid import fid  # noqa: E402
from flowlib.metrics.final import PLANS  # noqa: E402
from flowlib.training.config import preset_config  # noqa: E402



def floors(preset: str) -> dict:
    plan = PLANS[preset]
    real = load_mnist("validation").images
    out = {}
    for features, n in (("lenet", plan.fid_images), ("inception", plan.inception_images)):
        if not n:
            continue
        t0 = time.perf_counter()
        r = fid(real[:n], reference="mnist-test", features=features, n=n, n_reference=n)
        out[features] = {"n": n, "n_reference": r.n_reference, "fid": r.fid, "precision": r.precision,
                         "recall": r.recall, "seconds": round(time.perf_counter() - t0, 1)}
        print(f"{features}: MNIST validation[:{n}] vs test (n={r.n_reference}): FID {r.fid:.3f} "
              f"({out[features]['seconds']} s)", flush=True)
    n = preset_config(preset).quality_images
    t0 = time.perf_counter()
    r = fid(load_mnist("test").images[:n], reference="mnist-validation", features="lenet", n=n,
            bootstrap=20)
    out["lenet_validation"] = {"n": n, "n_reference": r.n_reference, "fid": r.fid,
                               "fid_se": r.fid_se, "precision": r.precision, "recall": r.recall,
                               "seconds": round(time.perf_counter() - t0, 1)}
    print(f"lenet_validation: MNIST test[:{n}] vs validation (n={r.n_reference}): FID {r.fid:.3f}",
          flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="quick", choices=sorted(PLANS))
    args = p.parse_args(argv)
    t0 = time.time()
    result = floors(args.preset)
    from flowlib.core.manifest import write_benchmark
    path = write_benchmark(results_root(f"fid-floors-{args.preset}"), "floors.json", result,
                           config=vars(args), wall_time_s=time.time() - t0, threads=1)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
