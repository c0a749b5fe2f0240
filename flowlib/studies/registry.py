"""The book's studies, by name: what each runs, where its results live, how it is shown.

``python -m flowlib experiment NAME --preset quick [--seeds 0 1 2] [--jobs N]
[--emit slurm] [--out DIR]``

A study has one name everywhere: its module ``flowlib.studies.<name>`` (jobs, numbers,
verdicts), its results folder ``results/<name>-<preset>``, its command ``flowlib experiment
<name>`` and its chapter ``book/<name>.py`` with the companion ``flowlib.book.<name>``
(hyphens become underscores in Python names).

- ``gan-control``: the positive control of the adversarial machinery, a DCGAN-style
  generator trained by the same discriminator, losses and evaluation (it writes its own
  ``final.json``).
- ``gan-control-recipe``: the same control trained with the NSGAN recipe Experiment 1's search
  selected (rates, beta1, regulariser, discriminator steps) and the flow runs' schedule, EMA
  and gradient clip, for the final runs' generator steps (refused until the search has
  finished; :func:`recipe_control_design`).
- ``nll-vs-gan`` (Experiment 1, the fair fight): the same Real NVP, from the same
  initialisation for a given seed, trained by NLL, NSGAN, WGAN-GP and the hybrid λ·NLL +
  NSGAN, each family with its selected configuration (refused until the search and the
  hybrid sweep have finished).
- ``nll-vs-gan-search``: the fair fight's stated search, a random search of as many
  configurations for NLL as for the adversarial losses (not as much compute) (:func:`flowlib.studies.nll_vs_gan.search_space`).
- ``nll-vs-gan-hybrid``: the hybrid loss's lambda swept with the search's selected NSGAN
  configuration (refused until the search has finished).
- ``nash``: students started at the synthetic-MNIST teacher's weights (the Nash
  equilibrium), trained by NSGAN or by NLL alike at constant learning rates, and NSGAN with one
  change at a time (optimiser, regulariser, discriminator's start, finite data); the exact KL
  to the teacher, both ways, is tracked (:func:`flowlib.studies.nash.jobs`).
- ``nash-exact``: the same question from the exact equilibrium (a discriminator at D = 1/2,
  a zero generator gradient), with NLL controls on NSGAN's own optimiser, frozen-discriminator
  controls, plain SGD, and a departure rule with an absolute bar read at matched distance
  travelled (:mod:`flowlib.studies.nash_exact`).
- ``misspecification`` (Experiment 2): students smaller than, equal to and larger than the
  teacher, trained by NLL on synthetic training sets of several sizes; train and
  validation NLL, exact KL, FID over training.
- ``misspecification-long`` and ``misspecification-shared-lr`` (Experiment 2, calibrated):
  each student's infinite-data control at ten times the study's length (seeds 0 and 1:
  ``--seeds 0 1``), and the small students at one shared rate
  (:mod:`flowlib.studies.misspecification_calibrated`).

One run directory per job with its manifest; rerunning skips finished runs and resumes
cut-off ones. Each finished run of a study with ``final=True`` then gets its final figures
(:mod:`flowlib.metrics.final`, ``final.json``), also skipped when present.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flowlib.core.paths import results_root, runs_root, shown
from flowlib.core.presets import check_preset
from flowlib.metrics.final import final_evaluation
from flowlib.studies import misspecification, misspecification_calibrated, nash, nash_exact, nll_vs_gan
from flowlib.studies.design import Design
from flowlib.studies.results import shipped_results
from flowlib.studies.runner import (ELSEWHERE, Job, SlurmOptions, StudyError, auto_parallel,
                                    collect, emit_slurm, run_job, run_jobs)


@dataclass(frozen=True)
class Study:
    """A study: ``design(preset)`` declares what it runs (:class:`~flowlib.studies.design.
    Design`: cells, seeds, exceptions); ``final``: whether finished runs get
    :func:`flowlib.metrics.final.final_evaluation`'s figures (the Nash runs' final figures are
    their last exact-KL check, in metrics.jsonl); ``marker``: the file whose presence makes a
    run showable."""
    name: str
    design: Callable[[str], Design]
    final: bool
    marker: str = "manifest.json"

    def jobs(self, preset: str, seeds=None) -> list[Job]:
        """The design's jobs, with ``seeds`` in place of its own (or refused, by name)."""
        return self.design(preset).expand(seeds)

    def folder(self, preset: str) -> Path:
        return results_root(f"{self.name}-{check_preset(preset)}")

    def shipped(self, preset: str) -> Path | None:
        """The shipped results folder at ``preset`` when it holds a showable run; at ``smoke``
        the ``quick`` one (:func:`~flowlib.studies.results.shipped_results`'s rule). The one way
        a chapter finds another study's shipped runs."""
        root = shipped_results(self.name, check_preset(preset))
        return root if any(root.glob(f"*/{self.marker}")) else None


def gan_control_design(preset: str) -> Design:
    """The positive control (:mod:`flowlib.training.gan_control`): one run per seed."""
    return Design("gan-control", ({},), seeds=(0, 1, 2), job=lambda _, s: Job(
        f"seed{s}", ("gan-control", "--preset", preset, "--seed", str(s), "--no-progress"),
        {"seed": s, "preset": preset, "loss": "nsgan", "generator": "dcgan"}))


def recipe_control_design(preset: str) -> Design:
    """The positive control with the recipe under test (issue 35): the DCGAN generator trained
    with Experiment 1's selected NSGAN configuration (:func:`flowlib.studies.nll_vs_gan.
    selected_nsgan`: generator and discriminator rates, both players' beta1, R1 or spectral
    norm, discriminator steps), the schedule, EMA, beta2 and gradient clip every flow run of
    ``preset`` trained with (:data:`flowlib.training.config.PRESETS`), for the generator steps
    of the flow's final runs (:data:`~flowlib.studies.nll_vs_gan.FINAL_STEPS`). One run per seed;
    its bar is a LeNet-FID below 300 on 10 000 samples against MNIST test."""
    from flowlib.training.config import PRESETS as TRAIN_PRESETS
    recipe = {k: v for k, v in nll_vs_gan.selected_nsgan(preset).items() if k != "loss"}
    train = TRAIN_PRESETS[preset]
    flow = {"gan-beta2": train.gan_beta2, "warmup-steps": train.warmup_steps,
            "final-lr-frac": train.final_lr_frac, "ema": train.ema, "grad-clip": train.grad_clip}
    cfg = {**{k: v for k, v in flow.items() if v is not None}, **recipe}   # the search's flags win
    flags = []
    for k, v in cfg.items():
        flags += [f"--{k}"] if v is True else [] if v is False else [f"--{k}", str(v)]
    return Design("gan-control-recipe", ({},), seeds=(0,), job=lambda _, s: Job(
        f"seed{s}", ("gan-control", "--preset", preset, "--seed", str(s), "--steps",
                     str(nll_vs_gan.FINAL_STEPS[preset]), *flags, "--no-progress"),
        {"seed": s, "preset": preset, "loss": "nsgan", "generator": "dcgan",
         "recipe": cfg, "steps": nll_vs_gan.FINAL_STEPS[preset]}))


STUDIES: dict[str, Study] = {s.name: s for s in (
    Study("gan-control", gan_control_design, final=False, marker="final.json"),
    Study("gan-control-recipe", recipe_control_design, final=False, marker="final.json"),
    Study("nll-vs-gan", nll_vs_gan.fair_fight_design, final=True, marker="final.json"),
    Study("nll-vs-gan-search", nll_vs_gan.search_design, final=False),
    Study("nll-vs-gan-hybrid", nll_vs_gan.selected_hybrid_design, final=False),
    Study("nash", nash.design, final=False),
    Study("nash-exact", nash_exact.design, final=False),
    Study("misspecification", misspecification.searched_design, final=False),
    Study("misspecification-lr", misspecification.lr_search_design, final=False),
    Study("misspecification-long", misspecification_calibrated.long_design, final=False),
    Study("misspecification-shared-lr", misspecification_calibrated.shared_design, final=False),
)}


def get(name: str) -> Study:
    if name not in STUDIES:
        raise StudyError(f"Unknown experiment {name!r}: use one of {', '.join(STUDIES)}.")
    return STUDIES[name]


def study_jobs(name: str, preset: str, seeds=None) -> tuple[Path, list[Job]]:
    """The study's folder and jobs: its design's seeds (``seeds`` None), or exactly ``seeds``,
    refused with the seeds the study runs when its design cannot take them (a search and a
    sweep have one seed; nothing is dropped in silence)."""
    study = get(name)
    return study.folder(preset), study.jobs(preset, seeds)


def final_step(name: str, preset: str):
    """The study's final evaluation of one finished run (None when the study has none)."""
    if not get(name).final:
        return None

    def final(out: Path):
        fin = final_evaluation(out, preset)
        print(f"[study] {out.name}: test {fin['test_bpd']:.4f} bits/dim, LeNet-FID "
              f"{fin['lenet']['fid']:.2f} (n={fin['lenet']['n']})", flush=True)
    return final


def run_study(name: str, preset: str, seeds, root: Path) -> None:
    """Run (or finish) a study at ``preset`` into ``root``: the command line's code path."""
    run_jobs(study_jobs(name, preset, seeds)[1], root, final=final_step(name, preset))


def collect_study(name: str, preset: str, root: Path) -> list[dict]:
    """What ``--collect`` does after a cluster run: the final evaluation of every finished run
    that lacks one, then one line per run; returns the manifests."""
    final = final_step(name, preset)
    runs = collect(root)
    for m in runs:
        out = root / m["name"]
        if final and m.get("results", {}).get("outcome") == "done" and not (out / "final.json").exists():
            final(out)
        res = m.get("results", {})
        print(f"[collect] {m['name']}: {res.get('outcome')}, {res.get('steps')} steps, device "
              f"{m.get('device')}", flush=True)
    return runs


def locate(name: str, preset: str, rerun: bool = False, seeds=(0,)) -> tuple[Path, str]:
    """The study to show and a sentence saying which it is.

    Shipped ``results/<name>-<preset>`` unless ``rerun``; at ``smoke``, or when the
    preset's results are absent, the shipped ``quick`` study. With ``rerun`` the study is run
    now at ``preset`` into ``runs/<name>-<preset>-book``; when nothing is shipped, a
    ``smoke``-size study is run now instead (a book build never starts hours of training
    unasked), and the sentence says so.
    """
    study = get(name)
    check_preset(preset)
    if not rerun:
        for p in dict.fromkeys((preset, "quick")):
            root = study.shipped(p)
            if root is not None:
                note = ("the shipped study" if p == preset else
                        f"the shipped `quick` study (none is shipped for `{preset}`; pass "
                        "`rerun=True` to run it)")
                return root, f"Showing {note}: `{shown(root)}`."
    run_preset = preset if rerun else "smoke"
    looked = "quick" if preset == "smoke" else preset
    root = runs_root(f"{name}-{run_preset}-book")
    run_study(name, run_preset, seeds, root)
    why = ("" if rerun else f" **No `{looked}` results are shipped yet** (`results/{name}-"
           f"{looked}`), so this page shows a smoke-size run: it exercises the code, its numbers "
           "mean nothing. Run the study (command above) to fill it.")
    return root, (f"Showing a study run just now at `{run_preset}` (seeds {list(seeds)}) in "
                  f"`{shown(root)}`.{why}")


# ------------------------------------------------------------------ the canonical run
# One run, not a study: the Real NVP trained by NLL at seed 0 for the quick preset's time
# budget, published by ``benchmarks/realnvp_quick.py --publish`` with its test bits/dim on all
# 10 000 test digits and its curve at 2, 5, 10 and 15 minutes. Chapter 4 shows it; it is found
# here, like every study, and not by a folder name in the book.
CANONICAL_RUN = "realnvp-nll-quick"


def canonical_run(preset: str = "quick", rerun: bool = False, seed: int = 0) -> tuple[Path, bool]:
    """The published Real NVP run to show and whether it is the shipped canonical one.

    The shipped canonical run unless ``rerun`` or it is absent (or lacks its model); else a
    run trained now into ``runs/realnvp-nll-<preset>-book`` and published into its
    ``published/`` folder (the same files as the canonical run's): at ``preset`` when asked to
    rerun, at ``smoke`` when nothing is shipped (as :func:`locate`: a book build never starts
    a quarter of an hour of training unasked; the manifest says which preset ran)."""
    import shutil

    from flowlib import training as T
    check_preset(preset)
    canonical = results_root(CANONICAL_RUN)
    if not rerun and (canonical / "manifest.json").exists() and (canonical / T.MODEL).exists():
        return canonical, True
    run_preset = preset if rerun else "smoke"
    out = runs_root(f"realnvp-nll-{run_preset}-book")
    if out.exists():
        shutil.rmtree(out)
    T.train(T.canonical_config(run_preset), out, seed=seed, preset=run_preset, progress=True)
    T.publish_run(out, out / "published", preset=run_preset, seed=seed)
    return out / "published", False


def _cmd(args) -> int:
    root, jobs = study_jobs(args.name, args.preset, args.seeds)
    root = Path(args.out) if args.out else root
    if args.emit:
        if args.emit != "slurm":
            raise StudyError(f"--emit knows 'slurm' only, not {args.emit!r}.")
        folder = emit_slurm(args.name, args.preset, args.seeds, root, len(jobs), device=args.device,
                            options=SlurmOptions(time=args.time, cpus=args.cpus, mem=args.mem,
                                                 partition=args.partition, account=args.account))
        print(f"wrote {folder}/array.sh ({len(jobs)} array tasks), collect.sh and submit.sh; "
              f"submit with `bash {folder}/submit.sh`")
        return 0
    if args.collect:
        runs = collect_study(args.name, args.preset, root)
        print(f"[collect] {len(runs)}/{len(jobs)} runs of {args.name} under {root}")
        return 0 if len(runs) == len(jobs) else 1
    n_parallel = auto_parallel(len(jobs), args.device) if args.jobs == "auto" else args.jobs
    results = run_jobs(jobs, root, n_parallel=n_parallel, device=args.device,
                       final=None if args.no_final else final_step(args.name, args.preset))
    failed = [r for r in results if r.status.startswith("failed")]
    elsewhere = [r for r in results if r.status.startswith(ELSEWHERE)]
    print(f"[study] {len(results) - len(failed) - len(elsewhere)}/{len(results)} runs finished, "
          f"{len(collect(root))} manifests under {root}")
    if failed:
        print(f"[study] failed (see their log.txt): {', '.join(r.name for r in failed)}")
    if elsewhere:
        print(f"[study] {ELSEWHERE}, left alone: {', '.join(r.name for r in elsewhere)}; run "
              "the same command again once that process has ended, to finish them")
    return 0


def _cmd_job(args) -> int:
    """One job of a study, by index or name: what a Slurm array task runs."""
    root, jobs = study_jobs(args.name, args.preset, args.seeds)
    root = Path(args.root) if args.root else root
    if args.index is not None:
        if not 0 <= args.index < len(jobs):
            raise StudyError(f"--index {args.index} is outside the study's {len(jobs)} jobs.")
        job = jobs[args.index]
    else:
        byname = {j.name: j for j in jobs}
        if args.job not in byname:
            raise StudyError(f"No job {args.job!r} in {args.name}: use one of {', '.join(byname)}.")
        job = byname[args.job]
    r = run_job(job, root / job.name, threads=args.threads, device=args.device,
                final=final_step(args.name, args.preset))
    print(f"[job] {r.name}: {r.status}", flush=True)
    # a job held by another process (a requeued task whose first copy still runs) is not done
    return 1 if r.status.startswith(("failed", ELSEWHERE)) else 0


def _jobs_arg(text: str):
    if text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--jobs takes a positive number or auto, not {text!r}")
    return n


def add_cli(sub) -> None:
    p = sub.add_parser("experiment", help="run one of the book's studies (resumable)")
    p.add_argument("name", help=", ".join(STUDIES))
    p.add_argument("--preset", default="quick", help="smoke | quick | full")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="the seeds to run (default: the study's design); refused where the "
                        "design cannot take them")
    p.add_argument("--jobs", type=_jobs_arg, default="auto",
                   help="runs in parallel on this machine: a number, or auto (one per core on a "
                        "CPU, one per GPU with --device cuda)")
    p.add_argument("--device", default=None,
                   help="passed to every run: cpu (default), cuda or auto; jobs may share a GPU")
    p.add_argument("--emit", default=None, help="write a cluster script instead: slurm")
    p.add_argument("--out", default=None, help="results folder (default results/<study>-<preset>)")
    p.add_argument("--no-final", action="store_true",
                   help="skip the final evaluation (test bits/dim, FID) of finished runs")
    p.add_argument("--collect", action="store_true",
                   help="read a study made elsewhere (e.g. on a cluster): final evaluations of "
                        "finished runs that lack one, and a summary")
    slurm = p.add_argument_group("--emit slurm")
    slurm.add_argument("--time", default="04:00:00", help="time limit of each array task")
    slurm.add_argument("--cpus", type=int, default=4, help="CPUs per task (its torch threads)")
    slurm.add_argument("--mem", default="8G", help="memory per task")
    slurm.add_argument("--partition", default=None)
    slurm.add_argument("--account", default=None)
    p.set_defaults(func=_cmd)

    j = sub.add_parser("job", help="run one job of a study (what a cluster array task runs)")
    j.add_argument("name", help=", ".join(STUDIES))
    j.add_argument("--preset", default="quick")
    j.add_argument("--seeds", type=int, nargs="+", default=None)
    j.add_argument("--root", default=None, help="the study's results folder")
    which = j.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=int, help="the job's position in the study (array task id)")
    which.add_argument("--job", help="the job's name")
    j.add_argument("--threads", type=int, default=None)
    j.add_argument("--device", default=None)
    j.set_defaults(func=_cmd_job)
