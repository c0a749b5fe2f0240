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
so its support; they are scored with :meth:`RealNVP.log_prob`. Only for pictures, the
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

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from flowlib.core.errors import FlowlibError
from flowlib.core.manifest import read_manifest
from flowlib.core.paths import atomic_write_bytes, cache_dir, results_root, sha256_file
from flowlib.models.realnvp import RealNVP



def teacher_dir() -> Path:
    """The shipped teacher's folder, ``results/teacher``."""
    return results_root("teacher")


def retired_teachers_dir() -> Path:
    """Teachers replaced by a newer one, kept so the studies made with them stay reproducible."""
    return results_root("retired-teachers")


CHUNK = 500
SPLIT_SEEDS = {"train": 101, "validation": 202, "test": 303}
SPLIT_MAX = {"train": 50_000, "validation": 10_000, "test": 10_000}
CACHE_VERSION = 1


class SyntheticError(FlowlibError, ValueError):
    """A teacher or a synthetic split that cannot be used as asked."""


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
    def by_sha256(cls, sha256: str) -> "Teacher":
        """The shipped teacher, current or retired, whose weights have this SHA-256: what a run
        recorded in its start row (``teacher_sha256``) was made with."""
        for directory in [teacher_dir(), *sorted(retired_teachers_dir().glob("*"))]:
            if (directory / "manifest.json").exists() and read_manifest(directory).get(
                    "results", {}).get("model_sha256") == sha256:
                return cls.load(directory)
        raise SyntheticError(f"No shipped teacher has SHA-256 {sha256[:16]}... (looked in "
                             f"{teacher_dir().name}/ and {retired_teachers_dir().name}/): the run was made "
                             "with a teacher that is not in this repository.")

    @classmethod
    def from_file(cls, path) -> "Teacher":
        """A teacher from a model file, identified by its SHA-256 alone (while it is being
        built, before its manifest exists); :meth:`load` is the checked way."""
        return cls(RealNVP.load(path), sha256_file(path))

    @classmethod
    def load(cls, directory=None) -> "Teacher":
        """The shipped teacher (or the one in ``directory``); refuses weights that do not match
        the manifest's checksum."""
        directory = Path(directory) if directory is not None else teacher_dir()
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
    def draw(self, n: int, generator: torch.Generator, counts: dict | None = None) -> torch.Tensor:
        """``n`` unclipped samples (n, 1, 28, 28) strictly inside the support.

        A draw whose float32 value reaches the edge of the support (for an extreme latent, the
        flow's output beyond about -21 or 17 in logit space, where the inverse logit rounds to
        the end of its range and the log-density is not representable) is drawn again from the
        same generator, so the result stays deterministic. The data are then the teacher truncated to the representable interior;
        its log-density differs from the stored one by ``-log(1 - P(edge))`` nats, about
        ``P(edge)``, measured for the current teacher by
        :func:`flowlib.studies.teacher.edge_rate` (``results/teacher/edge-rate.json``):
        12 draws of the 70 000 that make the three splits reach the edge: P(edge) = 1.7e-04 ±
        4.9e-05 (95% interval 8.9e-05 to 3.0e-04). Each had a single pixel on the edge and
        was replaced at the first redraw; the stored densities are low by about 1.7e-4 nats
        per image, far below any standard error of the book.

        ``counts``, if given, is a dict to which this call adds ``draws`` (``n``),
        ``edge_samples`` and ``edge_pixels`` (the first ``n`` draws that reach the edge, and
        their pixels on it) and ``redraws`` (every draw made again, repeats included).
        """
        lo, hi = self.model.support()
        # contiguous, as stored: a student scored on the stored tensor takes the same code path
        x = self.model.sample(n, generator=generator, clamp=False).contiguous()
        first = True
        while True:
            on_edge = (x <= lo) | (x >= hi)
            edge = on_edge.flatten(1).any(1)
            if counts is not None:
                if first:
                    for key, v in (("draws", n), ("edge_samples", int(edge.sum())),
                                   ("edge_pixels", int(on_edge.sum()))):
                        counts[key] = counts.get(key, 0) + v
                counts["redraws"] = counts.get("redraws", 0) + int(edge.sum())
            first = False
            if not bool(edge.any()):
                return x
            x[edge] = self.model.sample(int(edge.sum()), generator=generator, clamp=False)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` samples inside the support (:meth:`draw`) and their exact log-densities (n,)
        float64."""
        x = self.draw(n, generator)
        return x, self.log_prob(x)

    @torch.no_grad()
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact teacher log-density (nats per image), float64 (N,)."""
        return self.model.log_prob(x).double()


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
        atomic_write_bytes(path.with_suffix(".sha256"), hashlib.sha256(data).hexdigest().encode())
    return SyntheticData(blob["images"][:n].clone(), blob["log_p"][:n].clone(), split,
                         teacher.sha256)
