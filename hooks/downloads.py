"""MkDocs hook: every note page offers its own code as a notebook (.ipynb) and as a script (.py).

Both files are generated at build time from the page itself: the markdown-exec fences on the page name
the snippet sections (``--8<-- "area/note.py:section"``) in page order; sections of ``snippets/_shared/``
come first. The notebook starts the way the build starts a page (see ``exec_worker``): the same seeds;
a first Markdown cell says which packages to install (the build's versions, without local tags such as
``+cpu`` that no plain ``pip install`` finds); nothing is installed behind the reader's back. Tables print
as aligned text and figures open with ``plt.show()`` (``snippets/_shared``), so a download never prints
Markdown or base64. It is written next to the
page (``autograd/abs-subgradient/abs-subgradient.ipynb``, ``.py`` beside it) through MkDocs ``Files``,
so ``mkdocs serve`` and ``mkdocs build`` both have it. Generated files are deterministic: cell ids
are derived from the cell's position and text, and nothing records a time.

The page shows the links (``overrides/main.html`` reads ``page.meta.downloads``); notebook pages
(mkdocs-jupyter) get their own stored notebook. With a GitHub repository (``REPO_URL``) a notebook
that exists in the repository also gets an "Open in Colab" link; Colab opens notebooks from GitHub
only, so the generated notebooks, which exist only in the built site, get none.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import posixpath
import re
import sys
import textwrap
from importlib import metadata
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

import exec_worker  # standard library only (hooks/ is on sys.path while MkDocs loads hooks)

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "snippets"
SHARED = "_shared/"
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
EXEC_ON = re.compile(r'\bexec="(?:on|true|yes|1)"', re.I)
INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<target>[^"]+)"\s*$')
MARKER = re.compile(r"^\s*# --8<-- \[(start|end):([\w-]+)\]\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*(?:\{[^}]*\})?\s*$")
COLAB = "https://colab.research.google.com/github/"

_pages: dict[str, dict] = {}


# -- Reading a page -----------------------------------------------------------------------------------


def section_text(path: str, name: str, page: str) -> str:
    """A snippet section's code, as pymdownx.snippets shows it (inner markers dropped, dedented)."""
    file = SNIPPETS / path
    if not file.is_file():
        raise PluginError(f"docs/{page}: the snippet file snippets/{path} does not exist")
    lines, inside = [], False
    for line in file.read_text(encoding="utf-8").splitlines():
        marker = MARKER.match(line)
        if marker and marker[2] == name:
            if marker[1] == "end" and inside:
                return textwrap.dedent("\n".join(lines)).strip("\n")
            inside = marker[1] == "start"
            continue
        if inside and not marker:
            lines.append(line)
    raise PluginError(f"docs/{page}: no section '{name}' in snippets/{path}")


def page_blocks(markdown: str, page: str) -> list[tuple[str, str, str]]:
    """(heading, code, origin) for every executed python fence on the page, in page order."""
    blocks: list[tuple[str, str, str]] = []
    heading = ""
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        opened = FENCE_OPEN.match(line)
        if not opened:
            title = HEADING.match(line)
            if title and len(title[1]) >= 2:
                heading = title[2]
            index += 1
            continue
        fence, indent, info = opened["fence"], opened["indent"], opened["info"].strip()
        body = []
        index += 1
        while index < len(lines) and not re.match(rf"^[ \t]*{fence[0]}{{{len(fence)},}}\s*$", lines[index]):
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index].lstrip())
            index += 1
        index += 1
        language = info.split()[0].lstrip("{.") if info else ""
        if language not in {"python", "py", "pycon"} or not EXEC_ON.search(info):
            continue
        code, origins = [], []
        for text in body:
            included = INCLUDE.match(text)
            if not included:
                code.append(text)
                continue
            path, _, name = included["target"].partition(":")
            if not name or ":" in name:
                raise PluginError(f'docs/{page}: include "{included["target"]}": name one section (file.py:section)')
            code.append(section_text(path, name, page))
            origins.append(included["target"])
        blocks.append((heading, "\n".join(code).strip("\n"), ", ".join(origins) or "(inline)"))
    shared = [block for block in blocks if block[2].startswith(SHARED)]
    return shared + [block for block in blocks if not block[2].startswith(SHARED)]


def page_title(markdown: str, fallback: str) -> str:
    for line in markdown.splitlines():
        title = HEADING.match(line)
        if title and len(title[1]) == 1:
            return title[2]
    return fallback


# -- Writing the notebook and the script --------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    """Import name -> distributions: reading every installed package's file list costs ~0.5 s, so once."""
    return metadata.packages_distributions()


def public_version(version: str) -> str:
    """The version a plain `pip install` finds: a local tag such as `+cpu` or `+cu121` dropped."""
    return version.split("+", 1)[0]


# Import name -> distribution, for what a fresh environment (e.g. Colab) may lack.
def requirements(code: str) -> list[str]:
    """`name==version` for every third-party package the code imports, as installed for this build."""
    modules = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    distributions = _distributions()
    pins = set()
    for module in modules - set(sys.stdlib_module_names):
        for name in distributions.get(module, [])[:1]:
            pins.add(f"{name}=={public_version(metadata.version(name))}")
    return sorted(pins, key=str.lower)


def cells_for(title: str, url: str | None, blocks: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(cell type, source) pairs: an introduction, the set-up the build gives every page, the page's code."""
    seed = exec_worker.SEED
    seeding = (
        "# 与站点构建时相同的起点：固定所有随机数种子\nimport random\n\nimport numpy as np\nimport torch\n\n"
        f"random.seed({seed})\nnp.random.seed({seed})\ntorch.manual_seed({seed});"
    )
    where = f"「[{title}]({url})」" if url else f"「{title}」"
    cells = [
        (
            "markdown",
            f"# {title}\n\n这是站点页面{where}的全部代码，按页面上的顺序排列，由站点构建时自动生成。"
            "从上到下依次运行，就能得到页面上的输出（随机数种子与构建时相同）。",
        )
    ]
    pins = requirements("\n".join([seeding, *(code for _, code, _ in blocks)]))
    if pins:
        cells.append(
            (
                "markdown",
                "运行前先安装这些包（版本与本站构建时相同；已经装好的可以跳过）：\n\n"
                f"```bash\npip install {' '.join(pins)}\n```",
            )
        )
    cells.append(("code", seeding))
    heading = None
    for block_heading, code, origin in blocks:
        if block_heading and block_heading != heading and not origin.startswith(SHARED):
            cells.append(("markdown", f"## {block_heading}"))
            heading = block_heading
        cells.append(("code", code))
    return cells


def notebook(cells: list[tuple[str, str]]) -> str:
    out = []
    for index, (kind, source) in enumerate(cells):
        cell = {
            "cell_type": kind,
            "id": hashlib.sha256(f"{index}\0{kind}\0{source}".encode()).hexdigest()[:8],
            "metadata": {},
            "source": source.splitlines(keepends=True),
        }
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    document = {
        "cells": out,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def script(cells: list[tuple[str, str]]) -> str:
    """The same cells in the percent format that VS Code, PyCharm and jupytext read as cells."""
    parts = []
    for kind, source in cells:
        if kind == "markdown":
            parts.append("# %% [markdown]\n" + "\n".join(f"# {line}".rstrip() for line in source.splitlines()))
        else:
            parts.append("# %%\n" + source)
    return "\n\n".join(parts) + "\n"


# -- MkDocs events ------------------------------------------------------------------------------------


def colab_url(config, src_uri: str) -> str | None:
    """Colab opens notebooks stored on GitHub: the stored copy of docs/<src_uri>, on the edit branch."""
    repo, edit = (config.repo_url or "").rstrip("/"), config.edit_uri or ""
    match = re.match(r"^(?:edit|blob)/(.+)$", edit.strip("/"))
    if not repo.startswith("https://github.com/") or not match:
        return None
    return f"{COLAB}{repo.removeprefix('https://github.com/')}/blob/{match[1]}/{src_uri}"


def on_files(files, config, **_):
    _pages.clear()
    site_url = (config.site_url or "").rstrip("/")
    for file in list(files.documentation_pages()):
        if not file.src_uri.endswith(".md"):
            continue
        try:
            markdown = file.content_string
        except UnicodeDecodeError:
            continue  # MkDocs itself fails the build on this page, and names it
        blocks = page_blocks(markdown, file.src_uri)
        if not blocks:
            continue
        stem = posixpath.splitext(posixpath.basename(file.src_uri))[0]
        folder = posixpath.dirname(file.dest_uri)
        title = page_title(markdown, stem)
        url = f"{site_url}/{file.url}" if site_url else None
        cells = cells_for(title, url, blocks)
        generated = {}
        for suffix, content in (("ipynb", notebook(cells)), ("py", script(cells))):
            uri = posixpath.join(folder, f"{stem}.{suffix}")
            if files.get_file_from_path(uri) is not None:
                raise PluginError(f"docs/{uri} exists: it would hide the generated download of docs/{file.src_uri}")
            files.append(File.generated(config, uri, content=content))
            generated[suffix] = uri
        _pages[file.src_uri] = generated
    return files


def on_page_context(context, page, config, **_):
    src = page.file.src_uri
    if src in _pages:
        page.meta["downloads"] = dict(_pages[src])
    elif src.endswith(".ipynb"):  # mkdocs-jupyter copies the stored notebook next to the page (include_source)
        downloads = {"ipynb": posixpath.join(posixpath.dirname(page.file.dest_uri), posixpath.basename(src))}
        colab = colab_url(config, src)
        if colab:
            downloads["colab"] = colab
        page.meta["downloads"] = downloads
    return context
