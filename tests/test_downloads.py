"""Run it yourself: every page with executed code offers it as .ipynb and .py, built from the page's own
snippet sections in page order, deterministic, and both run top to bottom in a fresh kernel / interpreter.
Under `make serve` an edit rewrites the downloads of the pages it rebuilt, and only those."""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from test_incremental import Server, free_port

from conftest import ROOT, page
from scratch import make_build, page_with_blocks, scratch_repo

DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
FENCE = re.compile(r'^[ \t]*(`{3,}|~{3,})\s*(?:python|py)\b[^\n]*\bexec="on"[^\n]*\n(.*?)^[ \t]*\1\s*$', re.M | re.S)
INCLUDE = re.compile(r'^\s*--8<--\s+"([^":]+):([\w-]+)"\s*$', re.M)
SECTION = r"^\s*# --8<-- \[start:{0}\]\s*$\n(.*?)^\s*# --8<-- \[end:{0}\]\s*$"


def pages_with_code() -> list[str]:
    """Pages (paths under docs/, without .md) whose Markdown has an executed python fence."""
    found = [
        md.relative_to(DOCS).with_suffix("").as_posix()
        for md in sorted(DOCS.rglob("*.md"))
        if FENCE.search(md.read_text(encoding="utf-8"))
    ]
    return found


PAGES = pages_with_code()


def includes(name: str) -> list[tuple[str, str]]:
    """(snippet file, section) in the order the page includes them, shared sections first (as the hook promises)."""
    text = (DOCS / f"{name}.md").read_text(encoding="utf-8")
    found = [include for _, body in FENCE.findall(text) for include in INCLUDE.findall(body)]
    return [i for i in found if i[0].startswith("_shared/")] + [i for i in found if not i[0].startswith("_shared/")]


def section(path: str, name: str) -> str:
    text = (SNIPPETS / path).read_text(encoding="utf-8")
    body = re.search(SECTION.format(re.escape(name)), text, re.M | re.S)
    assert body, f"{path}:{name}"
    lines = [line for line in body.group(1).splitlines() if "# --8<--" not in line]
    return "\n".join(lines).strip("\n")


def downloads(site: Path, name: str) -> dict[str, Path]:
    """The files a page's links point to, resolved in the built site."""
    soup = page(site, name)
    links = soup.select(".page-meta__run a[download]")
    folder = site if name == "index" else site / name
    return {Path(a["href"]).suffix: (folder / a["href"]).resolve() for a in links}


def test_pages_with_code_are_found():
    assert len(PAGES) >= 12, PAGES  # the notes plus the home page; an empty glob cannot pass


@pytest.mark.parametrize("name", PAGES)
def test_page_links_its_notebook_and_script(site, name):
    files = downloads(site, name)
    assert set(files) == {".ipynb", ".py"}, files
    for path in files.values():
        assert path.is_file() and path.is_relative_to(site.resolve()), path
    notebook = nbformat.read(files[".ipynb"], as_version=4)
    nbformat.validate(notebook)
    # Deterministic: ids are 8 hex digits derived from the content, no outputs, no execution counts.
    ids = [cell.id for cell in notebook.cells]
    assert len(set(ids)) == len(ids) and all(re.fullmatch("[0-9a-f]{8}", i) for i in ids)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert all(
        not cell.get("outputs") and cell.get("execution_count") is None
        for cell in notebook.cells
        if cell.cell_type == "code"
    )
    # The page's sections, every one of them, in the page's order (shared ones first).
    positions = []
    joined = "\n\n".join(code)
    for path, name_ in includes(name):
        text = section(path, name_)
        index = joined.find(text, positions[-1] if positions else 0)
        assert index >= 0, f"{path}:{name_} is missing from the notebook, or out of order"
        positions.append(index + len(text))
    # The script holds the same code cells, in the same order.
    script = files[".py"].read_text(encoding="utf-8")
    compile(script, str(files[".py"]), "exec")
    position = 0
    for cell in code:
        found = script.find(cell, position)
        assert found >= 0, f"{files['.py'].name}: a notebook cell is missing or out of order:\n{cell[:200]}"
        position = found + len(cell)


def test_generated_notebooks_and_scripts_run_top_to_bottom(site, tmp_path):
    """Each page's notebook in a fresh kernel and its script in a fresh interpreter, from an empty folder.
    The pages are independent: they run side by side, one per processor."""
    import nbclient

    def run_page(name: str) -> dict[str, str]:
        failures = {}
        files = downloads(site, name)
        work = tmp_path / name.replace("/", "__")
        work.mkdir()
        notebook = nbformat.read(files[".ipynb"], as_version=4)
        try:
            nbclient.NotebookClient(
                notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
            ).execute()
        except Exception as error:  # noqa: BLE001  collected, to report every page at once
            failures[f"{name}.ipynb"] = str(error)[-1500:]
        result = subprocess.run(
            [sys.executable, str(files[".py"])], cwd=work, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            failures[f"{name}.py"] = result.stderr[-1500:]
        # What the reader sees when running the script: text tables and figure notes, no Markdown, no base64.
        printed = result.stdout + "".join(
            str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
            for cell in notebook.cells
            for output in cell.get("outputs", [])
        )
        if "base64" in printed or "data:image" in printed or re.search(r"^\|[ :]*-+", printed, re.M):
            failures[f"{name} (prints Markdown or base64)"] = printed[:500]
        if list(work.iterdir()):
            failures[f"{name} (files written)"] = sorted(p.name for p in work.iterdir())
        return failures

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(run_page, PAGES))
    assert len(results) == len(PAGES) >= 12
    failures = {key: value for result in results for key, value in result.items()}
    assert not failures, failures


LOCAL_TAG = re.compile(r"==[0-9][0-9A-Za-z.]*\+[0-9A-Za-z.]+")  # torch==2.14.1+cpu: no index serves it


def test_downloads_name_what_to_install_and_embed_nothing(site):
    """No base64 inside the files, pins without local version tags, and no silent pip install: a
    Markdown cell near the top names the packages instead."""
    stored = [DOCS / "notebooks" / "hands-on.ipynb"]
    files = [path for name in PAGES for path in downloads(site, name).values()] + stored
    assert len(files) == 2 * len(PAGES) + 1
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"[A-Za-z0-9+/]{200,}", text), path  # no embedded image data
        assert not LOCAL_TAG.search(text), (path, LOCAL_TAG.search(text))
        # No silent install: no code runs pip (the Markdown cell only names the packages; a page may start
        # Python itself, as custom-function's fresh process does).
        code = (
            text
            if path.suffix == ".py"
            else "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells if cell.cell_type == "code")
        )
        assert not re.search(r"^\s*[!%]pip\b|-m\W+pip\b|\bpip\.main\b|\bensurepip\b", code, re.M), path
    for name in PAGES:
        notebook = nbformat.read(downloads(site, name)[".ipynb"], as_version=4)
        first_code = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
        install = [c.source for c in notebook.cells[:first_code] if re.search(r"pip install .*\btorch==", c.source)]
        assert install and all(cell.cell_type == "markdown" for cell in notebook.cells[:first_code]), name


def test_hook_drops_local_version_tags():
    sys.path.insert(0, str(ROOT / "hooks"))
    try:
        import downloads as hook  # noqa: PLC0415
    finally:
        sys.path.remove(str(ROOT / "hooks"))
    assert hook.public_version("2.14.1+cpu") == "2.14.1"
    assert hook.public_version("0.18.1+cu121") == "0.18.1"
    assert hook.public_version("13.0.0") == "13.0.0"


def test_notebook_page_offers_its_stored_notebook(site):
    soup = page(site, "notebooks/hands-on")
    links = {a["href"] for a in soup.select("a[download]")}
    assert links == {"hands-on.ipynb"}, links
    stored = DOCS / "notebooks" / "hands-on.ipynb"
    assert (site / "notebooks" / "hands-on" / "hands-on.ipynb").read_bytes() == stored.read_bytes()


def test_no_colab_link_without_a_repository(site):
    for name in [*PAGES, "notebooks/hands-on"]:
        text = str(page(site, name))
        assert "colab.research.google.com" not in text, name


def test_page_without_code_gets_no_links(tmp_path):
    """A page with no executed block offers nothing to run; the page beside it, with one, offers both files.
    (Every page of the site has code, so this is shown on a scratch site.) That generating the files is
    reproducible is shown by test_build_integrity's two clean builds, which compare them byte for byte."""
    files = {
        "docs/demo/code.md": page_with_blocks("有代码", "demo/code", ["demo/code.py:first"]),
        "snippets/demo/code.py": "# --8<-- [start:first]\nprint(1 + 1)\n# --8<-- [end:first]\n",
        "docs/demo/prose.md": "# 只有文字\n\n这一页没有代码。\n",
    }
    root = scratch_repo(tmp_path, files, ["index.md", "demo/code.md", "demo/prose.md"])
    result = make_build(root)
    assert result.returncode == 0, result.stderr[-3000:]

    def run_links(name: str) -> set[str]:
        html = (root / "site" / name / "index.html").read_text(encoding="utf-8")
        return {
            Path(a["href"]).suffix for a in BeautifulSoup(html, "html.parser").select(".page-meta__run a[download]")
        }

    assert run_links("demo/code") == {".ipynb", ".py"}
    assert run_links("demo/prose") == set()


def test_serve_rewrites_only_the_rebuilt_pages_downloads(tmp_path):
    """A real `mkdocs serve --dirty` (`make serve`): the initial build writes every page's downloads; a prose
    edit rewrites that page's only, a snippet edit puts the new code into that page's only; at the end they
    equal a clean build's. Files are told apart by a time stamp the test sets, not by waiting."""
    pages = {"demo/one": "print('one', 1)", "demo/two": "print('two', 2)"}
    files = {}
    for name, code in pages.items():
        files[f"docs/{name}.md"] = page_with_blocks(name, name, [f"{name}.py:main"]).replace(
            "```python", "开头的文字。\n\n## 小节\n\n```python", 1
        )
        files[f"snippets/{name}.py"] = f"# --8<-- [start:main]\n{code}\n# --8<-- [end:main]\n"
    root = scratch_repo(tmp_path, files, ["index.md", *(f"{name}.md" for name in pages)])
    (root / "tmp").mkdir()
    port = free_port()
    env = {
        **os.environ,
        "DOCS_EXEC_CACHE": str(root / ".cache/exec"),
        "DOCS_EXEC_ENVS": "current",
        "NO_MKDOCS_2_WARNING": "1",
        "TMPDIR": str(root / "tmp"),  # `mkdocs serve` builds into a mkdtemp folder: here, where the test finds it
    }
    server = Server(root, port, env)
    try:
        server.wait_for(lambda: "Watching paths for changes" in server.log.read_text(encoding="utf-8"))
        (served,) = (root / "tmp").glob("mkdocs_*")
        made = {name: [served / name / f"{Path(name).name}.{suffix}" for suffix in ("ipynb", "py")] for name in pages}
        assert all(path.is_file() for paths in made.values() for path in paths), made

        def rewritten() -> set[str]:
            """The pages whose downloads were written since mark() (both files, or neither)."""
            fresh = {name for name, paths in made.items() for path in paths if path.stat().st_mtime != 1}
            assert all(all(path.stat().st_mtime != 1 for path in made[name]) for name in fresh), fresh
            return fresh

        def mark() -> None:
            for path in [path for paths in made.values() for path in paths]:
                os.utime(path, (1, 1))

        mark()
        server.edit(root / "docs/demo/one.md", "开头的文字。", "开头的文字，改过了。")
        assert rewritten() == {"demo/one"}

        mark()
        server.edit(root / "snippets/demo/two.py", "print('two', 2)", "print('two', 22)")
        assert rewritten() == {"demo/two"}
        assert "print('two', 22)" in made["demo/two"][1].read_text(encoding="utf-8")
        assert "print('two', 22)" in "".join(nbformat.read(made["demo/two"][0], as_version=4).cells[-1].source)
        # The page heading above the block is the notebook's section, taken from the record.
        assert "# %% [markdown]\n# ## 小节\n\n# %%\nprint('two', 22)" in made["demo/two"][1].read_text(encoding="utf-8")
        served_files = {path.relative_to(served): path.read_bytes() for paths in made.values() for path in paths}
    finally:
        server.stop()
        shutil.rmtree(root / "tmp", ignore_errors=True)
    result = make_build(root, {"SITE_URL": f"http://127.0.0.1:{port}/"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert {name: (root / "site" / name).read_bytes() for name in served_files} == served_files
