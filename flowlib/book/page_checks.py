"""What a chapter page must have for a reader, checked on the built HTML (issue 32): its
findings box, a captioned figure and an "Exercises" section; no table in the main text wider
than the column; no literal backtick in the rendered text; a page weight under
:data:`MAX_PAGE_BYTES`; and, on the Findings page, exactly six top-level rows.

Each check takes a Playwright page (a real headless Chromium, laid out at the reader's
1280 px) or, for the weight, the page's file, and returns a list of problems (empty when
none), so the browser test can report every page's problems at once and the unit tests can
show each check failing on a small constructed page that breaks it
(``tests/book/test_page_checks.py``).
"""
from __future__ import annotations

import re
from pathlib import Path

from flowlib.book.legibility import COLUMN_PX

MAX_PAGE_BYTES = 6 * 1024 * 1024   # HTML plus the local images it shows
FINDINGS = 6                       # F1..F6
NOT_CHAPTERS = ("preface", "references", "findings")
# collapsed evidence: a table here is not in the main text
COLLAPSED = "details, .sd-dropdown, .dropdown, .toggle-hidden, .toggle"


def findings_box(page) -> list[str]:
    """The chapter's "What this chapter finds" box (class ``flowlib-finds``) is on the page."""
    n = page.locator("main .flowlib-finds").count()
    return [] if n else ["no findings box (an element of class flowlib-finds)"]


def captioned_figure(page) -> list[str]:
    """At least one figure with a caption that has text."""
    n = page.evaluate("""() => [...document.querySelectorAll('main figure')]
        .filter(f => f.querySelector('img, svg') && f.querySelector('figcaption')
                     && f.querySelector('figcaption').innerText.trim()).length""")
    return [] if n else ["no captioned figure (a figure with an image and a figcaption)"]


def exercises(page) -> list[str]:
    """A section headed "Exercises"."""
    n = page.evaluate("""() => [...document.querySelectorAll('main h1, main h2, main h3')]
        .filter(h => /^\\s*(\\d+(\\.\\d+)*\\.?\\s*)?Exercises\\b/i.test(h.innerText)).length""")
    return [] if n else ["no section headed Exercises"]


WIDE_TABLES = """([column, collapsed]) => [...document.querySelectorAll('main table')]
  .filter(t => !t.closest(collapsed) && t.offsetParent !== null)
  .filter(t => Math.max(t.getBoundingClientRect().width, t.scrollWidth) > column + 2)
  .map(t => `${Math.round(Math.max(t.getBoundingClientRect().width, t.scrollWidth))} px, ` +
            `${t.querySelectorAll('tr').length} rows: ` + t.innerText.slice(0, 50).replace(/\\s+/g, ' '))"""


def wide_tables(page, column: int = COLUMN_PX + 8) -> list[str]:
    """Tables in the main text (not inside a collapsed dropdown) wider than ``column`` pixels
    (the content column at a 1280 px window, 688 px measured)."""
    return [f"a table in the main text wider than the {column} px column: {t}"
            for t in page.evaluate(WIDE_TABLES, [column, COLLAPSED])]


TEXT_NODES = """([pattern, skip]) => {
  const bad = new RegExp(pattern);
  const out = [];
  const walk = document.createTreeWalker(document.querySelector('main') || document.body,
                                         NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const n = walk.currentNode;
    if (n.parentElement && n.parentElement.closest(skip)) continue;
    if (bad.test(n.textContent)) out.push(n.textContent.trim().slice(0, 80));
  }
  return out;
}"""
CODE = "script, style, pre, code, kbd, samp, textarea, .highlight"


def text_nodes(page, pattern: str, skip: str = CODE) -> list[str]:
    """The page's text nodes (in ``main``) matching the JavaScript regular expression
    ``pattern``, outside elements matching the CSS selector ``skip`` (code, by default): the
    one walker behind every "a reader must never see this text" check."""
    return page.evaluate(TEXT_NODES, [pattern, skip])


def backticks(page) -> list[str]:
    """Literal backtick characters in the rendered text (outside code): Markdown that was not
    rendered, e.g. backticks inside HTML, where Markdown does not apply."""
    return [f"a literal backtick in the text: {t!r}" for t in text_nodes(page, "`")]


def page_bytes(path: Path) -> int:
    """Bytes a reader downloads for the page: its HTML plus the local images it shows
    (inline ``data:`` images are in the HTML already)."""
    path = Path(path)
    html = path.read_text(errors="replace")
    total = path.stat().st_size
    for src in dict.fromkeys(re.findall(r'<img[^>]+src="([^":]+)"', html)):
        f = (path.parent / src.split("#")[0].split("?")[0]).resolve()
        if f.is_file():
            total += f.stat().st_size
    return total


def weight(path: Path, limit: int = MAX_PAGE_BYTES) -> list[str]:
    """The page weighs at most ``limit`` bytes (:func:`page_bytes`)."""
    n = page_bytes(path)
    return [] if n <= limit else [f"the page weighs {n / 2**20:.1f} MB, above "
                                  f"{limit / 2**20:.0f} MB"]


TOP_ROWS = """(collapsed) => {
  const t = [...document.querySelectorAll('main table')].find(t => !t.closest(collapsed));
  if (!t) return -1;
  return [...t.querySelectorAll('tr')].filter(r => r.closest('table') === t
                                              && !r.closest('thead') && r.querySelector('td')).length;
}"""


def findings_rows(page, expected: int = FINDINGS) -> list[str]:
    """The Findings page's first table outside the dropdowns has ``expected`` body rows."""
    n = page.evaluate(TOP_ROWS, COLLAPSED)
    if n < 0:
        return ["no findings table in the main text"]
    return [] if n == expected else [f"the findings table has {n} top-level rows, not {expected}"]


def chapter_problems(page, path: Path | None = None) -> list[str]:
    """Every check a chapter page must pass (weight only when its ``path`` is given)."""
    out = (findings_box(page) + captioned_figure(page) + exercises(page) + wide_tables(page)
           + backticks(page))
    return out + (weight(path) if path is not None else [])


def broken_section_links(path: Path) -> list[str]:
    """Links from the page at ``path`` to a section of a page beside it
    (``other.html#anchor``) whose anchor that page does not have: a section renamed after
    the link was written lands the reader at the top of the chapter, and the build does not
    fail on it."""
    html = Path(path).read_text()
    problems = []
    for page, anchor in sorted(set(re.findall(r'href="([\w.-]+\.html)#([^"]+)"', html))):
        target = Path(path).parent / page
        if target.exists() and f'id="{anchor}"' not in target.read_text():
            problems.append(f"{page}#{anchor}: no such section")
    return problems
