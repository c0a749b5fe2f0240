"""The training loop of the Real NVP, for every loss (the 2-D toy and the DCGAN control keep
small loops of their own: :mod:`flowlib.training` says why).

``python -m flowlib train --loss nll --preset quick --seed 0 --out runs/NAME [--resume]``

What a run directory holds (all written atomically):

- ``checkpoint.pt``  everything needed to continue bit-identically on CPU: model, EMA
  weights, optimizer, scheduler, loss state, RNG states (data order and dequantisation noise),
  step, elapsed training time, the schedule's length;
- ``model.pt``       the weights to use (EMA if enabled), small: what ``results/`` ships;
- ``metrics.jsonl``  one JSON line per logged step: step, train bpd, lr, grad norm, img/s,
  wall time; validation bpd every ``eval_every`` steps;
- ``snapshot-{m}min.pt`` model weights when the training clock passes ``snapshot_minutes``.

The loss is a pluggable piece (:mod:`flowlib.training.losses`): ``nll``, and the GAN losses
(``nsgan``, ``minimax``, ``hybrid``: :class:`flowlib.training.gan.GANTrainLoss`, whose
discriminator and its optimizer are part of the checkpoint). Settings are a
:class:`flowlib.training.config.TrainConfig`, one per preset.

:class:`Trainer` holds a run's state and reads top to bottom: ``__init__`` builds or resumes
it, :meth:`Trainer.run` is the loop, and each thing the loop does at a step (one optimiser
step, fixing the schedule's length, a check, a checkpoint) is a small method.

The learning-rate schedule is linear warm-up then cosine decay to ``lr * final_lr_frac`` at the
end of the run. With a time budget (``minutes``), the run's length in steps is fixed once, after
``calibrate_steps`` steps, from the measured speed, and stored in the checkpoint: the schedule
ends at the budget and a resumed run follows the same schedule.
"""
from __future__ import annotations

import copy
import dataclasses
import io
import math
import random
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from flowlib.core import runlock
from flowlib.core.devices import resolve_device
from flowlib.core.errors import FlowlibError
from flowlib.core.images import image_grid, to_png
from flowlib.core.manifest import device_description, git_commit
from flowlib.core.paths import atomic_write_bytes
from flowlib.models.realnvp import (RealNVP, RealNVPConfig, bits_per_dim, load_checkpoint_file,
                                    mnist_units_offset)
from flowlib.models.flows import ActNorm
from flowlib.training.config import RESUME_MAY_CHANGE, TrainConfig
from flowlib.training.data_sources import TrainData, mnist_data
from flowlib.training.losses import TrainLoss, make_loss
from flowlib.training.metrics_file import METRICS, append_metrics, read_metrics, truncate_metrics
from flowlib.training.monitor import InstabilityDetector, fixed_noise_grid, quality

CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"


class TrainError(FlowlibError, RuntimeError):
    """A training run cannot start or continue (bad arguments, mismatching checkpoint)."""


class TrainingDiverged(FlowlibError, RuntimeError):
    """The loss or a gradient became NaN/Inf; the last good checkpoint is kept."""

    def __init__(self, message, step):
        super().__init__(message)
        self.step = step


# ------------------------------------------------------------------ presets


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


def save_file(path: Path, obj) -> None:
    """``torch.save`` of ``obj`` to ``path``, atomically: a kill mid-write leaves the old file."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _model_file(model: RealNVP, weights: RealNVP, extra: dict | None = None) -> dict:
    sd = {k: v.detach().cpu().to(torch.float32).clone() if v.is_floating_point() else v.cpu().clone()
          for k, v in weights.state_dict().items()}
    return {"format": "flowlib.models.realnvp/1", "config": model.config.to_dict(), "state_dict": sd,
            **(extra or {})}


# ------------------------------------------------------------------ the loop


@dataclass
class RunResult:
    out: Path
    step: int
    train_seconds: float
    val_bpd: float | None
    metrics: list = field(default_factory=list)


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
        return Trainer(cfg, out, loss_fn, data, seed=seed, resume=resume, preset=preset,
                       device=device, progress=progress, stop_after_steps=stop_after_steps).run()
    finally:
        torch.set_num_threads(threads_before)


def _flat(model: torch.nn.Module) -> torch.Tensor:
    """Every parameter in one detached vector (reshape, not view: channels-last weights); a
    new tensor, since ``torch.cat`` copies, so the start point needs no clone of its own."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


class Trainer:
    """One training run: a Real NVP, a loss, the data, and everything a checkpoint holds.

    ``Trainer(cfg, out, loss_fn, data, seed=..., resume=...)`` builds the run (or restores it
    from ``out/checkpoint.pt``); :meth:`run` trains until the schedule's end, the time
    budget or ``stop_after_steps``. The order in which random numbers are drawn (model
    initialisation, loss set-up, data order, dequantisation noise) is part of the contract:
    a resumed CPU run continues bit for bit.
    """

    def __init__(self, cfg: TrainConfig, out: Path, loss_fn: TrainLoss, data: TrainData, *,
                 seed: int = 0, resume: bool = False, preset: str | None = None,
                 device: torch.device = torch.device("cpu"), progress: bool = True,
                 stop_after_steps: int | None = None):
        if data.train is None and data.stream is None:
            raise TrainError("TrainData needs a training set or a stream of batches.")
        self.cfg, self.out, self.loss_fn, self.data, self.seed = cfg, Path(out), loss_fn, data, seed
        self.preset, self.device, self.progress = preset, device, progress
        self.stop_after_steps = stop_after_steps
        # one writer per run folder (flowlib.core.runlock): held from before the first write
        # until run() ends (or this trainer is dropped unrun)
        self._unlock = weakref.finalize(self, runlock.release, runlock.acquire(self.out))
        try:
            self._open(resume)
        except BaseException:
            self._unlock()
            raise

    def _open(self, resume: bool) -> None:
        """Build the run's state, or restore it from the checkpoint (under the run's lock)."""
        cfg, data = self.cfg, self.data
        self.model_cfg = (RealNVPConfig.from_dict(data.init["config"]) if data.init
                          else dataclasses.replace(RealNVPConfig.named(cfg.size), **data.model_overrides))
        if cfg.logit_alpha is not None and cfg.logit_alpha != self.model_cfg.alpha:
            if data.init:
                raise TrainError(f"--logit-alpha {cfg.logit_alpha} asks for another pre-processing "
                                 f"than the --init model's (alpha {self.model_cfg.alpha}): drop "
                                 "--logit-alpha (a started model keeps its own).")
            self.model_cfg = dataclasses.replace(self.model_cfg, alpha=cfg.logit_alpha)
        # bits/dim in MNIST's units: float (continuous) data get + log2(256) = 8
        self.bpd_offset = mnist_units_offset(data.val)
        self.ckpt_path, self.metrics_path = self.out / CHECKPOINT, self.out / METRICS
        if resume and not self.ckpt_path.exists():
            raise TrainError(f"--resume was given but {self.ckpt_path} does not exist: start the "
                             "run without --resume (or point --out at the run to continue).")
        if not resume and self.ckpt_path.exists():
            raise TrainError(f"{self.out} already holds a run ({self.ckpt_path.name}). Continue it "
                             "with --resume, or choose another --out.")
        self._build()
        if resume:
            self._restore()
        else:
            self._start()

    # ---------------------------------------------------------------- state
    def _build(self) -> None:
        """The fresh state of step 0, in a fixed order of random draws."""
        cfg, seed = self.cfg, self.seed
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        model = RealNVP(self.model_cfg)
        if self.data.init:
            model.load_state_dict_checked(self.data.init["state_dict"], "the --init model")
        model = model.to(self.device)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        if cfg.optimizer in ("adam", "adamax"):
            # Adamax (Adam with an infinity-norm second moment) is what Real NVP and Glow used
            make = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.Adamax
            self.opt = make(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                            betas=self.loss_fn.generator_betas(cfg))
        elif cfg.optimizer == "sgd":
            self.opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            raise TrainError(f"Unknown optimizer {cfg.optimizer!r}: use adam, adamax or sgd.")
        # the schedule's length: fixed in advance, or after calibration for a time budget
        self.total_steps = cfg.max_steps
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: lr_factor(s, cfg.warmup_steps, self.total_steps, cfg.final_lr_frac))
        self.loss_fn.setup(model, cfg)
        self.loss_fn.batches = self.next_batch  # a second player may need more real batches
        self.ema = EMA(model, cfg.ema) if cfg.ema else None
        self.data_gen = torch.Generator().manual_seed(seed * 1000 + 1)
        self.noise_gen = torch.Generator().manual_seed(seed * 1000 + 2)
        self.step, self.train_seconds, self.epoch, self.pos = 0, 0.0, 0, 0
        self.perm = (torch.randperm(len(self.data.train), generator=self.data_gen)
                     if self.data.train is not None else torch.zeros(0, dtype=torch.long))
        self.snapshots_done: list = []
        self.val_bpd = None
        self.detector = InstabilityDetector(cfg.bpd_jump, cfg.min_classes)
        # the trained network's parameters where training started (after the data-dependent
        # initialisation), for the distance travelled in parameter space: what a step size
        # does, measured (lr x steps only bounds it for Adam, and says nothing for SGD)
        self.start_params: torch.Tensor | None = None

    def param_distance(self) -> float | None:
        """Euclidean norm of (parameters now - parameters at step 0), over every parameter of
        the trained network (not its EMA copy); None for a run resumed from a checkpoint
        written before this was recorded."""
        if self.start_params is None:
            return None
        now = _flat(self.model)
        return float(torch.linalg.vector_norm(now - self.start_params.to(now.device)))

    @torch.no_grad()
    def initialize(self) -> None:
        """The flow's data-dependent (ActNorm) initialisation, the same for every loss: on the
        first training batch with the dequantisation noise the first step will draw (copies of
        the data and noise generators, so nothing is consumed). An NLL run's first step would
        initialise from exactly these inputs, so it is unchanged; a GAN run, which never
        evaluates the density, now starts from the same network."""
        if not any(isinstance(m, ActNorm) and not bool(m.initialized) for m in self.model.modules()):
            self._mark_start()
            return  # e.g. started from the teacher's weights
        data_gen, noise_gen = torch.Generator(), torch.Generator()
        data_gen.set_state(self.data_gen.get_state())
        noise_gen.set_state(self.noise_gen.get_state())
        if self.data.stream is not None:
            batch = self.data.stream(self.cfg.batch_size, data_gen)
        else:
            batch = self.data.train[self.perm[:self.cfg.batch_size]]
        self.model.train()
        self.model.log_prob(batch.to(self.device), generator=noise_gen)
        if self.ema is not None:
            # the average starts from the initialised network, or step 0's check (and the
            # slider's first frame) would show an uninitialised copy for EMA runs only
            self.ema = EMA(self.model, self.cfg.ema)
        self._mark_start()

    def _mark_start(self) -> None:
        self.start_params = _flat(self.model).cpu()

    def _start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.metrics_path.unlink(missing_ok=True)
        append_metrics(self.metrics_path, [{
            "event": "start", "step": 0, "seed": self.seed, "preset": self.preset,
            "loss": self.loss_fn.name, "config": self.model_cfg.to_dict(), **self.data.description,
            "train": dataclasses.asdict(self.cfg), "parameters": self.model.num_parameters(),
            "device": str(self.device)}])

    def _restore(self) -> None:
        """Continue from ``checkpoint.pt``, refusing one made by another configuration."""
        path, cfg = self.ckpt_path, self.cfg
        ck = load_checkpoint_file(path)
        if RealNVPConfig.from_dict(ck.get("config") or {}) != self.model_cfg:
            raise TrainError(f"{path} was trained with model config {ck.get('config')}, "
                             f"but this run asks for {self.model_cfg.to_dict()} (size {cfg.size!r}): "
                             "resume with the same --preset/--size, or use another --out.")
        if ck.get("loss") != self.loss_fn.name:
            raise TrainError(f"{path} was trained with --loss {ck.get('loss')}, not "
                             f"{self.loss_fn.name}: resume with the same loss.")
        stored, now = ck.get("train") or {}, dataclasses.asdict(cfg)
        changed = sorted(k for k in now if k not in RESUME_MAY_CHANGE and k in stored
                         and stored[k] != now[k])
        if changed:
            raise TrainError(f"{path} was trained with another configuration: "
                             + ", ".join(f"{k} = {stored[k]!r} there, {now[k]!r} now" for k in changed)
                             + ". Resume with the same options (or start a new run in another --out).")
        if "data" in ck and ck["data"] != self.data.description:
            raise TrainError(f"{path} was trained on {ck['data']}, this run asks for "
                             f"{self.data.description}: resume with the same --data/--train-size/--init.")
        self.model.load_state_dict_checked(ck["model"], str(path))
        self.opt.load_state_dict(ck["optimizer"])
        self.total_steps = ck["total_steps"]
        self.sched.load_state_dict(ck["scheduler"])
        self.loss_fn.load_state_dict(ck.get("loss_state", {}))
        if self.ema is not None and ck.get("ema") is not None:
            self.ema.model.load_state_dict(ck["ema"])
        self.data_gen.set_state(ck["data_gen"])
        self.noise_gen.set_state(ck["noise_gen"])
        _set_rng_state(ck["rng"])
        self.step, self.train_seconds = ck["step"], ck["train_seconds"]
        self.epoch, self.pos, self.perm = ck["epoch"], ck["pos"], ck["perm"]
        self.snapshots_done = list(ck.get("snapshots_done", []))
        self.val_bpd = ck.get("val_bpd")
        self.start_params = ck.get("start_params")
        self.detector.load_state_dict(ck.get("monitor", {}))
        truncate_metrics(self.metrics_path, self.step)
        # where each stretch of a run was made: a run resumed on another machine (or commit)
        # is not bit for bit the run an uninterrupted process would have made
        append_metrics(self.metrics_path, [{
            "event": "resume", "step": self.step, "device": str(self.device),
            "machine": device_description(self.device, self.cfg.threads), **git_commit()}])

    def checkpoint(self) -> None:
        """Everything needed to continue bit for bit, written atomically."""
        save_file(self.ckpt_path, {
            "format": "flowlib.train/1", "config": self.model_cfg.to_dict(),
            "train": dataclasses.asdict(self.cfg), "loss": self.loss_fn.name, "seed": self.seed,
            "data": self.data.description,
            "model": self.model.state_dict(), "ema": self.ema.model.state_dict() if self.ema else None,
            "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
            "loss_state": self.loss_fn.state_dict(), "total_steps": self.total_steps,
            "data_gen": self.data_gen.get_state(), "noise_gen": self.noise_gen.get_state(),
            "rng": _rng_state(), "step": self.step, "train_seconds": self.train_seconds,
            "epoch": self.epoch, "pos": self.pos, "perm": self.perm,
            "snapshots_done": self.snapshots_done, "val_bpd": self.val_bpd,
            "start_params": self.start_params, "monitor": self.detector.state_dict()})

    @property
    def weights(self) -> RealNVP:
        """The weights that are evaluated and saved: the EMA copy when enabled."""
        return self.ema.model if self.ema is not None else self.model

    # ---------------------------------------------------------------- the loop
    def done(self) -> bool:
        if self.stop_after_steps is not None and self.step >= self.stop_after_steps:
            return True
        if self.total_steps is not None and self.step >= self.total_steps:
            return True
        return self.cfg.minutes is not None and self.train_seconds >= self.cfg.minutes * 60

    def next_batch(self) -> torch.Tensor:
        if self.data.stream is not None:  # fresh samples every step: no epochs
            return self.data.stream(self.cfg.batch_size, self.data_gen)
        bs = self.cfg.batch_size
        if self.pos + bs > len(self.perm):
            self.epoch, self.pos = self.epoch + 1, 0
            self.perm = torch.randperm(len(self.data.train), generator=self.data_gen)
        batch = self.data.train[self.perm[self.pos:self.pos + bs]]
        self.pos += bs
        return batch

    def optimizer_step(self) -> tuple[dict, float, float]:
        """One step of the loss: returns its logs, the learning rate used and the gradient norm
        (before clipping). Raises :class:`TrainingDiverged` on a non-finite loss or gradient."""
        batch = self.next_batch().to(self.device)
        lr = self.opt.param_groups[0]["lr"]
        self.loss_fn.set_lr_factor(lr / self.cfg.lr)
        value, logs = self.loss_fn.loss(self.model, batch, self.step, self.noise_gen)
        if not torch.isfinite(value):
            raise TrainingDiverged(f"the loss became {float(value)} at step {self.step + 1}", self.step + 1)
        self.opt.zero_grad(set_to_none=True)
        value.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        if not torch.isfinite(gnorm):
            raise TrainingDiverged(f"the gradient norm became {float(gnorm)} at step "
                                   f"{self.step + 1}", self.step + 1)
        self.opt.step()
        self.sched.step()
        if self.ema is not None:
            self.ema.update(self.model, self.step)
        self.step += 1
        self.batch_images = len(batch)
        return logs, lr, float(gnorm)

    def calibrate(self) -> None:
        """With a time budget, fix the schedule's length once, ``calibrate_steps`` steps in.

        The speed is measured after the first fifth of those steps: allocator, cuDNN and
        cache warm-up make the first steps slow (on a GPU many times slower), and a schedule
        from the raw mean ended GPU runs at half their clock.
        """
        cfg = self.cfg
        if self.total_steps is not None or cfg.minutes is None:
            return
        if self.step == cfg.calibrate_steps // 5:
            self._warm_mark = (self.step, self.train_seconds)
        elif self.step == cfg.calibrate_steps:
            mark = getattr(self, "_warm_mark", None)
            s_warm, t_warm = mark if mark and self.train_seconds > mark[1] else (0, 0.0)
            rate = (self.step - s_warm) / (self.train_seconds - t_warm)
            self.total_steps = int(self.step + rate * (cfg.minutes * 60 - self.train_seconds))
            if self.bar is not None:
                self.bar.total = self.total_steps
                self.bar.refresh()

    def snapshot(self) -> None:
        """Model weights when the training clock passes each of ``snapshot_minutes``."""
        for m in self.cfg.snapshot_minutes:
            if m not in self.snapshots_done and self.train_seconds >= m * 60:
                save_file(self.out / f"snapshot-{m:g}min.pt",
                      _model_file(self.model, self.weights, {"step": self.step,
                                                             "train_seconds": self.train_seconds}))
                self.snapshots_done.append(m)

    def evaluate(self) -> float | None:
        """Validation bits/dim in MNIST's units (None when non-finite: JSON has no inf)."""
        v = bits_per_dim(self.weights, self.data.val, batch_size=500, seed=0) + self.bpd_offset
        return v if math.isfinite(v) else None

    def watch(self, with_bpd: bool, dense: bool = False) -> list[dict]:
        """A check's rows: validation (and training-subset) bits/dim, and when due a quality
        check (FID, precision/recall, coverage), a fixed-noise grid, the exact KL; then the
        instability detector's events."""
        cfg, data = self.cfg, self.data
        row = {"step": self.step}
        if with_bpd:
            row["val_bpd"] = self.val_bpd
            if data.train_eval is not None:
                v = bits_per_dim(self.weights, data.train_eval, batch_size=500, seed=0) + self.bpd_offset
                row["train_eval_bpd"] = v if math.isfinite(v) else None
        if cfg.quality_every and (self.step % cfg.quality_every == 0 or self.done() or dense):
            w = self.weights
            grid = fixed_noise_grid(w, cfg.grid_images, self.seed)
            atomic_write_bytes(self.out / "grids" / f"step-{self.step:06d}.png",
                               to_png(image_grid(grid, nrow=int(math.sqrt(cfg.grid_images)))))
            row.update(quality(w, cfg.quality_images, self.seed,
                               data.quality_reference if data.quality_reference is not None
                               else cfg.quality_reference))
            if data.kl is not None:
                row.update(data.kl(w))
            if self.bar is not None:
                self.bar.write(f"step {self.step}: LeNet-FID {row['fid']:.2f}, "
                               f"{row['classes_covered']}/10 classes")
        if len(row) == 1:
            return []
        row.update(train_seconds=round(self.train_seconds, 3),
                   wall_seconds=round(time.time() - self.wall0, 3))
        return [row, *self.detector.check(self.step, row)]

    def run(self) -> RunResult:
        """Train to the end of the schedule (or the budget); write ``model.pt`` when finished.
        Lets the run folder go at the end, however the run ends."""
        try:
            return self._run()
        finally:
            self._unlock()

    def _run(self) -> RunResult:
        cfg = self.cfg
        self.bar = None
        if self.progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.total_steps, initial=self.step, desc=f"train {self.loss_fn.name}",
                            dynamic_ncols=True, mininterval=1.0, file=sys.stderr)
        rows, last_ckpt_time, window_imgs, window_t = [], self.train_seconds, 0, 0.0
        self.wall0 = time.time()
        if self.step == 0:
            self.initialize()
        if self.step == 0 and getattr(self.loss_fn, "pretrain_steps", 0):
            # the discriminator alone first (the generator frozen), e.g. to convergence at the
            # Nash equilibrium; its state is in the first checkpoint
            rows.append({"event": "disc_pretrain", "step": 0,
                         **self.loss_fn.pretrain(self.model, self.next_batch, self.noise_gen)})
        if self.step == 0 and cfg.quality_every:
            self.val_bpd = self.evaluate()  # the initialisation, the common start of every loss
            rows += self.watch(with_bpd=True)
        self.model.train()
        try:
            while not self.done():
                t0 = time.perf_counter()
                logs, lr, gnorm = self.optimizer_step()
                dt = time.perf_counter() - t0
                self.train_seconds += dt
                window_imgs += self.batch_images
                window_t += dt
                self.calibrate()
                self.snapshot()
                dense = (cfg.dense_every and self.step <= cfg.dense_until
                         and self.step % cfg.dense_every == 0)
                # a training row at every dense check too: where a run leaves an equilibrium
                # within its first checks, its gradients must be seen there, not 20 steps later
                if self.step % cfg.log_every == 0 or self.done() or dense:
                    row = {"step": self.step, "epoch": self.epoch, **logs, "lr": lr,
                           "grad_norm": gnorm, "param_distance": self.param_distance(),
                           "img_per_s": window_imgs / max(window_t, 1e-9),
                           "train_seconds": round(self.train_seconds, 3),
                           "wall_seconds": round(time.time() - self.wall0, 3)}
                    window_imgs, window_t = 0, 0.0
                    rows += [row, *self.detector.check(self.step, row)]
                    if self.bar is not None:
                        self.bar.set_postfix(bpd=f"{logs.get('train_bpd', float('nan')):.3f}",
                                             img_s=f"{row['img_per_s']:.0f}", refresh=False)
                bpd_due = self.step % cfg.eval_every == 0 or self.done() or dense
                if bpd_due:
                    self.val_bpd = self.evaluate()
                    if self.bar is not None:
                        self.bar.write(f"step {self.step}: validation {self.val_bpd} bits/dim")
                if bpd_due or (cfg.quality_every and self.step % cfg.quality_every == 0):
                    rows += self.watch(with_bpd=bpd_due, dense=dense)
                if self.bar is not None:
                    self.bar.update(1)
                if (self.step % cfg.checkpoint_every == 0 or self.done()
                        or self.train_seconds - last_ckpt_time >= cfg.checkpoint_seconds):
                    append_metrics(self.metrics_path, rows)
                    rows = []
                    self.checkpoint()
                    last_ckpt_time = self.train_seconds
        except TrainingDiverged as err:
            append_metrics(self.metrics_path, rows)
            append_metrics(self.metrics_path, [{"event": "diverged", "step": err.step,
                                                "message": str(err)}])
            kept = (f"the last good checkpoint {self.ckpt_path} (step "
                    f"{load_checkpoint_file(self.ckpt_path)['step']})" if self.ckpt_path.exists()
                    else "no checkpoint (it diverged before the first one)")
            raise TrainingDiverged(f"Training stopped: {err}. Kept {kept}. Lower the learning "
                                   "rate (--lr) or the gradient-clipping norm, then start a new "
                                   "run or --resume.", err.step) from None
        finally:
            if self.bar is not None:
                self.bar.close()
        append_metrics(self.metrics_path, rows)
        if self.total_steps is not None and self.step >= self.total_steps or (
                cfg.minutes is not None and self.train_seconds >= cfg.minutes * 60):
            save_file(self.out / MODEL, _model_file(self.model, self.weights, {
                "step": self.step, "train_seconds": self.train_seconds}))
        return RunResult(self.out, self.step, self.train_seconds, self.val_bpd, read_metrics(self.out))
