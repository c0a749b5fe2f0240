"""The built book in a real headless Chromium, from file://, offline, with no kernel."""
from __future__ import annotations

import shutil

import pytest

pytestmark = [pytest.mark.book, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: `make test` installs it "
                    "(apt-get install chromium).")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("request", lambda r: r.url.startswith(LOCAL) or problems.append(f"non-local: {r.url}"))
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(1500)  # the widget manager renders after load
    return page, problems


def test_every_page_renders_offline_without_errors(smoke_book, browser):
    html = smoke_book.build_dir / "html"
    pages = [html / "index.html"] + sorted((html / "book").glob("*.html"))
    assert len(pages) >= 1 + len(smoke_book.chapters())
    for path in pages:
        page, problems = _open(browser, path.as_uri())
        broken = page.evaluate("""() => [...document.images]
            .filter(i => i.complete && i.naturalWidth === 0).map(i => i.src.slice(0, 80))""")
        problems += [f"broken image: {b}" for b in broken]
        # a table built in code must render as a table, not as a paragraph of pipes
        pipes = page.evaluate("""() => [...document.querySelectorAll('p')]
            .map(p => p.innerText).filter(t => /\\|\\s*:?-{3,}:?\\s*\\|/.test(t))  // a |---| row
            .map(t => t.slice(0, 60))""")
        problems += [f"table rendered as text: {s!r}" for s in pipes]
        views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        if views:
            rendered = page.locator(".jupyter-widgets").count()
            errors = page.locator(".jupyter-widgets.widget-error, .widget-error").count()
            if rendered == 0 or errors:
                problems.append(f"{views} widget views, {rendered} rendered, {errors} errors")
        page.close()
        assert not problems, f"{path.name}: " + "; ".join(problems)


def test_data_browser_slider_and_dropdown_work_without_a_kernel(smoke_book, browser):
    page, problems = _open(browser, (smoke_book.build_dir / "html" / "book" / "data.html").as_uri())
    frames = page.locator(".flowlib-frames").first
    frames.scroll_into_view_if_needed()

    def visible():
        img = page.locator(".flowlib-frames img:visible").first
        label = page.locator(".flowlib-frames .widget-html b:visible").first
        return img.get_attribute("src"), label.inner_text()

    src0, label0 = visible()
    assert label0.startswith("images 0–31")
    handle = page.locator(".flowlib-frames .noUi-handle:visible").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    src1, label1 = visible()
    assert label1.startswith("images 32–63") and src1 != src0
    # the split drop-down switches to another split's browser
    page.locator("select:visible").first.select_option(label="test")
    page.wait_for_timeout(300)
    assert visible()[1].startswith("images 0–31")
    assert "static page" in page.locator(".flowlib-frames:visible").first.inner_text()
    assert not problems, problems


def test_the_findings_page_is_a_table(smoke_book, browser):
    page, problems = _open(browser, (smoke_book.build_dir / "html" / "book" / "findings.html").as_uri())
    rows = page.locator("table tbody tr").count()
    page.close()
    assert rows >= 6, f"the findings table has {rows} rows (F1-F6 expected)"
