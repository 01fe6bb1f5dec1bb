"""What the build promises a reader, checked on the built files: nothing loaded from another host, the
hands-on notebook stored without outputs and executed at build (a failing cell fails the build), the
provenance of every page, repository links only when the repository is known, and the file:// config."""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from browsing import new_context, serve
from bs4 import BeautifulSoup
from builds import DEPLOYMENTS, REPOSITORY
from mkdocs.config import load_config

from conftest import ROOT, figure_bytes, mkdocs_build, page
from scratch import scratch_repo

sys.path.insert(0, str(ROOT / "hooks"))
from no_external_requests import external_requests  # noqa: E402

sys.path.remove(str(ROOT / "hooks"))

NOTEBOOK = ROOT / "docs" / "notebooks" / "hands-on.ipynb"
REPO = REPOSITORY


def html_files(site: Path) -> list[Path]:
    files = sorted(site.rglob("*.html"))
    assert len(files) >= 13
    return files


# -- Nothing from another host ---------------------------------------------------------------------------


def test_the_guard_sees_what_a_browser_would_fetch():
    page_html = (
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//fonts.example/a.css">'
        '<img srcset="a.png 1x, https://img.example/b.png 2x"><style>@import "https://x.example/c.css";</style>'
        '<script type="module">await import("https://cdnjs.example/m.mjs")</script>'
        '<a href="https://pytorch.org/">a link is not a request</a><script src="assets/local.js"></script>'
    )
    assert external_requests(page_html) == [
        "//fonts.example/a.css",
        "https://cdn.example/x.js",
        "https://cdnjs.example/m.mjs",
        "https://img.example/b.png",
        "https://x.example/c.css",
    ]


def test_no_built_page_or_stylesheet_loads_from_another_host(site):
    for path in html_files(site):
        assert external_requests(path.read_text(encoding="utf-8")) == [], path
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert not re.search(r"(url\(\s*['\"]?|@import\s+['\"])(https?:)?//", text), css
    notebook = (site / "notebooks" / "hands-on" / "index.html").read_text(encoding="utf-8")
    for loader in ("mathjax", "MathJax", "require.js", "mermaid.esm", "cdnjs"):
        assert loader not in notebook, loader


def test_katex_ships_with_the_site(site):
    katex = site / "assets" / "katex"
    fonts = sorted(p.name for p in (katex / "fonts").iterdir())
    assert (katex / "katex.min.js").stat().st_size > 100_000 and (katex / "auto-render.min.js").is_file()
    assert "MIT" in (katex / "LICENSE").read_text(encoding="utf-8")
    wanted = set(re.findall(r"url\(fonts/([\w-]+\.woff2)\)", (katex / "katex.min.css").read_text(encoding="utf-8")))
    assert wanted and wanted <= set(fonts), wanted - set(fonts)


# -- The hands-on notebook -------------------------------------------------------------------------------


def test_stored_notebook_has_no_outputs_and_is_in_the_nav():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 8
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    source = "\n".join(cell.source for cell in code)
    for needed in (
        "grace_hopper.jpg",
        "ToTensor",
        "Normalize",
        "nn.Module",
        "CrossEntropyLoss",
        "backward",
        "grad_fn",
        "NotoSansCJK-Regular.ttc",
    ):
        assert needed in source, needed
    nav = json.dumps(load_config(str(ROOT / "mkdocs.yml")).nav, ensure_ascii=False)
    assert '"动手实践": [{' in nav and "notebooks/hands-on.ipynb" in nav


def test_notebook_page_shows_executed_outputs(site):
    soup = page(site, "notebooks/hands-on")
    # Only what the cells printed (output areas), not the notebook's Markdown, which names the same things.
    text = "\n".join(output.get_text("\n") for output in soup.select(".jupyter-wrapper .jp-OutputArea-output"))
    by_library = re.search(r"CrossEntropyLoss:\s+([\d.]+)", text)
    by_hand = re.search(r"手算 -log_softmax\[目标\]:\s+([\d.]+)", text)
    assert by_library and by_hand and by_library[1] == by_hand[1]
    assert "AccumulateGrad" in text and "NllLossBackward0" in text
    images = soup.select(".jp-OutputArea-output img")
    assert len(images) == 6  # three figures, a light and a dark variant each
    assert all(figure_bytes(img)[0] == "png" for img in images)
    # Alt texts say what each figure shows (nbconvert's placeholder never reaches the page).
    assert all(len(img["alt"]) >= 20 and "No description" not in img["alt"] for img in images)
    variants = [img["src"].rsplit("#", 1)[-1] for img in images]
    assert variants == ["only-light", "only-dark"] * 3
    # Markdown cell first: what to install, said, not done behind the reader's back.
    stored = nbformat.read(NOTEBOOK, as_version=4)
    assert "pip install" in stored.cells[1].source and stored.cells[1].cell_type == "markdown"
    assert not any("subprocess" in cell.source for cell in stored.cells)
    # The page's table of contents points at headings that exist (nbconvert drops Chinese from its ids).
    ids = {tag["id"] for tag in soup.select("[id]")}
    toc = [a["href"][1:] for a in soup.select("nav.md-nav--secondary a.md-nav__link")]
    assert toc and set(toc) <= ids, set(toc) - ids


BROKEN_CELL = 'raise ValueError("这个单元格故意出错")'


def test_a_failing_notebook_cell_fails_the_build(tmp_path):
    cells = [
        nbformat.v4.new_markdown_cell("# 坏的 notebook"),
        nbformat.v4.new_code_cell('print("第一个单元格没问题")'),
        nbformat.v4.new_code_cell(BROKEN_CELL),
        nbformat.v4.new_code_cell('print("不会运行到这里")'),
    ]
    notebook = nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell{index}"
    root = scratch_repo(
        tmp_path, {"docs/notebooks/broken.ipynb": nbformat.writes(notebook)}, ["index.md", "notebooks/broken.ipynb"]
    )
    result = mkdocs_build(root / "site", cwd=root, env={"DOCS_EXEC_CACHE": str(root / ".cache" / "exec")})
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # nbclient colours its traceback
    assert result.returncode != 0, log[-3000:]
    assert "notebooks/broken.ipynb" in log, log[-3000:]  # the notebook is named ...
    assert BROKEN_CELL in log and "ValueError: 这个单元格故意出错" in log, log[-3000:]  # ... and so is the cell
    assert not (root / "site" / "notebooks" / "broken" / "index.html").exists()


# -- Provenance ------------------------------------------------------------------------------------------


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def test_every_page_says_what_produced_it(site):
    expected = {
        "Python": platform.python_version(),
        **{n: metadata.version(n) for n in ("torch", "torchvision", "numpy", "matplotlib")},
    }
    commit = git("rev-parse", "--short", "HEAD")
    for path in html_files(site):
        if path.name == "404.html":
            continue
        record = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").select_one(".page-meta__provenance")
        assert record is not None, path
        text = " ".join(record.get_text(" ").split())
        for name, version in expected.items():
            assert f"{name} {version}" in text, (path, text)
        assert commit in text, (path, text)
        assert not re.search(r"\d{1,2}:\d{2}|20\d\d-\d\d-\d\d", text), f"a time on the page: {text}"


def test_sitemap_dates_come_from_the_commit(tmp_path):
    """A build of an old commit dates its sitemap by that commit, not by the clock (SOURCE_DATE_EPOCH)."""
    root = scratch_repo(tmp_path, {}, ["index.md"])
    dated = {**os.environ, "GIT_AUTHOR_DATE": "2001-02-03T04:05:06Z", "GIT_COMMITTER_DATE": "2001-02-03T04:05:06Z"}
    for command in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "old"],
    ):
        subprocess.run(["git", *command], cwd=root, env=dated, check=True, capture_output=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    result = mkdocs_build(
        root / "site",
        cwd=root,
        env={"SITE_URL": "https://example.github.io/notes/", "DOCS_EXEC_CACHE": str(root / ".cache")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    given = os.environ.get("SOURCE_DATE_EPOCH")
    day = datetime.datetime.fromtimestamp(int(given), datetime.UTC).strftime("%Y-%m-%d") if given else "2001-02-03"
    dates = set(re.findall(r"<lastmod>([^<]+)</lastmod>", (root / "site" / "sitemap.xml").read_text(encoding="utf-8")))
    assert dates == {day}, dates
    record = BeautifulSoup((root / "site" / "index.html").read_text(encoding="utf-8"), "html.parser").select_one(
        ".page-meta__provenance"
    )
    assert commit in record.get_text() and "未提交" not in record.get_text()


# -- Repository links ------------------------------------------------------------------------------------


def test_no_repository_links_without_a_repository(site):
    for path in html_files(site):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        assert not soup.select("a[rel=edit], a.md-source, a.md-content__button[title*='查看']"), path


@pytest.fixture(scope="module")
def repo_site(pages_site) -> Path:
    """The site as the Pages workflow builds it for a project page: repository known, pages' URL known (the
    build tests/test_deploy.py serves)."""
    return pages_site("project")


def test_edit_and_view_links_with_a_repository(repo_site):
    checked = 0
    for path in html_files(repo_site):
        if path.name == "404.html":
            continue
        source = path.relative_to(repo_site).parent.as_posix()
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        edit = soup.select_one("a[rel=edit]")
        if source == "version-diffs":  # generated at build time (hooks/exec_isolated.py): nothing to edit
            assert edit is None and not (ROOT / "docs" / "version-diffs.md").exists()
            continue
        assert edit is not None, path
        assert re.fullmatch(rf"{REPO}/edit/main/docs/.+\.(md|ipynb)", edit["href"]), edit["href"]
        src = edit["href"].removeprefix(f"{REPO}/edit/main/docs/")
        assert (ROOT / "docs" / src).is_file(), src
        assert source == "." or src.rsplit(".", 1)[0] in (source, f"{source}/index"), (source, src)
        view = soup.select_one(f"a.md-content__button[href='{REPO}/raw/main/docs/{src}']")
        assert view is not None, path
        assert soup.select_one(f"a.md-source[href='{REPO}']") is not None
        checked += 1
    assert checked >= 13


def test_404_page_is_chinese_and_links_home_under_the_project_path(repo_site):
    """GitHub Pages serves 404.html for any missing address under /pytorch-notes/: its links must be absolute."""
    soup = BeautifulSoup((repo_site / "404.html").read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article")
    assert "找不到这个页面" in article.get_text() and "Not found" not in soup.get_text()
    home = article.select_one("a")
    assert home["href"] == DEPLOYMENTS["project"][0] + "/", home["href"]
    assets = [tag.get("href") or tag.get("src") for tag in soup.select("link[rel=stylesheet], script[src]")]
    assert assets and all(a.startswith("/pytorch-notes/") for a in assets), assets


def test_colab_link_only_for_a_notebook_stored_on_github(repo_site):
    soup = page(repo_site, "notebooks/hands-on")
    colab = {a["href"] for a in soup.select("a[href^='https://colab.research.google.com/']")}
    assert colab == {
        "https://colab.research.google.com/github/octo/pytorch-notes/blob/main/docs/notebooks/hands-on.ipynb"
    }
    for path in html_files(repo_site):
        if "notebooks" not in path.parts:
            assert "colab.research.google.com" not in path.read_text(encoding="utf-8"), path


def test_repository_link_makes_no_request_to_another_host(repo_site, browser):
    """Material asks api.github.com for stars and forks; overrides/partials/source.html turns that off."""
    with serve(repo_site) as base:
        context, watch = new_context(browser, (base,))
        page_ = context.new_page()
        page_.goto(base + "notebooks/hands-on/")
        page_.wait_for_load_state("networkidle")
        assert page_.locator("a.md-source").count() >= 1  # header and drawer
        context.close()
    assert not watch.problems(), watch.problems()


# -- The file:// variant's configuration -----------------------------------------------------------------


def test_offline_config_is_the_site_plus_the_offline_plugin():
    site = load_config(str(ROOT / "mkdocs.yml"))
    offline = load_config(str(ROOT / "mkdocs-offline.yml"))
    assert "material/offline" not in site.plugins  # the served site keeps directory URLs
    assert set(offline.plugins) == set(site.plugins) | {"material/offline"}  # merged (INHERIT), not replaced
    assert offline.plugins["mkdocs-jupyter"].config == site.plugins["mkdocs-jupyter"].config
    assert offline.plugins["material/search"].config == site.plugins["material/search"].config
    assert offline.nav == site.nav and offline.extra_javascript == site.extra_javascript
