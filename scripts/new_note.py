"""Start a new note: its page, its snippet file and its nav entry, ready to build and test.

    make new-note SECTION=张量基础 AREA=tensor-basics NAME=my-note TITLE="标题"
    python scripts/new_note.py --section 张量基础 --area tensor-basics --name my-note --title 标题

- AREA is the folder under docs/ and snippets/, NAME the file stem (both kebab-case: `my-note`);
- TITLE is the page title, shown as the page's heading and in the nav;
- SECTION is the nav section (its Chinese title). It may be left out when AREA already has a section;
  a new section is added at the end of the nav.

It writes docs/<area>/<name>.md (the standard fence, session = the page's path) and
snippets/<area>/<name>.py (seeded, one named section with an assert), and inserts one line into
mkdocs.yml's nav, editing the text in place (comments and `!ENV` tags stay as they are). Nothing is
overwritten: if a file or the nav entry exists already, nothing at all is written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ITEM = re.compile(r"""^(?P<indent> *)- (?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|.+?):(?: +(?P<value>.*?))?\s*$""")
SECTION_NAME = "first_look"

PAGE = """\
# {title}

<!-- 把笔记原文整理成几段话写在这里；每一个说法都用下面的代码验证，输出由构建时执行得到。 -->

先看一个例子：随机数在每页开始时固定了种子，所以每次构建得到的数值都一样。

```python exec="on" source="block" result="text" session="{session}"
--8<-- "{session}.py:{section}"
```
"""

SNIPPET = '''\
"""{title}：这一页的全部代码。每一节对应页面上的一个代码块，可以单独运行：python snippets/{session}.py"""

import torch

torch.manual_seed(0)

# --8<-- [start:{section}]
import torch

x = torch.rand(2, 3)
print(f"x.shape = {{tuple(x.shape)}}")
print(x)
assert x.shape == (2, 3)  # 笔记中的每个说法，都在显示它的输出旁边用 assert 检查
assert 0 <= x.min() and x.max() < 1
# --8<-- [end:{section}]
'''


class NoteError(Exception):
    """A reason to write nothing."""


class _EnvTagLoader(yaml.SafeLoader):
    """Reads mkdocs.yml (its `!ENV` tags become None): only to check the nav after the edit."""


_EnvTagLoader.add_constructor("!ENV", lambda loader, node: None)


def yaml_key(text: str) -> str:
    """The text as a YAML mapping key: plain when YAML reads it back unchanged, double-quoted otherwise."""
    try:
        if yaml.safe_load(f"{text}: x") == {text: "x"}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def unquote(key: str) -> str:
    loaded = yaml.safe_load(f"{key}: x")
    return str(next(iter(loaded))) if isinstance(loaded, dict) else key


def nav_block(lines: list[str]) -> tuple[int, int]:
    """The first and one-past-last line index of the `nav:` block."""
    start = next((i for i, line in enumerate(lines) if re.match(r"^nav:\s*$", line)), None)
    if start is None:
        raise NoteError("mkdocs.yml has no `nav:` block")
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "#"))):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # trailing blank lines belong to what follows
    return start, end


def sections(lines: list[str], start: int, end: int) -> tuple[int, list[dict]]:
    """The nav's top-level items: their indent, and for each section its title, lines and page folders."""
    items = [(i, ITEM.match(lines[i])) for i in range(start + 1, end)]
    items = [(i, m) for i, m in items if m]
    if not items:
        raise NoteError("mkdocs.yml's nav is empty")
    top = min(len(m["indent"]) for _, m in items)
    found: list[dict] = []
    for i, match in items:
        if len(match["indent"]) == top:
            section = {"title": unquote(match["key"]), "page": bool(match["value"]), "last": i, "indent": None}
            found.append({**section, "areas": set()})
        elif found:
            section = found[-1]
            section["last"] = i
            section["indent"] = section["indent"] or len(match["indent"])
            if match["value"]:
                section["areas"].add(match["value"].strip("'\"").split("/")[0])
    return top, found


def insert_nav_entry(text: str, section_title: str | None, area: str, title: str, path: str) -> tuple[str, str]:
    """mkdocs.yml with one nav line added, and the section it went into."""
    lines = text.split("\n")
    start, end = nav_block(lines)
    if re.search(rf":\s*['\"]?{re.escape(path)}['\"]?\s*$", "\n".join(lines[start:end]), re.M):
        raise NoteError(f"mkdocs.yml 的 nav 中已经有 {path}")
    top, found = sections(lines, start, end)
    by_area = [s for s in found if area in s["areas"]]
    if section_title is None:
        if not by_area:
            raise NoteError(f"{area}/ 还没有导航分组：请用 SECTION=... 给出新分组的中文标题")
        section_title = by_area[0]["title"]
    target = next((s for s in found if s["title"] == section_title), None)
    if target is not None and target["page"]:
        raise NoteError(f"nav 中的「{section_title}」是一个页面，不是分组")
    if target is not None and target["areas"] and area not in target["areas"]:
        folders = "、".join(sorted(target["areas"]))
        raise NoteError(f"分组「{section_title}」里是 {folders}/ 下的页面，不是 {area}/：一个分组对应一个目录")
    if target is None and by_area:
        raise NoteError(f"{area}/ 的页面已经在分组「{by_area[0]['title']}」下：SECTION 请写这个标题，或者省略")
    if target is not None:
        indent = target["indent"] or top + 4
        lines.insert(target["last"] + 1, f"{' ' * indent}- {yaml_key(title)}: {path}")
    else:
        children = next((s["indent"] for s in found if s["indent"]), top + 4)
        lines[end:end] = [f"{' ' * top}- {yaml_key(section_title)}:", f"{' ' * children}- {yaml_key(title)}: {path}"]
    new_text = "\n".join(lines)
    check_nav(new_text, section_title, title, path)
    return new_text, section_title


def check_nav(text: str, section_title: str, title: str, path: str) -> None:
    """The edited file still parses, and its nav holds the new page under its section."""
    try:
        nav = yaml.load(text, Loader=_EnvTagLoader).get("nav") or []  # a SafeLoader that knows `!ENV`
    except yaml.YAMLError as error:
        raise NoteError(f"编辑后的 mkdocs.yml 不是合法的 YAML（没有写入任何文件）：{error}") from None
    for item in nav:
        if isinstance(item, dict) and section_title in item:
            if {title: path} in (item[section_title] or []):
                return
    raise NoteError("编辑后的 mkdocs.yml 读不出新的导航条目（没有写入任何文件）")


def create(root: Path, section: str | None, area: str, name: str, title: str) -> list[str]:
    """Write the note's three changes (or nothing) and return what was done, one line each."""
    if not area and not name and not title:
        raise NoteError('用法：make new-note SECTION=张量基础 AREA=tensor-basics NAME=my-note TITLE="标题"')
    for label, value in (("AREA", area), ("NAME", name)):
        if not KEBAB.match(value or ""):
            raise NoteError(f"{label}={value!r} 不合规：只用小写字母、数字和连字符，例如 tensor-basics、my-note")
    for label, value in (("TITLE", title), ("SECTION", section)):
        if value is not None and (not value.strip() or "\n" in value or value != value.strip()):
            raise NoteError(f"{label}={value!r} 不合规：需要一行非空的标题，前后不带空格")
    session = f"{area}/{name}"
    page = root / "docs" / area / f"{name}.md"
    snippet = root / "snippets" / area / f"{name}.py"
    config = root / "mkdocs.yml"
    for path in (page, snippet):
        if path.exists():
            raise NoteError(f"{path.relative_to(root)} 已经存在：不覆盖已有文件")
    text = config.read_text(encoding="utf-8")
    new_text, section = insert_nav_entry(text, section, area, title, f"{session}.md")
    page.parent.mkdir(parents=True, exist_ok=True)
    snippet.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(PAGE.format(title=title, session=session, section=SECTION_NAME), encoding="utf-8")
    snippet.write_text(SNIPPET.format(title=title, session=session, section=SECTION_NAME), encoding="utf-8")
    config.write_text(new_text, encoding="utf-8")
    return [
        f'新建 docs/{session}.md（页面：标题、一个代码块，session="{session}"）',
        f"新建 snippets/{session}.py（代码：固定种子，一节 `{SECTION_NAME}`，带 assert）",
        f"mkdocs.yml：在导航分组「{section}」下加入 `{yaml_key(title)}: {session}.md`",
        f"下一步：make serve，打开 http://127.0.0.1:8000/{session}/ ；写完后 make lint 和 make test",
        "别忘了：首页 docs/index.md 的「笔记目录」表格里也加上这一页的链接",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", default=None, help="nav section title, e.g. 张量基础 (optional if AREA has one)")
    parser.add_argument("--area", required=True, help="folder under docs/ and snippets/, kebab-case")
    parser.add_argument("--name", required=True, help="file stem, kebab-case")
    parser.add_argument("--title", required=True, help="page title")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this repository)")
    args = parser.parse_args(argv)
    try:
        done = create(args.root, args.section or None, args.area, args.name, args.title)
    except NoteError as error:
        print(f"new-note: {error}", file=sys.stderr)
        return 1
    print("\n".join(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
