"""The execution cache never publishes a stale output, and a fully cached build needs no torch at all."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import BIN, ROOT
from scratch import make_build, page_with_blocks, result_blocks, scratch_repo

SNIPPET = """\
# --8<-- [start:first]
import torch

torch.manual_seed({seed})
values = torch.rand(3)
# --8<-- [end:first]

# --8<-- [start:second]
print(values * {factor})
# --8<-- [end:second]
"""


def two_pages(tmp_path: Path) -> Path:
    files = {
        "docs/demo/one.md": page_with_blocks("一", "demo/one", ["demo/one.py:first", "demo/one.py:second"]),
        "snippets/demo/one.py": SNIPPET.format(seed=0, factor=2),
        "docs/demo/two.md": page_with_blocks("二", "demo/two", ["demo/two.py:first", "demo/two.py:second"]),
        "snippets/demo/two.py": SNIPPET.format(seed=5, factor=3),
    }
    return scratch_repo(tmp_path, files, ["index.md", "demo/one.md", "demo/two.md"])


def build(root: Path, **env) -> dict:
    report = root / "report.json"
    result = make_build(root, env={"DOCS_EXEC_REPORT": str(report), **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(report.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def first_build(tmp_path_factory) -> Path:
    """The two-page site after its first build, from an empty cache: every block ran (in the current
    environment, as make_build runs it). Built once for the module; each test starts from a copy."""
    root = two_pages(tmp_path_factory.mktemp("first-build"))
    report = build(root)
    assert report["executed"] == 4 and report["cached"] == 0, report
    return root


@pytest.fixture
def built(first_build, tmp_path) -> Path:
    """A copy of the first build's folder, its cache and site included: each test edits and builds its own."""
    root = tmp_path / "repo"
    shutil.copytree(first_build, root, symlinks=True)
    return root


def test_unchanged_build_is_fully_cached_and_identical(built):
    root = built
    first = {p: p.read_bytes() for p in (root / "site").rglob("*") if p.is_file()}
    assert len(first) > 10, sorted(first)
    report = build(root)
    assert report["executed"] == 0 and report["cached"] == 4
    second = {p: p.read_bytes() for p in (root / "site").rglob("*") if p.is_file()}
    assert first == second


def test_editing_a_snippet_changes_the_page_and_only_that_page_runs(built):
    root = built
    before = result_blocks((root / "site/demo/one/index.html").read_text(encoding="utf-8"))
    snippet = root / "snippets/demo/one.py"
    snippet.write_text(SNIPPET.format(seed=0, factor=100), encoding="utf-8")
    report = build(root)
    # page one: the edited block and the earlier block it depends on (replayed); page two: from the cache
    assert report["executed"] == 1 and report["cached"] == 3
    after = result_blocks((root / "site/demo/one/index.html").read_text(encoding="utf-8"))
    assert before != after
    import torch

    torch.manual_seed(0)
    expected = str(torch.rand(3) * 100)
    assert expected in after[-1] and expected not in before[-1]


def test_editing_an_earlier_block_reruns_the_later_ones(built):
    root = built
    snippet = root / "snippets/demo/two.py"
    snippet.write_text(SNIPPET.format(seed=5, factor=3).replace("manual_seed(5)", "manual_seed(1)"), encoding="utf-8")
    report = build(root)
    assert report["executed"] == 2 and report["cached"] == 2
    import torch

    torch.manual_seed(1)
    assert str(torch.rand(3) * 3) in (root / "site/demo/two/index.html").read_text(encoding="utf-8")


def test_a_changed_package_version_invalidates(built):
    """The notes' environment replaced by another (other torch, other NumPy): its blocks run again, the current
    environment's come from the cache."""
    root = built
    both = {"DOCS_EXEC_ENVS": "notes,current"}
    first = build(root, **both)  # the notes' environment runs for the first time; the current one is cached
    assert first["executed"] == 4 and first["cached"] == 4, first
    (root / ".venv-notes").unlink()
    (root / ".venv-notes").symlink_to(ROOT / ".venv")  # now "笔记版本" has the current versions
    report = build(root, **both)
    assert report["executed"] == 4 and report["cached"] == 4


def test_torchvision_is_preloaded_only_once_a_snippet_imports_it(built):
    """The sandbox's server imports torchvision (1.7 s) only for a site whose snippets import it. The preload is
    part of every output's cache key: a block sees what was imported before it ran, so the outputs run again."""
    root = built
    probe = root / "snippets/demo/one.py"
    probe.write_text(
        probe.read_text(encoding="utf-8").replace(
            "print(values", 'import sys\nprint("torchvision" in sys.modules, values'
        ),
        encoding="utf-8",
    )
    report = build(root)
    assert report["executed"] == 1 and report["cached"] == 3, report  # the edited block
    assert "False tensor" in (root / "site/demo/one/index.html").read_text(encoding="utf-8")
    (root / "snippets/demo/vision.py").write_text("# --8<-- [start:load]\nimport torchvision\n# --8<-- [end:load]\n")
    report = build(root)
    assert report["executed"] == 4 and report["cached"] == 0, report  # nothing from the cache
    assert "True tensor" in (root / "site/demo/one/index.html").read_text(encoding="utf-8")


def test_fully_cached_build_never_imports_torch(built, tmp_path):
    """A fully cached build starts no sandbox, so nothing imports torch: a `bwrap` that refuses to run, first on
    PATH, does not stop it; with an empty cache the same build fails on it."""
    root = built
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "bwrap").write_text('#!/bin/sh\necho "bwrap was started" >&2\nexit 97\n', encoding="utf-8")
    (fake / "bwrap").chmod(0o755)
    path = f"{fake}:{os.environ['PATH']}"
    report = build(root, PATH=path)
    assert report["executed"] == 0 and report["cached"] == 4
    result = make_build(root, env={"PATH": path, "DOCS_EXEC_CACHE": str(tmp_path / "empty")})
    assert result.returncode != 0
    assert "bwrap was started" in result.stdout + result.stderr


def test_cache_off_executes_everything(built):
    root = built
    assert build(root, DOCS_EXEC_CACHE="off")["executed"] == 4


def test_serve_prose_edit_runs_no_code_and_snippet_edit_runs_one_page(built):
    root = built  # its cache filled, as an earlier serve session would have
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "DOCS_EXEC_CACHE": str(root / ".cache" / "exec"),
        "DOCS_EXEC_ENVS": "current",  # as build() (tests/scratch.py)
    }
    server = subprocess.Popen(
        [str(BIN / "mkdocs"), "serve", "--dev-addr", "127.0.0.1:0", "--livereload"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout], daemon=True).start()
    seen: list[str] = []

    def wait_for(text: str) -> str:
        """The next log line holding `text` (each line is read as mkdocs writes it: no polling)."""
        while True:
            try:
                line = lines.get(timeout=180)
            except queue.Empty:
                raise AssertionError("".join(seen)[-3000:]) from None
            seen.append(line)
            if text in line:
                return line

    try:
        assert "executed 0 python blocks" in wait_for("python blocks")
        # mkdocs starts its file watcher, then says so: only an edit made after this line is seen.
        wait_for("Watching paths for changes")
        page = root / "docs/demo/one.md"
        page.write_text(page.read_text(encoding="utf-8") + "\n只改了文字。\n", encoding="utf-8")
        assert "executed 0 python blocks" in wait_for("python blocks")
        (root / "snippets/demo/two.py").write_text(SNIPPET.format(seed=5, factor=7), encoding="utf-8")
        third = wait_for("python blocks")
        assert "executed 1 python blocks" in third and "3 taken from the cache" in third
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
