"""FID, precision/recall, mode coverage and the shipped classifier, on real MNIST.

Small N where that suffices; the whole file runs in about a minute or two on 2 CPU
cores (the Inception network is only run on a handful of images).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from flowlib.data.mnist import load_mnist
from flowlib.metrics import fid as fidmod
from flowlib.metrics.fid import (FIDError, FIDWarning, RunningStats, Statistics, corrupt, fid,
                                 frechet_distance, inception_preprocess, precision_recall)

N = 2000  # images per side for the sanity curves (LeNet features are 128-d)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def train():
    return load_mnist("train")


@pytest.fixture(scope="module")
def test_split():
    return load_mnist("test")


def _random_spd(rng, d, ridge=0.1):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + ridge * np.eye(d)


def _scipy_fid(m1, s1, m2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


# ---------------------------------------------------------------- Fréchet distance
@pytest.mark.parametrize("d", [1, 2, 16, 128])
def test_frechet_distance_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    for _ in range(3):
        m1, m2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
        ours = frechet_distance(m1, s1, m2, s2)
        assert isinstance(ours, float)
        assert ours == pytest.approx(_scipy_fid(m1, s1, m2, s2), rel=1e-8, abs=1e-8)
        assert ours == pytest.approx(frechet_distance(m2, s2, m1, s1), rel=1e-9)


def test_frechet_distance_of_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    m, s = rng.normal(size=32), _random_spd(rng, 32)
    assert 0.0 <= frechet_distance(m, s, m, s) < 1e-8


def test_frechet_distance_near_singular_is_finite_real_and_warns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 64))  # 5 samples in 64-d: rank-4 covariance
    s = np.cov(x, rowvar=False)
    with pytest.warns(FIDWarning, match="singular"):
        v = frechet_distance(x.mean(0), s, x.mean(0) + 0.1, s * 1.01 + 1e-14)
    assert isinstance(v, float) and np.isfinite(v) and v >= 0
    # scipy's sqrtm on such input goes complex or loses accuracy; ours stays real
    with pytest.warns(FIDWarning):
        z = frechet_distance(np.zeros(3), np.zeros((3, 3)), np.ones(3), np.zeros((3, 3)))
    assert z == pytest.approx(3.0)


def test_frechet_distance_rejects_mismatched_shapes_and_nan():
    with pytest.raises(FIDError, match="same d"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(FIDError, match="NaN"):
        frechet_distance(np.full(2, np.nan), np.eye(2), np.zeros(2), np.eye(2))


def test_running_stats_match_numpy_in_float64():
    rng = np.random.default_rng(2)
    x = rng.normal(loc=1e3, size=(1001, 8)).astype(np.float32)  # large mean: naive sums lose bits
    rs = RunningStats(8)
    for i in range(0, len(x), 97):
        rs.update(torch.from_numpy(x[i:i + 97]))
    assert rs.n == 1001
    np.testing.assert_allclose(rs.mean, x.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(rs.covariance(), np.cov(x.astype(np.float64), rowvar=False),
                               rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- bad input
def test_bad_shapes_dtypes_and_ranges_are_clear_errors(train):
    x = train.images[:100]
    with pytest.raises(FIDError, match=r"x\[:, None\]"):
        fid(x[:, 0])
    with pytest.raises(FIDError, match="channels-last"):
        fid(x.permute(0, 2, 3, 1))
    with pytest.raises(FIDError, match="dtype"):
        fid(x > 0)
    with pytest.raises(FIDError, match=r"divide by 255"):
        fid(x.float())
    with pytest.raises(FIDError, match=r"\(x \+ 1\) / 2"):
        fid(x.float() / 127.5 - 1)
    with pytest.raises(FIDError, match=r"\[0, 255\]"):
        fid(x.long() * 2)
    with pytest.raises(FIDError, match="NaN"):
        fid(torch.full((10, 1, 28, 28), float("nan")))
    with pytest.raises(FIDError, match="Cannot draw images"):
        fid([1, 2, 3])
    with pytest.raises(FIDError, match="n=1"):
        fid(x, n=1)
    with pytest.raises(FIDError, match="at least 2"):
        fid(x[:1])
    with pytest.raises(FIDError, match="n=200"):
        fid(x, n=200)
    with pytest.raises(FIDError, match="Unknown feature"):
        fid(x, features="vgg")
    with pytest.raises(FIDError, match="Unknown reference"):
        fid(x, reference="cifar10")


def test_fewer_samples_than_feature_dim_warns(train):
    with pytest.warns(FIDWarning, match="128-dimensional"):
        r = fid(train.images[:50], reference=train.images[1000:1050], precision_recall_k=None)
    assert np.isfinite(r.fid)


def test_samplers_and_callables(train):
    data = train.images[:300].float() / 255

    class Model:
        def __init__(self):
            self.i = 0

        def sample(self, n):
            out = data[self.i:self.i + n]
            self.i += n
            return out

    a = fid(Model(), n=300, batch_size=128, reference=train.images[:300])
    assert a.n == 300 and a.fid < 1e-6  # same images, drawn in batches of 128, 128, 44
    b = fid(lambda m: torch.rand(m, 1, 28, 28), n=250, reference=train.images[:300])
    assert b.n == 250 and b.fid > 10 * max(a.fid, 1e-3)
    with pytest.raises(FIDError, match="tuple"):
        fid(lambda m: (torch.rand(m, 1, 28, 28), None), n=10)
    with pytest.raises(FIDError, match=r"\[0, 1\]"):
        fid(lambda m: torch.randn(m, 1, 28, 28), n=10)


def test_mismatched_cached_statistic_is_a_clear_error(train, monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWLIB_CACHE", str(tmp_path))  # never the reader's own cache
    net = fidmod.get_features("lenet")
    path = fidmod.reference_cache_path("lenet", net.checksum, "mnist-test", 123, 987)
    good = fidmod.compute_statistics(train.images[:200], "lenet")
    bad = Statistics(mu=good.mu, sigma=good.sigma, n=123, features="lenet",
                     checksum="0" * 64, pr_features=good.pr_features,
                     class_counts=good.class_counts,
                     meta={"dataset": "mnist", "split": "test", "seed": 987})
    try:
        bad.save(path)
        with pytest.raises(FIDError, match=r"does not match.*checksum.*Delete it"):
            fidmod.reference_statistics("mnist-test", "lenet", 123, seed=987)
    finally:
        path.unlink(missing_ok=True)
    # statistics from another feature network, passed as the reference
    with pytest.raises(FIDError, match="recompute them"):
        fid(train.images[:200], reference=bad)


# ---------------------------------------------------------------- sanity on real MNIST
@pytest.fixture(scope="module")
def curves():
    return fidmod.sanity_curves("lenet", n=N, noise=(0.0, 0.1, 0.2, 0.4), blur=(0.0, 1.0, 2.0),
                                ns=(1000, 10_000))


def test_fid_of_a_set_with_itself_is_zero(curves):
    assert 0.0 <= curves["reference_vs_itself"] < 1e-6


def test_fid_train_subset_vs_test_is_small(curves):
    noise = curves["noise"]["fid"]
    # same distribution: far below what mild corruption does (LeNet-FID has no absolute
    # scale: it is in squared units of the network's features)
    assert curves["train_vs_reference"] < 0.1 * noise[1]
    assert curves["train_vs_reference"] < 0.05 * noise[-1]


def test_fid_grows_monotonically_with_noise_and_blur(curves):
    for name in ("noise", "blur"):
        f = curves[name]["fid"]
        assert all(a < b for a, b in zip(f, f[1:])), (name, f)


def test_small_sample_bias(curves):
    f1k, f10k = curves["sample_size"]["fid"]
    assert f1k > f10k


def test_precision_drops_with_noise(curves):
    p = curves["noise"]["precision"]
    assert p[0] > 0.6 and p[-1] < p[0] - 0.3, p


def test_recall_and_coverage_drop_when_classes_are_removed(curves):
    d = curves["drop_classes"]
    (r_all, r_half), (p_all, p_half) = d["recall"], d["precision"]
    assert r_half < r_all - 0.25, d
    assert p_half > p_all - 0.1, d  # what remains is still realistic
    assert d["classes_covered"] == [10, 5]
    assert d["class_entropy"][1] < d["class_entropy"][0] - 0.5


def test_precision_recall_toy():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(500, 2))
    assert precision_recall(real, rng.normal(size=(500, 2)))[0] > 0.9
    far = precision_recall(real, rng.normal(size=(500, 2)) + 10)
    assert far == (0.0, 0.0)
    with pytest.raises(FIDError, match="more than 3"):
        precision_recall(real[:3], real)


def test_result_fields_and_cache(test_split):
    r = fid(test_split.images[:1000], reference="mnist-test", n_reference=1000)
    assert r.n == 1000 and r.n_reference == 1000 and r.features == "lenet"
    assert 0 <= r.precision <= 1 and 0 <= r.recall <= 1 and r.k == 3
    assert len(r.class_histogram) == 10 and abs(sum(r.class_histogram) - 1) < 1e-3
    assert r.class_entropy == pytest.approx(np.log(10), abs=0.05)
    assert float(r) == r.fid and "FID[lenet]" in r.summary()
    net = fidmod.get_features("lenet")
    assert fidmod.reference_cache_path("lenet", net.checksum, "mnist-test", 1000, 0).exists()


# ---------------------------------------------------------------- the shipped classifier
def test_shipped_classifier_reproduces_its_manifest(test_split):
    from flowlib.core.manifest import read_manifest
    from flowlib.metrics.classifier import classifier_dir, WEIGHTS_NAME, accuracy, load_classifier
    manifest = read_manifest(classifier_dir())
    assert (classifier_dir() / WEIGHTS_NAME).stat().st_size < 2_000_000
    model, sha = load_classifier()
    assert sha == manifest["results"]["weights_sha256"]
    acc = accuracy(model, "test")
    assert acc == pytest.approx(manifest["results"]["test_accuracy"], abs=1e-4)
    assert acc >= 0.993


# ---------------------------------------------------------------- Inception
def test_inception_preprocessing_shape_and_scale():
    x = torch.zeros(2, 1, 28, 28)
    x[1] = 1.0
    y = inception_preprocess(x)
    assert y.shape == (2, 3, 299, 299) and y.dtype == torch.float32
    assert torch.all(y[0] == -1.0)                       # u8 0   -> (0 - 128) / 128
    assert torch.allclose(y[1], torch.tensor(0.9921875))  # u8 255 -> (255 - 128) / 128
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 0], y[:, 2])
    g = torch.rand(3, 1, 28, 28)
    z = inception_preprocess(g)
    # bilinear resize is an interpolation: the range is preserved, the mean nearly so
    assert z.min() >= (g.min() * 255 - 128) / 128 - 1e-5
    assert z.max() <= (g.max() * 255 - 128) / 128 + 1e-5
    assert abs(float(z.mean()) - float((g * 255 - 128).mean() / 128)) < 0.02
    with pytest.raises(FIDError, match="grey"):
        inception_preprocess(torch.zeros(2, 3, 28, 28))


def test_inception_weights_are_verified_and_give_2048_features(train):
    from flowlib.core.paths import sha256_file
    path = fidmod.inception_path()
    assert sha256_file(path) == fidmod.INCEPTION_SHA256
    net = fidmod.get_features("inception")
    x = train.images[:4].float() / 255
    f = net.extract(x)
    assert f.shape == (4, 2048) and torch.isfinite(f).all()
    assert not torch.allclose(f[0], f[1])
    # the optimized path (channels-last, inference mode) equals a plain call
    plain = torch.jit.load(str(path)).eval()
    with torch.no_grad():
        u = torch.nn.functional.interpolate(x.repeat(1, 3, 1, 1) * 255, size=(299, 299),
                                            mode="bilinear", align_corners=False)
        ref = plain((u - 128) / 128)
    torch.testing.assert_close(f, ref, rtol=1e-3, atol=1e-3)


def test_inception_fid_tiny(train, test_split):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIDWarning)  # 16 images in 2048-d: singular, expected
        a = fid(train.images[:16], reference=test_split.images[:16], features="inception",
                precision_recall_k=None)
        b = fid(corrupt(train.images[:16], noise=0.4), reference=test_split.images[:16],
                features="inception", precision_recall_k=None)
    assert np.isfinite(a.fid) and a.features == "inception" and b.fid > a.fid


def test_bootstrap_standard_error_matches_the_spread_over_fresh_sample_sets():
    """The bootstrap SE of one sample set's FID agrees (within a factor 1.5) with the standard
    deviation of the FID over 40 independently drawn sample sets; it refuses without the
    features it resamples."""
    import numpy as np
    from flowlib.metrics.fid import FIDError, Statistics, bootstrap_se, frechet_distance
    rng = np.random.default_rng(1)
    d, n = 8, 2000
    big = rng.normal(size=(50_000, d))
    ref = Statistics(big.mean(0), np.cov(big, rowvar=False), len(big), "toy", "x")

    def draw():
        x = rng.normal(size=(n, d)) * 1.2 + 0.3
        return Statistics(x.mean(0), np.cov(x, rowvar=False), n, "toy", "x", pr_features=x.astype(np.float32))
    sets = [draw() for _ in range(40)]
    spread = np.std([frechet_distance(s.mu, s.sigma, ref.mu, ref.sigma) for s in sets], ddof=1)
    se = bootstrap_se(sets[0], ref, 50)
    assert spread / 1.5 < se < spread * 1.5, (se, spread)
    assert bootstrap_se(sets[0], ref, 50) == se            # seeded: the same figure on a rerun
    with pytest.raises(FIDError, match="pass pr_n >= n"):
        bootstrap_se(Statistics(ref.mu, ref.sigma, n, "toy", "x", pr_features=sets[0].pr_features[:10]), ref, 5)
