"""What a training run reads: MNIST, a synthetic-MNIST set, or a stream of teacher samples.

:class:`TrainData` bundles the training images (or a stream), the validation images, the
FID reference, the exact-KL hook and the description a checkpoint records;
:func:`train_data` builds it for ``--data mnist|synthetic|teacher-stream``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from flowlib.data.mnist import load_mnist
from flowlib.data.synthetic import SPLIT_MAX, SyntheticError, Teacher, synthetic_mnist
from flowlib.metrics.likelihood import kl_to_teacher, nats_to_bits_per_dim, reverse_kl
from flowlib.models.realnvp import RealNVP


@dataclass
class TrainData:
    """What a run trains on and is watched with.

    ``train``: a fixed training set, uint8 MNIST (dequantised by the losses) or float images
    (synthetic MNIST, scored by their exact continuous density); or ``stream(n, generator)``
    returning fresh batches (teacher samples) instead. ``val``: validation images for bits/dim
    (always reported in MNIST's units: for float images the density of ``256 x``, see
    :func:`flowlib.data.synthetic.bpd_256`). ``quality_reference``: what FID compares against (a
    split name or images in [0, 1]). ``kl(model) -> dict``: extra exact quantities at each
    check (the KL to the teacher). ``init``: a model file to start from (its config wins). ``train_eval``: training images
    whose bits/dim is logged beside the validation bits/dim (``train_eval_bpd``): the
    overfitting gap.
    """
    train: torch.Tensor | None
    val: torch.Tensor
    stream: object = None
    quality_reference: object = None
    kl: object = None
    init: dict | None = None
    description: dict = field(default_factory=lambda: {"data": "mnist"})
    train_eval: torch.Tensor | None = None  # a fixed subset of ``train``: its bits/dim at each check
    model_overrides: dict = field(default_factory=dict)  # RealNVPConfig fields, e.g. base_std


def mnist_data(cfg) -> TrainData:
    return TrainData(load_mnist("train").images, load_mnist("validation").images[:cfg.val_images])


# ------------------------------------------------------------------ training on synthetic MNIST


def train_data(cfg, kind: str = "synthetic", *, train_size: int | None = None,
               init: str | None = None, teacher: Teacher | None = None):
    """A :class:`flowlib.training.trainer.TrainData` for ``kind``: ``synthetic`` (the first
    ``train_size`` training samples), ``teacher-stream`` (fresh teacher samples every step)
    or ``mnist``; watched with the exact KL to the teacher on ``cfg.kl_images`` held-out test
    samples and FID against synthetic validation images. ``init='teacher'`` starts from the
    teacher's weights (the Nash-equilibrium experiment); another value is a model file."""
    if kind not in ("mnist", "synthetic", "teacher-stream"):
        raise SyntheticError(f"Unknown data {kind!r}: use mnist, synthetic or teacher-stream.")
    if train_size is not None and train_size < 1:
        raise SyntheticError(f"--train-size {train_size}: a training set needs at least 1 "
                             f"sample (at most {SPLIT_MAX['train']}); leave it out for all of them.")
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
        row = {"kl": est.value if ok else None, "kl_se": est.se if ok else None,
               "kl_bpd": nats_to_bits_per_dim(est.value) if ok else None}
        if cfg.reverse_kl:  # KL(student || teacher) from the student's own samples
            rev = reverse_kl(model, teacher.model, cfg.kl_images, seed=0)
            fin = math.isfinite(rev.value)
            row.update(reverse_kl=rev.value if fin else None, reverse_kl_se=rev.se if fin else None)
        return row

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
    def stream(n, generator):
        return teacher.draw(n, generator)

    return TrainData(None, val.images, stream, ref, kl, init_state, desc,
                     model_overrides={"base_std": teacher.temperature})
