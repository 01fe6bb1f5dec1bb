"""Shared fixtures: one real strict build of the whole site per test session, and ways to read it. The browser
and its server come from tests/browsing.py, the session's other full builds from tests/builds.py."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# The browser and its server (tests/browsing.py); the full builds that run behind the tests (tests/builds.py);
# the scratch builds made ahead of the tests that read them (tests/scratch.py).
pytest_plugins = ["browsing", "builds", "scratch"]


# Variables that change what a build writes or where it keeps its cache. A developer may have any of them
# exported (REPO_URL for a preview, DOCS_EXEC_CACHE=off…): the tests start from none of them, and each test
# that wants one says so.
BUILD_VARIABLES = re.compile(r"^(DOCS_.+|SITE_URL|REPO_URL|EDIT_URI|SOURCE_DATE_EPOCH|PYTHONPATH)$")


@pytest.fixture(scope="session", autouse=True)
def clean_build_environment(tmp_path_factory):
    """No exported build variable reaches a test, and no build writes into the developer's .cache/exec:
    a build that names no cache uses this session's own (the `site` fixture's once it is built)."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if BUILD_VARIABLES.match(name)]:
        del os.environ[name]
    os.environ["DOCS_EXEC_CACHE"] = str(tmp_path_factory.mktemp("exec-cache"))
    yield
    os.environ.clear()
    os.environ.update(saved)


def mkdocs_build(site_dir: Path, *, cwd: Path = ROOT, env: dict | None = None, config: str = "mkdocs.yml"):
    """Run a real strict build; return the finished process (the caller checks returncode and output)."""
    full_env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})}
    return subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "-f", config, "--site-dir", str(site_dir)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )


# -- What the pytest-xdist workers share -------------------------------------------------------------------
# `make test` runs the suite in one worker per processor (pytest-xdist, --dist loadfile: a module's tests stay
# in one worker). The session's whole-site builds are made once for all the workers: the first worker to ask
# makes one while holding its folder's lock; the others wait on the lock, then read what it made.


def shared_folder(tmp_path_factory, name: str) -> Path:
    """A folder every worker of this session sees at the same path: under the session's temporary folder,
    which the workers' own folders are in (the session's own folder when the suite runs in one process)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "shared" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def made_once(folder: Path, make) -> subprocess.CompletedProcess:
    """`make()`'s finished process, made by the first worker that asks, read from `folder` by the others.
    A make that raises leaves nothing behind, so the next worker to ask tries it again."""
    record = folder / "made.json"
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not record.is_file():
            done = make()
            record.write_text(json.dumps([done.args, done.returncode, done.stdout, done.stderr]), encoding="utf-8")
    return subprocess.CompletedProcess(*json.loads(record.read_text(encoding="utf-8")))


def pytest_addoption(parser):
    parser.addoption(
        "--built-site",
        metavar="DIR",
        help="test this strict build instead of making one (`make check` passes the build it has just made)",
    )


@pytest.fixture(scope="session")
def site(tmp_path_factory, request) -> Path:
    """The whole site, built strictly with an empty execution cache, so every block really runs
    (or the build given with --built-site)."""
    given = request.config.getoption("--built-site")
    if given:
        assert (Path(given) / "index.html").is_file(), f"--built-site {given}: no built site there"
        return Path(given)
    base = shared_folder(tmp_path_factory, "build")
    result = made_once(base, lambda: mkdocs_build(base / "site", env={"DOCS_EXEC_CACHE": str(base / "cache")}))
    assert result.returncode == 0, result.stderr[-5000:]
    # Later full builds (the file:// variant, the Pages variants) test what they render, not execution again:
    # they start from this build's cache, which holds outputs of the very same sources and versions.
    os.environ["DOCS_EXEC_CACHE"] = str(base / "cache")
    return base / "site"


def page(site: Path, path: str, *, versions: bool = False) -> BeautifulSoup:
    """A built page, parsed (path as in the nav, without .md: 'autograd/tensor-attributes').

    Every block runs on the notes' torch and on the current one (hooks/exec_isolated.py). The page tests
    compute their expected values with the current torch, so by default they read the page as the current
    version shows it: an output that differs by version keeps only its 当前版本 tab, and the label under an
    identical output is left out. `versions=True` gives the page as published (tests/test_versions.py)."""
    target = site / ("index.html" if path == "index" else f"{path}/index.html")
    soup = BeautifulSoup(target.read_text(encoding="utf-8"), "html.parser")
    soup.source_dir = target.parent  # where the page's figure files are
    if not versions:
        for label in soup.select(".exec-versions"):
            label.decompose()
        for tabs in soup.select(".exec-differs"):
            names = [label.get_text() for label in tabs.select(".tabbed-labels > label")]
            blocks = tabs.select(".tabbed-content > .tabbed-block")
            current = next(i for i, name in enumerate(names) if name.startswith("当前版本"))
            tabs.replace_with(blocks[current])
            blocks[current].unwrap()
    return soup


def figure_bytes(img) -> tuple[str, bytes]:
    """The kind ('png', 'webp' or 'svg') and bytes of a figure on a page from page(): a file beside the page or
    a data: URI (a #only-light / #only-dark fragment is not part of the file)."""
    src = img["src"].split("#", 1)[0]
    if src.startswith("data:"):
        match = re.fullmatch(r"data:image/(png|webp|svg\+xml);base64,(.+)", src, flags=re.S)
        assert match, src[:80]
        return match[1].replace("+xml", ""), base64.b64decode(match[2], validate=True)
    root = img
    while root.parent is not None:
        root = root.parent
    target = root.source_dir / src
    assert target.is_file(), f"{src} is missing beside {root.source_dir}"
    return target.suffix.lstrip("."), target.read_bytes()


# Where a page's executed outputs are: markdown-exec's result beside the source shown with it, or, for a
# block shown without its source, the wrapper hooks/exec_isolated.py puts around the output alone.
OUTPUT_BLOCKS = "article .result, article .exec-output"


def outputs(soup: BeautifulSoup) -> str:
    """The text of every executed output block on a page, joined (the page's own prose never counts)."""
    return "\n".join(node.get_text() for node in soup.select(OUTPUT_BLOCKS))
