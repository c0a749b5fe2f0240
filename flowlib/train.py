"""The one training loop of the book: Real NVP trained by a pluggable loss.

``python -m flowlib train --loss nll --preset quick --seed 0 --out runs/NAME [--resume]``

What a run directory holds (all written atomically):

- ``checkpoint.pt``  everything needed to continue bit-identically on CPU: model, EMA
  weights, optimizer, scheduler, loss state, RNG states (data order and dequantisation noise),
  step, elapsed training time, the schedule's length;
- ``model.pt``       the weights to use (EMA if enabled), small: what ``results/`` ships;
- ``metrics.jsonl``  one JSON line per logged step: step, train bpd, lr, grad norm, img/s,
  wall time; validation bpd every ``eval_every`` steps;
- ``snapshot-{m}min.pt`` model weights when the training clock passes ``snapshot_minutes``.

The loss is a pluggable piece (:class:`TrainLoss`): ``nll``, and the GAN losses
(``nsgan``, ``minimax``, ``hybrid``: :class:`flowlib.gan.GANTrainLoss`, whose discriminator
and its optimizer are part of the checkpoint). Presets are dataclasses
(:data:`PRESETS`), one code path for ``smoke``, ``quick`` and ``full``.

The learning-rate schedule is linear warm-up then cosine decay to ``lr * final_lr_frac`` at the
end of the run. With a time budget (``minutes``), the run's length in steps is fixed once, after
``calibrate_steps`` steps, from the measured speed, and stored in the checkpoint: the schedule
ends at the budget and a resumed run follows the same schedule.
"""
from __future__ import annotations

import copy
import dataclasses
import io
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .monitor import InstabilityDetector, fixed_noise_grid, quality
from .paths import atomic_write_bytes
from .presets import PresetError, check_preset, pick
from .widgets import image_grid, to_png
from .realnvp import LOG2, RealNVP, RealNVPConfig, RealNVPError, SIZES, bits_per_dim, \
    load_checkpoint_file, mnist_units_offset

CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
METRICS = "metrics.jsonl"


class TrainError(RuntimeError):
    """A training run cannot start or continue (bad arguments, mismatching checkpoint)."""


class TrainingDiverged(RuntimeError):
    """The loss or a gradient became NaN/Inf; the last good checkpoint is kept."""

    def __init__(self, message, step):
        super().__init__(message)
        self.step = step


# ------------------------------------------------------------------ presets
@dataclass(frozen=True)
class TrainConfig:
    size: str = "base"             # a RealNVPConfig size name
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    final_lr_frac: float = 0.0     # lr at the end of the schedule, as a fraction of lr
    max_steps: int | None = None   # schedule length when no time budget is given
    minutes: float | None = None   # training-time budget (evaluation time excluded)
    calibrate_steps: int = 50      # with a budget: steps timed before fixing the schedule
    grad_clip: float = 100.0       # max global gradient norm (nats/dim units)
    weight_decay: float = 0.0
    ema: float | None = 0.999      # EMA decay of the weights (None: off)
    eval_every: int = 500          # steps between validation evaluations
    val_images: int = 2000         # validation subset size
    test_images: int = 10000       # test images for the final number
    log_every: int = 20            # steps between metrics lines
    checkpoint_every: int = 500    # steps between checkpoints
    checkpoint_seconds: float = 120.0  # ... or this much training time, whichever first
    snapshot_minutes: tuple = ()   # training-clock minutes at which to save model weights
    quality_every: int | None = None  # steps between LeNet-FID/precision/recall/coverage checks
    quality_images: int = 2000     # samples per quality check (against quality_reference)
    quality_reference: str = "mnist-validation"
    kl_images: int = 1000          # held-out teacher samples for the exact KL (synthetic data)
    grid_images: int = 64          # fixed-noise samples saved as grids/step-NNNNNN.png per check
    bpd_jump: float = 1.0          # instability: validation bits/dim this far above its best
    min_classes: int = 8           # instability: coverage below this after having reached it
    threads: int | None = None     # torch threads (None: torch's default)
    channels_last: bool = True

    def steps_fixed(self) -> bool:
        return self.minutes is None


PRESETS: dict[str, TrainConfig] = {
    "smoke": TrainConfig(size="tiny", batch_size=32, lr=2e-3, warmup_steps=5, max_steps=30,
                         ema=0.9, eval_every=15, val_images=200, test_images=500, log_every=5,
                         checkpoint_every=15, threads=1, quality_every=15, quality_images=200,
                         grid_images=16, kl_images=200),
    "quick": TrainConfig(size="small", batch_size=64, lr=2e-3, warmup_steps=200, minutes=15.0,
                         ema=0.999, eval_every=1000, val_images=2000, log_every=20,
                         checkpoint_every=1000, snapshot_minutes=(2, 5, 10), quality_every=1000),
    "full": TrainConfig(size="large", batch_size=64, lr=1e-3, warmup_steps=1000,
                        max_steps=200_000, ema=0.9995, eval_every=2000, val_images=10000,
                        log_every=100, checkpoint_every=2000, checkpoint_seconds=600.0,
                        quality_every=2000, quality_images=10000),
}


def resolve_device(device) -> torch.device:
    """``"cpu"``, ``"cuda"`` (``"cuda:N"``) or ``"auto"`` (CUDA when present) as a device,
    with a clear error when CUDA is asked for and absent."""
    name = str(device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise TrainError(f"Unknown device {device!r}: use cpu, cuda, cuda:N or auto.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TrainError(f"--device {device} asks for a GPU, but this torch ({torch.__version__}) "
                         "sees no CUDA device: use --device cpu (or auto).")
    if dev.type not in ("cpu", "cuda"):
        raise TrainError(f"Device {device!r} is not supported: use cpu, cuda or auto.")
    return dev


# fields a resumed run may change: they do not alter what is computed
RESUME_MAY_CHANGE = {"threads"}


def preset_config(preset: str, **overrides) -> TrainConfig:
    cfg = pick(preset, PRESETS)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "size" in overrides:
        RealNVPConfig.named(overrides["size"])  # clear error for an unknown size
    return dataclasses.replace(cfg, **overrides)


# ------------------------------------------------------------------ losses (pluggable)
class TrainLoss:
    """A training objective for the generator (the Real NVP).

    ``loss(model, batch, step, noise)`` returns ``(scalar to minimise, {name: float})``; a
    ``train_bpd`` entry is logged as the training bits/dim. Losses with their own state (a
    discriminator and its optimizer, for the GAN losses) keep it in ``state_dict`` /
    ``load_state_dict`` so that checkpoints and ``--resume`` cover them too.
    """

    name = "abstract"

    def setup(self, model: RealNVP, cfg: TrainConfig) -> None:
        pass

    def loss(self, model: RealNVP, batch: torch.Tensor, step: int, noise: torch.Generator):
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class NLLLoss(TrainLoss):
    """Maximum likelihood: mean negative log-likelihood of dequantised pixels, in nats/dim."""

    name = "nll"

    def loss(self, model, batch, step, noise):
        # uint8 MNIST: dequantised bound; float (synthetic MNIST): the exact continuous density
        nats_per_dim = -model.log_prob_data(batch, generator=noise).mean() / model.dim
        return nats_per_dim, {"train_bpd": float(nats_per_dim.detach()) / LOG2
                              + mnist_units_offset(batch)}


def _gan_loss(kind: str):
    def make(hybrid_lambda: float | None = None, pretrain_disc: int = 0):
        from .gan import GANTrainLoss, LossSpec
        return GANTrainLoss(LossSpec(kind, hybrid_lambda), pretrain_steps=pretrain_disc)
    return make


# name -> factory; the GAN losses (flowlib.gan.GANTrainLoss) plug into this same loop
LOSSES: dict = {"nll": NLLLoss, "nsgan": _gan_loss("nsgan"), "minimax": _gan_loss("minimax"),
                "hybrid": _gan_loss("hybrid")}
GAN_LOSSES = ("nsgan", "minimax", "hybrid")


def make_loss(name: str, hybrid_lambda: float | None = None, pretrain_disc: int = 0) -> TrainLoss:
    from .gan import GANConfigError
    if name not in LOSSES:
        raise TrainError(f"Unknown loss {name!r}: use one of {', '.join(LOSSES)}.")
    if hybrid_lambda is not None and name != "hybrid":
        raise TrainError(f"--hybrid-lambda is only used by --loss hybrid, not {name!r}.")
    if pretrain_disc and name not in GAN_LOSSES:
        raise TrainError(f"--pretrain-disc trains a discriminator: it needs a GAN loss "
                         f"({', '.join(GAN_LOSSES)}), not {name!r}.")
    try:
        return (LOSSES[name](hybrid_lambda, pretrain_disc) if name in GAN_LOSSES
                else LOSSES[name]())
    except GANConfigError as err:
        raise TrainError(str(err)) from None


# ------------------------------------------------------------------ helpers
def lr_factor(step: int, warmup: int, total: int | None, final_frac: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to ``final_frac`` at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if not total or total <= warmup:
        return 1.0
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * p))


class EMA:
    """Exponential moving average of a model's parameters (buffers copied)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model, step: int):
        d = min(self.decay, (1 + step) / (10 + step))
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.mul_(d).add_(p.detach(), alpha=1 - d)
        for e, b in zip(self.model.buffers(), model.buffers()):
            e.copy_(b)


def _rng_state() -> dict:
    """Global RNG states in a form ``torch.load(weights_only=True)`` accepts."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"torch": torch.get_rng_state(),
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                      float(cached)],
            "python": [version, torch.tensor(internal, dtype=torch.int64), gauss_next]}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(int(v) for v in internal.tolist()), gauss_next))


def _save(path: Path, obj) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _model_file(model: RealNVP, weights: RealNVP, extra: dict | None = None) -> dict:
    sd = {k: v.detach().cpu().to(torch.float32).clone() if v.is_floating_point() else v.cpu().clone()
          for k, v in weights.state_dict().items()}
    return {"format": "flowlib.realnvp/1", "config": model.config.to_dict(), "state_dict": sd,
            **(extra or {})}


# ------------------------------------------------------------------ the loop
@dataclass
class RunResult:
    out: Path
    step: int
    train_seconds: float
    val_bpd: float | None
    metrics: list = field(default_factory=list)


def _append_metrics(path: Path, rows: list[dict]) -> None:
    with open(path, "a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines written after the checkpoint being resumed (they will be redone)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line from a kill
        if row.get("step", 0) <= step and row.get("event") != "diverged":
            keep.append(line)
    atomic_write_bytes(path, ("\n".join(keep) + ("\n" if keep else "")).encode())


@dataclass
class TrainData:
    """What a run trains on and is watched with.

    ``train``: a fixed training set, uint8 MNIST (dequantised by the losses) or float images
    (synthetic MNIST, scored by their exact continuous density); or ``stream(n, generator)``
    returning fresh batches (teacher samples) instead. ``val``: validation images for bits/dim
    (always reported in MNIST's units: for float images the density of ``256 x``, see
    :func:`flowlib.synthetic.bpd_256`). ``quality_reference``: what FID compares against (a
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


def mnist_data(cfg: TrainConfig) -> TrainData:
    from .data import load_mnist
    return TrainData(load_mnist("train").images, load_mnist("validation").images[:cfg.val_images])


def train(cfg: TrainConfig, out, *, loss: str | TrainLoss = "nll", seed: int = 0,
          resume: bool = False, progress: bool = True, stop_after_steps: int | None = None,
          train_images: torch.Tensor | None = None, val_images: torch.Tensor | None = None,
          preset: str | None = None, data: TrainData | None = None,
          device: str | torch.device = "cpu") -> RunResult:
    """Train a Real NVP; see the module docstring. Raises :class:`TrainingDiverged` on NaN/Inf.

    ``stop_after_steps`` ends the process-level run early (as a kill would) without changing
    the schedule: used by the resume test. ``data`` (a :class:`TrainData`) defaults to MNIST;
    ``train_images``/``val_images`` replace its training/validation images. ``device``: where
    the model trains (``"cuda"`` for a GPU); data, noise and every evaluation's random draws
    stay on CPU generators, so a run's random streams do not depend on the device (its
    arithmetic does: a CUDA run matches a CPU run closely, not bit for bit).
    """
    device = resolve_device(device)
    if data is None:
        if train_images is None or val_images is None:
            base = mnist_data(cfg)
            train_images = base.train if train_images is None else train_images
            val_images = base.val if val_images is None else val_images
        data = TrainData(train_images, val_images)
    out = Path(out)
    loss_fn = make_loss(loss) if isinstance(loss, str) else loss
    threads_before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _train(cfg, out, loss_fn, seed, resume, progress, stop_after_steps, data, preset,
                      device)
    finally:
        torch.set_num_threads(threads_before)


def _train(cfg, out, loss_fn, seed, resume, progress, stop_after_steps, data: TrainData,
           preset, device) -> RunResult:
    model_cfg = (RealNVPConfig.from_dict(data.init["config"]) if data.init
                 else dataclasses.replace(RealNVPConfig.named(cfg.size), **data.model_overrides))
    train_images, val_images = data.train, data.val
    if train_images is None and data.stream is None:
        raise TrainError("TrainData needs a training set or a stream of batches.")
    # bits/dim in MNIST's units: continuous (float) data get + log2(256) = 8 (the density of 256 x)
    bpd_offset = mnist_units_offset(val_images)
    ckpt_path, metrics_path = out / CHECKPOINT, out / METRICS


    # ---- state: fresh or resumed
    if resume and not ckpt_path.exists():
        raise TrainError(f"--resume was given but {ckpt_path} does not exist: start the run "
                         "without --resume (or point --out at the run to continue).")
    if not resume and ckpt_path.exists():
        raise TrainError(f"{out} already holds a run ({ckpt_path.name}). Continue it with "
                         "--resume, or choose another --out.")
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    model = RealNVP(model_cfg)
    if data.init:
        model.load_state_dict_checked(data.init["state_dict"], "the --init model")
    model = model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = cfg.max_steps
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, cfg.warmup_steps, total_steps, cfg.final_lr_frac))
    loss_fn.setup(model, cfg)
    ema = EMA(model, cfg.ema) if cfg.ema else None
    data_gen = torch.Generator().manual_seed(seed * 1000 + 1)
    noise_gen = torch.Generator().manual_seed(seed * 1000 + 2)
    step, train_seconds, epoch, pos = 0, 0.0, 0, 0
    perm = (torch.randperm(len(train_images), generator=data_gen) if train_images is not None
            else torch.zeros(0, dtype=torch.long))
    snapshots_done: list = []
    val_bpd = None
    detector = InstabilityDetector(cfg.bpd_jump, cfg.min_classes)

    if resume:
        ck = load_checkpoint_file(ckpt_path)
        if RealNVPConfig.from_dict(ck.get("config") or {}) != model_cfg:
            raise TrainError(f"{ckpt_path} was trained with model config {ck.get('config')}, "
                             f"but this run asks for {model_cfg.to_dict()} (size {cfg.size!r}): "
                             "resume with the same --preset/--size, or use another --out.")
        if ck.get("loss") != loss_fn.name:
            raise TrainError(f"{ckpt_path} was trained with --loss {ck.get('loss')}, not "
                             f"{loss_fn.name}: resume with the same loss.")
        stored, now = ck.get("train") or {}, dataclasses.asdict(cfg)
        changed = sorted(k for k in now if k not in RESUME_MAY_CHANGE and k in stored
                         and stored[k] != now[k])
        if changed:
            raise TrainError(f"{ckpt_path} was trained with another configuration: "
                             + ", ".join(f"{k} = {stored[k]!r} there, {now[k]!r} now" for k in changed)
                             + ". Resume with the same options (or start a new run in another --out).")
        if "data" in ck and ck["data"] != data.description:
            raise TrainError(f"{ckpt_path} was trained on {ck['data']}, this run asks for "
                             f"{data.description}: resume with the same --data/--train-size/--init.")
        model.load_state_dict_checked(ck["model"], str(ckpt_path))
        opt.load_state_dict(ck["optimizer"])
        total_steps = ck["total_steps"]
        sched.load_state_dict(ck["scheduler"])
        loss_fn.load_state_dict(ck.get("loss_state", {}))
        if ema is not None and ck.get("ema") is not None:
            ema.model.load_state_dict(ck["ema"])
        data_gen.set_state(ck["data_gen"])
        noise_gen.set_state(ck["noise_gen"])
        _set_rng_state(ck["rng"])
        step, train_seconds, epoch, pos = ck["step"], ck["train_seconds"], ck["epoch"], ck["pos"]
        perm = ck["perm"]
        snapshots_done = list(ck.get("snapshots_done", []))
        val_bpd = ck.get("val_bpd")
        detector.load_state_dict(ck.get("monitor", {}))
        _truncate_metrics(metrics_path, step)
    else:
        out.mkdir(parents=True, exist_ok=True)
        metrics_path.unlink(missing_ok=True)
        _append_metrics(metrics_path, [{"event": "start", "step": 0, "seed": seed,
                                        "preset": preset, "loss": loss_fn.name,
                                        "config": model_cfg.to_dict(), **data.description,
                                        "train": dataclasses.asdict(cfg),
                                        "parameters": model.num_parameters(),
                                        "device": str(device)}])

    def checkpoint():
        _save(ckpt_path, {
            "format": "flowlib.train/1", "config": model_cfg.to_dict(),
            "train": dataclasses.asdict(cfg), "loss": loss_fn.name, "seed": seed,
            "data": data.description,
            "model": model.state_dict(), "ema": ema.model.state_dict() if ema else None,
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "loss_state": loss_fn.state_dict(), "total_steps": total_steps,
            "data_gen": data_gen.get_state(), "noise_gen": noise_gen.get_state(),
            "rng": _rng_state(), "step": step, "train_seconds": train_seconds,
            "epoch": epoch, "pos": pos, "perm": perm, "snapshots_done": snapshots_done,
            "val_bpd": val_bpd, "monitor": detector.state_dict()})

    def weights():
        return ema.model if ema is not None else model

    def evaluate():
        v = bits_per_dim(weights(), val_images, batch_size=500, seed=0) + bpd_offset
        return v if math.isfinite(v) else None  # JSON has no inf; the detector flags it

    def watch(step_rows: list, with_bpd: bool) -> None:
        """Quality check + fixed-noise grid + instability events, appended to ``step_rows``."""
        row = {"step": step}
        if with_bpd:
            row["val_bpd"] = val_bpd
            if data.train_eval is not None:
                v = bits_per_dim(weights(), data.train_eval, batch_size=500, seed=0) + bpd_offset
                row["train_eval_bpd"] = v if math.isfinite(v) else None
        if cfg.quality_every and (step % cfg.quality_every == 0 or done()):
            w = weights()
            grid = fixed_noise_grid(w, cfg.grid_images, seed)
            atomic_write_bytes(out / "grids" / f"step-{step:06d}.png",
                               to_png(image_grid(grid, nrow=int(math.sqrt(cfg.grid_images)))))
            row.update(quality(w, cfg.quality_images, seed,
                               data.quality_reference if data.quality_reference is not None
                               else cfg.quality_reference))
            if data.kl is not None:
                row.update(data.kl(w))
            if bar is not None:
                bar.write(f"step {step}: LeNet-FID {row['fid']:.2f}, "
                          f"{row['classes_covered']}/10 classes")
        if len(row) > 1:
            row.update(train_seconds=round(train_seconds, 3),
                       wall_seconds=round(time.time() - wall0, 3))
            step_rows.append(row)
            step_rows.extend(detector.check(step, row))

    def done():
        if stop_after_steps is not None and step >= stop_after_steps:
            return True
        if total_steps is not None and step >= total_steps:
            return True
        return cfg.minutes is not None and train_seconds >= cfg.minutes * 60

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total_steps, initial=step, desc=f"train {loss_fn.name}",
                   dynamic_ncols=True, mininterval=1.0, file=sys.stderr)
    def next_batch():
        nonlocal epoch, pos, perm
        if data.stream is not None:  # fresh samples every step: no epochs
            return data.stream(cfg.batch_size, data_gen)
        if pos + cfg.batch_size > len(perm):
            epoch, pos = epoch + 1, 0
            perm = torch.randperm(len(train_images), generator=data_gen)
        batch = train_images[perm[pos:pos + cfg.batch_size]]
        pos += cfg.batch_size
        return batch

    rows, last_ckpt_time, window_imgs, window_t = [], train_seconds, 0, 0.0
    warm_step, warm_mark = cfg.calibrate_steps // 5, None
    wall0 = time.time()
    if step == 0 and getattr(loss_fn, "pretrain_steps", 0):
        # the discriminator alone first (the generator frozen), e.g. to convergence at the
        # Nash equilibrium; its state is in the first checkpoint
        rows.append({"event": "disc_pretrain", "step": 0,
                     **loss_fn.pretrain(model, next_batch, noise_gen)})
    if step == 0 and cfg.quality_every:
        val_bpd = evaluate()  # the initialisation, the common start of every loss
        watch(rows, with_bpd=True)
    model.train()
    try:
        while not done():
            t0 = time.perf_counter()
            batch = next_batch().to(device)
            lr = opt.param_groups[0]["lr"]
            value, logs = loss_fn.loss(model, batch, step, noise_gen)
            if not torch.isfinite(value):
                raise TrainingDiverged(f"the loss became {float(value)} at step {step + 1}", step + 1)
            opt.zero_grad(set_to_none=True)
            value.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            if not torch.isfinite(gnorm):
                raise TrainingDiverged(f"the gradient norm became {float(gnorm)} at step "
                                       f"{step + 1}", step + 1)
            opt.step()
            sched.step()
            if ema is not None:
                ema.update(model, step)
            step += 1
            dt = time.perf_counter() - t0
            train_seconds += dt
            window_imgs += len(batch)
            window_t += dt

            if total_steps is None and cfg.minutes is not None and step == warm_step:
                warm_mark = (step, train_seconds)
            elif total_steps is None and cfg.minutes is not None and step == cfg.calibrate_steps:
                # the speed after the first steps (allocator, cuDNN and cache warm-up make
                # them slow, on a GPU many times slower): a schedule from the raw mean ended
                # GPU runs at half their clock
                s_warm, t_warm = (warm_mark if warm_mark and train_seconds > warm_mark[1]
                                  else (0, 0.0))
                rate = (step - s_warm) / (train_seconds - t_warm)
                total_steps = int(step + rate * (cfg.minutes * 60 - train_seconds))
                sched.lr_lambdas[0] = lambda s: lr_factor(s, cfg.warmup_steps, total_steps,
                                                          cfg.final_lr_frac)
                if bar is not None:
                    bar.total = total_steps
                    bar.refresh()
            for m in cfg.snapshot_minutes:
                if m not in snapshots_done and train_seconds >= m * 60:
                    _save(out / f"snapshot-{m:g}min.pt",
                          _model_file(model, weights(), {"step": step,
                                                         "train_seconds": train_seconds}))
                    snapshots_done.append(m)
            if step % cfg.log_every == 0 or done():
                row = {"step": step, "epoch": epoch, **logs, "lr": lr,
                       "grad_norm": float(gnorm), "img_per_s": window_imgs / max(window_t, 1e-9),
                       "train_seconds": round(train_seconds, 3),
                       "wall_seconds": round(time.time() - wall0, 3)}
                window_imgs, window_t = 0, 0.0
                rows.append(row)
                rows.extend(detector.check(step, row))
                if bar is not None:
                    bar.set_postfix(bpd=f"{logs.get('train_bpd', float('nan')):.3f}",
                                    img_s=f"{row['img_per_s']:.0f}", refresh=False)
            bpd_due = step % cfg.eval_every == 0 or done()
            if bpd_due:
                val_bpd = evaluate()
                if bar is not None:
                    bar.write(f"step {step}: validation {val_bpd} bits/dim")
            if bpd_due or (cfg.quality_every and step % cfg.quality_every == 0):
                watch(rows, with_bpd=bpd_due)
            if bar is not None:
                bar.update(1)
            if (step % cfg.checkpoint_every == 0 or done()
                    or train_seconds - last_ckpt_time >= cfg.checkpoint_seconds):
                _append_metrics(metrics_path, rows)
                rows = []
                checkpoint()
                last_ckpt_time = train_seconds
    except TrainingDiverged as err:
        _append_metrics(metrics_path, rows)
        _append_metrics(metrics_path, [{"event": "diverged", "step": err.step,
                                        "message": str(err)}])
        kept = (f"the last good checkpoint {ckpt_path} (step {load_checkpoint_file(ckpt_path)['step']})"
                if ckpt_path.exists() else "no checkpoint (it diverged before the first one)")
        raise TrainingDiverged(f"Training stopped: {err}. Kept {kept}. Lower the learning rate "
                               "(--lr) or the gradient-clipping norm, then start a new run or "
                               "--resume.", err.step) from None
    finally:
        if bar is not None:
            bar.close()
    _append_metrics(metrics_path, rows)
    if total_steps is not None and step >= total_steps or (
            cfg.minutes is not None and train_seconds >= cfg.minutes * 60):
        _save(out / MODEL, _model_file(model, weights(), {"step": step,
                                                          "train_seconds": train_seconds}))
    metrics = [json.loads(l) for l in metrics_path.read_text().splitlines() if l.strip()]
    return RunResult(out, step, train_seconds, val_bpd, metrics)


def read_metrics(run_dir) -> list[dict]:
    path = Path(run_dir) / METRICS
    if not path.exists():
        raise FileNotFoundError(f"No {METRICS} in {run_dir}: not a flowlib training run.")
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return rows


# ------------------------------------------------------------------ command line
def _cmd_train(args) -> int:
    try:
        check_preset(args.preset)
        cfg = preset_config(args.preset, size=args.size, minutes=args.minutes,
                            max_steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                            threads=args.threads, eval_every=args.eval_every,
                            quality_every=args.quality_every, quality_images=args.quality_images)
        if args.steps is not None and args.minutes is None:
            cfg = dataclasses.replace(cfg, minutes=None)
        if args.no_ema:
            cfg = dataclasses.replace(cfg, ema=None)
        data = None
        if args.data != "mnist" or args.init or args.train_size:
            from .synthetic import SyntheticError, train_data
            try:
                data = train_data(cfg, args.data, train_size=args.train_size, init=args.init)
            except SyntheticError as err:
                raise TrainError(str(err)) from None
        result = train(cfg, args.out, loss=make_loss(args.loss, args.hybrid_lambda,
                                                     args.pretrain_disc),
                       seed=args.seed, resume=args.resume,
                       progress=not args.no_progress, preset=args.preset, data=data,
                       device=args.device)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except (TrainError, PresetError, RealNVPError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"finished {result.step} steps in {result.train_seconds / 60:.1f} training minutes; "
          f"validation {result.val_bpd:.4f} bits/dim; run in {result.out}")
    return 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a Real NVP (NLL now; GAN losses later)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--loss", default="nll", help=f"training loss: {', '.join(LOSSES)}")
    p.add_argument("--hybrid-lambda", type=float, default=None,
                   help="weight of the NLL term (nats/dim) in --loss hybrid")
    p.add_argument("--preset", default="quick", help="smoke | quick | full")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path, help="run directory, e.g. runs/NAME")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--size", default=None, help=f"model size: {', '.join(SIZES)}")
    p.add_argument("--minutes", type=float, default=None, help="training-time budget")
    p.add_argument("--steps", type=int, default=None, help="schedule length in steps")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu",
                   help="cpu (default: bit-reproducible), cuda, cuda:N or auto")
    p.add_argument("--eval-every", type=int, default=None, help="steps between validation bits/dim")
    p.add_argument("--quality-every", type=int, default=None,
                   help="steps between LeNet-FID/precision/recall/coverage checks and sample grids")
    p.add_argument("--quality-images", type=int, default=None, help="samples per quality check")
    p.add_argument("--data", default="mnist", choices=["mnist", "synthetic", "teacher-stream"],
                   help="MNIST; synthetic MNIST (a fixed set of teacher samples, see "
                        "--train-size); or fresh teacher samples every step")
    p.add_argument("--train-size", type=int, default=None,
                   help="synthetic training-set size (a prefix of the 50k split)")
    p.add_argument("--init", default=None,
                   help="start from a model file ('teacher': the synthetic-MNIST teacher)")
    p.add_argument("--pretrain-disc", type=int, default=0,
                   help="GAN losses: discriminator-only steps before the generator moves")
    p.add_argument("--no-ema", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train)


# ------------------------------------------------------------------ canonical runs
TEST_SUBSET = 1000  # test images a shipped checkpoint is re-evaluated on (tests)


def publish_run(run_dir, dest, *, preset: str, seed: int, extra: dict | None = None) -> dict:
    """Copy a finished run's small artifacts to ``dest`` (e.g. ``results/realnvp-nll-quick``):
    ``model.pt``, ``metrics.jsonl``, ``samples.png`` and a manifest with the final test
    bits/dim (all 10k test images) and the bits/dim of a fixed subset that tests recompute."""

    from .data import load_mnist
    from .manifest import write_manifest
    from .widgets import image_grid, to_png

    run_dir, dest = Path(run_dir), Path(dest)
    model_path = run_dir / MODEL
    if not model_path.exists():
        raise TrainError(f"{run_dir} has no {MODEL}: the run has not finished.")
    model = RealNVP.load(model_path)
    rows = read_metrics(run_dir)
    start = next((r for r in rows if r.get("event") == "start"), {})
    last = [r for r in rows if "train_seconds" in r]
    n_test = int((start.get("train") or {}).get("test_images") or 10000)
    test = load_mnist("test").images
    test_bpd = bits_per_dim(model, test[:n_test], seed=0)
    subset_bpd = bits_per_dim(model, test[:TEST_SUBSET], seed=0)
    dest.mkdir(parents=True, exist_ok=True)
    for name in (MODEL, METRICS):
        atomic_write_bytes(dest / name, (run_dir / name).read_bytes())
    samples = model.sample(64, temperature=1.0, generator=torch.Generator().manual_seed(seed))
    atomic_write_bytes(dest / "samples.png", to_png(image_grid(samples, nrow=8)))
    vals = [r["val_bpd"] for r in rows if "val_bpd" in r]
    return write_manifest(
        dest, config={"model": model.config.to_dict(), "train": start.get("train"),
                      "preset": preset, "loss": start.get("loss", "nll")},
        seed=seed, wall_time_s=last[-1]["wall_seconds"] if last else 0.0,
        parameters=model.num_parameters(), steps=last[-1]["step"] if last else None,
        train_minutes=round(last[-1]["train_seconds"] / 60, 3) if last else None,
        test_bpd=test_bpd, test_images=n_test, test_bpd_subset=subset_bpd, test_subset_images=TEST_SUBSET,
        test_subset_seed=0, final_val_bpd=vals[-1] if vals else None, **(extra or {}))
