"""The teacher's exact density, checked independently of the code that computes it.

Each check is first shown to pass on the teacher and then to *fail* on a deliberately wrong
density (``wrong_density``: the log-density evaluated at another base temperature than the
samples were drawn at, e.g. the temperature left out), so none of them holds for any function.

Only one of them tests the log-determinants: the change of variables recomputed from the full
Jacobian (``test_log_density_equals_the_change_of_variables_from_scratch``). The analytic-KL,
coverage and reverse-KL tests compare the teacher with *itself* at another base temperature:
every log-det term sits in both densities and cancels, so they pass whatever the log-dets are;
the latent chi-square test reads the transform only. The mutation tests
(``test_the_change_of_variables_check_catches_a_broken_log_det``) break one log-det term at a
time (the logit's dropped, the split priors' dropped, one coupling's off by 1e-3 nats, the
masked checkerboard's summed without its mask) and show the Jacobian check failing while the
analytic-KL check passes with the very estimate it gives unmutated.
"""
import copy
import math

import pytest
import torch

from flowlib.data import synthetic as S
from flowlib.metrics import likelihood as L
from flowlib.models.flows import AffineCoupling, Logit
from flowlib.models.realnvp import MaskedCheckerboardCoupling, SplitPrior


@pytest.fixture(scope="module")
def teacher():
    return S.Teacher.load()


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory):
    """A cache of synthetic splits for this module only (never the user's cache)."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOWLIB_CACHE", str(path))
        yield path


def wrong_temperature(t: float) -> float:
    """The base temperature a wrong density uses: 1 (the temperature left out), or 1.1 if the
    teacher's own temperature is 1."""
    return 1.0 if abs(t - 1.0) > 0.05 else 1.1


def test_temperature_kl_on_constructed_numbers():
    assert L.temperature_kl(784, 0.8, 0.8) == 0.0
    # D = 1, t = 1, s = 2: (1/4 - 1 - ln 1/4) / 2
    assert L.temperature_kl(1, 1.0, 2.0) == pytest.approx(0.5 * (0.25 - 1 + math.log(4)))
    assert L.temperature_kl(784, 0.9, 0.8) == pytest.approx(784 * L.temperature_kl(1, 0.9, 0.8))
    assert L.temperature_kl(784, 0.9, 0.8) > 0 and L.temperature_kl(784, 0.8, 0.9) > 0


@pytest.mark.parametrize("ratio", [0.8, 0.95, 1.2])
def test_kl_estimate_reproduces_the_analytic_temperature_kl(teacher, ratio, fresh_cache):
    """A student with the teacher's weights and base temperature s: KL(teacher || student) is
    the Gaussians' KL exactly, whatever the flow. The estimate must agree within 3 standard
    errors (a 1-SE rule would fail a correct estimator a third of the time; the next test
    checks that the standard error itself is honest). It checks the sampler, the base density
    and the estimator, not the log-dets: those cancel between teacher and student (see the
    mutation tests)."""
    t = teacher.temperature
    data = S.synthetic_mnist("test", 2000, teacher)
    est = L.kl_to_teacher(teacher.model.with_base_temperature(ratio * t), data)
    exact = L.temperature_kl(784, t, ratio * t)
    assert abs(est.value - exact) <= 3 * est.se, (est, exact)
    # the same check on a wrong density (teacher and student alike) fails by far
    wt = wrong_temperature(t)
    with torch.no_grad():
        wrong_lp = teacher.model.with_base_temperature(wt).eval().log_prob(data.images).double()
    wrong = L.kl_to_teacher(teacher.model.with_base_temperature(ratio * wt),
                            S.SyntheticData(data.images, wrong_lp, "test", "wrong"))
    assert abs(wrong.value - exact) > 20 * max(wrong.se, est.se), (wrong, exact)


def test_kl_standard_error_is_honest(teacher):
    """Coverage over 40 independent draws of 100 samples: about 68% of the estimates lie
    within one standard error of the exact KL and about 95% within two."""
    t = teacher.temperature
    student = teacher.model.with_base_temperature(0.9 * t)
    exact = L.temperature_kl(784, t, 0.9 * t)
    z = []
    for k in range(40):
        x, lp = teacher.sample(100, torch.Generator().manual_seed(10_000 + k))
        est = L.kl_to_teacher(student, S.SyntheticData(x, lp, "coverage", teacher.sha256))
        z.append(abs(est.value - exact) / est.se)
    within1 = sum(v <= 1 for v in z) / len(z)
    within2 = sum(v <= 2 for v in z) / len(z)
    assert 0.5 <= within1 <= 0.85 and within2 >= 0.85, (within1, within2)


def test_teacher_samples_follow_the_density_it_evaluates(teacher, fresh_cache):
    """Encoded teacher samples are N(0, t^2 I): |z|^2 / t^2 is chi-square(784), each latent
    coordinate has mean 0; with the wrong temperature the same test rejects."""
    t = teacher.temperature
    x = S.synthetic_mnist("test", 2000, teacher).images
    ok = L.latent_chi2(teacher.model, x, t)
    assert ok["ks_p"] > 1e-3, ok
    assert abs(ok["mean_sq"] - 1) < 4 * ok["mean_sq_se"], ok
    assert ok["max_mean_z"] < 5, ok
    bad = L.latent_chi2(teacher.model, x, wrong_temperature(t))
    assert bad["ks_p"] < 1e-6 and abs(bad["mean_sq"] - 1) > 20 * bad["mean_sq_se"], bad


TOLERANCE = 1e-6  # nats per image: the change-of-variables check passes when |gap| < this


@pytest.fixture(scope="module")
def jacobian_samples(teacher, fresh_cache):
    """The images the change-of-variables check runs on, drawn before any test mutates code:
    the first 8 of the synthetic test split, and from its first 2 000 the least and the most
    likely image and the one with a pixel closest to the edge of the support (where the logit's
    log-det is steepest)."""
    data = S.synthetic_mnist("test", 2000, teacher)
    lo, hi = teacher.model.support()
    gap = torch.minimum(data.images - lo, hi - data.images).flatten(1).amin(1)
    extremes = [int(data.log_p.argmin()), int(data.log_p.argmax()), int(gap.argmin())]
    return data.images[list(range(8)) + extremes]


def test_log_density_equals_the_change_of_variables_from_scratch(teacher, jacobian_samples):
    """log p(x) of 11 teacher samples (``jacobian_samples``) against log N(z; 0, t^2 I) (scipy)
    plus the log-det of the full 784 x 784 Jacobian of the transform (autograd): the model's
    own log-det bookkeeping unused. Cost, measured: 3.2 s of CPU per image on one thread (the
    Jacobian's), 36 s for the 11, so about that on an idle core of this project's 2-core
    machine (440 s wall under ``nice`` while other jobs kept it at load 7). The agreement is
    about 1e-12 nats. The same comparison with the base temperature left out fails by far."""
    gap = L.jacobian_check(teacher.model, jacobian_samples)
    assert len(gap) == 11 and gap.abs().max() < TOLERANCE, gap
    # a density at the wrong base temperature: its gap is the own gap plus what it changes
    model64 = copy.deepcopy(teacher.model).double()
    x = jacobian_samples[:2].double()
    with torch.no_grad():
        changed = (model64.with_base_temperature(wrong_temperature(teacher.temperature)).log_prob(x)
                   - model64.log_prob(x))
    assert (changed + gap[:2]).abs().min() > 1.0


# ------------------------------------------------------------------ mutations
# Each mutation breaks one log-det term of the flow's own bookkeeping, in the code (every
# instance of the class), so a teacher and a student made with it share the error. The
# transform itself is untouched: samples, latents and the Jacobian stay correct.

LD_OFFSET = 1e-3  # nats per image: the perturbed coupling's error, 1 000 x the tolerance


def _drop_logit_logdet(mp, model):
    encode = Logit.encode
    mp.setattr(Logit, "encode", lambda self, y: (encode(self, y)[0], y.new_zeros(y.shape[0])))


def _drop_split_prior_logdet(mp, model):
    encode = SplitPrior.encode
    mp.setattr(SplitPrior, "encode",
               lambda self, z, h: (encode(self, z, h)[0], z.new_zeros(z.shape[0])))


def _perturb_one_coupling_logdet(mp, model):
    """The log-det of one coupling (the second channel-wise coupling of the first scale) off by
    :data:`LD_OFFSET` nats; the coupling is marked on the instance, which copies carry."""
    encode = AffineCoupling.encode

    def perturbed(self, x):
        z, ld = encode(self, x)
        return z, ld + getattr(self, "_ld_offset", 0.0)
    mp.setattr(AffineCoupling, "encode", perturbed)
    _mark_coupling(model)


def _mark_coupling(model):
    model.scales[0].steps[-2]._ld_offset = LD_OFFSET


def _unmasked_checkerboard_logdet(mp, model):
    """A classic slip: the masked checkerboard coupling's log-det summed over every pixel's
    scale, the conditioning (unchanged) pixels' included."""
    def encode(self, x):
        m = self.mask.to(x.dtype)
        s, t = self.affine(x * m)
        return x * m + (1 - m) * (x * torch.exp(s * (1 - m)) + t * (1 - m)), s.sum((1, 2, 3))
    mp.setattr(MaskedCheckerboardCoupling, "encode", encode)


MUTATIONS = {"logit log-det dropped": _drop_logit_logdet,
             "split prior log-det dropped": _drop_split_prior_logdet,
             f"one coupling's log-det off by {LD_OFFSET:g} nats": _perturb_one_coupling_logdet,
             "checkerboard log-det summed over unmasked scales": _unmasked_checkerboard_logdet}


def _analytic_kl_check(model, x, ratio=0.8):
    """What ``test_kl_estimate_reproduces_the_analytic_temperature_kl`` checks, on images ``x``
    whose log-densities are evaluated by ``model`` (a teacher made with the mutated code):
    ``(estimate, exact)``."""
    t = model.config.base_std
    student = model.with_base_temperature(ratio * t)
    if getattr(model.scales[0].steps[-2], "_ld_offset", None) is not None:
        _mark_coupling(student)   # the student is built by the same (mutated) code
    with torch.no_grad():
        lp = model.log_prob(x.double()).double()
    est = L.kl_to_teacher(student, S.SyntheticData(x.double(), lp, "test", "mutated"))
    return est, L.temperature_kl(784, t, ratio * t)


@pytest.fixture(scope="module")
def unmutated_kl(teacher, fresh_cache):
    """Images for the analytic-KL check under mutation (the first 250 of the test split, drawn
    before any code is mutated), and that check's ``(estimate, exact)`` without a mutation."""
    x = S.synthetic_mnist("test", 250, teacher).images
    return x, _analytic_kl_check(copy.deepcopy(teacher.model).double(), x)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_the_change_of_variables_check_catches_a_broken_log_det(teacher, jacobian_samples,
                                                                  unmutated_kl, mutation):
    """With one log-det term broken the independent check fails on every image, while the
    analytic-KL check (the teacher against itself at another base temperature) still passes:
    there the broken term sits in both densities and cancels, so its estimate is the unmutated
    one to about 1e-9 nats. The coverage test and the reverse KL compare the same way, and the
    latent chi-square test never reads a log-det; none of them can see these mutations. The
    unmutated model passes the check (the test above). 2 images per mutation: about 6.5 s of
    CPU for the two Jacobians and 4 s for the KL's 500 float64 evaluations (one thread)."""
    x, (before, exact) = unmutated_kl
    model = copy.deepcopy(teacher.model).double()
    with pytest.MonkeyPatch.context() as mp:
        MUTATIONS[mutation](mp, model)
        gap = L.jacobian_check(model, jacobian_samples[:2])
        after, _ = _analytic_kl_check(model, x)
    assert gap.abs().min() >= 100 * TOLERANCE, gap   # fails on every image, by far
    if mutation.startswith("one coupling"):
        # the check measures the perturbation itself, to its 1e-12 resolution
        assert torch.allclose(gap, torch.full_like(gap, LD_OFFSET), rtol=0, atol=1e-9), gap
    # the analytic-KL check is blind to it: it passes, with the unmutated estimate
    assert abs(after.value - exact) <= 3 * after.se, (after, exact)
    assert abs(after.value - before.value) < 1e-6 and after.se == pytest.approx(before.se), (after, before)
    print(f"{mutation}: change-of-variables gap {gap.tolist()} nats; analytic KL "
          f"{after.value:.4f} ± {after.se:.4f} (unmutated {before.value:.4f}, exact {exact:.4f})")


def test_cached_log_densities_are_fresh_evaluations_and_corruption_is_rebuilt(teacher, fresh_cache):
    data = S.synthetic_mnist("validation", S.CHUNK, teacher)
    assert torch.equal(teacher.log_prob(data.images), data.log_p)  # same batch: bit for bit
    path = next(fresh_cache.rglob("*-validation.pt"))
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.warns(UserWarning, match="does not match its checksum"):
        again = S.synthetic_mnist("validation", S.CHUNK, teacher)
    assert torch.equal(again.images, data.images) and torch.equal(again.log_p, data.log_p)
    assert S.synthetic_mnist("validation", S.CHUNK, teacher).log_p.equal(data.log_p)


def test_reverse_kl_reproduces_the_analytic_temperature_kl(teacher):
    """KL(student || teacher) from the student's own samples, for the teacher's flow at base
    temperature s: exactly the Gaussians' KL the other way round."""
    t = teacher.temperature
    student = teacher.model.with_base_temperature(0.9 * t)
    est = L.reverse_kl(student, teacher.model, 2000, seed=0)
    exact = L.temperature_kl(784, 0.9 * t, t)
    assert abs(est.value - exact) <= 3 * est.se, (est, exact)
    assert abs(est.value - L.temperature_kl(784, t, 0.9 * t)) > 3 * est.se  # not the forward one
