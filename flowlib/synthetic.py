"""Synthetic MNIST: images drawn from a Real NVP *teacher* whose weights are known.

On real MNIST nobody knows the true density. Here the data-generating distribution *is* a
flow, so every sample's true log-density is exact, and for any student flow

    KL(teacher || student) = E_teacher[log p_T(x) - log p_S(x)] = NLL_S - H(teacher)

can be estimated without bias from held-out teacher samples, with a standard error.

**The teacher** (:class:`Teacher`) is a Real NVP trained by NLL on MNIST, shipped in
``results/teacher/`` with a manifest and the SHA-256 of its weights, plus a *base
temperature*: its config's ``base_std`` = sigma < 1, i.e. latents ``z ~ N(0, sigma^2 I)``.
The density stays exact (``log N(z; 0, sigma^2 I) + log|det|``), and the digits are cleaner
than at sigma = 1 (the usual "sampling at reduced temperature", made part of the definition).

**The data space.** Samples are the teacher's continuous images, *not* clipped: they lie in
the model's support ``(-a, 1 + a)^D``, ``a = alpha / (1 - 2 alpha)`` (about -0.056..1.056 for
alpha = 0.05), where the stored density is exact. Students share the teacher's ``alpha`` and
so its support; they are scored with :meth:`RealNVP.log_prob_exact`. Only for pictures, the
classifier and FID are the images clipped to [0, 1].

**Units.** Densities are in nats per image. :func:`bpd_256` reports a continuous density in
the units of MNIST's dequantised bits/dim: ``(-log p(x) + D log 256) / (D log 2)`` is the
bits/dim of the image scaled to the 0..256 pixel range, exactly how the dequantised bound
on MNIST is normalised (there, ``y = (k + u) / 256``). The two numbers are then directly
comparable: the teacher's entropy in these units sits next to its test bits/dim on MNIST.

**Splits** are deterministic: split ``s`` is generated in chunks of :data:`CHUNK` samples,
chunk ``i`` from a generator seeded by ``(SPLIT_SEEDS[s], i)``, so the first ``n``
samples of a split are the same whatever ``n`` was asked for (a 1k training set is a
prefix of the 50k one). They are cached on disk with a checksum.
"""
from __future__ import annotations

import io
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .paths import RESULTS, atomic_write_bytes, cache_dir, sha256_file
from .realnvp import LOG2, RealNVP, RealNVPError, bits_per_dim

TEACHER_DIR = RESULTS / "teacher"
CHUNK = 500
SPLIT_SEEDS = {"train": 101, "validation": 202, "test": 303}
SPLIT_MAX = {"train": 50_000, "validation": 10_000, "test": 10_000}
CACHE_VERSION = 1


class SyntheticError(ValueError):
    """A teacher or a synthetic split that cannot be used as asked."""


# ------------------------------------------------------------------ units
def bpd_256(log_p: torch.Tensor | float, dim: int = 784) -> float:
    """Bits/dim of a continuous density in MNIST's units: ``(-log p + D log 256) / (D log 2)``."""
    lp = float(log_p.double().mean()) if isinstance(log_p, torch.Tensor) else float(log_p)
    return (-lp / dim + math.log(256.0)) / LOG2


def nats_to_bits_per_dim(nats_per_image: float, dim: int = 784) -> float:
    """A *difference* of log-densities (e.g. a KL) in bits per dimension (no offset)."""
    return nats_per_image / (dim * LOG2)


# ------------------------------------------------------------------ the teacher
class Teacher:
    """A frozen Real NVP whose samples define synthetic MNIST; its density is known exactly."""

    def __init__(self, model: RealNVP, sha256: str | None = None, manifest: dict | None = None):
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.sha256 = sha256
        self.manifest = manifest or {}

    @property
    def temperature(self) -> float:
        return self.model.config.base_std

    @property
    def dim(self) -> int:
        return self.model.dim

    @classmethod
    def load(cls, directory=TEACHER_DIR) -> "Teacher":
        """The shipped teacher; refuses weights that do not match the manifest's checksum."""
        from .manifest import read_manifest
        directory = Path(directory)
        path = directory / "model.pt"
        if not path.exists():
            raise SyntheticError(f"No teacher at {path}. Build it with `python -m flowlib teacher "
                                 "build` (or restore results/teacher/ from the repository).")
        manifest = read_manifest(directory)
        want = manifest.get("results", {}).get("model_sha256")
        got = sha256_file(path)
        if want != got:
            raise SyntheticError(f"{path} does not match its manifest (SHA-256 {got[:16]}..., the "
                                 f"manifest records {str(want)[:16]}...): these are not the known "
                                 "weights. Restore results/teacher/ from the repository, or rebuild "
                                 "the teacher (and every synthetic data set with it).")
        return cls(RealNVP.load(path), got, manifest)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` unclipped samples (n, 1, 28, 28) and their exact log-densities (n,) float64."""
        # contiguous, as stored: a student scored on the stored tensor takes the same code path
        x = self.model.sample(n, generator=generator, clamp=False).contiguous()
        return x, self.log_prob(x)

    @torch.no_grad()
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact teacher log-density (nats per image), float64 (N,)."""
        return self.model.log_prob_exact(x).double()


# ------------------------------------------------------------------ data
@dataclass
class SyntheticData:
    """A synthetic split: ``images`` (n, 1, 28, 28) float32, unclipped; ``log_p`` (n,) float64
    the teacher's exact log-density of each image (nats)."""
    images: torch.Tensor
    log_p: torch.Tensor
    split: str
    teacher_sha256: str

    def __len__(self) -> int:
        return len(self.images)

    def clipped(self) -> torch.Tensor:
        """Images clipped to [0, 1]: for pictures, the classifier and FID only."""
        return self.images.clamp(0, 1)


def _cache_file(teacher: Teacher, split: str) -> Path:
    return cache_dir("synthetic") / f"v{CACHE_VERSION}-{teacher.sha256[:16]}-{split}.pt"


def _read_cache(path: Path, teacher: Teacher, split: str) -> dict | None:
    side = path.with_suffix(".sha256")
    if not path.exists() or not side.exists():
        return None
    if sha256_file(path) != side.read_text().strip():
        warnings.warn(f"{path} does not match its checksum (a torn or edited file): it is "
                      "regenerated from the teacher.", stacklevel=3)
        return None
    blob = torch.load(path, weights_only=True)
    if blob.get("teacher_sha256") != teacher.sha256 or blob.get("split") != split:
        return None
    return blob


def synthetic_mnist(split: str, n: int, teacher: Teacher | None = None,
                    progress: bool = False) -> SyntheticData:
    """The first ``n`` samples of synthetic-MNIST split ``split`` (train/validation/test).

    Generated on first use (in chunks, deterministic) and cached with a checksum; later calls
    read the cache. ``teacher`` defaults to the shipped one.
    """
    if split not in SPLIT_SEEDS:
        raise SyntheticError(f"Unknown split {split!r}: use one of {', '.join(SPLIT_SEEDS)}.")
    if not isinstance(n, int) or n < 1:
        raise SyntheticError(f"n must be a positive integer, got {n!r}.")
    if n > SPLIT_MAX[split]:
        raise SyntheticError(f"The {split} split of synthetic MNIST holds {SPLIT_MAX[split]:,} "
                             f"samples; {n:,} were asked for. Use a smaller size (training sets of "
                             "the book range from 1k to 50k).")
    teacher = teacher or Teacher.load()
    if teacher.sha256 is None:
        raise SyntheticError("The teacher has no checksum: load it with Teacher.load() so its "
                             "data can be cached and identified.")
    path = _cache_file(teacher, split)
    blob = _read_cache(path, teacher, split)
    have = 0 if blob is None else len(blob["images"])
    if have < n:
        chunks_x = [] if blob is None else [blob["images"]]
        chunks_lp = [] if blob is None else [blob["log_p"]]
        want_chunks = math.ceil(n / CHUNK)
        it = range(have // CHUNK, want_chunks)
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(it, desc=f"synthetic {split}", unit="chunk")
        for i in it:
            g = torch.Generator().manual_seed(SPLIT_SEEDS[split] * 1_000_003 + i)
            x, lp = teacher.sample(CHUNK, g)
            chunks_x.append(x)
            chunks_lp.append(lp)
        blob = {"images": torch.cat(chunks_x), "log_p": torch.cat(chunks_lp), "split": split,
                "teacher_sha256": teacher.sha256, "version": CACHE_VERSION, "chunk": CHUNK}
        buf = io.BytesIO()
        torch.save(blob, buf)
        data = buf.getvalue()
        atomic_write_bytes(path, data)
        import hashlib
        atomic_write_bytes(path.with_suffix(".sha256"), hashlib.sha256(data).hexdigest().encode())
    return SyntheticData(blob["images"][:n].clone(), blob["log_p"][:n].clone(), split,
                         teacher.sha256)


# ------------------------------------------------------------------ exact quantities
@dataclass
class Estimate:
    """A Monte-Carlo mean (nats per image) with its standard error and sample size."""
    value: float
    se: float
    n: int

    def bits_per_dim(self, dim: int = 784) -> tuple[float, float]:
        return nats_to_bits_per_dim(self.value, dim), nats_to_bits_per_dim(self.se, dim)

    def __str__(self) -> str:
        return f"{self.value:.3f} ± {self.se:.3f} nats (n={self.n})"


def _mean_se(v: torch.Tensor) -> Estimate:
    v = v.double()
    n = len(v)
    return Estimate(float(v.mean()), float(v.std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan"), n)


def teacher_entropy(data: SyntheticData) -> Estimate:
    """H(teacher) = -E[log p_T(x)] (nats per image) from teacher samples, with its standard error."""
    return _mean_se(-data.log_p)


@torch.no_grad()
def student_log_prob(student: RealNVP, data: SyntheticData, batch_size: int = CHUNK) -> torch.Tensor:
    """log p_S of every image of ``data`` (float64, (n,)), in the batches the data were made in."""
    was = student.training
    student.eval()
    try:
        if tuple(student.config.image_shape) != tuple(data.images.shape[1:]):
            raise SyntheticError(f"The student models images of shape {tuple(student.config.image_shape)}, "
                                 f"the synthetic data are {tuple(data.images.shape[1:])}: build the "
                                 "student with the teacher's image_shape.")
        try:
            return torch.cat([student.log_prob_exact(data.images[i:i + batch_size]).double().cpu()
                              for i in range(0, len(data), batch_size)])
        except RealNVPError as err:
            raise SyntheticError(f"The student cannot score these data: {err}") from None
    finally:
        student.train(was)


def kl_to_teacher(student: RealNVP, data: SyntheticData) -> Estimate:
    """KL(teacher || student) in nats per image, from held-out teacher samples ``data``.

    The per-sample differences log p_T - log p_S are averaged (paired), so the standard error
    is that of the difference, much smaller than those of NLL and entropy separately.
    """
    return _mean_se(data.log_p - student_log_prob(student, data))


def student_nll(student: RealNVP, data: SyntheticData) -> Estimate:
    """-E[log p_S] on ``data`` (nats per image) = H(teacher) + KL(teacher || student)."""
    return _mean_se(-student_log_prob(student, data))


# ------------------------------------------------------------------ building the teacher
def temperature_scan(model: RealNVP, temperatures, n: int = 2000, seed: int = 0) -> list[dict]:
    """LeNet-FID, precision/recall and class coverage against MNIST test at each temperature."""
    import dataclasses

    from .fid import fid
    rows = []
    for t in temperatures:
        m = RealNVP(dataclasses.replace(model.config, base_std=float(t)))
        m.load_state_dict(model.state_dict())
        m.eval()
        g = torch.Generator().manual_seed(seed)
        r = fid(lambda b: m.sample(b, generator=g), reference="mnist-test", n=n, pr_n=n)
        rows.append({"temperature": float(t), "lenet_fid": r.fid, "precision": r.precision,
                     "recall": r.recall, "classes_covered": r.classes_covered,
                     "class_entropy": r.class_entropy})
    return rows


def build_teacher(source: Path, temperatures=(1.0, 0.9, 0.8, 0.7, 0.6), dest: Path = TEACHER_DIR,
                  n: int = 2000) -> dict:
    """Make ``dest/model.pt`` from a trained Real NVP: the temperature of lowest LeNet-FID
    against MNIST test (``n`` samples each) becomes the teacher's ``base_std``. Refuses to
    overwrite an existing teacher (synthetic data sets are defined by it)."""
    import dataclasses

    from .manifest import read_manifest, write_manifest
    dest = Path(dest)
    if (dest / "model.pt").exists():
        raise SyntheticError(f"{dest} already holds a teacher; every synthetic data set is "
                             "defined by it. Move it away first to build another.")
    t0 = time.time()
    source = Path(source)
    model = RealNVP.load(source)
    scan = temperature_scan(model, temperatures, n=n)
    best = min(scan, key=lambda r: r["lenet_fid"])
    teacher = RealNVP(dataclasses.replace(model.config, base_std=best["temperature"]))
    teacher.load_state_dict(model.state_dict())
    teacher.save(dest / "model.pt")
    from .data import load_mnist
    teacher.eval()
    subset = 1000
    subset_bpd = bits_per_dim(teacher, load_mnist("test").images[:subset], seed=0)
    src_manifest = None
    try:
        src_manifest = read_manifest(source.parent)
    except (FileNotFoundError, ValueError):
        pass
    return write_manifest(
        dest, config={"source": str(source), "source_manifest": src_manifest,
                      "temperatures": list(temperatures), "scan_images": n,
                      "rule": "lowest LeNet-FID against MNIST test"},
        seed=0, wall_time_s=time.time() - t0, model_sha256=sha256_file(dest / "model.pt"),
        temperature=best["temperature"], parameters=teacher.num_parameters(),
        test_bpd_subset=subset_bpd, test_subset_images=subset,
        size=teacher.config.name, temperature_scan=scan)


def _cmd_teacher(args) -> int:
    if args.action == "build":
        m = build_teacher(Path(args.source), tuple(args.temperatures))
        print(json.dumps(m["results"], indent=1))
    else:
        t = Teacher.load()
        print(f"teacher {t.model.config.name}, {t.model.num_parameters():,} parameters, "
              f"temperature {t.temperature}, sha256 {t.sha256}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("teacher", help="build or show the synthetic-MNIST teacher")
    p.add_argument("action", choices=["build", "show"])
    p.add_argument("--source", default=str(RESULTS / "realnvp-nll-quick" / "model.pt"),
                   help="a trained Real NVP (model.pt) to become the teacher")
    p.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7, 0.6])
    p.set_defaults(func=_cmd_teacher)


# ------------------------------------------------------------------ training on synthetic MNIST
def train_data(cfg, kind: str = "synthetic", *, train_size: int | None = None,
               init: str | None = None, teacher: Teacher | None = None):
    """A :class:`flowlib.train.TrainData` for ``kind``: ``synthetic`` (the first
    ``train_size`` training samples), ``teacher-stream`` (fresh teacher samples every step)
    or ``mnist``; watched with the exact KL to the teacher on ``cfg.kl_images`` held-out test
    samples and FID against synthetic validation images. ``init='teacher'`` starts from the
    teacher's weights (the Nash-equilibrium experiment); another value is a model file."""
    from .train import TrainData, mnist_data

    if kind not in ("mnist", "synthetic", "teacher-stream"):
        raise SyntheticError(f"Unknown data {kind!r}: use mnist, synthetic or teacher-stream.")
    init_state = None
    if init:
        if init == "teacher":
            teacher = teacher or Teacher.load()
            m = teacher.model
        else:
            m = RealNVP.load(init)
        init_state = {"config": m.config.to_dict(), "state_dict": m.state_dict(),
                      "source": init}
    if kind == "mnist":
        if train_size:
            raise SyntheticError("--train-size applies to synthetic data only.")
        base = mnist_data(cfg)
        base.init = init_state
        base.description = {"data": "mnist", "init": init}
        return base
    teacher = teacher or Teacher.load()
    val = synthetic_mnist("validation", cfg.val_images, teacher)
    held_out = synthetic_mnist("test", cfg.kl_images, teacher)
    ref = synthetic_mnist("validation", max(cfg.quality_images, cfg.val_images), teacher)
    ref = ref.clipped()[:cfg.quality_images]

    def kl(model) -> dict:
        try:
            est = kl_to_teacher(model, held_out)
        except SyntheticError:
            return {"kl": None, "kl_se": None}
        ok = math.isfinite(est.value)
        return {"kl": est.value if ok else None, "kl_se": est.se if ok else None,
                "kl_bpd": nats_to_bits_per_dim(est.value) if ok else None}

    desc = {"data": kind, "teacher_sha256": teacher.sha256, "teacher_temperature": teacher.temperature,
            "init": init, "kl_images": cfg.kl_images}
    if kind == "synthetic":
        n = train_size or SPLIT_MAX["train"]
        train = synthetic_mnist("train", n, teacher).images
        desc["train_size"] = n
        # students share the teacher's base temperature: the teacher's size is then exactly
        # the teacher's family (well-specified), smaller sizes are not
        return TrainData(train, val.images, None, ref, kl, init_state, desc,
                         train_eval=train[:cfg.val_images],
                         model_overrides={"base_std": teacher.temperature})
    if train_size:
        raise SyntheticError("--train-size does not apply to --data teacher-stream (every "
                             "batch is fresh).")
    tm = teacher.model

    def stream(n, generator):
        return tm.sample(n, generator=generator, clamp=False).contiguous()

    return TrainData(None, val.images, stream, ref, kl, init_state, desc,
                     model_overrides={"base_std": teacher.temperature})
