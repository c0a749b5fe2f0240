"""Study designs as data (issue 37): cells, seeds and exceptions declared, expanded by one
function; --seeds honoured or refused there, for every study."""
import json

import pytest

from flowlib.core.paths import results_root
from flowlib.studies.design import Design, grid
from flowlib.studies.registry import STUDIES
from flowlib.studies.runner import Job, StudyError, same_command


def _job(cell, seed):
    return Job(f"{cell.get('a', '')}{cell.get('b', '')}-s{seed}", ("x",), {**cell, "seed": seed})


def test_grid_crosses_axes_first_axis_outermost():
    assert grid(a=(1, 2), b=("x", "y")) == ({"a": 1, "b": "x"}, {"a": 1, "b": "y"},
                                            {"a": 2, "b": "x"}, {"a": 2, "b": "y"})


def test_expand_orders_cells_then_seeds_or_seeds_first():
    d = Design("t", grid(a=(1, 2)), seeds=(0, 1), job=_job)
    assert [j.name for j in d.expand()] == ["1-s0", "1-s1", "2-s0", "2-s1"]
    outer = Design("t", grid(a=(1, 2)), seeds=(0, 1), job=_job, seed_outer=True)
    assert [j.name for j in outer.expand()] == ["1-s0", "2-s0", "1-s1", "2-s1"]


def test_an_exception_runs_fewer_seeds_in_one_cell():
    d = Design("t", grid(a=(1, 2)), seeds=(0, 1, 2), job=_job,
               seeds_of=lambda c, seeds: seeds[:2] if c["a"] == 2 else seeds)
    assert [j.name for j in d.expand()] == ["1-s0", "1-s1", "1-s2", "2-s0", "2-s1"]
    assert [j.name for j in d.expand((5, 6, 7))] == ["1-s5", "1-s6", "1-s7", "2-s5", "2-s6"]


def test_seeds_are_replaced_or_refused_by_name():
    d = Design("t", grid(a=(1,)), seeds=(0, 1, 2), job=_job)
    assert [j.spec["seed"] for j in d.expand([3, 4])] == [3, 4]
    search = Design("search", grid(a=(1,)), seeds=(0,), job=_job, fixed_seeds=True)
    assert [j.spec["seed"] for j in search.expand([0])] == [0]
    with pytest.raises(StudyError, match=r"search runs seeds \[0\].*--seeds 3 4.*leave --seeds out"):
        search.expand([3, 4])
    with pytest.raises(StudyError, match="distinct seeds"):
        d.expand([1, 1])


def test_a_design_whose_names_collide_is_refused():
    d = Design("t", grid(a=(1, 1)), seeds=(0,), job=_job)
    with pytest.raises(StudyError, match="two jobs one name.*1-s0"):
        d.expand()


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_study_is_a_design(name):
    study = STUDIES[name]
    try:
        design = study.design("smoke")
    except StudyError:
        pytest.skip(f"{name} needs another study's runs first at smoke")
    assert isinstance(design, Design) and design.study == name
    assert [j.name for j in study.jobs("smoke")] == [j.name for j in design.expand()]


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_shipped_run_is_a_job_of_its_studys_design(name):
    """The designs as data still describe what was run: each shipped run's recorded command is
    its design's job of that name (same run spec), at quick."""
    root = results_root(f"{name}-quick")
    shipped = {p.parent.name: json.loads(p.read_text()) for p in root.glob("*/job.json")}
    if not shipped:
        pytest.skip(f"nothing of {name} is shipped")
    jobs = {j.name: j for j in STUDIES[name].jobs("quick")}
    for run, recorded in shipped.items():
        assert run in jobs, f"{root.name}/{run} is not a job of the design"
        assert same_command(recorded["argv"], jobs[run].argv), run
