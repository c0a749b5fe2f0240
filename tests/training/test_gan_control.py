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
