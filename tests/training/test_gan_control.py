"""The positive control runs through the same adversarial pieces and resumes bit for bit."""
import json

import torch

from flowlib.training import gan_control as C


def test_control_smoke_run_writes_its_files_and_resumes_bit_for_bit(tmp_path):
    cfg = C.PRESETS["smoke"]
    final = C.train_control(cfg, tmp_path / "a", seed=0, preset="smoke")
    assert final["lenet"]["n"] == cfg.final_images and final["steps"] == cfg.steps
    assert json.loads((tmp_path / "a" / C.FINAL).read_text()) == final
    assert sorted(p.name for p in (tmp_path / "a" / "grids").iterdir()) == [
        "step-000000.png", "step-000015.png", "step-000030.png"]
    rows = [r for r in C.read_metrics(tmp_path / "a") if "d_real" in r]
    assert rows and all(r["grad_norm"] > 0 and r["d_input_grad_fake"] > 0 for r in rows)
    C.train_control(cfg, tmp_path / "b", seed=0, preset="smoke", stop_after_steps=15)
    assert not (tmp_path / "b" / C.MODEL).exists()
    C.train_control(cfg, tmp_path / "b", seed=0, preset="smoke", resume=True)
    a = torch.load(tmp_path / "a" / C.MODEL, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / C.MODEL, weights_only=True)["state_dict"]
    for k, v in a.items():
        assert torch.equal(v, b[k]), k
    assert C.load_generator(tmp_path / "a" / C.MODEL).sample(4).shape == (4, 1, 28, 28)


def test_the_recipe_options_train_and_resume_bit_for_bit(tmp_path):
    """Two time-scale rates, R1, two discriminator steps, a clip, warm-up and cosine, and an EMA
    that is what gets evaluated and saved; a resumed run ends on the same weights."""
    import dataclasses
    cfg = dataclasses.replace(C.PRESETS["smoke"], steps=6, quality_every=3, quality_images=200,
                              final_images=200, log_every=2, lr=3e-4, d_lr=1e-3, beta1=0.0, r1=10.0,
                              d_steps=2, ema=0.9, warmup_steps=2, final_lr_frac=0.0, grad_clip=100.0)
    C.train_control(cfg, tmp_path / "a", seed=0, preset="smoke")
    C.train_control(cfg, tmp_path / "b", seed=0, preset="smoke", stop_after_steps=3)
    C.train_control(cfg, tmp_path / "b", seed=0, preset="smoke", resume=True)
    a = torch.load(tmp_path / "a" / C.MODEL, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / C.MODEL, weights_only=True)["state_dict"]
    assert all(torch.equal(v, b[k]) for k, v in a.items())
    rows = [r for r in C.read_metrics(tmp_path / "a") if "d_r1" in r]
    assert rows and all(r["d_r1"] >= 0 for r in rows)
    # the saved weights are the average, not the last iterate
    ck = torch.load(tmp_path / "a" / C.CHECKPOINT, weights_only=False)
    assert all(torch.equal(v, ck["ema"][k]) for k, v in a.items())
    assert not all(torch.equal(v, ck["gen"][k]) for k, v in a.items())
    import pytest
    with pytest.raises(C.ControlError, match="d_steps=0"):
        C.train_control(dataclasses.replace(cfg, d_steps=0), tmp_path / "c")
