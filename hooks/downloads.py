"""MkDocs hook: every note page offers its own code as a notebook (.ipynb) and as a script (.py).

Both files are generated from the page's record (``hooks/exec_isolated.py``: ``Runner.records``, the one
place that knows which code a page ran), nothing parses the page or its snippets again: the blocks the page
executed, in page order, each under the page heading it sits under; blocks from ``snippets/_shared/``
come first. The notebook starts the way the build starts a page (see ``exec_worker``): the same seeds;
a first Markdown cell says which packages to install (the build's versions, without local tags such as
``+cpu`` that no plain ``pip install`` finds); nothing is installed behind the reader's back. Tables print
as aligned text and figures open with ``plt.show()`` (``snippets/_shared``), so a download never prints
Markdown or base64. It is written next to the page (``autograd/abs-subgradient/abs-subgradient.ipynb``,
``.py`` beside it) through MkDocs ``Files``, so ``mkdocs serve`` and ``mkdocs build`` both have it.
Generated files are deterministic: cell ids are derived from the cell's position and text, and nothing
records a time.

Only what changed is written: the files are made when their page is rendered (``on_page_content``, after
``exec_isolated`` has recorded it), so a dirty rebuild (``make serve``; see ``hooks/incremental.py``)
writes the downloads of the pages it rebuilt and leaves the others' files as they are; a full build
renders, and writes, every page. A page whose block failed (a non-strict build) offers no download.
This hook must come after ``hooks/exec_isolated.py`` in mkdocs.yml; without that hook there are none.

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
from importlib import metadata

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

import exec_worker  # standard library only (hooks/ is on sys.path while MkDocs loads hooks)

SHARED = "snippets/_shared/"
COLAB = "https://colab.research.google.com/github/"
EXEC_HOOK = "exec_isolated.py"


def exec_records(config) -> dict | None:
    """The record hooks/exec_isolated.py keeps (``runner.records``: src_uri -> PageRecord), or None without
    that hook. MkDocs loads each hook as a module of its own and lists it in ``config.hooks`` under its path
    in mkdocs.yml: that module is the running one (``import exec_isolated`` would load a second, empty copy)."""
    for path, module in config.hooks.items():
        if posixpath.basename(path) == EXEC_HOOK:
            return module.runner.records
    return None


def page_blocks(record) -> list[tuple[str, str, bool]]:
    """(heading, code, shared) for every block the page ran: shared set-up first, then the page's order."""
    blocks = [(block.heading, block.code.strip("\n"), block.file.startswith(SHARED)) for block in record.blocks]
    return [block for block in blocks if block[2]] + [block for block in blocks if not block[2]]


# -- Writing the notebook and the script --------------------------------------------------------------


@functools.cache
def distribution_of(module: str) -> str | None:
    """The installed distribution that provides an import name: the one of that name (torch,
    noto_cjk_sans_otc), else the one whose top_level.txt lists it (Pillow for PIL). Only these small files
    are read: `metadata.packages_distributions()` reads every package's file list, ~1 s on each build and
    far more when the disk is busy."""
    try:
        return metadata.distribution(module).metadata["Name"]
    except metadata.PackageNotFoundError:
        pass
    for distribution in metadata.distributions():
        if module in (distribution.read_text("top_level.txt") or "").split():
            return distribution.metadata["Name"]
    return None


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
    pins = set()
    for module in modules - set(sys.stdlib_module_names):
        name = distribution_of(module)
        if name is not None:
            pins.add(f"{name}=={public_version(metadata.version(name))}")
    return sorted(pins, key=str.lower)


def cells_for(title: str, url: str | None, blocks: list[tuple[str, str, bool]]) -> list[tuple[str, str]]:
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
    for block_heading, code, shared in blocks:
        if block_heading and block_heading != heading and not shared:
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


def on_page_content(content, page, config, files, **_):
    """The page has just been rendered and recorded: its downloads join this build's files."""
    records = exec_records(config)
    record = records.get(page.file.src_uri) if records is not None else None
    if record is None or not record.blocks or record.failed is not None:
        return content
    src = page.file.src_uri
    stem = posixpath.splitext(posixpath.basename(src))[0]
    folder = posixpath.dirname(page.file.dest_uri)
    site_url = (config.site_url or "").rstrip("/")
    url = f"{site_url}/{page.url}" if site_url else None
    cells = cells_for(record.heading or record.title or stem, url, page_blocks(record))
    downloads = {}
    for suffix, text in (("ipynb", notebook(cells)), ("py", script(cells))):
        uri = posixpath.join(folder, f"{stem}.{suffix}")
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"docs/{uri} exists: it would hide the generated download of docs/{src}")
        files.append(File.generated(config, uri, content=text))
        downloads[suffix] = uri
    page.meta["downloads"] = downloads
    return content


def on_page_context(context, page, config, **_):
    src = page.file.src_uri
    if src.endswith(".ipynb"):  # mkdocs-jupyter copies the stored notebook next to the page (include_source)
        downloads = {"ipynb": posixpath.join(posixpath.dirname(page.file.dest_uri), posixpath.basename(src))}
        colab = colab_url(config, src)
        if colab:
            downloads["colab"] = colab
        page.meta["downloads"] = downloads
    return context
