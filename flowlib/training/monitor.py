"""What the training loop watches besides the loss: image quality, sample grids, instability.

Every ``quality_every`` steps :func:`flowlib.training.trainer.train` calls :func:`quality` on the
weights it would ship (EMA if enabled): LeNet-FID, precision, recall and class coverage of
``n`` fresh samples against a reference split, and :func:`fixed_noise_grid`, the same latent
noise decoded at every evaluation, so grids from different steps (and from runs of different
losses with the same seed) show how one set of draws evolves. Neither touches the training
RNG streams: evaluation cannot change what a resumed run computes.

:class:`InstabilityDetector` turns the logged numbers into *events* (rows with
``"event": "instability"``) without stopping the run: a run that degrades is a result.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from flowlib.metrics.fid import fid
from flowlib.models.flows import evaluating

GRID_SEED_OFFSET = 7919  # grid noise: seed-derived, unrelated to the training streams


def fixed_noise_grid(model, n: int, seed: int) -> torch.Tensor:
    """``n`` samples (n, C, H, W) in [0, 1] decoded from noise fixed by ``seed``."""
    g = torch.Generator().manual_seed(seed + GRID_SEED_OFFSET)
    with evaluating(model):
        return model.sample(n, generator=g).cpu()


# resamples of the generated features for the FID's standard error (``fid_se``): cheap (no
# new samples), and enough for a standard deviation good to about 15%
FID_BOOTSTRAP = 20


def quality(model, n: int, seed: int, reference="mnist-validation", features: str = "lenet") -> dict:
    """FID, precision/recall and class coverage of ``n`` model samples (a metrics row's fields).

    Samples come from a generator seeded with ``seed``: the same noise at every evaluation.
    """

    g = torch.Generator().manual_seed(seed + 2 * GRID_SEED_OFFSET)
    with evaluating(model):
        r = fid(lambda b: model.sample(b, generator=g), reference=reference, features=features,
                n=n, pr_n=n, bootstrap=FID_BOOTSTRAP)
    return {"fid": r.fid, "fid_se": r.fid_se, "precision": r.precision, "recall": r.recall,
            "classes_covered": r.classes_covered, "class_entropy": r.class_entropy,
            "class_kl": r.class_kl, "class_histogram": r.class_histogram,
            "quality_seconds": r.seconds}


@dataclass
class InstabilityDetector:
    """Flags, without stopping the run:

    - ``bpd_exploded``: validation bits/dim non-finite, or more than ``bpd_jump`` bits/dim
      above the best value seen so far in the run;
    - ``coverage_collapse``: fewer than ``min_classes`` of the 10 digit classes hold at least a
      quarter of their share of samples, after the run had reached ``min_classes``
      (a generator that never covered the classes has not *collapsed*; its coverage is
      reported anyway);
    - ``vanishing_gradient``: the model's gradient norm is exactly 0 on a logged step (e.g. a
      generator whose outputs saturated the logit pre-processing: it can no longer learn);
      flagged once per run.

    :func:`replay` applies the same rules to a recorded ``metrics.jsonl``.
    """

    bpd_jump: float = 1.0
    min_classes: int = 8
    best_bpd: float | None = None
    best_classes: int = 0
    seen: list = field(default_factory=list)
    flagged: list = field(default_factory=list)

    def check(self, step: int, row: dict) -> list[dict]:
        events = []
        g = row.get("grad_norm")
        if g is not None and g == 0.0 and "vanishing_gradient" not in self.flagged:
            self.flagged.append("vanishing_gradient")
            events.append({"kind": "vanishing_gradient",
                           "detail": "gradient norm exactly 0: the model no longer learns"})
        bpd = row.get("val_bpd", "absent")
        if bpd != "absent":
            if bpd is None or not math.isfinite(bpd):
                events.append({"kind": "bpd_exploded", "val_bpd": None,
                               "detail": "validation bits/dim is not finite"})
            else:
                if self.best_bpd is not None and bpd > self.best_bpd + self.bpd_jump:
                    events.append({"kind": "bpd_exploded", "val_bpd": bpd, "best_bpd": self.best_bpd,
                                   "detail": f"{bpd:.3f} bits/dim, {bpd - self.best_bpd:.3f} above "
                                             f"the best {self.best_bpd:.3f}"})
                self.best_bpd = bpd if self.best_bpd is None else min(self.best_bpd, bpd)
        covered = row.get("classes_covered")
        if covered is not None:
            if covered < self.min_classes <= self.best_classes:
                events.append({"kind": "coverage_collapse", "classes_covered": covered,
                               "detail": f"{covered}/10 classes covered, after {self.best_classes}"})
            self.best_classes = max(self.best_classes, covered)
        out = [{"event": "instability", "step": step, **e} for e in events]
        self.seen.extend(out)
        return out

    def state_dict(self) -> dict:
        return {"bpd_jump": self.bpd_jump, "min_classes": self.min_classes,
                "best_bpd": self.best_bpd, "best_classes": self.best_classes,
                "seen": list(self.seen), "flagged": list(self.flagged)}

    def load_state_dict(self, state: dict) -> None:
        for k in ("best_bpd", "best_classes", "seen", "flagged"):
            if k in state:
                setattr(self, k, state[k])


def replay(rows: list[dict], bpd_jump: float = 1.0, min_classes: int = 8) -> list[dict]:
    """The events :class:`InstabilityDetector` finds in recorded metrics rows (in order).

    Lets an analysis apply today's rules to runs recorded before a rule existed; for runs
    recorded with the same rules it returns the events they logged themselves.
    """
    det = InstabilityDetector(bpd_jump, min_classes)
    out = []
    for r in rows:
        if r.get("event") or "step" not in r:
            continue
        out.extend(det.check(r["step"], r))
    return out
