"""Study designs as data: what a study runs is declared, not programmed.

A :class:`Design` is a study's cells (one dict per configuration: loss, rate, student, data
size, variant ... everything but the seed), the seeds each cell runs, and one function that
turns a cell and a seed into its job (the training command and what it is). Its exceptions are
data too: a cell that runs fewer seeds (``seeds_of``), a finished run elsewhere that a job
adopts instead of training again (the job's ``same_run``). :meth:`Design.expand` is the one
function that turns any design into jobs, and the one place where ``--seeds`` is honoured or
refused (a search with one seed says so, naming the seeds it runs).

:func:`grid` writes the usual case, every combination of some axes, in a fixed order.

Example, the misspecification study's long controls (:mod:`misspecification_calibrated`)::

    Design("misspecification-long", cells=grid(student=DESIGN_STUDENTS), seeds=(0, 1),
           job=lambda cell, seed: Job(...), seed_outer=True)
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

from flowlib.studies.runner import Job, StudyError


def grid(**axes) -> tuple[dict, ...]:
    """Every combination of ``axes`` (name -> values), the first axis outermost:
    ``grid(n=(300, 0), student=("tiny", "slim"))`` is n=300 with tiny, n=300 with slim, n=0 ..."""
    names = list(axes)
    return tuple(dict(zip(names, values)) for values in itertools.product(*axes.values()))


@dataclass(frozen=True)
class Design:
    """A study's design. ``cells``: its configurations in order (without the seed); ``seeds``:
    the seeds every cell runs; ``job(cell, seed)``: the job of one run; ``seeds_of(cell,
    seeds)``: the exception, the seeds a cell runs when not all (default: all);
    ``fixed_seeds``: the design runs exactly ``seeds`` (a search, a sweep: one seed), so
    another ``--seeds`` is refused; ``seed_outer``: every cell's seed 0 first, then seed 1 ...
    (the order the jobs run in when one slot runs them one by one)."""
    study: str
    cells: tuple[dict, ...]
    seeds: tuple[int, ...]
    job: Callable[[dict, int], Job]
    seeds_of: Callable[[dict, tuple], tuple] | None = None
    fixed_seeds: bool = False
    seed_outer: bool = False

    def expand(self, seeds=None) -> list[Job]:
        """The jobs of the design with its own seeds (``seeds`` None) or with ``seeds`` in
        their place; a design with fixed seeds refuses others, naming them and the fix."""
        if seeds is None:
            seeds = self.seeds
        else:
            seeds = tuple(int(s) for s in seeds)
            if not seeds or len(set(seeds)) != len(seeds):
                raise StudyError(f"--seeds for {self.study} must name distinct seeds (got "
                                 f"{list(seeds)}).")
            if self.fixed_seeds and seeds != self.seeds:
                raise StudyError(
                    f"The study {self.study} runs seeds {list(self.seeds)} by its design and "
                    f"cannot run --seeds {' '.join(map(str, seeds))} (it would run "
                    f"{list(self.seeds)}): leave --seeds out, or run a study whose design has "
                    "seeds (its final or controlled runs).")
        runs = [(cell, seed) for cell in self.cells
                for seed in (self.seeds_of(cell, seeds) if self.seeds_of else seeds)]
        if self.seed_outer:
            order = {s: i for i, s in enumerate(seeds)}
            runs.sort(key=lambda r: order[r[1]])   # stable: cells keep their order per seed
        jobs = [self.job(cell, seed) for cell, seed in runs]
        names = [j.name for j in jobs]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise StudyError(f"The design of {self.study} gives two jobs one name ({', '.join(dup)}): "
                             "each run needs its own folder; the job names must include every "
                             "axis that varies.")
        return jobs
