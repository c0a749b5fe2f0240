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
- ``nll-vs-gan`` (Experiment 1): the same Real NVP, from the same initialisation for a
  given seed, trained by NLL, by NSGAN and by the hybrid λ·NLL + NSGAN.
- ``nll-vs-gan-search``: the fair fight's stated search, a random search of the same size
  for NLL and for the adversarial losses (:func:`flowlib.studies.nll_vs_gan.search_space`).
- ``nash``: students started at the synthetic-MNIST teacher's weights (the Nash
  equilibrium), trained by NSGAN (fresh or pre-trained discriminator) or NLL, on a finite
  synthetic set or on fresh teacher samples; the exact KL to the teacher is tracked.
- ``misspecification`` (Experiment 2): students smaller than, equal to and larger than the
  teacher, trained by NLL on synthetic training sets of several sizes; train and
  validation NLL, exact KL, FID over training.

One run directory per job with its manifest; rerunning skips finished runs and resumes
cut-off ones. Each finished run of a study with ``final=True`` then gets its final figures
(:mod:`flowlib.metrics.final`, ``final.json``), also skipped when present.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flowlib.core.paths import REPO_ROOT, RESULTS
from flowlib.core.presets import check_preset
from flowlib.metrics.final import final_evaluation
from flowlib.studies import misspecification, nash, nll_vs_gan
from flowlib.studies.runner import Job, StudyError, collect, emit_slurm, run_jobs


@dataclass(frozen=True)
class Study:
    """A study: ``jobs(preset, seeds)`` lists its training jobs; ``final``: whether finished
    runs get :func:`flowlib.metrics.final.final_evaluation`'s figures (the Nash runs' final
    figures are their last exact-KL check, in metrics.jsonl); ``marker``: the file whose
    presence makes a run showable."""
    name: str
    jobs: Callable[[str, list], list[Job]]
    final: bool
    marker: str = "manifest.json"

    def folder(self, preset: str) -> Path:
        return RESULTS / f"{self.name}-{check_preset(preset)}"

    def shipped(self, preset: str) -> Path | None:
        """The shipped results folder at ``preset`` when it holds a showable run."""
        root = self.folder(preset)
        return root if any(root.glob(f"*/{self.marker}")) else None


def gan_control_jobs(preset: str, seeds) -> list[Job]:
    """The positive control (:mod:`flowlib.training.gan_control`): one run per seed."""
    return [Job(f"seed{s}", ("gan-control", "--preset", preset, "--seed", str(s), "--no-progress"),
                {"seed": s, "preset": preset, "loss": "nsgan", "generator": "dcgan"}) for s in seeds]


STUDIES: dict[str, Study] = {s.name: s for s in (
    Study("gan-control", gan_control_jobs, final=False, marker="final.json"),
    Study("nll-vs-gan", nll_vs_gan.jobs, final=True, marker="final.json"),
    Study("nll-vs-gan-search", nll_vs_gan.search_jobs, final=False),
    Study("nash", nash.jobs, final=False),
    Study("misspecification", misspecification.jobs, final=False),
)}


def get(name: str) -> Study:
    if name not in STUDIES:
        raise StudyError(f"Unknown experiment {name!r}: use one of {', '.join(STUDIES)}.")
    return STUDIES[name]


def study_jobs(name: str, preset: str, seeds) -> tuple[Path, list[Job]]:
    study = get(name)
    return study.folder(preset), study.jobs(preset, seeds)


def run_study(name: str, preset: str, seeds, root: Path) -> None:
    """Run (or finish) a study at ``preset`` into ``root``: the command line's code path."""

    study = get(name)
    for r in run_jobs(study.jobs(preset, seeds), root):
        if study.final and (r.out / "model.pt").exists():
            final_evaluation(r.out, preset)


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
                return root, f"Showing {note}: `{root.relative_to(REPO_ROOT)}`."
    run_preset = preset if rerun else "smoke"
    looked = "quick" if preset == "smoke" else preset
    root = REPO_ROOT / "runs" / f"{name}-{run_preset}-book"
    run_study(name, run_preset, seeds, root)
    why = ("" if rerun else f" **No `{looked}` results are shipped yet** (`results/{name}-"
           f"{looked}`), so this page shows a smoke-size run: it exercises the code, its numbers "
           "mean nothing. Run the study (command above) to fill it.")
    return root, (f"Showing a study run just now at `{run_preset}` (seeds {list(seeds)}) in "
                  f"`{root.relative_to(REPO_ROOT)}`.{why}")


def _unused_study_jobs(name: str, preset: str, seeds) -> tuple[Path, list[Job]]:
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
    if not args.no_final and get(args.name).final:
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
