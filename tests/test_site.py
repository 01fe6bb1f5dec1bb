"""The foundation: snippets run on their own, the strict build writes every page, pages hold executed values."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from mkdocs.config import load_config

from conftest import ROOT, outputs, page

SNIPPETS = ROOT / "snippets"
INCLUDE = re.compile(r'^\s*--8<-- "([^":]+)(?::([\w-]+))?"\s*$', re.M)
SECTION = re.compile(r"^\s*# --8<-- \[start:([\w-]+)\]\s*$", re.M)


def nav_pages() -> list[str]:
    """Every page the nav lists, as paths under docs/ ('autograd/tensor-attributes.md')."""
    found: list[str] = []

    def walk(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            else:
                found.append(value)

    walk(load_config(str(ROOT / "mkdocs.yml")).nav)
    return found


NAV = nav_pages()
SNIPPET_FILES = sorted(p.relative_to(SNIPPETS).as_posix() for p in SNIPPETS.rglob("*.py"))


def test_every_markdown_page_has_its_snippet_file():
    """Page and snippet share a path; the shared helpers live in snippets/_shared/."""
    markdown_pages = [p for p in NAV if p.endswith(".md")]
    assert len(markdown_pages) >= 12
    expected = {p.removesuffix(".md") + ".py" for p in markdown_pages}
    assert {p for p in SNIPPET_FILES if not p.startswith("_shared/")} == expected


@pytest.mark.parametrize("snippet", SNIPPET_FILES)
def test_snippet_runs_standalone(snippet, tmp_path):
    """`python snippets/<path>.py` runs clean, from another working directory too."""
    result = subprocess.run(
        [sys.executable, str(SNIPPETS / snippet)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "a snippet wrote files into the working directory"


def test_snippet_count_matches_collection():
    """The parametrised run above covers every snippet: one per Markdown page plus the shared helpers."""
    shared = sorted(p.name for p in (SNIPPETS / "_shared").glob("*.py"))
    assert "figures.py" in shared
    assert len(SNIPPET_FILES) == len([p for p in NAV if p.endswith(".md")]) + len(shared) >= 13


def test_includes_resolve_and_every_section_is_used():
    sections = {}
    for name in SNIPPET_FILES:
        sections[name] = set(SECTION.findall((SNIPPETS / name).read_text(encoding="utf-8")))
        assert sections[name], f"snippets/{name} has no named section"
    used = set()
    includes = 0
    for md in sorted((ROOT / "docs").rglob("*.md")):
        for path, section in INCLUDE.findall(md.read_text(encoding="utf-8")):
            includes += 1
            assert path in sections, f"{md.relative_to(ROOT)} includes a missing file: {path}"
            assert section, f"{md.relative_to(ROOT)} includes a whole file ({path}): name a section"
            assert section in sections[path], f"{md.relative_to(ROOT)}: no section '{section}' in snippets/{path}"
            used.add((path, section))
    assert includes >= len(SNIPPET_FILES)
    unused = {(path, s) for path, names in sections.items() for s in names} - used
    assert not unused, f"snippet sections no page includes: {sorted(unused)}"


def test_strict_build_writes_every_nav_page(site: Path):
    assert len(NAV) >= 12
    for entry in NAV:
        stem = entry.rsplit(".", 1)[0]
        target = site / ("index.html" if stem == "index" else f"{stem}/index.html")
        assert target.is_file() and target.stat().st_size > 1000, f"{entry} was not written"
    assert (site / "sitemap.xml").is_file() and (site / "search" / "search_index.json").is_file()


def test_home_page_build_record_comes_from_execution(site: Path):
    """The versions on the home page are the ones this very Python reports, not text from the Markdown."""
    soup = page(site, "index")
    record = outputs(soup)
    for value in (platform.python_version(), torch.__version__, torchvision.__version__, np.__version__):
        assert value in record
    markdown = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert torch.__version__ not in markdown
