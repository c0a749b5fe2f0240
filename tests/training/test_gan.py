"""GAN losses, discriminators and the 2-D flows: values, gradients, and who gets updated."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flowlib.book import likelihood_vs_adversaries as theory
from flowlib.data.toy2d import Toy2DError, sample_toy
from flowlib.models import discriminators as D
from flowlib.models.flow2d import Flow2D
from flowlib.training import gan, toy2d


def test_loss_values_match_their_definitions():
    logits = torch.tensor([-3.0, 0.0, 2.0])
    d = torch.sigmoid(logits)
    assert torch.allclose(gan.generator_loss("nsgan", logits), (-torch.log(d)).mean())
    assert torch.allclose(gan.generator_loss("minimax", logits), torch.log(1 - d).mean())
    real, fake = torch.tensor([1.5, -0.5]), torch.tensor([0.3, -2.0])
    expected = -(torch.log(torch.sigmoid(real))).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    assert torch.allclose(gan.discriminator_loss(real, fake), expected)
    # at the Nash equilibrium D = 1/2 everywhere: the discriminator's loss is log 4
    zero = torch.zeros(5)
    assert math.isclose(float(gan.discriminator_loss(zero, zero)), math.log(4), rel_tol=1e-6)


def test_nsgan_gradient_stays_large_where_minimax_vanishes():
    """When D confidently rejects the fakes (D(G(z)) -> 0) only NSGAN still teaches G."""
    for logit in (-8.0, -4.0):
        grads = {}
        for kind in ("nsgan", "minimax"):
            l = torch.tensor([logit], requires_grad=True)
            gan.generator_loss(kind, l).backward()
            grads[kind] = float(l.grad)
        # both push the logit up (negative gradient of a minimised loss) ...
        assert grads["nsgan"] < 0 and grads["minimax"] < 0
        # ... but minimax's push vanishes and NSGAN's does not
        assert abs(grads["nsgan"]) > 0.98 and abs(grads["minimax"]) < 0.02
    c = theory.generator_losses(np.array([0.01]))
    assert abs(c["nsgan_grad"][0]) > 50 * abs(c["minimax_grad"][0])


def test_loss_spec_rejects_bad_input():
    with pytest.raises(gan.GANConfigError, match="Unknown loss 'wgan'.*nll, nsgan, minimax, hybrid"):
        gan.LossSpec("wgan")
    with pytest.raises(gan.GANConfigError, match="hybrid loss needs a positive weight"):
        gan.LossSpec("hybrid")
    with pytest.raises(gan.GANConfigError, match="only used by the hybrid loss"):
        gan.LossSpec("nsgan", hybrid_lambda=0.1)


def test_discriminators_reject_wrong_shapes():
    with pytest.raises(gan.GANConfigError, match=r"shape \(N, 1, 28, 28\), got \(4, 1, 32, 32\)"):
        D.ConvDiscriminator()(torch.rand(4, 1, 32, 32))
    with pytest.raises(gan.GANConfigError, match="float images"):
        D.ConvDiscriminator()(torch.zeros(4, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(gan.GANConfigError, match=r"\(N, 2\)"):
        D.MLPDiscriminator(2)(torch.rand(4, 3))
    assert D.ConvDiscriminator(spectral_norm=True)(torch.rand(3, 1, 28, 28)).shape == (3,)


def test_dequantize_matches_the_nll_convention():
    """The discriminator sees real images exactly as the NLL's Dequantize step makes them."""
    from flowlib.models.flows import Dequantize
    x = torch.tensor([[0, 255, 17]], dtype=torch.uint8)
    y = gan.dequantize(x, torch.Generator().manual_seed(0))
    assert torch.all(y >= x.float() / 256) and torch.all(y < (x.float() + 1) / 256)
    y_nll, logdet = Dequantize().encode(x, torch.Generator().manual_seed(0))
    assert torch.equal(y, y_nll)
    assert float(logdet[0]) == pytest.approx(-3 * math.log(256))


@pytest.mark.parametrize("kind", ["nsgan", "minimax", "hybrid"])
def test_adversarial_step_updates_each_player_only_in_its_own_update(kind):
    torch.manual_seed(0)
    flow, disc = Flow2D(4, 16), D.MLPDiscriminator(2, 16, 2)
    # make the flow's couplings non-trivial so every parameter gets a gradient
    for p in flow.parameters():
        torch.nn.init.normal_(p, std=0.1)
    g_opt = torch.optim.SGD(flow.parameters(), lr=0.1)
    d_opt = torch.optim.SGD(disc.parameters(), lr=0.1)
    spec = gan.LossSpec(kind, 0.5 if kind == "hybrid" else None)
    x = sample_toy("8 gaussians", 64, torch.Generator().manual_seed(1))
    g_before = [p.detach().clone() for p in flow.parameters()]
    d_before = [p.detach().clone() for p in disc.parameters()]

    # freeze the generator's optimiser to see the discriminator's update alone, and vice versa
    g_lr = g_opt.param_groups[0]["lr"]
    g_opt.param_groups[0]["lr"] = 0.0
    m = gan.adversarial_step(flow, disc, g_opt, d_opt, x, spec,
                             fake_fn=lambda n: flow.sample(n), nll_fn=lambda: -flow.log_prob(x).mean())
    assert all(torch.equal(a, b) for a, b in zip(g_before, flow.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, disc.parameters()))
    assert m["d_grad_norm"] > 0 and m["g_grad_norm"] > 0 and 0 < m["d_real"] < 1
    assert ("nll" in m) == (kind == "hybrid")

    d_mid = [p.detach().clone() for p in disc.parameters()]
    g_opt.param_groups[0]["lr"] = g_lr
    d_opt.param_groups[0]["lr"] = 0.0
    gan.adversarial_step(flow, disc, g_opt, d_opt, x, spec,
                         fake_fn=lambda n: flow.sample(n), nll_fn=lambda: -flow.log_prob(x).mean())
    assert all(torch.equal(a, b) for a, b in zip(d_mid, disc.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, flow.parameters()))
    assert all(p.requires_grad for p in disc.parameters())  # unfrozen again


def test_flow2d_is_invertible_and_its_density_integrates_to_one():
    torch.manual_seed(0)
    flow = Flow2D(6, 32).double()
    for p in flow.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(100, 2, dtype=torch.float64)
    z, _ = flow.encode(x)
    assert torch.allclose(flow.decode(z), x, atol=1e-10)
    xs = torch.linspace(-12, 12, 801, dtype=torch.float64)
    xx, yy = torch.meshgrid(xs, xs, indexing="xy")
    with torch.no_grad():
        dens = flow.log_prob(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).exp()
    mass = float(dens.sum() * (xs[1] - xs[0]) ** 2)
    assert abs(mass - 1.0) < 1e-3


def test_nll_training_in_2d_lowers_nll_and_covers_the_modes():
    run = toy2d.train_toy(toy2d.Toy2DConfig(dataset="8 gaussians", loss="nll", steps=300,
                                            snapshots=3, grid=20))
    assert run.nll[-1] < run.nll[0] - 0.5
    assert run.coverage[-1] == 1.0


def test_unknown_toy_data_set():
    with pytest.raises(Toy2DError, match="two moons, rings, 8 gaussians"):
        sample_toy("spiral", 10)


def test_gan_losses_plug_into_the_one_training_loop_and_resume(tmp_path):
    """NSGAN through flowlib.training.trainer: metrics of both players, exact val bpd, bit-identical resume."""
    from flowlib import training as T
    from flowlib.data.mnist import load_mnist
    tr, va = load_mnist("train").images[:256], load_mnist("validation").images[:64]
    # quality checks (sampling, FID, grids) every 4 steps must not disturb what resume recomputes
    cfg = T.preset_config("smoke", max_steps=8, eval_every=4, checkpoint_every=4, log_every=2,
                          threads=1, quality_every=4, quality_images=64, grid_images=4)
    straight = T.train(cfg, tmp_path / "a", loss=T.make_loss("hybrid", 0.1), progress=False,
                       train_images=tr, val_images=va)
    checks = [r for r in straight.metrics if "fid" in r]
    assert [r["step"] for r in checks] == [0, 4, 8]
    assert all({"precision", "recall", "classes_covered", "class_histogram"} <= set(r) for r in checks)
    assert sorted(p.name for p in (tmp_path / "a" / "grids").iterdir()) == [
        "step-000000.png", "step-000004.png", "step-000008.png"]
    rows = [r for r in straight.metrics if "d_loss" in r]
    assert rows and {"d_real", "d_fake", "d_grad_norm", "g_loss", "grad_norm", "train_bpd"} <= set(rows[-1])
    assert any("val_bpd" in r and math.isfinite(r["val_bpd"]) for r in straight.metrics)
    T.train(cfg, tmp_path / "b", loss=T.make_loss("hybrid", 0.1), progress=False,
            train_images=tr, val_images=va, stop_after_steps=4)
    with pytest.raises(T.TrainError, match="resume with the same loss"):
        T.train(cfg, tmp_path / "b", loss=T.make_loss("nsgan"), progress=False, resume=True,
                train_images=tr, val_images=va)
    resumed = T.train(cfg, tmp_path / "b", loss=T.make_loss("hybrid", 0.1), progress=False,
                      resume=True, train_images=tr, val_images=va)
    a = torch.load(tmp_path / "a" / T.CHECKPOINT, weights_only=False)
    b = torch.load(tmp_path / "b" / T.CHECKPOINT, weights_only=False)
    assert resumed.step == straight.step == 8
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    for k, v in a["loss_state"]["disc"].items():
        assert torch.equal(v, b["loss_state"]["disc"][k]), k
    with pytest.raises(T.LossError, match="only used by --loss hybrid"):
        T.make_loss("nsgan", 0.5)
