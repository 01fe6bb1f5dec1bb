"""Compare the executed outputs of two builds, page by page, as a Markdown summary.

    DOCS_EXEC_RECORD=/tmp/base.json make build   # in the base branch's checkout
    DOCS_EXEC_RECORD=/tmp/head.json make build   # in the pull request's
    python scripts/output_diff.py /tmp/base.json /tmp/head.json [--base-label main] [--base-note TEXT] \\
        >> "$GITHUB_STEP_SUMMARY"

It reads the record each build writes with ``DOCS_EXEC_RECORD`` (hooks/exec_isolated.py: ``Runner.as_json``,
whose docstring gives the format), not the built pages: every block each page ran, with each environment's
output (the notes' PyTorch and the current one). A page is a page with executed code. Each environment's
outputs are compared as text, block by block (a block is named by its snippet section; a figure by its alt
text), and its figures by a hash of their bytes. The summary lists the pages added, removed and changed, with
a short unified diff of the changed text outputs (truncated) per environment (environments whose changes are
the same are listed together), and the environments whose versions changed, for a pull request's reviewers.
When the base could not be built (BASE_RECORD missing or unreadable), `--base-note` says why and only the
head's pages are listed.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAX_DIFF_LINES = 40  # per page and environment
MAX_LINE_CHARS = 200  # a long output line (a whole tensor on one line) is cut
MAX_SUMMARY_CHARS = 60_000  # GitHub allows 1 MiB per step summary; a review needs far less
IMG = re.compile(r"""<img\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
ATTRIBUTE = r"""\b{}\s*=\s*(?:"([^"]*)"|'([^']*)')"""
DATA_URI = re.compile(r"^data:[^;,]*(?:;base64)?,([^#]*)")


@dataclass
class Figure:
    alt: str
    digest: str


@dataclass
class Output:
    """One environment's view of a page: each block's text, and its figures."""

    results: list[tuple[str, str]] = field(default_factory=list)  # (block's name, text)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Record:
    environments: dict[str, dict]  # key -> {"label", "versions"}
    pages: dict[str, dict[str, Output]]  # src_uri -> environment key -> Output


def attribute(tag: str, name: str) -> str:
    match = re.search(ATTRIBUTE.format(name), tag)
    return (match[1] if match[1] is not None else match[2]) if match else ""


def figure(tag: str) -> Figure:
    """An <img> of an output: its alt text and a short hash of its bytes (a data: URI, as blocks print them)."""
    source = attribute(tag, "src")
    match = DATA_URI.match(source)
    data = base64.b64decode(match[1]) if match and ";base64," in source else source.encode()
    return Figure(attribute(tag, "alt"), hashlib.sha256(data).hexdigest()[:12])


def output_text(output: str) -> str:
    """An output as text: a figure as its alt text, table rows as printed (`| a | b |`), blank runs collapsed."""
    text = IMG.sub(lambda match: f"[图：{attribute(match[0], 'alt')}]", output)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def block_name(block: dict) -> str:
    where = Path(block.get("file", "")).name
    return f"{where}:{block['section']}" if block.get("section") else where or block.get("anchor", "")


def read_record(path: Path) -> Record | None:
    """The record a build wrote, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pages: dict[str, dict[str, Output]] = {}
    keys = list(data.get("environments", {}))
    for uri, page in data.get("pages", {}).items():
        blocks = page if isinstance(page, list) else page["blocks"]  # a list: the record before it had headings
        outputs = {key: Output() for key in keys}
        for block in blocks:
            for key, output in block["outputs"].items():
                side = outputs.setdefault(key, Output())
                side.results.append((block_name(block), output_text(output)))
                side.figures += [figure(tag) for tag in IMG.findall(output)]
        pages[uri] = outputs
    return Record(data.get("environments", {}), pages)


def joined(output: Output) -> list[str]:
    """An environment's text outputs of a page as one list of lines, each block under its name."""
    lines: list[str] = []
    for name, text in output.results:
        lines.append(f"## {name}")
        lines.extend(text.splitlines())
    return lines


def fenced(text: str, language: str = "") -> str:
    """A code fence longer than any run of backticks inside the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def describe(page: dict[str, Output]) -> str:
    shown = max((sum(1 for _, text in output.results if text) for output in page.values()), default=0)
    figures = max((len(output.figures) for output in page.values()), default=0)
    return f"{shown} 个输出块，{figures} 张图"


def figure_changes(base: Output, head: Output) -> list[str]:
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


def text_changes(base: Output, head: Output, max_lines: int) -> list[str]:
    if base.results == head.results:
        return []
    diff = list(difflib.unified_diff(joined(base), joined(head), "base", "head", lineterm="", n=2))
    if not diff:  # the same text under other block names only
        return []
    shown = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …" for line in diff[:max_lines]]
    if len(diff) > max_lines:
        shown.append(f"… 还有 {len(diff) - max_lines} 行差异没有显示")
    counts = f"{len(base.results)} → {len(head.results)} 个代码块"
    return [
        f"<details><summary>文本输出有变化（{counts}）</summary>",
        "",
        fenced("\n".join(shown), "diff"),
        "",
        "</details>",
    ]


def label(record: Record, key: str) -> str:
    env = record.environments.get(key, {})
    torch = env.get("versions", {}).get("torch")
    return f"{env.get('label', key)}（torch {torch}）" if torch else env.get("label", key)


def page_changes(base: dict[str, Output], head: dict[str, Output], head_record: Record, max_lines: int) -> list[str]:
    """Each environment's changes; environments whose changes are the same are listed once, together."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for key, output in head.items():
        lines = figure_changes(base.get(key, Output()), output) + text_changes(
            base.get(key, Output()), output, max_lines
        )
        if lines:
            groups.setdefault(tuple(lines), []).append(key)
    if len(groups) == 1 and len(next(iter(groups.values()))) == len(head):
        return list(next(iter(groups)))  # every environment changed alike (or there is one)
    out = []
    for lines, keys in groups.items():
        out += [f"{'、'.join(label(head_record, key) for key in keys)}：", "", *lines, ""]
    return out[:-1]


def environment_changes(base: Record, head: Record) -> list[str]:
    lines = []
    for key, env in head.environments.items():
        old = base.environments.get(key, {}).get("versions", {})
        new = env.get("versions", {})
        changed = [
            f"{name} {old.get(name, '—')} → {value}"
            for name, value in new.items()
            if name != "prefix" and old.get(name) != value
        ]
        if old and changed:
            lines.append(f"- {env.get('label', key)}：{'，'.join(changed)}")
    return lines


def summary(base_path: Path, head_path: Path, base_label: str, base_note: str, max_lines: int) -> str:
    base, head = read_record(base_path), read_record(head_path)
    out = ["## 页面执行输出的变化", ""]
    if head is None or not head.pages:
        return "\n".join([*out, f"本次构建的记录 `{head_path}` 中没有执行代码的页面。", ""])
    if base is None or not base.pages:
        reason = base_note or f"`{base_path}` 中没有执行记录"
        out += [f"**没有可比较的 `{base_label}` 记录**：{reason}。下面只列出本次构建的 {len(head.pages)} 个页面。", ""]
        out += [f"- `{name}`（{describe(page)}）" for name, page in head.pages.items()]
        return "\n".join([*out, ""])

    added = [name for name in head.pages if name not in base.pages]
    removed = [name for name in base.pages if name not in head.pages]
    changed = {}
    for name, page in head.pages.items():
        if name in base.pages:
            lines = page_changes(base.pages[name], page, head, max_lines)
            if lines:
                changed[name] = lines
    same = len(head.pages) - len(added) - len(changed)
    out.append(
        f"与 `{base_label}` 相比：新增 {len(added)} 页，删除 {len(removed)} 页，"
        f"执行输出有变化 {len(changed)} 页，不变 {same} 页。"
    )
    if base_note:
        out += ["", f"注意：{base_note}"]
    out.append("")
    environments = environment_changes(base, head)
    if environments:
        out += ["### 执行环境的版本有变化", "", *environments, ""]
    if added:
        out += ["### 新增的页面", "", *[f"- `{name}`（{describe(head.pages[name])}）" for name in added], ""]
    if removed:
        out += ["### 删除的页面", "", *[f"- `{name}`（{describe(base.pages[name])}）" for name in removed], ""]
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
    parser.add_argument("base", type=Path, help="the base branch build's record (DOCS_EXEC_RECORD; may be missing)")
    parser.add_argument("head", type=Path, help="the pull request build's record (DOCS_EXEC_RECORD)")
    parser.add_argument("--base-label", default="base", help="what to call the base in the summary (its branch)")
    parser.add_argument("--base-note", default="", help="a note on the base build, e.g. why it is missing")
    parser.add_argument("--max-diff-lines", type=int, default=MAX_DIFF_LINES, help="diff lines shown per page")
    args = parser.parse_args(argv)
    if read_record(args.head) is None:
        print(f"output_diff: no record at {args.head} (build with DOCS_EXEC_RECORD={args.head})", file=sys.stderr)
        return 2
    print(summary(args.base, args.head, args.base_label, args.base_note, args.max_diff_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
