"""Final figures of a finished training run, written to ``final.json`` beside its model.

A run's ``metrics.jsonl`` tracks the generator cheaply during training (2 000 samples
against the validation split). Its *final* figures are measured once, after training, on
the test split, with the sample sizes of :data:`PLANS`:

- exact test bits/dim (all ``bpd_images`` test images, dequantisation noise seeded);
- LeNet-FID of ``fid_images`` samples against MNIST test, with precision/recall and class
  coverage;
- Inception-FID (TF-FID network) of ``inception_images`` samples, where the plan has any:
  on this CPU Inception runs at a few images per second, so ``quick`` uses 500 samples,
  a biased estimate that is comparable only between runs with the same ``n``;
- a *subset* (``subset_images`` test images and samples) that tests recompute from the
  shipped checkpoint to show the figures can be reproduced.

Samples are drawn with seeded generators, so the figures are deterministic for a given
checkpoint on a given platform.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from flowlib.core.manifest import device_description, git_commit
from flowlib.core.paths import atomic_write_bytes, sha256_file
from flowlib.core.presets import pick
from flowlib.data.mnist import load_mnist
from flowlib.metrics.fid import fid
from flowlib.models.realnvp import RealNVP, bits_per_dim

FINAL = "final.json"
SAMPLE_SEED = 12345  # noise of the final samples: the same for every run


@dataclass(frozen=True)
class FinalPlan:
    bpd_images: int
    fid_images: int
    inception_images: int
    subset_images: int


PLANS = {"smoke": FinalPlan(500, 500, 0, 200),
         "quick": FinalPlan(10_000, 10_000, 500, 1000),
         "full": FinalPlan(10_000, 10_000, 10_000, 1000)}


def _sampler(model: RealNVP, seed: int):
    g = torch.Generator().manual_seed(seed)
    return lambda b: model.sample(b, generator=g)


def subset_figures(model: RealNVP, n: int) -> dict:
    """Test bits/dim of the first ``n`` test images and LeNet-FID of ``n`` seeded samples."""

    model.eval()
    test = load_mnist("test").images[:n]
    r = fid(_sampler(model, SAMPLE_SEED), reference="mnist-test", features="lenet", n=n,
            precision_recall_k=None, coverage=False)
    return {"subset_images": n, "subset_test_bpd": bits_per_dim(model, test, seed=0),
            "subset_lenet_fid": r.fid}


def stored_result(path: Path, model_sha256: str, plan: dict, force: bool = False) -> dict | None:
    """The evaluation already stored at ``path`` when it was made of these very weights
    (``model_sha256``) by this ``plan``; None when absent, stale or ``force``d (redo it)."""
    if force or not path.exists():
        return None
    stored = json.loads(path.read_text())
    return stored if stored.get("model_sha256") == model_sha256 and stored.get("plan") == plan else None


def final_evaluation(run_dir, preset: str, *, force: bool = False) -> dict:
    """Measure ``run_dir/model.pt`` as :data:`PLANS[preset]` says; write and return ``final.json``.

    Skips (returns the stored figures) when ``final.json`` exists for the same model file,
    unless ``force``.
    """

    run_dir = Path(run_dir)
    model_path = run_dir / "model.pt"
    if not model_path.exists():
        raise FileNotFoundError(f"{run_dir} has no model.pt: the run has not finished "
                                "(resume it, then evaluate).")
    plan = pick(preset, PLANS)
    digest = sha256_file(model_path)
    final_path = run_dir / FINAL
    stored = stored_result(final_path, digest, asdict(plan), force)
    if stored is not None:
        return stored
    t0 = time.time()
    model = RealNVP.load(model_path).eval()
    test = load_mnist("test").images
    out = {"model_sha256": digest, "plan": asdict(plan), "preset": preset,
           "test_bpd": bits_per_dim(model, test[:plan.bpd_images], seed=0),
           "test_images": min(plan.bpd_images, len(test))}
    le = fid(_sampler(model, SAMPLE_SEED), reference="mnist-test", features="lenet",
             n=plan.fid_images)
    out["lenet"] = {k: v for k, v in le.as_dict().items() if k != "reference_class_histogram"}
    if plan.inception_images:
        inc = fid(_sampler(model, SAMPLE_SEED), reference="mnist-test", features="inception",
                  n=plan.inception_images, coverage=False)
        out["inception"] = {k: inc.as_dict()[k] for k in ("fid", "n", "n_reference", "precision",
                                                          "recall", "seconds")}
    out.update(subset_figures(model, plan.subset_images))
    out.update(git_commit(), device=device_description(), torch=torch.__version__,
               seconds=round(time.time() - t0, 2),
               finished_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    atomic_write_bytes(final_path, (json.dumps(out, indent=1) + "\n").encode())
    return out
