"""MkDocs hook: under `mkdocs serve --dirty` (`make serve`), an edit rebuilds what it changed, and only that.

MkDocs' dirty build re-renders a page only when its Markdown file is newer than its HTML. That alone
would miss edits that change a page without touching its Markdown, and would leave the search index
holding only the pages just rebuilt. This hook makes the dirty build correct:

- a page is rebuilt when its Markdown or any snippet file it includes (``--8<-- "area/note.py:..."``)
  changed since its HTML was written: its HTML's time stamp is set back, so MkDocs sees it as stale;
- every page is rebuilt when anything that all pages share changed: mkdocs.yml, hooks/, overrides/,
  the navigation, a page added or removed;
- the search index keeps the entries of the pages not rebuilt and takes the new ones of those rebuilt;
- the theme's templates are compiled once per session, not on every rebuild: MkDocs makes a new Jinja
  environment for each build, so the compiled code is kept in a Jinja bytecode cache, which checks each
  template's source and compiles an edited template (``overrides/``) again.

``make build`` and a plain ``mkdocs serve`` are clean builds: this hook does nothing there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import jinja2

INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<path>[^":]+)(?::[\w-]+)?"\s*$', re.M)
SHARED_INPUTS = ("mkdocs.yml", "hooks", "overrides")
INDEX = Path("search") / "search_index.json"

_state: dict = {"dirty": False, "shared": None, "nav": None, "rebuilt": {}, "seen": 0, "old_index": None}


def on_startup(command, dirty, **_):
    _state["dirty"] = command == "serve" and dirty


def _shared_fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for name in SHARED_INPUTS:
        path = root / name
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
        )
        for file in files:
            if file.exists():
                digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _stale(dest: Path) -> None:
    """Mark a page's HTML as older than any source, so the dirty build renders it again."""
    if dest.exists():
        os.utime(dest, (0, 0))


def on_files(files, config, **_):
    if not _state["dirty"]:
        return files
    root = Path(config.config_file_path).resolve().parent
    site = Path(config.site_dir)
    pages = list(files.documentation_pages())
    shared = _shared_fingerprint(root) + "\0" + "\0".join(sorted(page.src_uri for page in pages))
    everything = shared != _state["shared"]
    _state["shared"] = shared
    _state["everything"] = everything
    snippets = root / "snippets"
    for page in pages:
        dest = site / page.dest_uri
        if everything or not dest.exists():
            _stale(dest)
            continue
        if page.abs_src_path is None or not page.src_uri.endswith(".md"):
            continue
        text = Path(page.abs_src_path).read_text(encoding="utf-8", errors="replace")
        built = dest.stat().st_mtime
        for match in INCLUDE.finditer(text):
            source = snippets / match["path"]
            if source.exists() and source.stat().st_mtime >= built:
                _stale(dest)
                break
    return files


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's bytecode cache, in memory: the session's compiled templates, keyed by name and source."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_templates = _CompiledTemplates()


def on_env(env, **_):
    if _state["dirty"]:
        env.bytecode_cache = _templates
    return env


def on_nav(nav, config, files, **_):
    if not _state["dirty"]:
        return nav
    titles = json.dumps([(page.file.src_uri, page.title) for page in nav.pages], ensure_ascii=False)
    if titles != _state["nav"]:  # a renamed or moved entry changes every page's navigation
        site = Path(config.site_dir)
        if _state["nav"] is not None:
            _state["everything"] = True
            for page in files.documentation_pages():
                _stale(site / page.dest_uri)
        _state["nav"] = titles
    return nav


def on_pre_build(config, **_):
    _state["rebuilt"] = {}
    _state["seen"] = 0
    _state["old_index"] = None
    index = Path(config.site_dir) / INDEX
    if _state["dirty"] and index.is_file():
        _state["old_index"] = json.loads(index.read_text(encoding="utf-8"))


def _search_entries(config) -> list | None:
    plugin = config.plugins.get("material/search") or config.plugins.get("search")
    index = getattr(plugin, "search_index", None)
    return getattr(index, "entries", None)


def on_page_context(context, page, config, **_):
    """The search entries this build made for the page (the search plugin has just added them)."""
    entries = _search_entries(config)
    if entries is not None:
        _state["rebuilt"][page.url] = list(entries[_state["seen"] :])
        _state["seen"] = len(entries)
    return context


def on_post_build(config, **_):
    """Search index: the new entries of the pages rebuilt, the old entries of the others, in the old order."""
    old = _state["old_index"]
    path = Path(config.site_dir) / INDEX
    if old is None or _state.get("everything") or not path.is_file():
        return  # a clean build, or every page rebuilt: the search plugin's index is complete
    new = json.loads(path.read_text(encoding="utf-8"))
    rebuilt: dict[str, list] = _state["rebuilt"]
    merged, placed = [], set()
    for entry in old["docs"]:
        location = entry["location"].split("#", 1)[0]
        if location not in rebuilt:
            merged.append(entry)
        elif location not in placed:
            merged += rebuilt[location]
            placed.add(location)
    merged += [entry for location, entries in rebuilt.items() if location not in placed for entry in entries]
    new["docs"] = merged
    path.write_text(json.dumps(new, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
