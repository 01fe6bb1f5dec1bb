"""`make new-note` gives a note that builds strictly at once: page, snippet and nav entry, nothing overwritten."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from bs4 import BeautifulSoup

from conftest import BIN, ROOT, mkdocs_build, outputs

SCRIPT = ROOT / "scripts" / "new_note.py"
TITLE = "rand 与 seed：脚手架示例"  # spaces, Latin letters and a full-width colon, passed through make


class _Loader(yaml.SafeLoader):
    """mkdocs.yml as data (its `!ENV` tags read as None)."""


_Loader.add_constructor("!ENV", lambda loader, node: None)


def nav(root: Path) -> list:
    return yaml.load((root / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)["nav"]


def scratch_copy(tmp_path: Path) -> Path:
    """The parts of the repository the scaffold and a build read, copied (make needs its own Makefile)."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("docs", "snippets", "hooks", "scripts", "overrides"):  # overrides/: theme templates, if any
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("mkdocs.yml", "Makefile"):
        shutil.copy2(ROOT / name, root / name)
    for venv in (".venv", ".venv-notes"):  # the two environments the blocks run in
        (root / venv).symlink_to(ROOT / venv)
    return root


def new_note(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *args], capture_output=True, text=True, check=False
    )


def test_new_note_builds_strictly_with_its_executed_output(tmp_path):
    root = scratch_copy(tmp_path)
    before = (root / "mkdocs.yml").read_text(encoding="utf-8")
    # The README's way: the make target (its .venv stamp taken as given: -o), with the values as a user types them.
    made = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "new-note", f"BIN={BIN}"]
        + ["SECTION=张量基础", "AREA=tensor-basics", "NAME=scaffold-check", f"TITLE={TITLE}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    page = root / "docs" / "tensor-basics" / "scaffold-check.md"
    snippet = root / "snippets" / "tensor-basics" / "scaffold-check.py"
    for path in (page, snippet):
        assert path.relative_to(root).as_posix() in made.stdout, made.stdout  # it says what it created

    # The page: its title, and the one fence form, with the session = the page's own path.
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# {TITLE}\n")
    fences = re.findall(
        r'^```python exec="on" source="block" result="text" session="([^"]+)"\n--8<-- "([^"]+)"\n```$',
        text,
        re.M,
    )
    assert fences == [("tensor-basics/scaffold-check", "tensor-basics/scaffold-check.py:first_look")]
    code = snippet.read_text(encoding="utf-8")
    assert "# --8<-- [start:first_look]" in code and "# --8<-- [end:first_look]" in code
    assert "torch.manual_seed(0)" in code and "assert " in code

    # The nav: the entry is the last of its section, and the rest of mkdocs.yml (comments, !ENV tags) is unchanged.
    section = next(item["张量基础"] for item in nav(root) if isinstance(item, dict) and "张量基础" in item)
    assert section[-1] == {TITLE: "tensor-basics/scaffold-check.md"}
    after = (root / "mkdocs.yml").read_text(encoding="utf-8").split("\n")
    added = [line for line in after if "scaffold-check" in line]
    assert len(added) == 1 and len(after) == len(before.split("\n")) + 1
    assert [line for line in after if line not in added] == before.split("\n")

    # The snippet alone, from another folder: it runs, prints the seeded tensor and writes nothing.
    torch.manual_seed(0)
    expected = str(torch.rand(2, 3))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    alone = subprocess.run([sys.executable, str(snippet)], cwd=elsewhere, capture_output=True, text=True, check=False)
    assert alone.returncode == 0, alone.stderr
    assert expected in alone.stdout and not list(elsewhere.iterdir())

    # The new files pass the checks of `make lint` as they are.
    for command in (
        [BIN / "ruff", "check", "--config", ROOT / "ruff.toml", snippet],
        [BIN / "ruff", "format", "--diff", "--config", ROOT / "ruff.toml", snippet],
        [sys.executable, ROOT / "scripts" / "lint_zh.py", page],
        [BIN / "pymarkdown", "--config", ROOT / ".pymarkdown", "--strict-config", "scan", page],
    ):
        checked = subprocess.run(list(map(str, command)), cwd=root, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, f"{command}: {checked.stdout}{checked.stderr}"

    # A small strict build: the home page and the new page only (the other pages would only cost time).
    config = root / "mkdocs.yml"
    head = config.read_text(encoding="utf-8").split("\nnav:\n")[0]
    config.write_text(f"{head}\nnav:\n  - 首页: index.md\n  - 张量基础:\n{added[0]}\n", encoding="utf-8")
    for path in (root / "docs").rglob("*"):
        if path.suffix in {".md", ".ipynb"} and path != page:
            path.unlink()
    (root / "docs" / "index.md").write_text("# 首页\n\n只为检查脚手架。\n", encoding="utf-8")
    built = mkdocs_build(tmp_path / "site", cwd=root, env={"DOCS_EXEC_CACHE": str(tmp_path / "cache")})
    assert built.returncode == 0, built.stderr[-5000:]
    html = tmp_path / "site" / "tensor-basics" / "scaffold-check" / "index.html"
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    assert soup.select_one("article h1").get_text().strip().startswith(TITLE)
    assert expected in outputs(soup)  # the value the test computed, printed by the page's own execution


def test_new_section_goes_at_the_end_of_the_nav(tmp_path):
    root = scratch_copy(tmp_path)
    before = nav(root)
    made = new_note(root, "--section", "新的分组", "--area", "new-area", "--name", "first", "--title", "第一页")
    assert made.returncode == 0, made.stderr
    assert nav(root) == [*before, {"新的分组": [{"第一页": "new-area/first.md"}]}]
    # SECTION may be left out once the folder has its section; a YAML-special title is quoted.
    made = new_note(root, "--area", "new-area", "--name", "second", "--title", "第二页: 冒号 # 井号")
    assert made.returncode == 0, made.stderr
    assert nav(root)[-1] == {
        "新的分组": [{"第一页": "new-area/first.md"}, {"第二页: 冒号 # 井号": "new-area/second.md"}]
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--area", "tensor-basics", "--name", "My_Note"], "NAME='My_Note'"),
        (["--area", "Tensor_Basics", "--name", "x"], "AREA='Tensor_Basics'"),
        (["--area", "", "--name", "x"], "AREA=''"),
        (["--area", "tensor-basics", "--name", "shape-vs-size"], "已经存在"),  # an existing page
        (["--area", "brand-new", "--name", "x"], "SECTION"),  # a new folder needs its section title
        (["--section", "自动求导", "--area", "tensor-basics", "--name", "x"], "一个分组对应一个目录"),
        (["--section", "首页", "--area", "x", "--name", "y"], "不是分组"),
    ],
)
def test_refuses_and_writes_nothing(tmp_path, args, message):
    root = scratch_copy(tmp_path)
    files = sorted(p.relative_to(root) for p in root.rglob("*"))
    config = (root / "mkdocs.yml").read_bytes()
    page = root / "docs" / "tensor-basics" / "shape-vs-size.md"
    page_text = page.read_bytes()
    made = new_note(root, *args, "--title", "标题")
    assert made.returncode == 1 and message in made.stderr, made.stderr
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == files
    assert (root / "mkdocs.yml").read_bytes() == config and page.read_bytes() == page_text
