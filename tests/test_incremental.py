"""`make serve` rebuilds only what an edit changed, and what it serves equals a clean build.

A real `mkdocs serve --dirty` (as `make serve` runs it) on a scratch site of three pages: two share an
included snippet file. After each edit the test waits for the rebuild the server logs (no sleeps), then
reads pages over HTTP. At the end every page and the search index equal a clean build's.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from scratch import scratch_repo

FENCE = '```python exec="on" source="block" result="text" session="{page}"\n--8<-- "{include}"\n```\n'
PAGES = {
    "a/one": ["a/one.py:main", "common/shared.py:shared"],
    "a/two": ["a/two.py:main", "common/shared.py:shared"],
    "b/three": ["b/three.py:main"],
}


def section(name: str, code: str) -> str:
    return f"# --8<-- [start:{name}]\n{code}\n# --8<-- [end:{name}]\n"


def write_site(tmp_path: Path) -> Path:
    files = {"snippets/common/shared.py": section("shared", 'print("shared v1")')}
    for page, includes in PAGES.items():
        files[f"snippets/{page}.py"] = section("main", f'print("{page} v1")')
        fences = "\n".join(FENCE.format(page=page, include=include) for include in includes)
        files[f"docs/{page}.md"] = f"# 页面 {page}\n\n开头的文字。\n\n{fences}\n## 小节\n\n结尾的文字。\n"
    return scratch_repo(tmp_path, files, ["index.md", *(f"{page}.md" for page in PAGES)])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310  loopback
        return response.read().decode("utf-8")


class Server:
    def __init__(self, root: Path, port: int, env: dict) -> None:
        self.root, self.port = root, port
        self.log = root / "serve.log"
        self.process = subprocess.Popen(
            [str(root / ".venv/bin/mkdocs"), "serve", "--dirty", "--dev-addr", f"127.0.0.1:{port}"],
            cwd=root,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def builds(self) -> int:
        """Rebuilds so far: MkDocs logs "Reloading browsers" after each one. (Not "Documentation built in
        N seconds": MkDocs' DuplicateFilter drops that line when two builds take the same time.)"""
        return self.log.read_text(encoding="utf-8").count("Reloading browsers")

    def wait_for(self, condition, limit: float = 240) -> None:
        deadline = time.monotonic() + limit
        while not condition():
            assert self.process.poll() is None, self.log.read_text(encoding="utf-8")[-3000:]
            assert time.monotonic() < deadline, self.log.read_text(encoding="utf-8")[-3000:]
            time.sleep(0.05)  # polling interval of a wait on the server's log, not a synchronisation sleep

    def edit(self, path: Path, old: str, new: str) -> None:
        """Edit a file and wait for the rebuild that follows it (the watcher is running: see start)."""
        before = self.builds()
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        self.wait_for(lambda: self.builds() > before)

    def page(self, path: str) -> str:
        return fetch(f"http://127.0.0.1:{self.port}/{path}/")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def article(html: str) -> str:
    match = re.search(r"<article.*?</article>", html, re.S)
    assert match, html[:500]
    return match[0]


@pytest.fixture
def served(tmp_path):
    root = write_site(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "DOCS_EXEC_CACHE": str(root / ".cache/exec"),
        "DOCS_EXEC_ENVS": "current",
        "NO_MKDOCS_2_WARNING": "1",
    }
    server = Server(root, port, env)
    try:
        server.wait_for(lambda: "Watching paths for changes" in server.log.read_text(encoding="utf-8"))
        yield root, port, env, server
    finally:
        server.stop()


def test_edits_rebuild_only_what_changed_and_serve_a_clean_build(served):
    root, port, env, server = served
    assert "a/one v1" in server.page("a/one")

    # 1. Prose: only that page is rendered again; no code runs.
    server.edit(root / "docs/a/one.md", "开头的文字。", "开头的文字，改过了。")
    assert "改过了" in server.page("a/one")
    log = server.log.read_text(encoding="utf-8").rsplit("Building documentation", 1)[1]
    assert "executed 0 python blocks" in log

    # 2. A page's own snippet: that page runs again and shows the new output.
    server.edit(root / "snippets/b/three.py", 'print("b/three v1")', 'print("b/three v2")')
    assert "b/three v2" in server.page("b/three")

    # 3. A snippet file two pages include: both run again.
    server.edit(root / "snippets/common/shared.py", 'print("shared v1")', 'print("shared v2")')
    assert "shared v2" in server.page("a/one") and "shared v2" in server.page("a/two")

    # 4. A heading (a search entry) on one page.
    server.edit(root / "docs/a/two.md", "## 小节", "## 改名的小节")
    assert "改名的小节" in server.page("a/two")

    served_pages = {page: article(server.page(page)) for page in PAGES}
    served_index = json.loads(fetch(f"http://127.0.0.1:{port}/search/search_index.json"))

    clean = subprocess.run(
        [str(root / ".venv/bin/mkdocs"), "build", "--site-dir", str(root / "clean")],
        cwd=root,
        env={**env, "SITE_URL": f"http://127.0.0.1:{port}/"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert clean.returncode == 0, clean.stderr[-3000:]
    for page, html in served_pages.items():
        assert html == article((root / "clean" / page / "index.html").read_text(encoding="utf-8")), page
    clean_index = json.loads((root / "clean/search/search_index.json").read_text(encoding="utf-8"))
    assert served_index["docs"] == clean_index["docs"]
    # jieba's segmentation puts zero-width spaces between the words of an entry
    assert any("改名的小节" in entry["title"].replace("\u200b", "") for entry in served_index["docs"])
