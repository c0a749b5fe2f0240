"""The corrected adversarial machinery: the same start for every loss, fakes on the pixel
range, and stabilisers that do what they should (on constructed critics)."""
import math

import pytest
import torch
from torch import nn

from flowlib import training as T
from flowlib.data.mnist import load_mnist
from flowlib.models.discriminators import ConvDiscriminator
from flowlib.models.flows import ActNorm
from flowlib.training import gan


@pytest.fixture(scope="module")
def small_data():
    return load_mnist("train").images[:256], load_mnist("validation").images[:32]


def _cfg(**kw):
    base = dict(size="tiny", batch_size=16, lr=2e-4, warmup_steps=2, max_steps=8, ema=0.9,
                eval_every=4, val_images=32, log_every=2, checkpoint_every=2, threads=1)
    base.update(kw)
    return T.TrainConfig(**base)


def test_every_loss_starts_from_the_same_initialised_network(tmp_path, small_data):
    tr, va = small_data
    states = {}
    for loss in ("nll", "nsgan", "hybrid", "wgan-gp"):
        trainer = T.Trainer(_cfg(), tmp_path / loss, T.make_loss(loss, 0.1 if loss == "hybrid" else None),
                            T.TrainData(tr, va), seed=1, progress=False)
        trainer.initialize()
        assert all(bool(m.initialized) for m in trainer.model.modules() if isinstance(m, ActNorm))
        states[loss] = trainer.model.state_dict()
        # the EMA copy, which every quality check measures, starts from the same network
        for k, v in trainer.ema.model.state_dict().items():
            assert torch.equal(v, states[loss][k]), ("ema", loss, k)
    for loss, state in states.items():
        for k, v in state.items():
            assert torch.equal(v, states["nll"][k]), (loss, k)


def test_fakes_lie_on_the_pixel_range_and_keep_their_gradient():
    raw = torch.tensor([[-0.05, 0.5, 1.05]], requires_grad=True)
    shown = gan.to_pixel_range(raw)
    assert torch.equal(shown.detach(), torch.tensor([[0.0, 0.5, 1.0]]))
    shown.sum().backward()
    assert torch.equal(raw.grad, torch.ones_like(raw))  # straight through, no dead pixels


def test_a_gan_step_shows_the_discriminator_fakes_in_the_range_of_real_batches(tmp_path, small_data):
    tr, va = small_data
    trainer = T.Trainer(_cfg(), tmp_path / "r", T.make_loss("nsgan"), T.TrainData(tr, va),
                        seed=0, progress=False)
    trainer.initialize()
    seen = []
    disc = trainer.loss_fn.disc
    hook = disc.register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].detach()))
    try:
        trainer.optimizer_step()
    finally:
        hook.remove()
    lo, hi = min(float(x.min()) for x in seen), max(float(x.max()) for x in seen)
    assert 0.0 <= lo and hi <= 1.0, (lo, hi)


def test_at_the_nash_start_the_discriminator_sees_reals_and_fakes_alike():
    """A generator equal to the teacher must give the discriminator the reals' distribution:
    teacher samples lie on the support (-a, 1 + a), so reals are clipped like fakes. Here the
    same latents make the teacher's draw and the generator's fake the same image."""
    from flowlib.models.realnvp import RealNVP, RealNVPConfig
    torch.manual_seed(0)
    teacher = RealNVP(RealNVPConfig.named("tiny"))
    real = teacher.sample(64, generator=torch.Generator().manual_seed(3), clamp=False)
    assert float(real.min()) < 0 or float(real.max()) > 1  # the case that can fail
    loss = gan.GANTrainLoss(gan.LossSpec("nsgan"))
    seen_real = loss._real(teacher, real, torch.Generator().manual_seed(4))
    seen_fake = loss._fake(teacher, 64, torch.Generator().manual_seed(3))
    assert torch.equal(seen_real, seen_fake.reshape(seen_real.shape))
    assert 0.0 <= float(seen_real.min()) and float(seen_real.max()) <= 1.0


class Linear(nn.Module):
    """A known critic D(x) = w . x: its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32))

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_r1_and_the_wgan_gradient_penalty_on_a_known_critic():
    x = torch.rand(5, 1, 2, 2)
    w = torch.tensor([2.0, 0.0, 0.0, 0.0])
    assert float(gan.r1_penalty(Linear(w), x)) == pytest.approx(4.0)        # ||w||^2
    assert float(gan.gradient_penalty(Linear(w), x, x.flip(0))) == pytest.approx(1.0)  # (2 - 1)^2
    unit = w / 2
    assert float(gan.gradient_penalty(Linear(unit), x, x.flip(0))) == pytest.approx(0.0, abs=1e-12)


def test_r1_adds_gamma_over_two_times_the_penalty_to_the_discriminator_loss():
    x, fake = torch.rand(5, 1, 2, 2), torch.rand(5, 1, 2, 2)
    w = torch.tensor([1.0, -1.0, 0.5, 0.0])
    logs = {}
    for r1 in (0.0, 3.0):
        d = Linear(w)
        logs[r1] = gan.discriminator_update(d, torch.optim.SGD(d.parameters(), lr=0.0), x, fake, r1=r1)
    assert logs[3.0]["d_loss"] - logs[0.0]["d_loss"] == pytest.approx(0.5 * 3.0 * 2.25, rel=1e-5)


def test_spectral_norm_bounds_every_layer_of_the_discriminator():
    torch.manual_seed(0)
    d = ConvDiscriminator(spectral_norm=True)
    for _ in range(20):  # power iterations run in training mode
        d(torch.rand(4, 1, 28, 28))
    d.eval()
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)
        assert float(sigma) == pytest.approx(1.0, abs=0.05)
    plain = ConvDiscriminator(spectral_norm=False)
    assert any(float(torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)) > 1.2
               for m in plain.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


@pytest.mark.parametrize("loss, loss_kw, opts", [
    ("nsgan", {}, dict(d_steps=2, r1=1.0, spectral_norm=True, d_lr=4e-4, gan_beta1=0.0)),
    ("wgan-gp", {}, dict(d_steps=3, gan_beta2=0.9, lr=1e-4)),
    # the fair fight's and the Nash study's selected flags: no EMA, no warm-up, no decay, a
    # discriminator trained first, the hybrid with stabilisers
    ("nsgan", dict(pretrain_disc=3), dict(ema=None, warmup_steps=0, final_lr_frac=1.0, r1=10.0)),
    ("hybrid", dict(hybrid_lambda=0.05), dict(d_steps=4, r1=10.0, d_lr=1e-3, gan_beta1=0.0,
                                              warmup_steps=0, final_lr_frac=0.0)),
])
def test_a_gan_run_with_every_option_resumes_bit_for_bit(tmp_path, small_data, loss, loss_kw, opts):
    tr, va = small_data
    cfg = _cfg(**opts)
    a = T.train(cfg, tmp_path / "a", loss=T.make_loss(loss, **loss_kw), progress=False,
                train_images=tr, val_images=va, seed=2)
    T.train(cfg, tmp_path / "b", loss=T.make_loss(loss, **loss_kw), progress=False,
            train_images=tr, val_images=va, seed=2, stop_after_steps=4)
    b = T.train(cfg, tmp_path / "b", loss=T.make_loss(loss, **loss_kw), progress=False,
                train_images=tr, val_images=va, seed=2, resume=True)
    assert a.step == b.step == 8
    ca = torch.load(tmp_path / "a" / T.CHECKPOINT, weights_only=False)
    cb = torch.load(tmp_path / "b" / T.CHECKPOINT, weights_only=False)
    assert (ca["ema"] is None) == (not opts.get("ema", 0.9))
    for part in ("model", "ema"):
        for k, v in (ca[part] or {}).items():
            assert torch.equal(v, cb[part][k]), (part, k)
    for k, v in ca["loss_state"]["disc"].items():
        assert torch.equal(v, cb["loss_state"]["disc"][k]), k
    rows = [r for r in a.metrics if "d_loss" in r and not r.get("event")]
    assert rows and {"d_real", "d_fake", "d_input_grad_fake", "grad_norm"} <= set(rows[-1])
    assert ("d_gp" in rows[-1]) == (loss == "wgan-gp") and ("d_r1" in rows[-1]) == bool(opts.get("r1"))
    assert all(math.isfinite(r["d_input_grad_fake"]) for r in rows)
    # the distance travelled in parameter space resumes with the run (its start is in the
    # checkpoint): the same at every logged step as in the uninterrupted run
    dist = {r["step"]: r["param_distance"] for r in rows}
    assert {r["step"]: r["param_distance"] for r in b.metrics if "d_loss" in r and not r.get("event")} == dist
    assert all(d is not None and d > 0 for d in dist.values())


def test_the_discriminator_follows_the_generators_schedule(tmp_path, small_data):
    tr, va = small_data
    cfg = _cfg(d_lr=1e-3, warmup_steps=4)
    trainer = T.Trainer(cfg, tmp_path / "s", T.make_loss("nsgan"), T.TrainData(tr, va), seed=0,
                        progress=False)
    trainer.initialize()
    for _ in range(3):
        logs, lr, _ = trainer.optimizer_step()
        d_lr = trainer.loss_fn.d_opt.param_groups[0]["lr"]
        assert d_lr == pytest.approx(1e-3 * lr / cfg.lr)  # same warm-up, scaled by d_lr / lr


def test_the_nash_study_options_run_together(tmp_path):
    """A constant learning rate (no warm-up, no decay), plain SGD, dense early checks (with a
    training row at each) and the reverse KL, from the teacher's weights on fresh teacher
    samples."""
    from flowlib.cli import main
    from flowlib.training.metrics_file import read_metrics
    out = tmp_path / "nash"
    assert main(["train", "--preset", "smoke", "--loss", "nsgan", "--init", "teacher", "--data",
                 "teacher-stream", "--steps", "20", "--lr", "1e-5", "--warmup-steps", "0",
                 "--final-lr-frac", "1", "--optimizer", "sgd", "--dense-checks", "3", "9",
                 "--reverse-kl", "--eval-every", "20", "--quality-every", "20", "--no-ema",
                 "--no-progress", "--out", str(out)]) == 0
    rows = read_metrics(out)
    checks = [r for r in rows if "kl" in r]
    assert [r["step"] for r in checks] == [0, 3, 6, 9, 20]
    # the gradients are logged at every dense check, not only every log_every (5 at smoke)
    trained = {r["step"] for r in rows if "d_loss" in r}
    assert {3, 6, 9} <= trained, sorted(trained)
    assert all(r["reverse_kl"] is not None and abs(r["reverse_kl"]) < 5 * r["reverse_kl_se"] + 1.0
               for r in checks[:1])  # the student starts as the teacher
    assert {r["lr"] for r in rows if "lr" in r} == {1e-5}
    assert {"d_input_grad_fake", "d_input_grad_real", "g_saturated"} <= set(next(r for r in rows if "d_loss" in r))
    # the distance travelled from the teacher's weights: measured, growing from 0, and for SGD
    # (each step is lr x gradient) within three times lr x steps x the first logged gradient norm
    trained_rows = sorted((r for r in rows if "d_loss" in r), key=lambda r: r["step"])
    dist = [r["param_distance"] for r in trained_rows]
    assert all(d is not None and d >= 0 for d in dist) and dist[-1] > 0
    per_step = {r["step"]: r["grad_norm"] for r in trained_rows}
    assert dist[0] <= 1e-5 * per_step[trained_rows[0]["step"]] * trained_rows[0]["step"] * 3


def test_saturated_fraction_finds_pixels_whose_sigmoid_passes_no_gradient():
    import torch
    from flowlib.training.gan import saturated_fraction
    a = 0.05
    # decoded pixels from pre-sigmoid values z: (sigmoid(z) - a) / (1 - 2a)
    z = torch.tensor([-2000.0, -123.0, -20.0, -5.0, 0.0, 5.0, 20.0, 60.0])
    raw = (torch.sigmoid(z) - a) / (1 - 2 * a)
    assert saturated_fraction(raw, a) == pytest.approx(5 / 8)   # |z| >= 20 are flat
    assert saturated_fraction(torch.full((4, 1, 28, 28), 0.5), a) == 0.0
    # which end: the black (lower) one for z <= -20, the white one for z >= 20
    from flowlib.training.gan import saturated_black_share
    assert saturated_black_share(raw, a) == pytest.approx(3 / 5)
    assert math.isnan(saturated_black_share(torch.full((4, 1, 28, 28), 0.5), a))


def test_the_gradient_penalty_weight_scales_the_critics_penalty():
    x, fake = torch.rand(5, 1, 2, 2), torch.rand(5, 1, 2, 2)
    w = torch.tensor([2.0, 0.0, 0.0, 0.0])      # penalty (||w|| - 1)^2 = 1 everywhere
    logs = {}
    for weight in (0.0, 10.0, 3.0):
        d = Linear(w)
        logs[weight] = gan.discriminator_update(d, torch.optim.SGD(d.parameters(), lr=0.0), x, fake,
                                                kind="wgan-gp", gp_weight=weight)
    assert logs[10.0]["d_loss"] - logs[0.0]["d_loss"] == pytest.approx(10.0, rel=1e-5)
    assert logs[3.0]["d_loss"] - logs[0.0]["d_loss"] == pytest.approx(3.0, rel=1e-5)


def test_wgan_gp_without_its_flags_gets_flow_gans_reference_settings():
    import argparse
    from flowlib.training import cli
    parser = argparse.ArgumentParser()
    cli.add_cli(parser.add_subparsers())
    cfg = cli._config_from_args(parser.parse_args(["train", "--loss", "wgan-gp", "--preset", "smoke", "--out", "x"]))
    assert (cfg.gan_beta1, cfg.gan_beta2, cfg.d_steps, cfg.lr, cfg.gp_weight) == (0.5, 0.9, 5, 1e-4, 10.0)
    given = cli._config_from_args(parser.parse_args(
        ["train", "--loss", "wgan-gp", "--preset", "smoke", "--d-steps", "2", "--lr", "3e-4",
         "--gan-beta2", "0.99", "--gp-weight", "1", "--out", "x"]))
    assert (given.gan_beta2, given.d_steps, given.lr, given.gp_weight) == (0.99, 2, 3e-4, 1.0)
    # the other losses keep their own defaults
    ns = cli._config_from_args(parser.parse_args(["train", "--loss", "nsgan", "--preset", "smoke", "--out", "x"]))
    assert (ns.gan_beta2, ns.d_steps) == (0.999, 1)
