"""Each check of a page a reader meets (flowlib.book.page_checks), shown to pass on a small
constructed page that meets it and to FAIL on one that breaks it: laid out in the same
headless Chromium as the browser test, at 1280 px, with no book build (fast)."""
from __future__ import annotations


import pytest

from flowlib.book import page_checks as P

pytestmark = [pytest.mark.browser]


# The theme's column: main text 688 px wide at a 1280 px window.
FRAME = ("<html><body><main style='width: 688px'>{}</main></body></html>")
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
       "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
GOOD = FRAME.format(
    "<h1>A chapter</h1><div class='admonition note flowlib-finds'><p>What this chapter finds</p></div>"
    f"<figure><img src='{PNG}' width='100'><figcaption>Fig. 1: what to see.</figcaption></figure>"
    "<table><tr><td>a</td><td>b</td></tr></table>"
    "<p>The loss is <code>nll</code>.</p>"
    "<details class='sd-dropdown'><summary>More</summary>"
    "<table style='width: 1200px'><tr><td>wide, but collapsed</td></tr></table></details>"
    "<section><h2>Exercises</h2><p>1. Try it.</p></section>")


def _page(browser, html):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_content(html)
    return page


@pytest.mark.parametrize("check", [P.findings_box, P.captioned_figure, P.exercises,
                                   P.wide_tables, P.backticks])
def test_each_check_passes_a_page_that_meets_it(browser, check):
    page = _page(browser, GOOD)
    assert check(page) == []
    assert P.chapter_problems(page) == []
    page.close()


BROKEN = {
    P.findings_box: GOOD.replace("flowlib-finds", "tip"),
    P.captioned_figure: GOOD.replace("<figcaption>Fig. 1: what to see.</figcaption>", ""),
    P.exercises: GOOD.replace("<h2>Exercises</h2>", "<h2>Further reading</h2>"),
    P.wide_tables: GOOD.replace("<table><tr><td>a</td>",
                                "<table style='width: 1010px'><tr><td>a</td>"),
    P.backticks: GOOD.replace("<p>The loss is <code>nll</code>.</p>",
                              "<p>The loss is `nll`.</p>"),
}


@pytest.mark.parametrize("check", list(BROKEN), ids=lambda c: c.__name__)
def test_each_check_fails_a_page_that_breaks_it(browser, check):
    page = _page(browser, BROKEN[check])
    problems = check(page)
    assert len(problems) == 1, problems
    assert P.chapter_problems(page) == problems   # and only that check fails
    page.close()


def test_a_wide_table_is_found_even_when_its_container_scrolls(browser):
    """The theme wraps tables in a scrolling container: the table is still wider than the
    column, and a reader must scroll sideways to read it."""
    html = FRAME.format("<div style='overflow-x: auto'><table><tr>"
                        + "<td>a_rather_long_unbreakable_cell_content</td>" * 30
                        + "</tr></table></div>")
    page = _page(browser, html)
    assert len(P.wide_tables(page)) == 1
    page.close()


def test_a_backtick_inside_code_is_fine_and_one_in_a_dropdown_is_not(browser):
    ok = FRAME.format("<pre>x = `a`</pre><p><code>`</code></p>")
    bad = FRAME.format("<details><summary>More</summary><p>run `make book`</p></details>")
    page = _page(browser, ok)
    assert P.backticks(page) == []
    page.set_content(bad)
    assert len(P.backticks(page)) == 1
    page.close()


def _findings(n, extra=""):
    rows = "".join(f"<tr><td>F{i}</td><td>holds</td></tr>" for i in range(1, n + 1))
    return FRAME.format("<div class='flowlib-findings'><table><thead><tr><th>finding</th>"
                        f"<th>verdict</th></tr></thead><tbody>{rows}</tbody></table></div>"
                        + extra)


def test_the_findings_check_counts_top_level_rows_only(browser):
    sub = ("<details class='sd-dropdown'><summary>F2</summary><table><tbody>"
           + "<tr><td>reading</td></tr>" * 5 + "</tbody></table></details>")
    page = _page(browser, _findings(6, sub))
    assert P.findings_rows(page) == []
    for n in (15, 5):   # the old page's 15 verdict rows; a finding lost
        page.set_content(_findings(n, sub))
        assert P.findings_rows(page) == [f"the findings table has {n} top-level rows, not 6"]
    page.set_content(FRAME.format("<p>No table.</p>" + sub))
    assert P.findings_rows(page) == ["no findings table in the main text"]
    page.close()


def test_the_weight_check_counts_the_html_and_its_local_images(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "big.png").write_bytes(b"0" * 4000)
    page = tmp_path / "page.html"
    page.write_text("<html><img src='x'><img src=\"_images/big.png\">"
                    "<img src=\"_images/big.png\"></html>")
    n = P.page_bytes(page)
    assert n == page.stat().st_size + 4000   # an image shown twice is downloaded once
    assert P.weight(page, limit=n) == []
    assert P.weight(page, limit=n - 1) == [f"the page weighs {n / 2**20:.1f} MB, above 0 MB"]
    assert P.weight(page) == []               # far below 6 MB


def test_a_link_to_a_renamed_section_is_found(tmp_path):
    (tmp_path / "ch.html").write_text('<section id="the-verdicts"><h2>The verdicts</h2></section>')
    good = tmp_path / "findings.html"
    good.write_text('<a href="ch.html#the-verdicts">ch</a> <a href="ch.html">top</a> '
                    '<a href="elsewhere.html#x">not built here</a>')
    assert P.broken_section_links(good) == []
    bad = tmp_path / "old.html"
    bad.write_text('<a href="ch.html#the-finding-as-these-numbers-have-it">ch</a>')
    assert P.broken_section_links(bad) == ["ch.html#the-finding-as-these-numbers-have-it: no such section"]


def test_the_raw_tex_pattern_finds_untypeset_tex_in_text_but_not_in_code_or_mathjax(browser):
    """The browser test's raw-TeX check runs on the same walker as the backtick check."""
    from tests.book.test_browser import RAW_TEX, RAW_TEX_SKIP
    ok = FRAME.format("<p>The KL is small.</p><code>\\frac{a}{b}</code>"
                      "<mjx-container>\\frac{a}{b}</mjx-container>")
    bad = FRAME.format("<p>so $p(x) = \\frac{a}{b}$ here</p>")
    page = _page(browser, ok)
    assert P.text_nodes(page, RAW_TEX, RAW_TEX_SKIP) == []
    page.set_content(bad)
    assert len(P.text_nodes(page, RAW_TEX, RAW_TEX_SKIP)) == 1
    page.close()
