"""Compare the executed outputs of two built sites, page by page, as a Markdown summary.

    python scripts/output_diff.py BASE_SITE HEAD_SITE [--base-label main] [--base-note TEXT] >> "$GITHUB_STEP_SUMMARY"

A page is a built HTML file with an `<article>`. Its executed outputs are markdown-exec's result blocks
(`.result`, beside a source shown with them) and the outputs shown without their source (`.exec-output`,
hooks/exec_isolated.py), compared as text, and its figures (`img.figure`), compared by a hash of their bytes:
the file beside the page that the build wrote (hooks/figures.py) or the data: URI of a small one. The summary lists the pages added, removed and changed, with a short unified diff of the
changed text outputs (truncated), for a pull request's reviewers. When the base could not be built
(BASE_SITE missing or empty), `--base-note` says why and only the head's pages are listed.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

MAX_DIFF_LINES = 40  # per page
MAX_LINE_CHARS = 200  # a long output line (a whole tensor on one line) is cut
MAX_SUMMARY_CHARS = 60_000  # GitHub allows 1 MiB per step summary; a review needs far less


@dataclass
class Figure:
    alt: str
    digest: str


@dataclass
class Page:
    results: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


def page_name(relative: Path) -> str:
    """`autograd/tensor-attributes/index.html` -> `autograd/tensor-attributes/`; the home page is `/`."""
    if relative.name == "index.html":
        return relative.parent.as_posix() + "/" if relative.parent.parts else "/"
    return relative.as_posix()


def block_text(block) -> str:
    """A result block as text: a table row per line (`| a | b |`), a figure as its alt text, blank runs collapsed."""
    block = BeautifulSoup(str(block), "html.parser")  # a copy: the page's tree stays as it was
    for table in block.find_all("table"):
        rows = [
            "| " + " | ".join(cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])) + " |"
            for row in table.find_all("tr")
        ]
        table.replace_with("\n" + "\n".join(rows) + "\n")
    for image in block.find_all("img"):
        image.replace_with(f"[图：{image.get('alt', '')}]")
    lines = [line.rstrip() for line in block.get_text().splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


def figure_digest(folder: Path, source: str) -> str:
    """A short hash of a figure's bytes: the file the src names beside the page, or the data: URI's payload."""
    if source.startswith("data:"):
        data = base64.b64decode(source.split(",", 1)[1])
    else:
        target = folder / source
        data = target.read_bytes() if target.is_file() else f"missing: {source}".encode()
    return hashlib.sha256(data).hexdigest()[:12]


def read_site(folder: Path) -> dict[str, Page]:
    """Every page of a built site (HTML files with an <article>) and its executed outputs."""
    pages: dict[str, Page] = {}
    if not folder.is_dir():
        return pages
    for path in sorted(folder.rglob("*.html")):
        soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "html.parser")
        article = soup.find("article")
        if article is None:
            continue
        page = Page()
        for block in article.select(".result, .exec-output"):
            page.results.append(block_text(block))
        for image in article.select("img.figure"):
            page.figures.append(Figure(image.get("alt", ""), figure_digest(path.parent, image.get("src", ""))))
        pages[page_name(path.relative_to(folder))] = page
    return pages


def joined(page: Page) -> list[str]:
    """A page's text outputs as one list of lines, each block under its number."""
    lines: list[str] = []
    for number, text in enumerate(page.results, 1):
        lines.append(f"## 输出 {number}")
        lines.extend(text.splitlines())
    return lines


def fenced(text: str, language: str = "") -> str:
    """A code fence longer than any run of backticks inside the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def describe(page: Page) -> str:
    return f"{len(page.results)} 个输出块，{len(page.figures)} 张图"


def figure_changes(base: Page, head: Page) -> list[str]:
    base_digests = [f.digest for f in base.figures]
    head_digests = [f.digest for f in head.figures]
    new = [f for f in head.figures if f.digest not in base_digests]
    gone = [f for f in base.figures if f.digest not in head_digests]
    lines = []
    for figure in new:  # a figure with the same alt text on both sides was redrawn; otherwise it is new
        old = next((f for f in gone if f.alt == figure.alt), None)
        if old is not None:
            gone.remove(old)
            lines.append(f"- 图片变了：「{figure.alt}」（`{old.digest}` → `{figure.digest}`）")
        else:
            lines.append(f"- 新的图片：「{figure.alt or '（无 alt）'}」（`{figure.digest}`）")
    lines += [f"- 去掉的图片：「{f.alt or '（无 alt）'}」（`{f.digest}`）" for f in gone]
    if not new and not gone and base_digests != head_digests:
        lines.append("- 图片相同，顺序变了")
    return lines


def text_changes(base: Page, head: Page, max_lines: int) -> list[str]:
    if base.results == head.results:
        return []
    diff = list(difflib.unified_diff(joined(base), joined(head), "base", "head", lineterm="", n=2))
    shown = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …" for line in diff[:max_lines]]
    if len(diff) > max_lines:
        shown.append(f"… 还有 {len(diff) - max_lines} 行差异没有显示")
    counts = f"{len(base.results)} → {len(head.results)} 个输出块"
    return [
        f"<details><summary>文本输出有变化（{counts}）</summary>",
        "",
        fenced("\n".join(shown), "diff"),
        "",
        "</details>",
    ]


def summary(base_dir: Path, head_dir: Path, base_label: str, base_note: str, max_lines: int) -> str:
    base, head = read_site(base_dir), read_site(head_dir)
    out = ["## 页面执行输出的变化", ""]
    if not head:
        return "\n".join([*out, f"本次构建的站点 `{head_dir}` 中没有页面。", ""])
    if not base:
        reason = base_note or f"`{base_dir}` 中没有页面"
        out += [f"**没有可比较的 `{base_label}` 站点**：{reason}。下面只列出本次构建的 {len(head)} 个页面。", ""]
        out += [f"- `{name}`（{describe(page)}）" for name, page in head.items()]
        return "\n".join([*out, ""])

    added = [name for name in head if name not in base]
    removed = [name for name in base if name not in head]
    changed = {}
    for name in head:
        if name in base:
            lines = figure_changes(base[name], head[name]) + text_changes(base[name], head[name], max_lines)
            if lines:
                changed[name] = lines
    same = len(head) - len(added) - len(changed)
    out.append(
        f"与 `{base_label}` 相比：新增 {len(added)} 页，删除 {len(removed)} 页，"
        f"执行输出有变化 {len(changed)} 页，不变 {same} 页。"
    )
    if base_note:
        out += ["", f"注意：{base_note}"]
    out.append("")
    if added:
        out += ["### 新增的页面", "", *[f"- `{name}`（{describe(head[name])}）" for name in added], ""]
    if removed:
        out += ["### 删除的页面", "", *[f"- `{name}`（{describe(base[name])}）" for name in removed], ""]
    if changed:
        out += ["### 执行输出有变化的页面", ""]
        for name, lines in changed.items():
            out += [f"#### `{name}`", "", *lines, ""]
    text = "\n".join(out)
    if len(text) > MAX_SUMMARY_CHARS:
        text = (
            text[:MAX_SUMMARY_CHARS].rsplit("\n#### ", 1)[0]
            + "\n\n（摘要太长，后面的页面省略了；下载 artifact 查看完整站点。）\n"
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the base branch's built site (may be missing)")
    parser.add_argument("head", type=Path, help="the pull request's built site")
    parser.add_argument("--base-label", default="base", help="what to call the base in the summary (its branch)")
    parser.add_argument("--base-note", default="", help="a note on the base build, e.g. why it is missing")
    parser.add_argument("--max-diff-lines", type=int, default=MAX_DIFF_LINES, help="diff lines shown per page")
    args = parser.parse_args(argv)
    if not args.head.is_dir():
        print(f"output_diff: no site at {args.head}", file=sys.stderr)
        return 2
    print(summary(args.base, args.head, args.base_label, args.base_note, args.max_diff_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
