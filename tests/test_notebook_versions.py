"""The notebook page runs in both environments (hooks/notebooks.py): mkdocs-jupyter's run on the current
kernel, a second run on the notes' kernel; each code cell's outputs go into the page's record, and the page
shows where they differ.

Expected values are computed here, by running each environment's own Python; nothing is copied from pages.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from concurrent.futures import Future
from types import SimpleNamespace

import nbformat
import pytest
from bs4 import BeautifulSoup
from mkdocs_jupyter.nbconvert2 import nb2html
from PIL import Image

from conftest import ROOT, page
from scratch import make_build, scratch_repo

NOTEBOOK = ROOT / "docs/notebooks/hands-on.ipynb"
PYTHONS = {"notes": ROOT / ".venv-notes/bin/python", "current": ROOT / ".venv/bin/python"}
LABELS = {"notes": "笔记版本", "current": "当前版本"}


def in_env(env: str, code: str) -> str:
    result = subprocess.run([str(PYTHONS[env]), "-I", "-c", code], capture_output=True, text=True, check=True)
    return result.stdout


def torch_version(env: str) -> str:
    return in_env(env, "import torch; print(torch.__version__.split('+')[0])").strip()


def hooks():
    """hooks/exec_isolated.py and hooks/notebooks.py as modules of this test process (not a build's)."""
    sys.path.insert(0, str(ROOT / "hooks"))
    try:
        import exec_isolated  # noqa: PLC0415
        import notebooks  # noqa: PLC0415
    finally:
        sys.path.remove(str(ROOT / "hooks"))
    return exec_isolated, notebooks


# -- The built site ------------------------------------------------------------------------------------------


def test_notebook_page_shows_both_versions_where_they_differ(site):
    """The cell that prints the versions shows each environment's own versions, in tabs named after them;
    the summary under the h1 and 版本差异一览 list exactly the cells shown in tabs."""
    versions = {env: torch_version(env) for env in PYTHONS}
    source = next(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if "torch.__version__" in c.source)
    line = next(line for line in source.splitlines() if "torch.__version__" in line)
    printed = {env: in_env(env, f"import torch, torchvision\n{line}").strip() for env in PYTHONS}
    assert printed["notes"] != printed["current"]

    soup = page(site, "notebooks/hands-on", versions=True)
    tabs = soup.select(".exec-differs")
    by_text = [t for t in tabs if "torchvision" in t.get_text()]
    assert len(by_text) == 1, [t.get_text()[:200] for t in tabs]
    names = [label.get_text() for label in by_text[0].select(".tabbed-labels > label")]
    assert names == [f"{LABELS[env]} · torch {versions[env]}" for env in ("notes", "current")]
    panes = [pane.get_text() for pane in by_text[0].select(".tabbed-content > .tabbed-block")]
    assert [printed[env] in pane for env, pane in zip(("notes", "current"), panes, strict=True)] == [True, True]

    differing = [t["id"] for t in tabs]
    for tab in tabs:  # a cell in tabs really differs between the two panes
        first, second = (p.get_text() for p in tab.select(".tabbed-content > .tabbed-block"))
        assert first != second, tab["id"]
    summary = soup.select_one("h1 + .exec-summary")
    assert summary is not None
    assert [a["href"] for a in summary.select("a")] == [f"#{i}" for i in differing]
    # every other cell with output carries the label naming both versions
    labels = soup.select("p.exec-versions[id^=nb-cell-]")
    areas = soup.select(".jp-CodeCell .jp-OutputArea")
    assert len(labels) == len([a for a in areas if not a.find_parent(class_="exec-differs")])
    assert all(len(tab.select(".jp-OutputArea")) == 2 for tab in tabs)
    both = f"torch {versions['notes']} / torch {versions['current']}"
    assert {label.get_text() for label in labels} == {both}

    diffs = BeautifulSoup((site / "version-diffs/index.html").read_text(encoding="utf-8"), "html.parser")
    listed = [a["href"].split("#")[1] for a in diffs.select("article a[href*='notebooks/hands-on/#']")]
    assert listed == differing


# -- Two fake runs through the hook ---------------------------------------------------------------------------


def png(color: tuple[int, int, int], **save) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buffer, format="PNG", **save)
    return base64.b64encode(buffer.getvalue()).decode()


def notebook_file(path, outputs: dict[str, list]) -> None:
    cells = [nbformat.v4.new_markdown_cell("# 演示", id="title")]
    for cell_id, cell_outputs in outputs.items():
        cell = nbformat.v4.new_code_cell(f"# {cell_id}", id=cell_id)
        cell.outputs = cell_outputs
        cells.append(cell)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def stream(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def image(data: str):
    return nbformat.v4.new_output("display_data", data={"image/png": data, "text/plain": "<Figure>"})


def render_both(tmp_path, current: dict[str, list], notes: dict[str, list]):
    """The hook on a page whose current run printed `current` and whose notes' run printed `notes`."""
    exec_isolated, notebooks = hooks()
    options = {"no_prompt": True, "include_requirejs": False, "custom_mathjax_url": ""}
    rendered = {}
    for name, outputs in (("current", current), ("notes", notes)):
        notebook_file(tmp_path / f"{name}.ipynb", outputs)
        rendered[name] = nb2html(str(tmp_path / f"{name}.ipynb"), **options)
    spans = notebooks.output_areas(rendered["notes"])
    areas = {cell: span and rendered["notes"][span[0] : span[1]] for cell, span in spans.items()}
    runner = exec_isolated.runner
    runner.environments = list(exec_isolated.ENVIRONMENTS)
    runner.versions = {"notes": {"torch": "2.3.1"}, "current": {"torch": "2.14.1+cpu"}}
    runner.records = {}
    future = Future()
    future.set_result(areas)
    notebooks._state["notes_runs"] = {"nb/demo.ipynb": future}
    file = SimpleNamespace(src_uri="nb/demo.ipynb", abs_src_path=str(tmp_path / "current.ipynb"))
    config = SimpleNamespace(hooks={"hooks/exec_isolated.py": exec_isolated})
    html = notebooks._both_versions(
        rendered["current"], SimpleNamespace(file=file, url="nb/demo/", title="演示"), config
    )
    record = runner.records["nb/demo.ipynb"]
    diff_page = exec_isolated._diff_page_markdown(SimpleNamespace(url="version-diffs/"))
    return BeautifulSoup(html, "html.parser"), record, diff_page, exec_isolated


def test_a_cell_that_differs_is_recorded_summarised_and_shown_in_both_versions(tmp_path):
    same_picture = png((200, 10, 10))
    outputs = {"a": [stream("同样的输出\n")], "b": [stream("torch 2.14.1\n")], "c": [image(same_picture)]}
    notes = {**outputs, "b": [stream("torch 2.3.1\n")]}
    soup, record, diff_page, exec_isolated = render_both(tmp_path, outputs, notes)

    assert [b.anchor for b in record.differing()] == ["nb-cell-3"]
    cell = record.differing()[0]
    assert (cell.outputs["notes"], cell.outputs["current"]) == ("torch 2.3.1", "torch 2.14.1")
    assert (
        json.loads(json.dumps(exec_isolated.runner.as_json()))["pages"]["nb/demo.ipynb"]["blocks"][1]["same"] is False
    )

    summary = soup.select_one("h1 + .exec-summary")
    assert [a["href"] for a in summary.select("a")] == ["#nb-cell-3"]
    tabs = soup.select_one(".exec-differs#nb-cell-3")
    names = [label.get_text() for label in tabs.select(".tabbed-labels > label")]
    assert names == ["笔记版本 · torch 2.3.1", "当前版本 · torch 2.14.1"]
    panes = [p.get_text().strip() for p in tabs.select(".tabbed-content > .tabbed-block")]
    assert panes == ["torch 2.3.1", "torch 2.14.1"]
    assert [p["id"] for p in soup.select("p.exec-versions")] == ["nb-cell-2", "nb-cell-4"]
    assert "nb/demo/#nb-cell-3" in diff_page
    assert "笔记版本：<code>torch 2.3.1</code>" in diff_page


def test_figures_compare_by_pixels_and_identical_runs_say_so(tmp_path):
    """The same picture encoded differently is the same output; another picture is a difference."""
    picture = png((10, 120, 200))
    recoded = png((10, 120, 200), compress_level=1)
    assert picture != recoded
    current = {"a": [stream("1\n")], "b": [image(picture)]}
    soup, record, _, _ = render_both(tmp_path, current, {**current, "b": [image(recoded)]})
    assert record.differing() == []
    assert soup.select_one(".exec-summary") is None
    assert (
        "两个版本（torch 2.3.1 / torch 2.14.1）中的输出相同" in soup.select_one("h1 + .exec-notebook-same").get_text()
    )

    soup, record, _, _ = render_both(tmp_path, current, {**current, "b": [image(png((10, 120, 201)))]})
    assert [b.anchor for b in record.differing()] == ["nb-cell-3"]
    assert len(soup.select(".exec-differs#nb-cell-3 img")) == 2


# -- A cell that fails only in the notes' environment ---------------------------------------------------------


def failing_notebook() -> str:
    cells = [
        nbformat.v4.new_markdown_cell("# 失败的笔记本", id="title"),
        nbformat.v4.new_code_cell('import torch\nassert not torch.__version__.startswith("2.3."), "只在笔记版本失败"'),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nbformat.writes(notebook)


@pytest.mark.parametrize("environments", ["notes,current", "current"])
def test_cell_failing_on_the_notes_kernel_fails_the_strict_build(tmp_path, environments):
    root = scratch_repo(tmp_path, {"docs/demo/fail.ipynb": failing_notebook()}, ["index.md", "demo/fail.ipynb"])
    result = make_build(root, {"DOCS_EXEC_ENVS": environments})
    log = result.stdout + result.stderr
    if environments == "current":  # the cell itself runs on the current torch: only the notes' run fails it
        assert result.returncode == 0, log[-3000:]
        return
    assert result.returncode != 0, log[-3000:]
    expected = re.compile(
        r"docs/demo/fail\.ipynb: cell 2 \(`import torch`\) failed in the 笔记版本, torch 2\.3\.\d+ kernel"
    )
    assert expected.search(log), log[-3000:]
    assert "只在笔记版本失败" in log
    assert not (root / "site").exists()


def test_text_printed_in_pieces_is_one_output_in_both_runs(tmp_path):
    """The kernel sends printed text in pieces whenever it flushes (here on purpose, as it does on its own on
    a busy machine): the page shows one output, so two builds of one notebook are identical."""
    cells = [
        nbformat.v4.new_markdown_cell("# 分几次送出的输出", id="title"),
        nbformat.v4.new_code_cell('import sys\nprint("前半", end="")\nsys.stdout.flush()\nprint("后半")'),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    root = scratch_repo(
        tmp_path, {"docs/demo/flush.ipynb": nbformat.writes(notebook)}, ["index.md", "demo/flush.ipynb"]
    )
    result = make_build(root, {"DOCS_EXEC_ENVS": "notes,current"})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    page = (root / "site/demo/flush/index.html").read_text(encoding="utf-8")
    assert page.count("前半后半") == 1, page  # one output, the same in both runs: no tabs
    assert re.findall(r"<pre>([^<]*)</pre>", page) == ["前半后半\n"]  # the outputs (the code's <pre> has markup)
