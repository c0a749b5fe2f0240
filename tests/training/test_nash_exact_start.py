"""Issue 33's machinery: a discriminator that starts exactly at the GAN game's equilibrium
(D = 1/2 everywhere, a zero input gradient, so the generator's first gradient is exactly 0), a
frozen discriminator that then keeps the generator bit for bit where it started, and an NLL
control on its NSGAN run's optimiser."""
import pytest
import torch

from flowlib import training as T
from flowlib.data.mnist import load_mnist
from flowlib.models.discriminators import ConvDiscriminator
from flowlib.training import gan


@pytest.fixture(scope="module")
def small_data():
    return load_mnist("train").images[:256], load_mnist("validation").images[:32]


def _cfg(**kw):
    base = dict(size="tiny", batch_size=16, lr=1e-3, warmup_steps=0, final_lr_frac=1.0,
                max_steps=6, ema=None, eval_every=3, val_images=32, log_every=1,
                checkpoint_every=3, threads=1)
    base.update(kw)
    return T.TrainConfig(**base)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_the_exact_start_gives_one_half_everywhere_and_no_input_gradient(spectral_norm):
    torch.manual_seed(0)
    x = torch.rand(8, 1, 28, 28, requires_grad=True)
    exact = ConvDiscriminator(spectral_norm=spectral_norm, exact_start=True)
    d = torch.sigmoid(exact(x))
    assert torch.equal(d, torch.full((8,), 0.5))
    (g,) = torch.autograd.grad(d.sum(), x)
    assert torch.count_nonzero(g) == 0
    # the fresh discriminator, the case that must not pass: not 1/2, a non-zero slope
    fresh = ConvDiscriminator(spectral_norm=spectral_norm)
    (g,) = torch.autograd.grad(torch.sigmoid(fresh(x)).sum(), x)
    assert float(g.norm()) > 0 and not torch.equal(torch.sigmoid(fresh(x)), torch.full((8,), 0.5))


def test_the_exact_start_can_learn():
    """The gain's own gradient is not 0: a discriminator at the equilibrium is not stuck."""
    torch.manual_seed(0)
    disc = ConvDiscriminator(exact_start=True)
    opt = torch.optim.Adam(disc.parameters(), lr=1e-2)
    real, fake = torch.rand(16, 1, 28, 28), torch.rand(16, 1, 28, 28) * 0.5
    gan.discriminator_update(disc, opt, real, fake)
    assert float(disc.gain.detach()) != 0.0


def _trainer(tmp_path, name, data, **kw):
    loss = T.make_loss(kw.pop("loss", "nsgan"))
    tr = T.Trainer(_cfg(**kw), tmp_path / name, loss, T.TrainData(*data), seed=0, progress=False)
    tr.initialize()
    return tr


def test_the_generator_gets_exactly_zero_gradient_at_the_exact_start(tmp_path, small_data):
    tr = _trainer(tmp_path, "exact", small_data, d_start="exact", freeze_disc=True)
    objective, logs = tr.loss_fn.loss(tr.model, small_data[0][:16], 0, tr.noise_gen)
    objective.backward()
    grads = [p.grad for p in tr.model.parameters() if p.grad is not None]
    assert grads and all(torch.count_nonzero(g) == 0 for g in grads)
    assert logs["d_input_grad_fake"] == 0.0 and logs["d_real"] == logs["d_fake"] == 0.5


def test_a_frozen_discriminator_at_the_exact_start_keeps_the_generator_still(tmp_path, small_data):
    tr = _trainer(tmp_path, "frozen", small_data, d_start="exact", freeze_disc=True)
    start = {k: v.clone() for k, v in tr.model.state_dict().items()}
    d_start = {k: v.clone() for k, v in tr.loss_fn.disc.state_dict().items()}
    for _ in range(4):
        tr.optimizer_step()
    for k, v in tr.model.state_dict().items():
        assert torch.equal(v, start[k]), k
    for k, v in tr.loss_fn.disc.state_dict().items():
        assert torch.equal(v, d_start[k]), k
    assert tr.param_distance() == 0.0
    # the discriminator learning from the same start (not frozen) moves it: the control bites
    moving = _trainer(tmp_path, "moving", small_data, d_start="exact")
    for _ in range(4):
        moving.optimizer_step()
    assert moving.param_distance() > 0.0


def test_an_nll_control_can_run_on_its_gan_runs_optimiser(tmp_path, small_data):
    nll = _trainer(tmp_path, "nll", small_data, loss="nll", gen_beta1=0.5)
    assert nll.opt.param_groups[0]["betas"] == (0.5, 0.999)
    default = _trainer(tmp_path, "nll-default", small_data, loss="nll")
    assert default.opt.param_groups[0]["betas"] == (0.9, 0.999)
    ns = _trainer(tmp_path, "ns", small_data)
    assert ns.opt.param_groups[0]["betas"] == (0.5, 0.999)


def test_a_frozen_discriminator_cannot_be_trained_first():
    loss = T.make_loss("nsgan", None, 5)
    from flowlib.models.realnvp import RealNVP, RealNVPConfig
    with pytest.raises(gan.GANConfigError, match="frozen"):
        loss.setup(RealNVP(RealNVPConfig.named("tiny")), _cfg(freeze_disc=True))
