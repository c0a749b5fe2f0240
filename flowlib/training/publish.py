"""Publishing a finished run to ``results/``: its small artifacts and a manifest whose numbers
the tests recompute."""
from __future__ import annotations

from pathlib import Path

import torch

from flowlib.core.images import image_grid, to_png
from flowlib.core.manifest import write_manifest
from flowlib.core.paths import atomic_write_bytes
from flowlib.data.mnist import load_mnist
from flowlib.models.realnvp import RealNVP, bits_per_dim
from flowlib.training.metrics_file import METRICS, read_metrics
from flowlib.training.trainer import MODEL, TrainError

# ------------------------------------------------------------------ canonical runs
TEST_SUBSET = 1000  # test images a shipped checkpoint is re-evaluated on (tests)


def publish_run(run_dir, dest, *, preset: str, seed: int, extra: dict | None = None) -> dict:
    """Copy a finished run's small artifacts to ``dest`` (e.g. ``results/realnvp-nll-quick``):
    ``model.pt``, ``metrics.jsonl``, ``samples.png`` and a manifest with the final test
    bits/dim (all 10k test images) and the bits/dim of a fixed subset that tests recompute."""

    run_dir, dest = Path(run_dir), Path(dest)
    model_path = run_dir / MODEL
    if not model_path.exists():
        raise TrainError(f"{run_dir} has no {MODEL}: the run has not finished.")
    model = RealNVP.load(model_path)
    rows = read_metrics(run_dir)
    start = next((r for r in rows if r.get("event") == "start"), {})
    last = [r for r in rows if "train_seconds" in r]
    n_test = int((start.get("train") or {}).get("test_images") or 10000)
    test = load_mnist("test").images
    test_bpd = bits_per_dim(model, test[:n_test], seed=0)
    subset_bpd = bits_per_dim(model, test[:TEST_SUBSET], seed=0)
    dest.mkdir(parents=True, exist_ok=True)
    for name in (MODEL, METRICS):
        atomic_write_bytes(dest / name, (run_dir / name).read_bytes())
    samples = model.sample(64, temperature=1.0, generator=torch.Generator().manual_seed(seed))
    atomic_write_bytes(dest / "samples.png", to_png(image_grid(samples, nrow=8)))
    vals = [r["val_bpd"] for r in rows if "val_bpd" in r]
    return write_manifest(
        dest, config={"model": model.config.to_dict(), "train": start.get("train"),
                      "preset": preset, "loss": start.get("loss", "nll")},
        seed=seed, wall_time_s=last[-1]["wall_seconds"] if last else 0.0,
        parameters=model.num_parameters(), steps=last[-1]["step"] if last else None,
        train_minutes=round(last[-1]["train_seconds"] / 60, 3) if last else None,
        test_bpd=test_bpd, test_images=n_test, test_bpd_subset=subset_bpd, test_subset_images=TEST_SUBSET,
        test_subset_seed=0, final_val_bpd=vals[-1] if vals else None, **(extra or {}))
