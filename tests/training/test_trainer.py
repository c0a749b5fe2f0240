"""The time-budget path of the training loop: every shipped quick run came through it.

With ``minutes`` set, the schedule's length is unknown at the start; it is fixed once, at
``calibrate_steps``, from the measured speed, stored in the checkpoint and kept by a resumed
run; the warm-up + cosine schedule then ends at the budget; weight snapshots are written when
the training clock passes each ``snapshot_minutes``.
"""
import pytest
import torch

from flowlib import training as T
from flowlib.data.mnist import load_mnist


@pytest.fixture(scope="module")
def small_data():
    return load_mnist("train").images[:512], load_mnist("validation").images[:32]


def _budget_cfg(**kw):
    base = dict(size="micro", batch_size=16, lr=2e-3, warmup_steps=2, max_steps=None,
                minutes=0.05, calibrate_steps=10, ema=0.9, eval_every=10_000, val_images=32,
                log_every=1, checkpoint_every=5, snapshot_minutes=(0.01,), threads=1)
    base.update(kw)
    return T.TrainConfig(**base)


def test_budget_fixes_the_schedule_once_and_the_cosine_ends_at_it(tmp_path, small_data):
    tr, va = small_data
    cfg = _budget_cfg()
    result = T.train(cfg, tmp_path / "run", progress=False, train_images=tr, val_images=va)
    ck = torch.load(tmp_path / "run" / T.CHECKPOINT, weights_only=True)
    total = ck["total_steps"]
    assert total is not None and total > cfg.calibrate_steps
    # the run stops at the end of its schedule or of its clock, whichever comes first
    assert result.step == total or result.train_seconds >= cfg.minutes * 60
    assert (tmp_path / "run" / T.MODEL).exists()
    rows = [r for r in T.read_metrics(tmp_path / "run") if "lr" in r]
    # the lr of optimiser step s is set when step s - 1 ends: warm-up, then a constant lr
    # until the length is known, then the cosine towards 0 at `total`
    for r in rows:
        s = r["step"] - 1
        known = total if s > cfg.calibrate_steps else None
        assert r["lr"] == pytest.approx(cfg.lr * T.lr_factor(s, cfg.warmup_steps, known, 0.0))
    if result.step == total:
        assert rows[-1]["lr"] < 0.05 * cfg.lr
    snap = tmp_path / "run" / "snapshot-0.01min.pt"
    assert snap.exists()
    assert torch.load(snap, weights_only=True)["train_seconds"] >= 0.6


def test_a_resumed_budget_run_keeps_its_schedule(tmp_path, small_data):
    tr, va = small_data
    cfg = _budget_cfg(minutes=0.5)
    T.train(cfg, tmp_path / "run", progress=False, train_images=tr, val_images=va,
            stop_after_steps=15)
    total = torch.load(tmp_path / "run" / T.CHECKPOINT, weights_only=True)["total_steps"]
    assert total is not None and not (tmp_path / "run" / T.MODEL).exists()
    T.train(cfg, tmp_path / "run", progress=False, train_images=tr, val_images=va, resume=True,
            stop_after_steps=20)
    assert torch.load(tmp_path / "run" / T.CHECKPOINT, weights_only=True)["total_steps"] == total
    steps = [r["step"] for r in T.read_metrics(tmp_path / "run") if "lr" in r]
    assert steps == list(range(1, 21))  # nothing lost or repeated across the stop


def test_adamax_is_the_optimiser_asked_for_and_its_state_resumes(tmp_path, small_data):
    """``optimizer="adamax"`` (Real NVP's and Glow's optimiser) trains with torch's Adamax, and
    a resumed run restores its infinity-norm state (a run resumed on Adam state would fail)."""
    tr, va = small_data
    cfg = _budget_cfg(minutes=None, max_steps=6, optimizer="adamax", snapshot_minutes=())
    T.train(cfg, tmp_path / "run", progress=False, train_images=tr, val_images=va,
            stop_after_steps=3)
    state = torch.load(tmp_path / "run" / T.CHECKPOINT, weights_only=True)["optimizer"]["state"]
    assert state and all("exp_inf" in s for s in state.values())
    result = T.train(cfg, tmp_path / "run", progress=False, train_images=tr, val_images=va,
                     resume=True)
    assert result.step == 6
    with pytest.raises(T.ConfigError, match="adam or adamax or sgd"):
        T.TrainConfig(optimizer="adamw")
