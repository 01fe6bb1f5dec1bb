"""The one place the browser tests get their browser and server from: Debian's Chromium driven by Playwright,
a loopback server that serves a built site as GitHub Pages does, a watch on requests, and the fixtures
(`browser`, `base`) that tests/conftest.py registers for every test module."""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import io
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
MATERIAL = Path(importlib.util.find_spec("material").origin).parent


def launch(playwright):
    """Chromium from Debian's package; missing, it is a failure with the fix in the message, never a skip."""
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)"
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


@contextlib.contextmanager
def chromium():
    """Playwright and one headless Chromium, both stopped on leaving (the fixture below, or a script)."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


class _Site(http.server.SimpleHTTPRequestHandler):
    """A built site as GitHub Pages serves it: under its path (`/REPO/` for a project page, `/` for a user page),
    with the site's 404.html and status 404 for anything else. It names itself to LinkChecker (the
    `LinkChecker` response header), which then checks as fast as asked instead of pausing between requests."""

    prefix = "/"

    def send_head(self):
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith(self.prefix):
            target = Path(self.translate_path("/" + path[len(self.prefix) :]))
            if target.is_dir() and (target / "index.html").is_file() and not path.endswith("/"):
                self.send_response(301)  # as Pages does: a folder's address ends with a slash
                self.send_header("Location", path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if target.is_file() or (target.is_dir() and (target / "index.html").is_file()):
                self.path = "/" + self.path[len(self.prefix) :]
                return super().send_head()
        return self._not_found()

    def _not_found(self):
        page = Path(self.directory) / "404.html"
        body = page.read_bytes() if page.is_file() else b"not found"
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self):
        self.send_header("LinkChecker", "allow")
        super().end_headers()

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A browser that drops a connection it no longer needs is no error of the site."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(folder: Path, prefix: str = "/"):
    """The folder over HTTP on 127.0.0.1, on a free port, under `prefix`; yields the site's base URL."""
    handler = type("Handler", (_Site,), {"prefix": prefix})
    server = _Server(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{prefix}"
    finally:
        server.shutdown()
        server.server_close()


# -- Fixtures (registered in tests/conftest.py) ------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """One Chromium for all the browser tests of a session (of a pytest-xdist worker); each test opens its own
    context (new_context), so no cookie, storage or route crosses tests."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def base(site):
    """The session's build (the `site` fixture) served on loopback once for every test that reads it over
    HTTP: its base URL."""
    with serve(site) as url:
        yield url


@dataclass
class Watch:
    """What a browser context did that a page must not do."""

    local: tuple[str, ...]
    external: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.local) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:  # another host: recorded and never sent
            self.external.append(url)
            route.abort()

    def attach(self, page) -> None:
        page.on(
            "console",
            lambda message: self.console.append(f"{page.url}: {message.text}") if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))

    def problems(self) -> list[str]:
        return (
            [f"request to another host: {u}" for u in self.external]
            + [f"console error: {c}" for c in self.console]
            + [f"page error: {e}" for e in self.errors]
        )


def new_context(browser, local: tuple[str, ...], **options):
    """A browser context whose every request goes through the watch; returns (context, watch)."""
    watch = Watch(local)
    context = browser.new_context(**options)
    context.route("**/*", watch.route)
    context.on("page", watch.attach)
    return context, watch


def screenshot(page, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def settle(page) -> None:
    """The page has loaded, its fonts are ready and KaTeX has typeset every formula (or failed visibly):
    waited for as conditions, never as a fixed time. Transitions are switched off, so what a test measures
    next is the final state, not a frame of an animation."""
    page.wait_for_load_state("networkidle")
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; animation: none !important; }")
    page.wait_for_function(
        """() => document.readyState === 'complete' && document.fonts.status === 'loaded'
            && [...document.querySelectorAll('.arithmatex')].every(e => e.querySelector('.katex, .katex-error'))""",
        timeout=15000,
    )


def run_search(page, query: str) -> list[str]:
    """Type a query into Material's search box; the hrefs of the results once there are any."""
    opener = page.locator("label.md-header__button[for='__search']").first
    if opener.is_visible():  # narrow screens: the search button opens the field
        opener.click()
    field = page.locator("input.md-search__input")
    field.click()
    field.fill(query)
    field.press("End")  # Material searches on key events: fill() alone changes nothing
    page.wait_for_function("document.querySelectorAll('.md-search-result__item').length > 0", timeout=15000)
    return page.eval_on_selector_all(".md-search-result__item > a", "links => links.map(a => a.getAttribute('href'))")


def _strings() -> dict[str, str]:
    """Material's Chinese interface strings, read from the installed theme (not copied into this test)."""
    text = (MATERIAL / "templates" / "partials" / "languages" / "zh.html").read_text(encoding="utf-8")
    return dict(re.findall(r'"(search\.result\.[a-z.]+)": "([^"]*)"', text))


class SearchBox:
    """Material's search box on one open page, reused for every query."""

    def __init__(self, page, base: str):
        self.page = page
        self.base = base
        self.strings = _strings()
        page.goto(base)
        opener = page.locator("label.md-header__button[for='__search']").first
        if opener.is_visible():  # narrow screens: the search button opens the field
            opener.click()
        self.field = page.locator("input.md-search__input")
        # the worker has loaded the index once the meta line no longer says "initialising"
        page.wait_for_function(
            "text => document.querySelector('.md-search-result__meta').textContent.trim() !== text",
            arg=self.strings["search.result.initializer"],
            timeout=30000,
        )

    def _type(self, value: str) -> None:
        self.field.click()
        self.field.fill(value)
        self.field.press("End")  # Material searches on key events: fill() alone changes nothing

    def search(self, query: str) -> list[str]:
        """The result list for the query: one entry per page, in the order shown (page paths, '' for home)."""
        self._type("")  # empty query: the list empties and the meta line shows the placeholder again
        self.page.wait_for_function(
            "text => !document.querySelector('.md-search-result__list').children.length"
            " && document.querySelector('.md-search-result__meta').textContent.trim() === text",
            arg=self.strings["search.result.placeholder"],
        )
        self._type(query)
        self.page.wait_for_function(
            "none => document.querySelector('.md-search-result__list').children.length > 0"
            " || document.querySelector('.md-search-result__meta').textContent.trim() === none",
            arg=self.strings["search.result.none"],
        )
        self.hrefs = self.page.eval_on_selector_all(
            ".md-search-result__item > a:first-child", "links => links.map(a => a.href)"
        )
        return [re.sub(r"[?#].*$", "", href).removeprefix(self.base).removesuffix("index.html") for href in self.hrefs]

    def articles(self) -> list[dict]:
        """What the reader sees of each result shown: its text, and the words around each highlight."""
        return self.page.eval_on_selector_all(
            ".md-search-result__article",
            """articles => articles.map(a => ({
                text: a.innerText,
                height: a.getBoundingClientRect().height,
                marks: [...a.querySelectorAll('mark')].map(m => {
                    const before = m.previousSibling ? m.previousSibling.textContent.slice(-1) : '';
                    const after = m.nextSibling ? m.nextSibling.textContent.slice(0, 1) : '';
                    return [before, m.textContent, after];
                }),
            }))""",
        )
