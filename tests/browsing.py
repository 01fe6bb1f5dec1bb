"""Helpers for the browser tests: Debian's Chromium driven by Playwright, a loopback server, a watch on requests."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from dataclasses import dataclass, field
from pathlib import Path

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


def launch(playwright):
    """Chromium from Debian's package; missing, it is a failure with the fix in the message, never a skip."""
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)"
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """The folder over HTTP on 127.0.0.1, on a free port; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


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
