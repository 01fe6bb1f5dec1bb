"""Reading the built site as a reader would, in a real Chromium (issue 12: pages that teach).

Desktop (1366 px) and phone (390 px), light and dark palette: code and output blocks that scroll
sideways (and the snippet lines that pages show, at most 80 columns), figures (2× pixel density, a dark variant shown in the dark palette, text legible on a phone,
a lightbox that opens), the home page's catalogue. Screenshots of the home page and the three rewritten
pages land in test-output/screenshots/; the overflow counts in test-output/overflow.json.

`python tests/test_reading.py SITE_DIR` prints the overflow counts of any built site (to compare a
branch before and after a change).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browsing import chromium, new_context, screenshot, serve  # noqa: E402

from conftest import ROOT  # noqa: E402

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
REWRITTEN = ["index", "images/plotting", "nn-module/call-and-forward", "tools/pycharm-np-array"]
OUTPUT = ROOT / "test-output"


def nav_pages() -> list[str]:
    """Every page in mkdocs.yml's nav, as a path without suffix ('index', 'notebooks/hands-on')."""

    def walk(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                yield from walk(value)
            else:
                yield value.rsplit(".", 1)[0]

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !ENV, !!python/name
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)
    return list(walk(config["nav"]))


def url_of(base: str, name: str) -> str:
    return base if name == "index" else f"{base}{name}/"


# What scrolls sideways (a block whose content is wider than its box; on a phone Material lets code
# blocks and tables run to the screen's edges, so the box, not the article, is the measure). Code: blocks with Pygments' token spans (source) and
# notebook input cells; outputs: the other code blocks, notebook outputs, and tables.
MEASURE = """() => {
  const article = document.querySelector("article");
  const over = (el) => el.scrollWidth - el.clientWidth;  // px of content past the box's edge
  const code = [], output = [];
  for (const pre of article.querySelectorAll("pre")) {
    if (pre.closest("details:not([open])")) continue;  // collapsed: not on the screen
    const box = pre.querySelector("code") || pre;
    const source = pre.closest(".jp-InputArea") || (!pre.closest(".jp-OutputArea") && box.querySelector("span[class]"));
    (source ? code : output).push(Math.max(over(box), over(pre)));
  }
  for (const table of article.querySelectorAll("table")) {
    if (table.closest("details:not([open])") || table.closest(".jp-Cell")) continue;
    const wrap = table.closest(".md-typeset__scrollwrap") || table.parentElement;
    output.push(over(wrap));
  }
  // wide: scrolls sideways (1 px of rounding allowed); widest: the most px any block runs over
  const count = (list) => ({total: list.length, wide: list.filter((px) => px > 1).length,
                            widest: Math.max(0, ...list)});
  return {code: count(code), output: count(output)};
}"""


VIEWPORTS = (("desktop", DESKTOP), ("phone", PHONE))
WIDTHS = {"desktop": "desktop-1366", "phone": "phone-390"}  # the overflow counts' names of the viewports


def visit(browser, base: str, site: Path, palettes=("light", "dark"), shoot: bool = False) -> dict:
    """Every nav page, once in each palette and viewport, in one browser context per pair:
    {"counts": {viewport: {page: overflow}} (light palette), "figures": {(page, palette, viewport): [facts]},
    "schemes": {(page, palette): Material's scheme}, "screenshots": [files]}. With `shoot`, a full-page
    screenshot of the home page and each rewritten page, figures loaded, for every pair."""
    found = {"counts": {}, "figures": {}, "schemes": {}, "screenshots": []}
    for palette in palettes:
        for label, viewport in VIEWPORTS:
            context, watch = new_context(browser, (base,), viewport=viewport, color_scheme=palette)
            tab = context.new_page()
            for name in nav_pages():
                if not (site / ("" if name == "index" else name) / "index.html").is_file():
                    continue  # a page this (older) build does not have: measured where it exists
                tab.goto(url_of(base, name))
                tab.wait_for_load_state("load")
                if palette == "light":  # the palette changes no width
                    found["counts"].setdefault(WIDTHS[label], {})[name] = tab.evaluate(MEASURE)
                facts = tab.evaluate(FIGURES)  # loads the page's figures (eager, decoded)
                if facts:
                    found["figures"][name, palette, label] = facts
                if shoot and name in REWRITTEN:
                    found["schemes"][name, palette] = tab.evaluate("document.body.getAttribute('data-md-color-scheme')")
                    tab.evaluate(  # the whole page, every image loaded
                        "Promise.all([...document.images].map((i) => (i.loading = 'eager', i.decode().catch(() => 0))))"
                    )
                    stem = name.replace("/", "-")
                    found["screenshots"].append(screenshot(tab, f"{stem}-{label}-{palette}", full_page=True))
            context.close()
            assert not watch.problems(), watch.problems()
    return found


def overflow_counts(site: Path) -> dict:
    """{viewport: {page: {code: {total, wide}, output: {total, wide}}}} for every nav page of a built site."""
    with serve(site) as base, chromium() as browser:
        return visit(browser, base, site, palettes=("light",))["counts"]


def totals(per_page: dict) -> dict:
    return {
        kind: {
            **{key: sum(page[kind][key] for page in per_page.values()) for key in ("total", "wide")},
            "widest": max((page[kind]["widest"] for page in per_page.values()), default=0),
        }
        for kind in ("code", "output")
    }


@pytest.fixture(scope="module")
def visited(site, browser, base):
    """The module's one visit of every page (visit), screenshots included."""
    return visit(browser, base, site, shoot=True)


@pytest.fixture(scope="module")
def counts(visited):
    found = visited["counts"]
    OUTPUT.mkdir(exist_ok=True)
    summary = {label: {"pages": pages, "all": totals(pages)} for label, pages in found.items()}
    (OUTPUT / "overflow.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return found


def test_every_nav_page_is_measured(counts):
    pages = nav_pages()
    assert len(pages) >= 14 and "about" in pages and "notebooks/hands-on" in pages
    for label in counts:
        assert set(counts[label]) == set(pages)
        assert totals(counts[label])["code"]["total"] >= 60  # an empty selector cannot pass


def test_rewritten_pages_fit_the_column(counts):
    """At 1366 px nothing on the rewritten pages scrolls sideways; on a phone at most a quarter does."""
    for name in REWRITTEN[1:]:
        desktop, phone = counts["desktop-1366"][name], counts["phone-390"][name]
        assert desktop["code"]["total"] >= 2 and desktop["output"]["total"] >= 2, (name, desktop)
        assert desktop["code"]["wide"] == 0 and desktop["output"]["wide"] == 0, (name, desktop)
        shown = phone["code"]["total"] + phone["output"]["total"]
        assert phone["code"]["wide"] + phone["output"]["wide"] <= shown / 4, (name, phone)


# One monospace character of a code block is 8.2 CSS px (13.6 px text); the content column at 1366 px
# holds 80 of them in a code block and 76 in an output block (its frame takes the rest).
CHARACTER_PX = 8.2


def test_code_fits_the_column_on_a_desktop(counts):
    """At 1366 px no code block on any page scrolls sideways by more than one character (rounding and
    a glyph wider than the monospace cell: the tolerance); on a phone, where long lines wrap at spaces,
    at most one code block in ten still scrolls (a long unbroken expression)."""
    for name, page in counts["desktop-1366"].items():
        assert page["code"]["widest"] <= CHARACTER_PX, (name, page["code"])
    phone = totals(counts["phone-390"])["code"]
    assert phone["wide"] <= phone["total"] / 10, phone


def test_outputs_fit_the_column_on_a_desktop(counts):
    """At 1366 px outputs that a snippet prints fit too (messages are wrapped at 72 columns); a library's
    error message printed verbatim, one line a reader may search for, may run over by three characters."""
    wide = {name: page["output"] for name, page in counts["desktop-1366"].items() if page["output"]["wide"]}
    assert sum(output["wide"] for output in wide.values()) <= 2, wide
    assert all(output["widest"] <= 3 * CHARACTER_PX for output in wide.values()), wide


SECTION_START = re.compile(r"^# --8<-- \[start:(\w+)\]$")
SECTION_END = re.compile(r"^# --8<-- \[end:(\w+)\]$")
COLUMNS = 80  # snippets/ruff.toml formats at this width; a Chinese character takes two columns


def columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)


def test_the_code_pages_show_is_at_most_80_columns():
    """Every line inside a snippet's sections (what pages include, shown or hidden) fits 80 columns: the
    formatter wraps code, but not a long string or comment, so this catches those."""
    long, checked = [], 0
    for path in sorted((ROOT / "snippets").rglob("*.py")):
        inside = set()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if start := SECTION_START.match(line):
                inside.add(start[1])
            elif end := SECTION_END.match(line):
                inside.discard(end[1])
            elif inside:
                checked += 1
                if columns(line) > COLUMNS:
                    long.append(f"{path.relative_to(ROOT)}:{number}: {columns(line)} columns")
    assert checked > 1000 and not long, long


# -- Figures -------------------------------------------------------------------------------------------

FIGURES = """async () => {
  const imgs = [...document.querySelectorAll("article img")].filter((img) => /#only-(light|dark)$/.test(img.getAttribute("src")));
  for (const img of imgs) img.loading = "eager";
  await Promise.all(imgs.map((img) => img.decode().catch(() => null)));
  return imgs.map((img) => ({
    src: img.getAttribute("src"),
    alt: img.getAttribute("alt") || "",
    shown: getComputedStyle(img).display !== "none" && img.getBoundingClientRect().width > 0,
    natural: img.naturalWidth,
    rendered: img.getBoundingClientRect().width,
    declared: Number(img.getAttribute("width")),
    minText: Number(img.dataset.minTextPx || 0),
  }));
}"""


@pytest.fixture(scope="module")
def figures(visited):
    """{(page, palette, viewport): [figure facts]} for the pages that have figures."""
    return visited["figures"]


def test_every_figure_has_a_light_and_a_dark_variant_with_alt_text(figures):
    pages = {name for name, _, _ in figures}
    assert {"images/plotting", "notebooks/hands-on"} <= pages, pages
    for (name, _, _), facts in figures.items():
        light = [f for f in facts if f["src"].endswith("#only-light")]
        dark = [f for f in facts if f["src"].endswith("#only-dark")]
        assert light and len(light) == len(dark), name
        assert [f["alt"] for f in light] == [f["alt"] for f in dark], name
        for fact in facts:
            assert len(fact["alt"]) >= 10 and "No description" not in fact["alt"], (name, fact["alt"])


def test_the_palette_picks_the_variant(figures):
    for (name, palette, _), facts in figures.items():
        shown = {f["src"].rsplit("#", 1)[1] for f in facts if f["shown"]}
        assert shown == {f"only-{palette}"}, (name, palette, shown)


def test_figures_are_sharp_and_legible_on_a_phone(figures):
    """Raster figures carry at least 2 image pixels per CSS pixel; on a 390 px phone the smallest text of
    every figure that records it (`data-min-text-px`, the site's figures) is at least 10 CSS px."""
    checked = 0
    for (name, _, label), facts in figures.items():
        for fact in facts:
            if not fact["shown"]:
                continue
            if not fact["src"].split("#")[0].endswith(".svg"):
                assert fact["natural"] >= 1.99 * fact["rendered"], (name, label, fact["src"])
            if label == "phone" and fact["minText"]:
                text_px = fact["minText"] * fact["rendered"] / fact["declared"]
                assert text_px >= 10, (name, fact["src"], round(text_px, 1))
            checked += 1
    assert checked >= 8


def test_a_click_opens_the_figure_in_the_lightbox(browser, base):
    context, watch = new_context(browser, (base,), viewport=DESKTOP)
    tab = context.new_page()
    tab.goto(url_of(base, "images/plotting"))
    link = tab.locator("article a.glightbox:visible").first
    href = link.get_attribute("href")
    assert href.startswith("figure-") and href.endswith("#only-light"), href
    link.scroll_into_view_if_needed()
    link.click()
    slide = tab.locator(".glightbox-container .gslide-image img").first
    slide.wait_for(state="visible")
    assert slide.get_attribute("src").endswith(f"/images/plotting/{href}")
    assert slide.evaluate("img => img.naturalWidth") > 0  # the file loaded, from this site
    tab.keyboard.press("Escape")
    tab.locator(".glightbox-container").wait_for(state="detached")
    context.close()
    assert not watch.problems(), watch.problems()


# -- Home page and screenshots -------------------------------------------------------------------------


def test_home_catalogue_lists_every_page(site):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
    linked = {a["href"].rstrip("/").removesuffix("/index.html") for a in soup.select("article a[href]")}
    expected = {name for name in nav_pages() if name != "index"}
    assert len(expected) >= 13
    assert expected <= linked, expected - linked


def test_screenshots_of_the_home_page_and_the_rewritten_pages(visited):
    """Taken in the one visit (visit): every rewritten page in both palettes and viewports, whole."""
    for (name, palette), scheme in visited["schemes"].items():
        assert scheme == ("slate" if palette == "dark" else "default"), (name, palette, scheme)
    assert len(visited["schemes"]) == 2 * len(REWRITTEN)
    taken = visited["screenshots"]
    assert len(taken) == 16 and all(path.stat().st_size > 10_000 for path in taken)


if __name__ == "__main__":
    summary = overflow_counts(Path(sys.argv[1]))
    for label, pages in summary.items():
        print(label, json.dumps(totals(pages), ensure_ascii=False))
        for name, page in pages.items():
            code, output = page["code"], page["output"]
            print(
                f"  {name}: code {code['wide']}/{code['total']} (widest +{code['widest']} px), "
                f"output {output['wide']}/{output['total']} (widest +{output['widest']} px)"
            )
