"""The book's one three-way verdict rule, on constructed inputs."""
from flowlib.studies.results import median_range, verdict


def test_verdict_counts_the_pairs_that_go_the_claimed_way():
    assert verdict(0, 0) == "no data"
    assert verdict(3, 3) == "supported"
    assert verdict(0, 3) == "not supported"
    assert verdict(1, 3) == verdict(2, 3) == "mixed"
    assert verdict(1, 1) == "supported" and verdict(0, 1) == "not supported"


def test_fmt_gives_mean_and_sd_over_seeds_or_a_dash():
    assert median_range([1.0, 2.0, 30.0]) == "2.0 (1.0–30.0)"   # the median, not the mean
    assert median_range([5.0], ".3f") == "5.000"
    assert median_range([None, float("nan")]) == "—"
    assert median_range([3e5, 4e3, float("inf"), None], ".3g", infinite=True) == \
        "1.52e+05 (4e+03–3e+05) + 1 infinite"
    assert median_range([float("inf")], infinite=True) == "1 infinite"


def test_the_shipped_search_backs_the_sentence_on_likelihood_collapsing_while_images_improve():
    """The chapter "What NLL and FID say about each other" says adversarially trained flows
    lost likelihood while their FID improved: the shipped search must show it for adversarial
    runs and never for an NLL run; and the rule does not fire on a run where both improve."""
    from pathlib import Path
    from flowlib.core.paths import results_root
    from flowlib.studies.nll_vs_fid import likelihood_lost_images_gained
    from flowlib.studies.results import Run, load_study
    runs = load_study(results_root("nll-vs-gan-search-quick"))
    hits = {x["run"] for x in likelihood_lost_images_gained(runs)}
    family = {r.name: r.spec["family"] for r in runs}
    assert any(family[h] != "nll" for h in hits)
    assert not any(family[h] == "nll" for h in hits)
    rows = [{"step": s, "val_bpd": b, "fid": f} for s, b, f in ((0, 11.0, 9000.0), (250, 4.0, 900.0),
                                                                (500, 3.0, 700.0))]
    assert likelihood_lost_images_gained([Run("r", "nll", 0, Path("."), {}, rows, None)]) == []


def test_provenance_footnotes_carry_html_not_markdown():
    """Markdown inside an HTML block is never parsed: a footnote's file names showed their
    backticks. The footnote's text is turned into HTML where it is made."""
    from flowlib.studies.results import inline_html
    html = inline_html("Showing the shipped `quick` study: **No `a<b` yet** at `results/x`.")
    assert "`" not in html and "**" not in html
    assert html == ("Showing the shipped <code>quick</code> study: <b>No <code>a&lt;b</code> "
                    "yet</b> at <code>results/x</code>.")
