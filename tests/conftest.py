"""Shared fixtures: one real strict build of the whole site per test session, and ways to read it."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


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


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The whole site, built strictly with an empty execution cache, so every block really runs."""
    base = tmp_path_factory.mktemp("build")
    result = mkdocs_build(base / "site", env={"DOCS_EXEC_CACHE": str(base / "cache")})
    assert result.returncode == 0, result.stderr[-5000:]
    return base / "site"


def page(site: Path, path: str) -> BeautifulSoup:
    """A built page, parsed (path as in the nav, without .md: 'autograd/tensor-attributes')."""
    target = site / ("index.html" if path == "index" else f"{path}/index.html")
    soup = BeautifulSoup(target.read_text(encoding="utf-8"), "html.parser")
    soup.source_dir = target.parent  # where the page's figure files are
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


def outputs(soup: BeautifulSoup) -> str:
    """The text of every executed output block on a page (markdown-exec's results), joined."""
    return "\n".join(node.get_text() for node in soup.select("article .result"))
