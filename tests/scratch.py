"""A scratch copy of the site with only the pages a test writes, built with the real configuration and hooks;
and the `built` fixture, which builds such copies ahead of the tests that read them (see `ahead`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT

PAGE_FENCE = '```python exec="on" source="block" result="text" session="{session}"\n--8<-- "{include}"\n```\n'


def page_with_blocks(title: str, session: str, includes: list[str]) -> str:
    return f"# {title}\n\n" + "\n".join(PAGE_FENCE.format(session=session, include=i) for i in includes)


def scratch_repo(tmp_path: Path, files: dict[str, str | bytes], nav: list[str]) -> Path:
    """Copy config, hooks, theme overrides and shared snippets; add `files`; the nav lists `nav` only."""
    root = tmp_path / "repo"
    root.mkdir(parents=True)
    for name in ("hooks", "overrides", "snippets/_shared"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for asset in (ROOT / "docs").rglob("*"):
        if asset.is_file() and asset.suffix not in {".md", ".ipynb"}:
            (root / asset.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(asset, root / asset.relative_to(ROOT))
    shutil.copy2(ROOT / "Makefile", root / "Makefile")
    for venv in (".venv", ".venv-notes"):  # the two environments (hooks/exec_isolated.py)
        (root / venv).symlink_to(ROOT / venv)
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = config[: config.index("\nnav:")] + "\nnav:\n" + "".join(f"  - {p}\n" for p in nav)
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    files.setdefault("docs/index.md", "# 首页\n\n试验站点。\n")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def make_build(root: Path, env: dict | None = None, *, timeout: float = 300) -> subprocess.CompletedProcess:
    """`make build` as CI and the deploy job run it (the venvs are the real ones, not set up again).

    Fault tests run the current environment only (DOCS_EXEC_ENVS=current): the sandbox is the same
    for both, and tests/test_versions.py builds with both. A build that does not end within `timeout`
    (an orphan holding its output open, say) fails the test instead of hanging it."""
    full_env = {
        **os.environ,
        "DOCS_EXEC_CACHE": str(root / ".cache" / "exec"),
        "DOCS_EXEC_ENVS": "current",
        **(env or {}),
    }
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv-notes/.installed", "build"],
        cwd=root,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def result_blocks(html: str) -> list[str]:
    return re.findall(r'<div class="result"[^>]*>.*?</div>', html, flags=re.S)


# -- Builds ahead -----------------------------------------------------------------------------------------

# A scratch build keeps about one core busy, most of it in its sandbox importing torch: two run side by side in
# about the time of one on two cores. A test names its builds with this marker; they are made ahead, two at a
# time, and the test reads them from the `built` fixture.
AT_ONCE = 2


def ahead(**builds: tuple) -> pytest.MarkDecorator:
    """`@ahead(name=(files, nav), other=(files, nav, env))`: the scratch builds (scratch_repo, then make_build
    with `env`) that the test reads as `built[name]`: (the scratch repository, the finished `make build`)."""
    return pytest.mark.scratch_builds(**builds)


@pytest.fixture(scope="session")
def _builds_ahead(tmp_path_factory):
    """Every selected test's `ahead` builds, started when the first of those tests runs, in test order."""
    pool = ThreadPoolExecutor(max_workers=AT_ONCE, thread_name_prefix="scratch-build")
    started: dict[str, dict] = {}

    def start(items) -> None:
        for item in items:
            marker = item.get_closest_marker("scratch_builds")
            if marker is None or item.nodeid in started:
                continue
            started[item.nodeid] = {}
            for name, spec in marker.kwargs.items():
                files, nav, env = (*spec, None)[:3]
                folder = tmp_path_factory.mktemp("ahead")

                def build(folder=folder, files=files, nav=nav, env=env):
                    root = scratch_repo(folder, dict(files), nav)
                    return root, make_build(root, env)

                started[item.nodeid][name] = pool.submit(build)

    yield started, start
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def built(request, _builds_ahead) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """This test's `ahead` builds by name, each waited for: (the scratch repository, the finished `make build`)."""
    started, start = _builds_ahead
    items = request.session.items
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker runs whole modules (--dist loadfile), not all of them
        items = [item for item in items if item.path == request.node.path]
    start(items)
    return {name: future.result() for name, future in started[request.node.nodeid].items()}
