"""The book's studies, each a list of independent training jobs (see :mod:`flowlib.runner`).

``python -m flowlib experiment NAME --preset quick [--seeds 0 1 2] [--jobs N]
[--emit slurm] [--out DIR]``

- ``nll-vs-gan`` (Experiment 1): the same Real NVP, from the same initialisation for a
  given seed, trained by NLL, by NSGAN and by the hybrid λ·NLL + NSGAN.
- ``nash``: students started at the synthetic-MNIST teacher's weights (the Nash
  equilibrium), trained by NSGAN (fresh or pre-trained discriminator) or NLL, on a finite
  synthetic set or on fresh teacher samples; the exact KL to the teacher is tracked.
- ``misspecification`` (Experiment 2): students smaller than, equal to and larger than the
  teacher, trained by NLL on synthetic training sets of several sizes; train and
  validation NLL, exact KL, FID over training.

Results land in ``results/<study>-<preset>/<run>/`` (override with ``--out``), one run
directory per job with its manifest; rerunning skips finished runs and resumes cut-off
ones. Each finished run then gets its final figures (:mod:`flowlib.evaluate`,
``final.json``), also skipped when present.
"""
from __future__ import annotations

from pathlib import Path

from .paths import RESULTS
from .presets import check_preset
from .runner import Job, StudyError, collect, emit_slurm, run_jobs

HYBRID_LAMBDA = 0.05  # weight of NLL in the hybrid loss (nats/dim units), Flow-GAN's range
# Experiment 1 runs a fixed number of steps (not a time budget), so that its numbers do not
# depend on how busy the machine was; every `quality_every` steps each run records exact
# validation bits/dim, LeNet-FID, precision/recall, class coverage and a fixed-noise grid.
# The adversarial runs use DCGAN's learning rate (2e-4) for the generator, chosen before any
# run; NLL keeps its preset's.
EXP1 = {"smoke": {"steps": 30, "every": 15},
        "quick": {"steps": 1500, "every": 250},
        "full": {"steps": 30000, "every": 2000}}
GAN_LR = 2e-4


def nll_vs_gan_jobs(preset: str, seeds) -> list[Job]:
    jobs = []
    for seed in seeds:
        for loss in ("nll", "nsgan", "hybrid"):
            plan = EXP1[preset]
            argv = ["train", "--loss", loss, "--preset", preset, "--seed", str(seed),
                    "--steps", str(plan["steps"]), "--eval-every", str(plan["every"]),
                    "--quality-every", str(plan["every"]), "--no-progress"]
            if loss != "nll":
                argv += ["--lr", str(GAN_LR)]
            if loss == "hybrid":
                argv += ["--hybrid-lambda", str(HYBRID_LAMBDA)]
            jobs.append(Job(f"{loss}-seed{seed}", tuple(argv),
                            {"loss": loss, "seed": seed, "preset": preset}))
    return jobs


# The Nash-equilibrium experiment: a student with the teacher's architecture *starts at the
# teacher's weights* (the generator is the true distribution), then trains by NSGAN with a
# fresh discriminator, by NSGAN after the discriminator alone was trained first, or by NLL;
# on a finite synthetic training set or on fresh teacher samples every step. All at one
# learning rate and without EMA (the raw weights are what moves away, or not).
NASH = {"smoke": {"steps": 30, "every": 15, "train_size": 500, "pretrain": 20},
        "quick": {"steps": 500, "every": 100, "train_size": 10_000, "pretrain": 500},
        "full": {"steps": 10_000, "every": 500, "train_size": 50_000, "pretrain": 5000}}
NASH_LR = 2e-4
NASH_METHODS = ("nsgan", "nsgan-pretrained-d", "nll")
NASH_DATA = ("finite", "stream")


def nash_jobs(preset: str, seeds) -> list[Job]:
    plan = NASH[preset]
    jobs = []
    for seed in seeds:
        for data in NASH_DATA:
            for method in NASH_METHODS:
                loss = "nll" if method == "nll" else "nsgan"
                argv = ["train", "--loss", loss, "--preset", preset, "--seed", str(seed),
                        "--init", "teacher", "--steps", str(plan["steps"]),
                        "--eval-every", str(plan["every"]), "--quality-every", str(plan["every"]),
                        "--lr", str(NASH_LR), "--no-ema", "--no-progress"]
                argv += (["--data", "synthetic", "--train-size", str(plan["train_size"])]
                         if data == "finite" else ["--data", "teacher-stream"])
                if method == "nsgan-pretrained-d":
                    argv += ["--pretrain-disc", str(plan["pretrain"])]
                jobs.append(Job(f"{method}-{data}-seed{seed}", tuple(argv),
                                {"method": method, "loss": loss, "data": data, "seed": seed,
                                 "preset": preset}))
    return jobs


# Experiment 2: students of the teacher, smaller, equal and larger (named sizes; the teacher
# is "small"), trained by NLL from random initialisation on synthetic training sets of
# several sizes, all for the same number of steps with the preset's optimiser settings.
TEACHER_SIZE = "small"
EXP2 = {"smoke": {"students": ("micro", "tiny"), "train_sizes": (500,), "steps": 30, "every": 15},
        "quick": {"students": ("micro", "tiny", "small", "medium", "base"),
                  "train_sizes": (1000, 10_000), "steps": 800, "every": 100},
        "full": {"students": ("micro", "tiny", "small", "medium", "base", "large"),
                 "train_sizes": (1000, 5000, 50_000), "steps": 20_000, "every": 1000}}


def misspecification_jobs(preset: str, seeds) -> list[Job]:
    plan = EXP2[preset]
    jobs = []
    for seed in seeds:
        for n in plan["train_sizes"]:
            for student in plan["students"]:
                argv = ["train", "--loss", "nll", "--preset", preset, "--seed", str(seed),
                        "--size", student, "--data", "synthetic", "--train-size", str(n),
                        "--steps", str(plan["steps"]), "--eval-every", str(plan["every"]),
                        "--quality-every", str(plan["every"]), "--no-progress"]
                jobs.append(Job(f"{student}-n{n}-seed{seed}", tuple(argv),
                                {"student": student, "train_size": n, "seed": seed,
                                 "loss": "nll", "preset": preset}))
    return jobs


# name -> (results prefix, job list, whether finished runs get flowlib.evaluate's final figures:
# the Nash runs' final figures are their last exact-KL check, in metrics.jsonl)
STUDIES = {"nll-vs-gan": ("exp1", nll_vs_gan_jobs, True), "nash": ("nash", nash_jobs, False),
           "misspecification": ("exp2", misspecification_jobs, False)}


def study_jobs(name: str, preset: str, seeds) -> tuple[Path, list[Job]]:
    if name not in STUDIES:
        raise StudyError(f"Unknown experiment {name!r}: use one of {', '.join(STUDIES)}.")
    check_preset(preset)
    prefix, make, _ = STUDIES[name]
    return RESULTS / f"{prefix}-{preset}", make(preset, seeds)


def _cmd(args) -> int:
    root, jobs = study_jobs(args.name, args.preset, args.seeds)
    root = Path(args.out) if args.out else root
    if args.emit:
        if args.emit != "slurm":
            raise StudyError(f"--emit knows 'slurm' only, not {args.emit!r}.")
        script = emit_slurm(jobs, root, root.with_name(root.name + ".slurm.sh"))
        print(f"wrote {script} ({len(jobs)} array tasks; submit with `sbatch {script}`)")
        return 0
    results = run_jobs(jobs, root, n_parallel=args.jobs, device=args.device)
    failed = [r for r in results if r.status.startswith("failed")]
    if not args.no_final and STUDIES[args.name][2]:
        from .evaluate import final_evaluation
        for r in results:
            if (r.out / "model.pt").exists():  # finished; a diverged run has no final model
                fin = final_evaluation(r.out, args.preset)
                print(f"[study] {r.name}: test {fin['test_bpd']:.4f} bits/dim, LeNet-FID "
                      f"{fin['lenet']['fid']:.2f} (n={fin['lenet']['n']})", flush=True)
    print(f"[study] {len(results) - len(failed)}/{len(results)} runs finished, "
          f"{len(collect(root))} manifests under {root}")
    if failed:
        print(f"[study] failed or diverged (see their log.txt): {', '.join(r.name for r in failed)}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("experiment", help="run one of the book's studies (resumable)")
    p.add_argument("name", help=", ".join(STUDIES))
    p.add_argument("--preset", default="quick", help="smoke | quick | full")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel on this machine")
    p.add_argument("--device", default=None,
                   help="passed to every run: cpu (default), cuda or auto; jobs may share a GPU")
    p.add_argument("--emit", default=None, help="write a cluster script instead: slurm")
    p.add_argument("--out", default=None, help="results folder (default results/<study>-<preset>)")
    p.add_argument("--no-final", action="store_true",
                   help="skip the final evaluation (test bits/dim, FID) of finished runs")
    p.set_defaults(func=_cmd)
