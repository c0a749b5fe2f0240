"""The teacher's exact density, checked independently of the code that computes it.

Each check is first shown to pass on the teacher and then to *fail* on a deliberately wrong
density (``wrong_density``: the log-density evaluated at another base temperature than the
samples were drawn at, e.g. the temperature left out), so none of them holds for any function.
"""
import math

import pytest
import torch

from flowlib.data import synthetic as S
from flowlib.metrics import likelihood as L


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
    checks that the standard error itself is honest)."""
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


def test_log_density_equals_the_change_of_variables_from_scratch(teacher, fresh_cache):
    """log p(x) of two teacher samples against log N(z; 0, t^2 I) (scipy) plus the log-det of
    the full 784 x 784 Jacobian (autograd): the model's own log-det bookkeeping unused."""
    x = S.synthetic_mnist("test", 2, teacher).images
    brute = L.log_prob_by_jacobian(teacher.model, x)
    model64 = teacher.model.with_base_temperature(teacher.temperature).double()
    with torch.no_grad():
        got = model64.log_prob(x.double())
    assert torch.allclose(got, brute, rtol=1e-9, atol=1e-6), (got, brute)
    with torch.no_grad():
        wrong = model64.with_base_temperature(wrong_temperature(teacher.temperature)).log_prob(x.double())
    assert (wrong - brute).abs().min() > 1.0


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
