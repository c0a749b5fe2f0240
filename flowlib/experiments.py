"""The book's studies, each a list of independent training jobs (see :mod:`flowlib.runner`).

``python -m flowlib experiment NAME --preset quick [--seeds 0 1 2] [--jobs N]
[--emit slurm] [--out DIR]``

- ``nll-vs-gan`` (Experiment 1): the same Real NVP, from the same initialisation for a
  given seed, trained by NLL, by NSGAN and by the hybrid λ·NLL + NSGAN.

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


STUDIES = {"nll-vs-gan": ("exp1", nll_vs_gan_jobs)}


def study_jobs(name: str, preset: str, seeds) -> tuple[Path, list[Job]]:
    if name not in STUDIES:
        raise StudyError(f"Unknown experiment {name!r}: use one of {', '.join(STUDIES)}.")
    check_preset(preset)
    prefix, make = STUDIES[name]
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
    results = run_jobs(jobs, root, n_parallel=args.jobs)
    failed = [r for r in results if r.status.startswith("failed")]
    if not args.no_final:
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
    p.add_argument("--emit", default=None, help="write a cluster script instead: slurm")
    p.add_argument("--out", default=None, help="results folder (default results/<study>-<preset>)")
    p.add_argument("--no-final", action="store_true",
                   help="skip the final evaluation (test bits/dim, FID) of finished runs")
    p.set_defaults(func=_cmd)
