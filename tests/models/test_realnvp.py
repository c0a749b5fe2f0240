"""Real NVP: exact inverse, exact log-det, normalised densities, bits/dim, training loop.

All sizes are small so the file runs in well under two minutes on a 2-core CPU.
"""
from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from flowlib import training as T
from flowlib.core.paths import results_root
from flowlib.data.mnist import load_mnist
from flowlib.models import realnvp
from flowlib.models.realnvp import LOG2, RealNVP, RealNVPConfig, RealNVPError, bits_per_dim

CANONICAL = results_root("realnvp-nll-quick")


@pytest.fixture(scope="module")
def test_batch():
    return load_mnist("test").images[:64]


@pytest.fixture(scope="module")
def trained_tiny():
    """The tiny size after 40 NLL steps on real MNIST: non-trivial weights, fast."""
    torch.manual_seed(0)
    model = RealNVP("tiny")
    x = load_mnist("train").images[:40 * 32]
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    model.train()
    for i in range(40):
        loss = -model.log_prob(x[i * 32:(i + 1) * 32]).mean() / model.dim
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _perturbed(cfg, scale=0.05, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    model = RealNVP(cfg).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    return model.eval()


# ------------------------------------------------------------------ sizes
def test_named_sizes_form_a_ladder():
    counts = realnvp.parameter_table()
    assert list(counts) == ["micro", "tiny", "slim", "small", "medium", "base", "large"]
    values = list(counts.values())
    assert values == sorted(values) and values[0] * 4 < values[-1]
    assert RealNVP().config == RealNVPConfig.named("base")


# ------------------------------------------------------------------ exactness
def test_decode_inverts_encode_on_real_mnist(trained_tiny, test_batch):
    x = test_batch.float() / 255.0
    with torch.no_grad():
        z, _ = trained_tiny.encode(x)
        back = trained_tiny.decode(z)
    assert z.shape == (64, 784) and z.dtype == torch.float32
    err = (back - x).abs().max().item()
    assert err < 1e-4, f"max |decode(encode(x)) - x| = {err:.2e}"
    # and the other way round (decoded values may leave [0, 1] by ~1e-7: inside the support)
    with torch.no_grad():
        z2 = trained_tiny.encode(trained_tiny.decode(z))[0]
    assert (z2 - z).abs().max().item() < 1e-3


@pytest.mark.parametrize("cfg", [
    RealNVPConfig.named("tiny"),
    dataclasses.replace(RealNVPConfig.named("tiny"), actnorm=False, split_prior=False,
                        width_growth=2.0),
])
def test_logdet_equals_bruteforce_jacobian(cfg):
    model = _perturbed(cfg)
    model.train()
    with torch.no_grad():  # data-initialise the ActNorms so they are not the identity
        model.log_prob(torch.rand(8, 1, 28, 28, dtype=torch.float64))
    model.eval()
    y = torch.rand(1, 1, 28, 28, dtype=torch.float64) * 0.9 + 0.05
    _, logdet = model.encode(y)
    jac = torch.autograd.functional.jacobian(
        lambda v: model.encode(v.reshape(1, 1, 28, 28))[0].reshape(-1),
        y.reshape(-1), vectorize=True)
    sign, brute = torch.linalg.slogdet(jac)
    assert sign != 0
    rel = abs(float(logdet) - float(brute)) / abs(float(brute))
    assert rel < 1e-5, f"log-det {float(logdet):.6f} vs autograd {float(brute):.6f} (rel {rel:.1e})"


def test_uint8_log_prob_is_dequantised_continuous_density(trained_tiny, test_batch):
    x = test_batch[:8]
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    with torch.no_grad():
        lp = trained_tiny.log_prob(x, generator=g1)
        u = torch.rand(x.shape, generator=g2)
        y = (x.float() + u) / 256
        lp_c = trained_tiny.log_prob(y) - 784 * math.log(256)
    assert torch.allclose(lp, lp_c, atol=1e-3)


# ------------------------------------------------------------------ densities are normalised
def _toy_pairs(n, generator):
    """2-pixel 'images': a curved, correlated density well inside the unit square."""
    t = torch.rand(n, generator=generator)
    a = 0.25 + 0.5 * t
    b = 0.3 + 0.4 * (2 * t - 1) ** 2 + 0.04 * torch.randn(n, generator=generator)
    return torch.stack([a, b.clamp(0.05, 0.95)], 1).reshape(n, 1, 1, 2)


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_trained_2d_flow_density_integrates_to_one(alpha):
    cfg = RealNVPConfig(image_shape=(1, 1, 2), scales=1, last=4, width=16, blocks=1,
                        alpha=alpha, name="pixel-pair")
    torch.manual_seed(0)
    model = RealNVP(cfg)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    model.train()
    for _ in range(100):
        loss = -model.log_prob(_toy_pairs(256, gen)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    # midpoint rule over the model's whole support (-a, 1 + a)^2, a = alpha / (1 - 2 alpha)
    a = alpha / (1 - 2 * alpha)
    n = 300
    h = (1 + 2 * a) / n
    grid = -a + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    u, v = torch.meshgrid(grid, grid, indexing="ij")
    pts = torch.stack([u.reshape(-1), v.reshape(-1)], 1).reshape(-1, 1, 1, 2)
    with torch.no_grad():
        dens = model.double().log_prob(pts).exp()
    mass = float(dens.sum()) * h * h
    assert abs(mass - 1) < 0.02, f"density integrates to {mass:.4f}"
    # and the trained flow is far from uniform: it learned the toy density
    assert float(dens.max()) > 5


# ------------------------------------------------------------------ bits/dim at initialisation
def test_bits_per_dim_at_init_matches_theory():
    """At init every coupling, ActNorm and split prior is the identity: each pixel is an
    independent logistic-normal, so bits/dim is a one-dimensional integral per pixel value."""
    x = load_mnist("validation").images[:500]
    model = RealNVP("tiny")
    measured = bits_per_dim(model, x, seed=0)
    a = 0.05
    u = (torch.arange(2000, dtype=torch.float64) + 0.5) / 2000
    k = torch.arange(256, dtype=torch.float64)[:, None]
    s = a + (1 - 2 * a) * (k + u) / 256
    z = torch.log(s) - torch.log1p(-s)
    nll = 0.5 * z ** 2 + 0.5 * math.log(2 * math.pi) - math.log(1 - 2 * a) \
        + torch.log(s) + torch.log1p(-s) + math.log(256)
    per_value = nll.mean(1) / LOG2  # bits, averaged over the dequantisation noise
    hist = torch.bincount(x.flatten().long(), minlength=256).double()
    theory = float((hist * per_value).sum() / hist.sum())
    assert abs(measured - theory) < 0.01, (measured, theory)


# ------------------------------------------------------------------ training loop
def _tiny_train_cfg(**kw):
    base = dict(size="tiny", batch_size=16, lr=2e-3, warmup_steps=2, max_steps=8, ema=0.9,
                eval_every=4, val_images=32, log_every=2, checkpoint_every=2,
                channels_last=True)
    base.update(kw)
    return T.TrainConfig(**base)


@pytest.fixture(scope="module")
def small_data():
    return load_mnist("train").images[:256], load_mnist("validation").images[:32]


def test_resume_is_bit_identical(tmp_path, small_data):
    tr, va = small_data
    cfg = _tiny_train_cfg()
    T.train(cfg, tmp_path / "straight", seed=1, progress=False, train_images=tr, val_images=va)
    T.train(cfg, tmp_path / "killed", seed=1, progress=False, train_images=tr, val_images=va,
            stop_after_steps=4)
    assert not (tmp_path / "killed" / T.MODEL).exists()
    T.train(cfg, tmp_path / "killed", seed=1, progress=False, train_images=tr, val_images=va,
            resume=True)
    a = torch.load(tmp_path / "straight" / T.CHECKPOINT, weights_only=True)
    b = torch.load(tmp_path / "killed" / T.CHECKPOINT, weights_only=True)
    assert a["step"] == b["step"] == 8
    for part in ("model", "ema"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key} differs"
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(sa["exp_avg_sq"], sb["exp_avg_sq"])
    ma = [r for r in T.read_metrics(tmp_path / "straight") if "train_bpd" in r]
    mb = [r for r in T.read_metrics(tmp_path / "killed") if "train_bpd" in r]
    assert [r["train_bpd"] for r in ma] == [r["train_bpd"] for r in mb]
    assert [r["step"] for r in mb] == [2, 4, 6, 8]


class _NaNAt(T.NLLLoss):
    name = "nan-at-5"

    def loss(self, model, batch, step, noise):
        value, logs = super().loss(model, batch, step, noise)
        return (value * float("nan") if step == 4 else value), logs


def test_nan_guard_stops_keeps_last_checkpoint(tmp_path, small_data):
    tr, va = small_data
    with pytest.raises(T.TrainingDiverged, match="step 5") as info:
        T.train(_tiny_train_cfg(), tmp_path, loss=_NaNAt(), progress=False,
                train_images=tr, val_images=va)
    assert info.value.step == 5 and "last good checkpoint" in str(info.value)
    ck = torch.load(tmp_path / T.CHECKPOINT, weights_only=True)
    assert ck["step"] == 4
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())
    assert T.read_metrics(tmp_path)[-1]["event"] == "diverged"


def test_cli_exits_nonzero_on_nan(tmp_path, monkeypatch):
    from flowlib import cli
    monkeypatch.setitem(T.LOSSES, "nan-at-5", _NaNAt)
    rc = cli.main(["train", "--loss", "nan-at-5", "--preset", "smoke", "--out",
                   str(tmp_path / "run"), "--no-progress"])
    assert rc == 3
    assert T.read_metrics(tmp_path / "run")[-1] == {
        "event": "diverged", "step": 5, "message": "the loss became nan at step 5"}


def test_cli_smoke_run_and_unknown_loss(tmp_path, capsys):
    from flowlib import cli
    assert cli.main(["train", "--loss", "hybrid", "--preset", "smoke", "--out",
                     str(tmp_path / "a")]) == 2
    assert "hybrid loss needs a positive weight" in capsys.readouterr().err
    assert cli.main(["train", "--loss", "l2", "--preset", "smoke", "--out",
                     str(tmp_path / "a")]) == 2
    assert cli.main(["train", "--preset", "huge", "--out", str(tmp_path / "a")]) == 2
    assert cli.main(["train", "--preset", "smoke", "--size", "gigantic", "--out",
                     str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "huge" in err and "gigantic" in err
    run = tmp_path / "smoke"
    assert cli.main(["train", "--preset", "smoke", "--steps", "6", "--out", str(run),
                     "--no-progress"]) == 0
    model = RealNVP.load(run / T.MODEL)
    assert model.config.name == "tiny"
    rows = T.read_metrics(run)
    assert rows[0]["event"] == "start" and any("val_bpd" in r for r in rows)
    row = next(r for r in rows if "train_bpd" in r)
    assert {"step", "train_bpd", "lr", "grad_norm", "img_per_s", "wall_seconds"} <= set(row)
    # a second start into the same folder must not clobber it
    assert cli.main(["train", "--preset", "smoke", "--out", str(run)]) == 2


def test_full_preset_runs_a_few_steps_on_cpu(tmp_path, small_data):
    """No GPU here: the `full` preset's model and loop, for a few steps."""
    tr, va = small_data
    cfg = dataclasses.replace(T.PRESETS["full"], max_steps=2, warmup_steps=1, eval_every=2,
                              batch_size=4, val_images=8, log_every=1, quality_every=2,
                              quality_images=16, grid_images=4)
    res = T.train(cfg, tmp_path, progress=False, train_images=tr[:16], val_images=va[:8])
    assert res.step == 2 and math.isfinite(res.val_bpd)


# ------------------------------------------------------------------ bad input
def test_bad_inputs_have_clear_errors(trained_tiny, tmp_path):
    m = trained_tiny
    with pytest.raises(RealNVPError, match="shape"):
        m.log_prob(torch.zeros(2, 28, 28, dtype=torch.uint8))
    with pytest.raises(RealNVPError, match="dtype"):
        m.log_prob(torch.zeros(2, 1, 28, 28, dtype=torch.int32))
    with pytest.raises(RealNVPError, match=r"support .*Divide uint8 pixels by 255"):
        m.log_prob(torch.full((2, 1, 28, 28), 255.0))
    with pytest.raises(RealNVPError, match=r"support"):
        m.log_prob(torch.full((2, 1, 28, 28), float("nan")))
    with pytest.raises(RealNVPError, match="Tensor"):
        m.log_prob([[0.0]])
    with pytest.raises(RealNVPError, match="latents of shape"):
        m.decode(torch.zeros(2, 10))
    with pytest.raises(RealNVPError, match="Unknown Real NVP size 'gigantic'"):
        RealNVP("gigantic")
    with pytest.raises(RealNVPError, match=r"support \(-0.05556, 1.056\)"):
        m.log_prob(torch.full((2, 1, 28, 28), 1.2))
    with pytest.raises(RealNVPError, match="encode takes continuous images"):
        m.encode(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(RealNVPError, match="divisible"):
        RealNVP(RealNVPConfig(scales=4))
    # a checkpoint of another config
    small = RealNVP(RealNVPConfig(width=8, name="other"))
    path = tmp_path / "other.pt"
    small.save(path)
    with pytest.raises(RealNVPError, match="another config"):
        RealNVP("tiny").load_state_dict_checked(torch.load(path)["state_dict"], str(path))
    with pytest.raises(RealNVPError, match="not the requested"):
        RealNVP.load(path, config=RealNVPConfig.named("tiny"))
    assert RealNVP.load(path).config.width == 8
    # a corrupt file
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(RealNVPError, match="corrupt"):
        RealNVP.load(bad)
    with pytest.raises(FileNotFoundError):
        RealNVP.load(tmp_path / "absent.pt")


def test_resume_errors(tmp_path, small_data):
    tr, va = small_data
    with pytest.raises(T.TrainError, match="does not exist"):
        T.train(_tiny_train_cfg(), tmp_path / "none", resume=True, progress=False,
                train_images=tr, val_images=va)
    T.train(_tiny_train_cfg(max_steps=2), tmp_path / "r", progress=False, train_images=tr,
            val_images=va)
    with pytest.raises(T.TrainError, match="model config"):
        T.train(_tiny_train_cfg(size="small"), tmp_path / "r", resume=True, progress=False,
                train_images=tr, val_images=va)
    with pytest.raises(T.TrainError, match=r"another configuration: lr = .*Resume with the same"):
        T.train(_tiny_train_cfg(max_steps=2, lr=1e-5), tmp_path / "r", resume=True,
                progress=False, train_images=tr, val_images=va)
    (tmp_path / "r" / T.CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(RealNVPError, match="corrupt"):
        T.train(_tiny_train_cfg(), tmp_path / "r", resume=True, progress=False,
                train_images=tr, val_images=va)


# ------------------------------------------------------------------ the shipped run
def test_shipped_checkpoint_reproduces_manifest():
    assert (CANONICAL / "manifest.json").exists(), "the canonical run results/realnvp-nll-quick is missing"
    manifest = json.loads((CANONICAL / "manifest.json").read_text())
    res = manifest["results"]
    model = RealNVP.load(CANONICAL / "model.pt")
    # a config recorded before a field existed reads back with that field's default
    assert model.config == RealNVPConfig.from_dict(manifest["config"]["model"])
    assert model.num_parameters() == res["parameters"]
    x = load_mnist("test").images[:res["test_subset_images"]]
    bpd = bits_per_dim(model, x, seed=res["test_subset_seed"])
    assert abs(bpd - res["test_bpd_subset"]) < 1e-4, (bpd, res["test_bpd_subset"])
    full = load_mnist("test").images  # the manifest's test_bpd is on all 10 000 test digits
    assert bits_per_dim(model, full, seed=0) == pytest.approx(res["test_bpd"], abs=1e-4)
    # the trained model is exactly invertible on real digits too
    xf = x[:64].float() / 255
    with torch.no_grad():
        err = (model.decode(model.encode(xf)[0]) - xf).abs().max().item()
    assert err < 1e-4, err
    for name in ("metrics.jsonl", "samples.png"):
        assert (CANONICAL / name).exists()
    assert (CANONICAL / "model.pt").stat().st_size < 8e6


def test_shipped_compute_budget_matches_current_model():
    """The compute-budget benchmark's FLOPs per image and parameter counts must still be those
    of today's model code (else the shipped frontier is stale: rerun
    benchmarks/compute_budget.py), and its frontier must be read from the shipped curves."""
    from benchmarks.compute_budget import train_flops_per_image
    budget = json.loads((results_root("realnvp-compute-budget") / "budget.json").read_text())
    x = load_mnist("train").images[:budget["batch"]]
    for name in ("tiny", "small"):
        model = RealNVP(realnvp.SIZES[name])
        with torch.no_grad():
            model.log_prob(x[:16])
        flops = train_flops_per_image(lambda b, m=model: -m.log_prob(b).mean(), x)
        rec = budget["sizes"][name]
        assert rec["parameters"] == model.num_parameters()
        assert flops / 1e9 == pytest.approx(
            rec["train_gflop_per_image"], rel=1e-6)
    sweep = json.loads((results_root("realnvp-size-sweep") / "summary.json").read_text())
    tiny = {p["minutes"]: p["test_bpd"] for p in budget["frontier"]
            if p["run"] == "size sweep (tiny)"}
    assert tiny == {float(m): v for m, v in sweep["tiny"]["test_bpd"].items()}
    assert all(p["tflop"] > 0 for p in budget["frontier"])


def test_shipped_lr_sweep_model_reproduces_its_test_bpd():
    """The best 15-CPU-minute run shipped (tiny, lr 5e-3, batch 32) recomputes its recorded
    test bits/dim on all 10 000 test digits from its shipped model."""
    d = results_root("realnvp-lr-sweep")
    bench = json.loads((d / "tiny-lr0.005-b32-benchmark.json").read_text())
    model = RealNVP.load(d / "tiny-lr0.005-b32-model.pt")
    assert model.num_parameters() == bench["flowlib"]["parameters"]
    assert (bench["batch"], bench["flowlib"]["lr"]) == (32, 0.005)
    bpd = bits_per_dim(model, load_mnist("test").images)
    assert abs(bpd - bench["flowlib"]["test_bpd"]["15"]) < 1e-4, bpd
