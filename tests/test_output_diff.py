"""scripts/output_diff.py: two tiny fake sites, and the summary names what changed, was added and was removed."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "output_diff.py"
# Figures as the build leaves them (hooks/figures.py): files beside the page, named by a hash of their bytes.
PNG_A = b"\x89PNG\r\n\x1a\n" + b"A" * 64
PNG_B = b"\x89PNG\r\n\x1a\n" + b"B" * 64


def figure_name(data: bytes) -> str:
    return f"figure-{hashlib.sha256(data).hexdigest()[:16]}.png"


def html(*results: str, figures: tuple[tuple[str, bytes], ...] = (), bare: tuple[str, ...] = ()) -> str:
    """A built page: output blocks beside their source (`.result`), outputs shown without their source
    (`.exec-output`: `bare`), and figures, each an output block holding an <img> of a file beside the page."""
    blocks = "".join(f'<div class="result"><pre><code>{text}</code></pre></div>' for text in results)
    blocks += "".join(f'<div class="exec-output"><pre><code>{text}</code></pre></div>' for text in bare)
    images = "".join(
        f'<div class="exec-output"><img class="figure" alt="{alt}" src="{figure_name(data)}" loading="lazy"></div>'
        for alt, data in figures
    )
    # Text outside the article (navigation, footer) never counts, even when it differs.
    return (
        f"<html><body><nav>{len(results)}</nav><article><h1>页</h1><p>正文</p>{blocks}{images}</article></body></html>"
    )


def site(root: Path, pages: dict[str, str | tuple[str, tuple[bytes, ...]]]) -> Path:
    """Pages by path; a page given with figure bytes gets those files beside it."""
    for name, value in pages.items():
        text, figures = (value, ()) if isinstance(value, str) else value
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        for data in figures:
            (path.parent / figure_name(data)).write_bytes(data)
    return root


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False)


def section(summary: str, title: str) -> str:
    """The text under a `### title` heading, up to the next `### ` heading."""
    match = re.search(rf"^### {title}\n(.*?)(?=^### |\Z)", summary, re.M | re.S)
    return match[1] if match else ""


def test_summary_lists_changed_added_and_removed_pages(tmp_path):
    same = html("tensor([1, 2, 3])")
    base = site(
        tmp_path / "base",
        {
            "index.html": same,
            "a/same/index.html": (html("x = 1", figures=(("曲线", PNG_A),)), (PNG_A,)),
            "a/text/index.html": html("torch.float32", "line one\nline two"),
            "a/figure/index.html": (html("unchanged", figures=(("热力图", PNG_A),)), (PNG_A,)),
            "a/bare/index.html": html(bare=("| dtype |\n| torch.float32 |",)),
            "a/removed/index.html": html("gone"),
            "404.html": "<html><body><p>no article: not a page</p></body></html>",
        },
    )
    head = site(
        tmp_path / "head",
        {
            "index.html": same.replace("<nav>1</nav>", "<nav>changed navigation</nav>"),
            "a/same/index.html": (html("x = 1", figures=(("曲线", PNG_A),)), (PNG_A,)),
            "a/text/index.html": html("torch.int64", "line one\nline two"),
            "a/figure/index.html": (html("unchanged", figures=(("热力图", PNG_B),)), (PNG_B,)),
            "a/bare/index.html": html(bare=("| dtype |\n| torch.float64 |",)),
            "b/added/index.html": html("new output", "another"),
        },
    )
    result = run(base, head, "--base-label", "main")
    assert result.returncode == 0, result.stderr
    summary = result.stdout
    assert "与 `main` 相比：新增 1 页，删除 1 页，执行输出有变化 3 页，不变 2 页。" in summary

    assert "`b/added/`（2 个输出块，0 张图）" in section(summary, "新增的页面")
    assert "`a/removed/`" in section(summary, "删除的页面")
    changed = section(summary, "执行输出有变化的页面")
    assert re.findall(r"^#### `(.+)`$", changed, re.M) == ["a/bare/", "a/figure/", "a/text/"]
    # The text diff shows the changed output line, and only it; an output shown without its source counts.
    assert "-torch.float32\n+torch.int64" in changed
    assert "-| torch.float32 |\n+| torch.float64 |" in changed
    assert "-line one" not in changed and "+line one" not in changed
    # The figure's bytes changed (so did its file's name); the unchanged figure is not listed.
    assert "- 图片变了：「热力图」" in changed and "「曲线」" not in changed
    # Unchanged pages, and the page without an article, are not listed anywhere.
    for name in ("`/`", "a/same/", "404.html"):
        assert name not in summary


def test_figures_are_compared_by_their_bytes(tmp_path):
    """The same bytes under another file name are the same figure; other bytes are a changed figure."""
    page = html(figures=(("曲线", PNG_A),))
    base = site(tmp_path / "base", {"p/index.html": (page, (PNG_A,))})
    renamed = site(tmp_path / "renamed", {"p/index.html": (page, (PNG_A,))})
    (renamed / "p" / figure_name(PNG_A)).rename(renamed / "p" / "figure-renamed.png")
    (renamed / "p" / "index.html").write_text(page.replace(figure_name(PNG_A), "figure-renamed.png"), encoding="utf-8")
    assert "执行输出有变化 0 页" in run(base, renamed).stdout
    redrawn = site(tmp_path / "redrawn", {"p/index.html": (page, (PNG_A,))})
    (redrawn / "p" / figure_name(PNG_A)).write_bytes(PNG_B)
    assert "- 图片变了：「曲线」" in run(base, redrawn).stdout


def test_long_diffs_are_truncated(tmp_path):
    base = site(tmp_path / "base", {"p/index.html": html("\n".join(f"row {i}" for i in range(100)))})
    head = site(tmp_path / "head", {"p/index.html": html("\n".join(f"row {i * 2}" for i in range(100)))})
    summary = run(base, head, "--max-diff-lines", "10").stdout
    diff = re.search(r"```diff\n(.*?)\n```", summary, re.S)[1].splitlines()
    assert len(diff) == 11 and diff[-1].startswith("… 还有 ")


def test_missing_base_is_said_plainly(tmp_path):
    head = site(tmp_path / "head", {"index.html": html("a"), "x/index.html": html("b", "c")})
    result = run(tmp_path / "no-base", head, "--base-label", "main", "--base-note", "目标分支没有 make build 任务")
    assert result.returncode == 0, result.stderr
    assert "没有可比较的 `main` 站点**：目标分支没有 make build 任务。" in result.stdout
    assert "- `x/`（2 个输出块，0 张图）" in result.stdout and "- `/`（1 个输出块，0 张图）" in result.stdout
    assert run(tmp_path / "no-base", tmp_path / "no-head").returncode == 2


def test_tables_are_compared_row_by_row(tmp_path):
    def table(value: str) -> str:
        return html(
            f"</code></pre><table><tr><th>表达式</th><th>dtype</th></tr><tr><td>x</td><td>{value}</td></tr></table><pre><code>"
        )

    base = site(tmp_path / "base", {"p/index.html": table("torch.float32")})
    head = site(tmp_path / "head", {"p/index.html": table("torch.float64")})
    summary = run(base, head).stdout
    assert " | 表达式 | dtype |\n-| x | torch.float32 |\n+| x | torch.float64 |" in summary
