"""The site as a reader meets it, in headless Chromium: every page loads with no request to another host and
no error, formulas are typeset, Chinese search finds the pages, the palette toggles, a phone can read it,
and the file:// variant works with its search. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import json
import re
from pathlib import Path

from browsing import SearchBox, new_context, run_search, screenshot, settle
from mkdocs.config import load_config

from conftest import ROOT

CJK = "\u4e00-\u9fff"
# Words a reader of these notes looks for; the test keeps those the built index really holds mid-sentence.
CANDIDATES = ["叶子节点", "子梯度", "反标准化", "交叉熵", "计算图", "显著性图", "标准差", "非叶子节点"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def nav_count() -> int:
    def count(items) -> int:
        return sum(
            count(v) if isinstance(v, list) else 1
            for item in items
            for v in ([*item.values()] if isinstance(item, dict) else [item])
        )

    return count(load_config(str(ROOT / "mkdocs.yml")).nav)


def html(site: Path, url: str) -> str:
    return (site / (url if url.endswith(".html") else url + "index.html")).read_text(encoding="utf-8")


def page_urls(site: Path) -> list[str]:
    """Every HTML page of the site, as URL paths ('', 'autograd/abs-subgradient/', '404.html')."""
    urls = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        urls.append(relative.removesuffix("index.html"))
    return urls


# -- Every page ------------------------------------------------------------------------------------------


def test_every_page_loads_from_loopback_only_without_errors(site, browser, base):
    urls = page_urls(site)
    assert len(urls) >= nav_count() + 1, urls  # the nav's pages and 404.html
    context, watch = new_context(browser, (base,), color_scheme="light")
    page = context.new_page()
    report = {}
    for url in urls:
        page.goto(base + url)
        settle(page)
        # figures load lazily (hooks/figures.py): ask for all of them now, and wait until each is decoded
        page.evaluate(
            "() => Promise.all([...document.images].map(i => { i.loading = 'eager'; return i.decode().catch(() => null); }))"
        )
        state = page.evaluate(
            """() => ({
                broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt || i.src.slice(0, 60)),
                arithmatex: document.querySelectorAll('.arithmatex').length,
                untypeset: [...document.querySelectorAll('.arithmatex')].filter(e => !e.querySelector('.katex')).length,
                katexErrors: document.querySelectorAll('.katex-error').length,
                notebookMath: document.querySelectorAll('.jupyter-wrapper .katex').length,
                leftDollars: [...document.querySelectorAll('.jp-RenderedMarkdown')].filter(e => /\\$[^$\\s][^$]*\\$/.test(e.innerText)).length,
            })"""
        )
        report[url] = state
        assert not state["broken"], f"{url}: images that did not load: {state['broken']}"
        assert state["untypeset"] == 0 and state["katexErrors"] == 0, f"{url}: formulas not typeset: {state}"
        assert state["leftDollars"] == 0, f"{url}: a notebook cell still shows $...$ source"
    context.close()
    assert not watch.problems(), "\n".join(watch.problems())
    # The hands-on notebook has formulas in its Markdown cells: KaTeX must have typeset them there too.
    assert report["notebooks/hands-on/"]["notebookMath"] >= 3, report["notebooks/hands-on/"]
    assert sum(state["arithmatex"] + state["notebookMath"] for state in report.values()) > 0


# -- Search ----------------------------------------------------------------------------------------------


def search_queries(site: Path) -> dict[str, set[str]]:
    """Query -> pages that hold it in the middle of a sentence, read from the built search index."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    raw: dict[str, str] = {}
    for doc in index["docs"]:
        location = doc["location"].split("#")[0]
        raw[location] = raw.get(location, "") + "\n" + re.sub(r"<[^>]+>", " ", doc["text"])
    texts = {location: text.replace("\u200b", "") for location, text in raw.items()}

    def pages_with(word: str) -> set[str]:
        return {location for location, text in texts.items() if re.search(f"[{CJK}]{word}", text)}

    queries = {word: pages_with(word) for word in CANDIDATES if pages_with(word)}
    # One more per note page, from the page itself: the word (as the build's jieba cut it, \u200b between
    # words) of two or more characters, after another word of the same sentence, that fewest pages hold.
    for location, text in sorted(raw.items()):
        if not location or location.startswith("notebooks/"):
            continue
        tokens = text.split("\u200b")
        words = {
            word
            for before, word in zip(tokens, tokens[1:], strict=False)
            if re.fullmatch(f"[{CJK}]{{2,}}", word) and re.search(f"[{CJK}]$", before)
        }
        scored = sorted((len(pages_with(word)), -len(word), word) for word in words if location in pages_with(word))
        if scored:
            queries.setdefault(scored[0][2], pages_with(scored[0][2]))
    return queries


def test_chinese_search_finds_the_pages(site, browser, base):
    queries = search_queries(site)
    assert len(queries) >= 3, f"too few words to search for: {queries}"
    context, watch = new_context(browser, (base,))
    page = context.new_page()
    box = SearchBox(page, base)  # the home page's search box, for every query in turn
    misses = {}
    for number, (query, expected) in enumerate(queries.items()):
        found = set(box.search(query))
        if number == 0:
            screenshot(page, "search-results")
        if not expected & found or (len(expected) <= 3 and not expected <= found):
            misses[query] = (sorted(expected), sorted(found))
    context.close()
    assert not misses, misses
    assert not watch.problems(), "\n".join(watch.problems())


# -- Palette ---------------------------------------------------------------------------------------------


def contrast(page, selector: str) -> float:
    """WCAG contrast of an element's text against the first opaque background behind it."""
    return page.evaluate(
        """selector => {
            const element = document.querySelector(selector);
            const rgb = text => text.match(/[\\d.]+/g).map(Number);
            const luminance = ([r, g, b]) => {
                const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
            };
            let node = element, background = null;
            while (node && node.nodeType === 1) {
                const value = rgb(getComputedStyle(node).backgroundColor);
                if (value.length < 4 || value[3] > 0.9) { background = value; break; }
                node = node.parentElement;
            }
            background = background || [255, 255, 255];
            const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background)];
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }""",
        selector,
    )


def test_palette_toggle_switches_scheme_and_stays_readable(site, browser, base):
    figure_page = next((url for url in page_urls(site) if 'class="figure"' in html(site, url)), None)
    code_page = next(url for url in page_urls(site) if 'class="page-meta__run"' in html(site, url) and url != "")
    target = figure_page or code_page
    context, watch = new_context(browser, (base,), color_scheme="light", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + target)
    settle(page)
    scheme = "document.body.getAttribute('data-md-color-scheme')"
    assert page.evaluate(scheme) == "default"
    screenshot(page, "light")
    if figure_page:
        page.locator("img.figure:visible").first.scroll_into_view_if_needed()
        screenshot(page, "light-figure")
        page.evaluate("window.scrollTo(0, 0)")
    light = {name: contrast(page, sel) for name, sel in (("text", "article p"), ("code", "article pre code"))}
    page.locator("form[data-md-component='palette'] label:visible").first.click()
    page.wait_for_function(f"{scheme} === 'slate'")
    screenshot(page, "dark")
    if figure_page:
        page.locator("img.figure:visible").first.scroll_into_view_if_needed()
        screenshot(page, "dark-figure")
    dark = {name: contrast(page, sel) for name, sel in (("text", "article p"), ("code", "article pre code"))}
    # In the dark palette the figures shown are their dark variants (Material's #only-dark convention).
    if figure_page:
        shown = page.locator("img.figure:visible")
        assert shown.count() > 0
        assert all(
            src.endswith("#only-dark") for src in shown.evaluate_all("els => els.map(e => e.getAttribute('src'))")
        )
    page.goto(base + "notebooks/hands-on/")  # the choice is remembered across pages
    settle(page)
    assert page.evaluate(scheme) == "slate"
    notebook = {
        "notebook code": contrast(page, ".jupyter-wrapper .highlight-ipynb pre"),
        "notebook output": contrast(page, ".jupyter-wrapper .jp-OutputArea-output pre"),
    }
    screenshot(page, "dark-notebook")
    context.close()
    assert not watch.problems(), "\n".join(watch.problems())
    for name, ratio in {**light, **dark, **notebook}.items():
        assert ratio >= 4.5, f"{name}: contrast {ratio:.2f} (light {light}, dark {dark}, {notebook})"


# -- Phone -----------------------------------------------------------------------------------------------


def test_phone_drawer_opens_and_no_page_is_wider_than_the_screen(site, browser, base):
    context, watch = new_context(browser, (base,), **PHONE)
    page = context.new_page()
    too_wide = {}
    for url in page_urls(site):
        page.goto(base + url)
        settle(page)
        width = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
        )
        if max(width[:2]) > width[2]:
            too_wide[url] = width
    page.goto(base + "notebooks/hands-on/")
    settle(page)
    screenshot(page, "phone")
    page.locator("label.md-header__button[for='__drawer']").click()
    page.wait_for_function("document.getElementById('__drawer').checked")
    box = page.locator(".md-sidebar--primary").bounding_box()  # transitions are off (settle): no slide to wait for
    screenshot(page, "phone-drawer")
    context.close()
    assert box and box["x"] >= -1 and box["width"] > 200, box
    assert not too_wide, too_wide
    assert not watch.problems(), "\n".join(watch.problems())


# -- Run it yourself: a downloaded notebook runs ----------------------------------------------------------


def test_the_download_link_gives_the_notebook_that_runs(site, browser, base, tmp_path):
    """A click on a page's notebook link saves the very notebook that tests/test_downloads.py runs top to bottom
    in a fresh kernel (test_generated_notebooks_and_scripts_run_top_to_bottom): the same bytes, a valid notebook."""
    import nbformat

    notes = [
        url
        for url in page_urls(site)
        if 'class="page-meta__run"' in html(site, url) and not url.startswith("notebooks/")
    ]
    assert notes, "no page offers its code for download"
    target = next((url for url in notes if url.startswith("autograd/")), notes[0])
    context, watch = new_context(browser, (base,), accept_downloads=True)
    page = context.new_page()
    page.goto(base + target)
    settle(page)
    link = page.locator(".page-meta__run a[href$='.ipynb']")
    served = site / target / link.get_attribute("href")
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    context.close()
    assert not watch.problems(), "\n".join(watch.problems())
    assert served.is_file() and saved.read_bytes() == served.read_bytes(), served
    notebook = nbformat.read(saved, as_version=4)
    nbformat.validate(notebook)
    assert [cell for cell in notebook.cells if cell.cell_type == "code"]


# -- The file:// variant ---------------------------------------------------------------------------------


def test_offline_variant_opens_from_disk_and_searches(offline_site, browser):
    assert (offline_site / "index.html").is_file()
    assert (offline_site / "notebooks" / "hands-on.html").is_file()  # directory URLs are off: pages are foo/bar.html
    note = next(p for p in sorted(offline_site.rglob("*.html")) if p.parent != offline_site and "assets" not in p.parts)
    context, watch = new_context(browser, ("file://",))
    page = context.new_page()
    page.goto(note.as_uri())
    settle(page)
    hrefs = run_search(page, "交叉熵")
    screenshot(page, "offline-search")
    # A result opens over file:// too.
    page.locator(".md-search-result__item > a").first.click()
    settle(page)
    assert page.url.startswith("file://") and page.url.split("#")[0].split("?")[0].endswith(".html")
    context.close()
    assert hrefs, "search found nothing over file://"
    assert not watch.problems(), "\n".join(watch.problems())
