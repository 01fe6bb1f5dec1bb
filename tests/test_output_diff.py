"""scripts/output_diff.py: two builds' records (DOCS_EXEC_RECORD), and the summary names what changed, was added
and was removed, per environment. The fake records have the shape of Runner.as_json; the last test takes the
records of two real builds, so a record the hook no longer writes that way fails here too."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from scratch import make_build, page_with_blocks, scratch_repo

SCRIPT = ROOT / "scripts" / "output_diff.py"
PNG_A = b"\x89PNG\r\n\x1a\n" + b"A" * 64
PNG_B = b"\x89PNG\r\n\x1a\n" + b"B" * 64
ENVIRONMENTS = {
    "notes": {"label": "笔记版本", "versions": {"python": "3.11.7", "torch": "2.3.1", "prefix": "/x"}},
    "current": {"label": "当前版本", "versions": {"python": "3.11.7", "torch": "2.14.1", "prefix": "/x"}},
}


def img(alt: str, data: bytes, fragment: str = "#only-light") -> str:
    """A figure as a block prints it: an <img> with a data: URI (hooks/figures.py moves it out of the page later)."""
    return f'<img class="figure" alt="{alt}" src="data:image/png;base64,{base64.b64encode(data).decode()}{fragment}">'


def block(section: str, *outputs: str, **by_env: str) -> dict:
    """A block whose output is the same in both environments (`outputs` joined), or differs (`by_env`)."""
    text = "\n".join(outputs)
    return {
        "anchor": "exec-1",
        "file": f"snippets/area/note-{section}.py",
        "line": 1,
        "section": section,
        "code": "print()",
        "outputs": {key: by_env.get(key, text) for key in ENVIRONMENTS},
        "heading": "",
        "same": not by_env,
    }


def record(path: Path, pages: dict[str, list[dict]], environments: dict | None = None) -> Path:
    data = {
        "environments": environments or ENVIRONMENTS,
        "pages": {uri: {"url": "", "title": uri, "heading": uri, "blocks": blocks} for uri, blocks in pages.items()},
    }
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False)


def section(summary: str, title: str) -> str:
    """The text under a `### title` heading, up to the next `### ` heading."""
    match = re.search(rf"^### {title}\n(.*?)(?=^### |\Z)", summary, re.M | re.S)
    return match[1] if match else ""


def page_section(summary: str, name: str) -> str:
    match = re.search(rf"^#### `{re.escape(name)}`\n(.*?)(?=^#### |\Z)", summary, re.M | re.S)
    return match[1] if match else ""


def test_summary_lists_changed_added_and_removed_pages(tmp_path):
    base = record(
        tmp_path / "base.json",
        {
            "index.md": [block("intro", "tensor([1, 2, 3])")],
            "a/same.md": [block("x", "x = 1", img("曲线", PNG_A))],
            "a/text.md": [block("dtype", "torch.float32"), block("lines", "line one\nline two")],
            "a/figure.md": [block("plot", "unchanged", img("热力图", PNG_A))],
            "a/table.md": [block("table", "| 表达式 | dtype |\n|:--|:--|\n| x | torch.float32 |")],
            "a/removed.md": [block("gone", "gone")],
        },
    )
    head = record(
        tmp_path / "head.json",
        {
            "index.md": [block("intro", "tensor([1, 2, 3])")],
            "a/same.md": [block("x", "x = 1", img("曲线", PNG_A, "#only-dark"))],  # another fragment: same bytes
            "a/text.md": [block("dtype", "torch.int64"), block("lines", "line one\nline two")],
            "a/figure.md": [block("plot", "unchanged", img("热力图", PNG_B))],
            "a/table.md": [block("table", "| 表达式 | dtype |\n|:--|:--|\n| x | torch.float64 |")],
            "b/added.md": [block("new", "new output"), block("setup"), block("more", "another")],
        },
    )
    result = run(base, head, "--base-label", "main")
    assert result.returncode == 0, result.stderr
    summary = result.stdout
    assert "与 `main` 相比：新增 1 页，删除 1 页，执行输出有变化 3 页，不变 2 页。" in summary

    assert "`b/added.md`（2 个输出块，0 张图）" in section(summary, "新增的页面")
    assert "`a/removed.md`" in section(summary, "删除的页面")
    changed = section(summary, "执行输出有变化的页面")
    assert re.findall(r"^#### `(.+)`$", changed, re.M) == ["a/text.md", "a/figure.md", "a/table.md"]
    # The text diff shows the changed output line under its block's name, and only it; a table row by row.
    assert " ## note-dtype.py:dtype\n-torch.float32\n+torch.int64" in changed
    assert " | 表达式 | dtype |\n |:--|:--|\n-| x | torch.float32 |\n+| x | torch.float64 |" in changed
    assert "-line one" not in changed and "+line one" not in changed
    # The figure's bytes changed; the unchanged figure is not listed, and no base64 reaches the summary.
    assert "- 图片变了：「热力图」" in page_section(summary, "a/figure.md") and "「曲线」" not in changed
    assert not re.search(r"[A-Za-z0-9+/]{60,}", summary)
    # Both environments changed alike: listed once, without naming them.
    assert "笔记版本" not in summary and "当前版本" not in summary
    for name in ("index.md", "a/same.md"):
        assert f"`{name}`" not in summary


def test_each_environment_is_compared_on_its_own(tmp_path):
    """A change on one version only names that version; the other's identical outputs are not listed."""
    base = record(tmp_path / "base.json", {"p.md": [block("clamp", notes="grad 1.0", current="grad 0.0")]})
    head = record(tmp_path / "head.json", {"p.md": [block("clamp", notes="grad 1.0", current="grad 0.5")]})
    summary = run(base, head).stdout
    changes = page_section(summary, "p.md")
    assert "当前版本（torch 2.14.1）：" in changes and "笔记版本" not in changes
    assert "-grad 0.0\n+grad 0.5" in changes and "grad 1.0" not in changes
    # Different changes in each environment: one list per environment.
    head = record(tmp_path / "head2.json", {"p.md": [block("clamp", notes="grad 2.0", current="grad 0.5")]})
    changes = page_section(run(base, head).stdout, "p.md")
    assert changes.index("笔记版本（torch 2.3.1）：") < changes.index("-grad 1.0\n+grad 2.0")
    assert changes.index("当前版本（torch 2.14.1）：") < changes.index("-grad 0.0\n+grad 0.5")


def test_changed_versions_are_named(tmp_path):
    newer = json.loads(json.dumps(ENVIRONMENTS))
    newer["current"]["versions"]["torch"] = "2.15.0"
    base = record(tmp_path / "base.json", {"p.md": [block("a", "same")]})
    head = record(tmp_path / "head.json", {"p.md": [block("a", "same")]}, newer)
    summary = run(base, head).stdout
    assert section(summary, "执行环境的版本有变化").strip() == "- 当前版本：torch 2.14.1 → 2.15.0"
    assert "执行输出有变化 0 页" in summary


def test_long_diffs_are_truncated(tmp_path):
    base = record(tmp_path / "base.json", {"p.md": [block("rows", "\n".join(f"row {i}" for i in range(100)))]})
    head = record(tmp_path / "head.json", {"p.md": [block("rows", "\n".join(f"row {i * 2}" for i in range(100)))]})
    summary = run(base, head, "--max-diff-lines", "10").stdout
    diff = re.search(r"```diff\n(.*?)\n```", summary, re.S)[1].splitlines()
    assert len(diff) == 11 and diff[-1].startswith("… 还有 ")


def test_missing_base_is_said_plainly(tmp_path):
    head = record(tmp_path / "head.json", {"index.md": [block("a", "a")], "x.md": [block("b", "b"), block("c", "c")]})
    result = run(tmp_path / "no-base.json", head, "--base-label", "main", "--base-note", "目标分支没有 make build 任务")
    assert result.returncode == 0, result.stderr
    assert "没有可比较的 `main` 记录**：目标分支没有 make build 任务。" in result.stdout
    assert "- `x.md`（2 个输出块，0 张图）" in result.stdout and "- `index.md`（1 个输出块，0 张图）" in result.stdout
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert "没有可比较的 `base` 记录" in run(tmp_path / "broken.json", head).stdout
    assert run(tmp_path / "no-base.json", tmp_path / "no-head.json").returncode == 2


def test_a_base_record_of_the_earlier_format_is_read(tmp_path):
    """Before the record had page headings, a page was a bare list of blocks (the base branch may write that)."""
    head = record(tmp_path / "head.json", {"p.md": [block("a", "new")]})
    old = json.loads(head.read_text(encoding="utf-8"))
    old["pages"] = {"p.md": [block("a", "old")]}
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    assert "-old\n+new" in page_section(run(tmp_path / "old.json", head).stdout, "p.md")


def test_records_of_real_builds(tmp_path):
    """Two real builds of a scratch site, a snippet edited between them: the summary names that page and line."""
    snippet = "# --8<-- [start:main]\nprint('value', {})\nprint('steady')\n# --8<-- [end:main]\n"
    files = {
        "docs/demo/one.md": page_with_blocks("一", "demo/one", ["demo/one.py:main"]),
        "snippets/demo/one.py": snippet.format(1),
        "docs/demo/two.md": page_with_blocks("二", "demo/two", ["demo/two.py:main"]),
        "snippets/demo/two.py": snippet.format(2),
    }
    root = scratch_repo(tmp_path, files, ["index.md", "demo/one.md", "demo/two.md"])
    for name, value in (("base", 1), ("head", 10)):
        (root / "snippets/demo/one.py").write_text(snippet.format(value), encoding="utf-8")
        result = make_build(root, {"DOCS_EXEC_RECORD": str(tmp_path / f"{name}.json")})
        assert result.returncode == 0, result.stderr[-3000:]
    summary = run(tmp_path / "base.json", tmp_path / "head.json").stdout
    assert "执行输出有变化 1 页，不变 1 页" in summary
    assert " ## one.py:main\n-value 1\n+value 10\n steady" in page_section(summary, "demo/one.md")
