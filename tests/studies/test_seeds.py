"""--seeds is honoured by every study or refused with a message naming what the study runs
(three studies once dropped it in silence: a user asking for seeds 3 4 5 got 0 1 2)."""
import pytest

from flowlib.studies.registry import STUDIES, study_jobs
from flowlib.studies.runner import StudyError


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_seeds_are_honoured_or_refused(name):
    _, design = study_jobs(name, "smoke")
    if not design:
        pytest.skip(f"{name} has no jobs at smoke before its prerequisites have run")
    try:
        _, jobs = study_jobs(name, "smoke", [3, 4])
    except StudyError as err:
        assert "--seeds 3 4" in str(err) and "leave --seeds out" in str(err)
        return
    assert {j.spec.get("seed") for j in jobs} == {3, 4}


def test_the_lr_search_is_refused_and_the_design_is_honoured():
    with pytest.raises(StudyError, match=r"runs seeds \[0\] by its design"):
        study_jobs("misspecification-lr", "smoke", [3])
    _, jobs = study_jobs("misspecification", "smoke", [3, 4, 5])
    assert {j.spec["seed"] for j in jobs} == {3, 4, 5}
