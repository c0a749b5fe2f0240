"""Experiment 1's compute, in minutes and images (issue 35): what "the same budget" was, and was not.

The search gave NLL and the adversarial losses the same number of configurations (24 each)
and every final run the same number of generator steps (6 000 at quick); it did not give them
the same compute. An adversarial step also trains a discriminator (WGAN-GP's critic five times),
so the minutes and the real images read differ by loss. :func:`parity_rows` reads both from the
shipped runs (the trainer's own clock, :func:`flowlib.studies.nll_vs_gan.train_minutes`; steps,
batch and discriminator steps from each run's recorded settings), and adds the book's teacher
(:mod:`flowlib.studies.teacher`: the same architecture trained by NLL for 34 000 steps) as the
compute-matched NLL row. Its FID cells read *to be measured* until its evaluation is shipped
as ``results/teacher/`` :data:`TEACHER_EVALUATION` (``{"lenet_fid_T1": ..., "lenet_fid_chosen":
..., "temperature": ...}``: LeNet-FID of 10 000 samples against MNIST test, noise seed 12345, at
temperature 1 and at the temperature the teacher's rule chose).

Minutes are wall clocks of a CPU shared with other jobs: upper bounds of what each run needs
alone, comparable within one study only roughly.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from flowlib.studies import nll_vs_gan as exp1
from flowlib.studies.results import Run, median_range

TEACHER_EVALUATION = "nll-vs-gan-evaluation.json"
TRAIN_IMAGES = 50_000          # the MNIST training split: epochs = images / this
TO_BE_MEASURED = "to be measured"
LABEL = {**exp1.LOSS_LABEL, "hybrid": "hybrid"}   # the table is narrow


def images_seen(run: Run) -> dict:
    """Images one run read: ``real`` (training digits in the generator's loss: NLL's and the
    hybrid's NLL term), ``generated`` (samples in the generator's adversarial loss) and
    ``discriminator_real`` (real digits the discriminator read: one batch per discriminator
    step), from its steps and its recorded batch size and discriminator steps."""
    start = next((x for x in run.rows if x.get("event") == "start"), {})
    train = start.get("train") or {}
    steps = run.manifest.get("results", {}).get("steps") or train.get("max_steps") or 0
    batch, d_steps = train.get("batch_size", 64), train.get("d_steps", 1)
    adversarial = run.loss != "nll"
    return {"steps": steps, "real": steps * batch if run.loss in ("nll", "hybrid") else 0,
            "generated": steps * batch if adversarial else 0,
            "discriminator_real": steps * d_steps * batch if adversarial else 0}


def parity_rows(final: list[Run], search: list[Run], sweep: list[Run] | None = None,
                teacher: Path | None = None, temperatures: dict | None = None) -> list[dict]:
    """One row per loss of the final runs, then the teacher: LeNet-FID at temperature 1
    (median and range over seeds) and at each run's chosen temperature (``temperatures``:
    :func:`flowlib.studies.nll_vs_gan_temperature.read`; *to be measured* while any seed lacks
    one), training minutes of the loss's search configurations (the hybrid: its lambda sweep)
    in all and of each final run, and the images a final run read (:func:`images_seen`).
    ``teacher``: the teacher's folder (its ``manifest.json``), or None to leave its row out."""
    temperatures = temperatures or {}
    rows = []
    fr = {r["run"]: r for r in exp1.final_rows(final)}
    for loss in [l for l in exp1.LOSS_ORDER if any(r.loss == l for r in final)]:
        rs = sorted([r for r in final if r.loss == loss], key=lambda r: r.seed)
        searched = (list(sweep or []) if loss == "hybrid"
                    else [r for r in search if r.spec.get("family") == loss])
        chosen = [temperatures.get(r.name) for r in rs]
        seen = [images_seen(r) for r in rs]
        rows.append({"loss": loss, "seeds": len(rs),
                     "lenet_fid": [fr[r.name]["lenet_fid"] for r in rs],
                     "lenet_fid_chosen": None if None in chosen else
                     [c["test"]["lenet"]["fid"] for c in chosen],
                     "temperatures": None if None in chosen else [c["temperature"] for c in chosen],
                     "search_configs": len(searched),
                     "search_minutes": sum(exp1.train_minutes(r) for r in searched),
                     "final_minutes": [exp1.train_minutes(r) for r in rs],
                     **{k: int(np.median([s[k] for s in seen])) for k in seen[0]}})
    if teacher is not None and (Path(teacher) / "manifest.json").exists():
        m = json.loads((Path(teacher) / "manifest.json").read_text())
        tr = m["config"]["training"]
        ev = Path(teacher) / TEACHER_EVALUATION
        ev = json.loads(ev.read_text()) if ev.exists() else {}
        steps = tr["steps"]
        rows.append({"loss": "teacher", "seeds": 1,
                     "lenet_fid": [ev["lenet_fid_T1"]] if "lenet_fid_T1" in ev else None,
                     "lenet_fid_chosen": [ev["lenet_fid_chosen"]] if "lenet_fid_chosen" in ev else None,
                     "temperatures": [m["results"]["temperature"]],
                     "search_configs": 0, "search_minutes": None,
                     "final_minutes": [tr["train_minutes"]], "steps": steps,
                     "real": steps * tr["train"]["batch_size"], "generated": 0,
                     "discriminator_real": 0})
    return rows


def teacher_evaluation(teacher: Path, preset: str = "quick", *, force: bool = False) -> dict:
    """Measure the teacher as Experiment 1's final runs are measured (:mod:`flowlib.metrics.final`:
    LeNet-FID of the plan's samples, 10 000 at quick, against MNIST test, noise seed
    :data:`~flowlib.metrics.final.SAMPLE_SEED`; Inception-FID of its 500), at temperature 1
    (latent std 1, what it was trained with) and at the temperature its own rule chose (stored
    in its weights as the base std); write ``teacher/`` :data:`TEACHER_EVALUATION`. Skipped when
    it exists for the same weights and plan, unless ``force``."""
    import time

    import torch

    from flowlib.core.manifest import device_description, git_commit
    from flowlib.core.paths import atomic_write_bytes, sha256_file
    from flowlib.core.presets import pick
    from flowlib.metrics.fid import fid
    from flowlib.metrics.final import PLANS, SAMPLE_SEED, stored_result
    from flowlib.models.flows import evaluating
    from flowlib.models.realnvp import RealNVP

    teacher = Path(teacher)
    plan = pick(preset, PLANS)
    plan_d = {"lenet_images": plan.fid_images, "inception_images": plan.inception_images,
              "sample_seed": SAMPLE_SEED, "reference": "mnist-test"}
    digest = sha256_file(teacher / "model.pt")
    path = teacher / TEACHER_EVALUATION
    stored = stored_result(path, digest, plan_d, force)
    if stored is not None:
        return stored
    t0 = time.time()
    model = RealNVP.load(teacher / "model.pt").eval()
    chosen = model.config.base_std            # the teacher's rule's choice, as a latent std
    out = {"model_sha256": digest, "plan": plan_d, "preset": preset, "temperature": chosen}
    for name, std in (("T1", 1.0), ("chosen", chosen)):
        for features, n in (("lenet", plan.fid_images), ("inception", plan.inception_images)):
            if not n:
                continue
            g = torch.Generator().manual_seed(SAMPLE_SEED)
            with evaluating(model):
                r = fid(lambda b: model.sample(b, temperature=std / chosen, generator=g),
                        reference="mnist-test", features=features, n=n,
                        coverage=features == "lenet")
            out[f"{features}_fid_{name}"] = r.fid
            out[f"{features}_{name}"] = {k: v for k, v in r.as_dict().items() if k in (
                "fid", "n", "n_reference", "precision", "recall", "classes_covered", "class_kl",
                "seconds")}
    out.update(git_commit(), device=device_description(), torch=torch.__version__,
               seconds=round(time.time() - t0, 2),
               finished_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    atomic_write_bytes(path, (json.dumps(out, indent=1) + "\n").encode())
    return out


def _k(n: int) -> str:
    return f"{n / 1000:,.0f}k".replace(",", " ")


def parity_table(rows: list[dict]) -> str:
    """Markdown, five columns (:func:`parity_rows`): loss, LeNet-FID at temperature 1 and at
    the chosen one, training minutes (search in all; each final run), images a final run read."""
    lines = ["| loss | LeNet-FID (10 000 samples), T = 1 | at the chosen T | training minutes: "
             "search; each final run | images a final run read |", "|---|---|---|---|---|"]
    for r in rows:
        label = ("NLL, 34 000 steps (the teacher)".replace("34 000", f"{r['steps']:,}".replace(",", " "))
                 if r["loss"] == "teacher" else LABEL.get(r["loss"], r["loss"]))
        fid1 = median_range(r["lenet_fid"]) if r["lenet_fid"] else TO_BE_MEASURED
        temps = f"T = {', '.join(f'{t:g}' for t in r['temperatures'])}" if r["temperatures"] else ""
        fidc = (f"{median_range(r['lenet_fid_chosen'])} ({temps})" if r["lenet_fid_chosen"] else
                TO_BE_MEASURED + (f" ({temps})" if temps else ""))
        search = ("—" if r["search_minutes"] is None else
                  f"{r['search_minutes']:.0f} ({r['search_configs']} "
                  f"{'λ values' if r['loss'] == 'hybrid' else 'configurations'})")
        minutes = f"{search}; {', '.join(f'{m:.0f}' for m in r['final_minutes'])}"
        parts = []
        if r["real"]:
            parts.append(f"{_k(r['real'])} real ({r['real'] / TRAIN_IMAGES:.1f} epochs)")
        if r["generated"]:
            parts.append(f"{_k(r['generated'])} generated")
        if r["discriminator_real"]:
            parts.append(f"D: {_k(r['discriminator_real'])} real "
                         f"({r['discriminator_real'] / TRAIN_IMAGES:.1f} epochs)")
        lines.append(f"| {label} | {fid1} | {fidc} | {minutes} | {'; '.join(parts)} |")
    return "\n".join(lines)
