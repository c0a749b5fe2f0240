"""Run a chapter anywhere: on the shipped results when they are found, else live at ``smoke``.

A chapter's notebook finds the shipped results through ``FLOWLIB_RESULTS`` or the clone it sits
in (:func:`flowlib.core.paths.results_root`). Downloaded and opened in any Jupyter where
``flowlib`` is installed but where no results are found, :func:`chapter_preset` says so in one
line, points ``FLOWLIB_RESULTS`` at a scratch results folder in the cache
(``<cache>/live-results``), makes there the two pieces every later chapter reads, a LeNet
classifier (one epoch) and a teacher (built by the real :func:`~flowlib.studies.teacher.
build_teacher` from a few hundred steps of the ``tiny`` Real NVP), and returns ``"smoke"``: the
chapter then runs its own studies live at the smoke preset, as CI does. Numbers made this way
exercise the code; they mean nothing, and the chapter's notes say so where it shows a run.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from flowlib.core.paths import RESULTS_ENV, cache_dir, results_root, runs_root

CLASSIFIER_EPOCHS = 1        # about a minute on 2 cores; ~98.5% test accuracy is enough here
TEACHER_STEPS = 300          # the tiny Real NVP at the smoke settings, about 20 s
TEACHER_TEMPERATURES = (0.8, 0.9, 1.0)


LIVE_ENV = "FLOWLIB_LIVE_RESULTS"


def live_root() -> Path:
    """Where a chapter run without shipped results keeps what it makes, so the next chapter
    reuses it: ``$FLOWLIB_LIVE_RESULTS`` when set, else ``<cache>/live-results``."""
    env = os.environ.get(LIVE_ENV)
    if env:
        Path(env).mkdir(parents=True, exist_ok=True)
        return Path(env)
    return cache_dir("live-results")


def _missing() -> list[str]:
    """The pieces the chapters read that the results folder lacks: ``"classifier"`` and
    ``"teacher"``, each needing its weights and its manifest."""
    from flowlib.data.synthetic import teacher_dir
    from flowlib.metrics.classifier import WEIGHTS_NAME, classifier_dir
    files = {"classifier": (classifier_dir() / WEIGHTS_NAME, classifier_dir() / "manifest.json"),
             "teacher": (teacher_dir() / "model.pt", teacher_dir() / "manifest.json")}
    return [piece for piece, paths in files.items() if not all(p.exists() for p in paths)]


def shipped_found() -> bool:
    """Whether the results folder holds the pieces the chapters read (:func:`_missing`)."""
    return not _missing()


def chapter_preset(preset: str, log=print) -> str:
    """The preset a chapter runs at: ``preset`` when the shipped results are found; else one
    line saying so, a live results folder made (once; later chapters reuse it) and ``"smoke"``."""
    if shipped_found():
        return preset
    root = live_root()
    log(f"No shipped results found (looked in {results_root()}): running this chapter live at "
        f"the smoke preset, with a classifier and a teacher made in {root}. Set {RESULTS_ENV} to "
        "a clone's results/ to read the shipped runs instead.")
    os.environ[RESULTS_ENV] = str(root)
    make_live_results(log=lambda *_: None)
    return "smoke"


def make_live_results(log=print) -> None:
    """Make under :func:`results_root` the pieces :func:`_missing` names (a piece found
    incomplete, its weights without its manifest, is made again)."""
    from flowlib import training as T
    from flowlib.data.synthetic import teacher_dir
    from flowlib.metrics.classifier import ClassifierConfig, classifier_dir, train_classifier
    from flowlib.studies.teacher import build_teacher
    missing = _missing()
    if "classifier" in missing:
        train_classifier(ClassifierConfig(epochs=CLASSIFIER_EPOCHS), classifier_dir(), log=log)
    if "teacher" in missing:
        run = runs_root() / "live-teacher-source"
        if run.exists():
            import shutil
            shutil.rmtree(run)
        cfg = dataclasses.replace(T.preset_config("smoke"), max_steps=TEACHER_STEPS, quality_every=None,
                                  eval_every=TEACHER_STEPS, checkpoint_every=TEACHER_STEPS)
        T.train(cfg, run, seed=0, preset="smoke", progress=False)
        build_teacher(run, teacher_dir(), replace=True, temperatures=TEACHER_TEMPERATURES,
                      command="flowlib.book.live.make_live_results()")
