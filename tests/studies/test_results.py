"""The book's one three-way verdict rule, on constructed inputs."""
from flowlib.studies.results import fmt, verdict


def test_verdict_counts_the_pairs_that_go_the_claimed_way():
    assert verdict(0, 0) == "no data"
    assert verdict(3, 3) == "supported"
    assert verdict(0, 3) == "not supported"
    assert verdict(1, 3) == verdict(2, 3) == "mixed"
    assert verdict(1, 1) == "supported" and verdict(0, 1) == "not supported"


def test_fmt_gives_mean_and_sd_over_seeds_or_a_dash():
    assert fmt([1.0, 2.0, 3.0]) == "2.00 ± 1.00"
    assert fmt([5.0]) == "5.00"
    assert fmt([None, float("nan")]) == "—"
