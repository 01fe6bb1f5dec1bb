"""Chinese copy lint: spaces between Chinese and Latin letters or numbers, full-width punctuation.

autocorrect-py (the Python binding of autocorrect) has no command line of its own, so this is one:

    python scripts/lint_zh.py FILE...          report `file:line:col: old -> new` and exit 1 if any
    python scripts/lint_zh.py --fix FILE...    rewrite the files in place, then report what is left

Markdown is read the way the site renders it: the bodies of admonitions (`!!!`, `???`) and content
tabs (`===`) are indented by four spaces, which plain Markdown (and so autocorrect) would take for
indented code and skip; they are un-indented before linting, so a 实测勘误 box is checked like any
paragraph. Code spans, fenced code and links are left to autocorrect's own Markdown rules (it checks
only the comments and strings inside code). A line or a block can opt out with autocorrect's own
comments: `<!-- autocorrect-disable -->` ... `<!-- autocorrect-enable -->`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import autocorrect_py

CONTAINER = re.compile(r"^(?:!!!|\?\?\?\+?|===)\s")  # admonition, collapsible admonition, content tab
FENCE = re.compile(r"^(```|~~~)")


def unindent_containers(text: str) -> tuple[list[str], list[int]]:
    """The lines with container bodies moved left, and how many spaces each line lost."""
    lines = text.split("\n")
    out: list[str] = []
    removed: list[int] = []
    stack: list[int] = []  # the indentation of each open container's marker line
    fence: str | None = None
    for line in lines:
        if not line.strip():
            out.append("")
            removed.append(0)
            continue
        indent = len(line) - len(line.lstrip(" "))
        if fence is None:
            while stack and indent < stack[-1] + 4:
                stack.pop()
        cut = min(4 * len(stack), indent)
        body = line[cut:]
        out.append(body)
        removed.append(cut)
        marker = FENCE.match(body.lstrip(" "))
        if marker:
            fence = None if fence == marker[1] else fence or marker[1]
        elif fence is None and CONTAINER.match(body):
            stack.append(indent)
    return out, removed


def lint(path: Path, fix: bool) -> list[str]:
    """Problems in one file as `path:line:col: old -> new`; with fix, the file is rewritten first."""
    original = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".md", ".markdown"}:
        lines, removed = unindent_containers(original)
    else:
        lines, removed = original.split("\n"), [0] * original.count("\n") + [0]
    result = autocorrect_py.lint_for("\n".join(lines), path.name)
    problems = []
    fixed = original.split("\n")
    for item in result.lines:
        index = item.line - 1
        start = removed[index]
        problems.append(f"{path}:{item.line}:{item.col + start}: {item.old!r} -> {item.new!r}")
        head, tail = fixed[index][:start], fixed[index][start:]
        if item.old in tail:
            fixed[index] = head + tail.replace(item.old, item.new, 1)
    if fix and problems:
        path.write_text("\n".join(fixed), encoding="utf-8")
        return lint(path, fix=False)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fix", action="store_true", help="rewrite the files in place")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    problems = [problem for path in args.files for problem in lint(path, args.fix)]
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"{len(problems)} line(s) need a space between Chinese and Latin letters or numbers, or full-width "
            "punctuation (python scripts/lint_zh.py --fix FILE rewrites them)",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
