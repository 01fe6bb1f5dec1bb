"""The session's other full builds, run in the background once the `site` build is done, so that they run beside
the tests instead of in front of them, in this order:

- the file:// variant (`make offline`, tests/test_browser.py), rendered from the `site` build's execution cache;
- a fresh clone built with an empty cache and no network (tests/test_build_integrity.py). It needs nothing from
  the session, but it does not run beside the `site` build: two notebook kernels busy at the same moment make
  the one race the build does not yet shut out likelier (a cell's print can reach the page as two outputs);
- the two Pages builds (tests/test_deploy.py, tests/test_reader_build.py), rendered from the cache.

Only the builds that the collected tests use are started; the fixture that reads a build waits for it and fails
with its log, exactly as when it built in front. Under pytest-xdist every worker queues them, and each is made
once: the first worker to reach it builds it, the others wait for it and read its result (conftest.made_once).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import BIN, ROOT, made_once, shared_folder

PLANTED = "ghp_PLANTEDfakeTOKEN0123456789abcdefXYZ"  # in the offline clone build's environment, never published

# The Pages deployments: the base URL that `actions/configure-pages` gives (no trailing slash) for a project page
# and for a user page, and the path each is served under; the repository the workflow's build names.
PUBLIC_HOST = "https://octo.github.io"
DEPLOYMENTS = {
    "project": (f"{PUBLIC_HOST}/pytorch-notes", "/pytorch-notes/"),
    "user": (PUBLIC_HOST, "/"),
}
REPOSITORY = "https://github.com/octo/pytorch-notes"
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv-notes/.installed"]


class Behind:
    """Builds run one after another in a background thread; each is a Future of its finished process."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="build-behind")
        self.running: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.closed = False

    def run(self, command: list[str], *, cwd: Path, env: dict, folder: Path, before=None) -> Future:
        """Queue `command` (after `before()`, a preparation run in the same thread). It runs once for all the
        pytest-xdist workers: its finished process is kept in `folder` (conftest.made_once)."""

        def job() -> subprocess.CompletedProcess:
            if before:
                before()
            with self.lock:
                if self.closed:
                    raise RuntimeError("the session ended before this build started")
                process = subprocess.Popen(
                    command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
                self.running.add(process)
            try:
                stdout, stderr = process.communicate()
            finally:
                with self.lock:
                    self.running.discard(process)
            return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

        return self.pool.submit(made_once, folder, job)

    def close(self) -> None:
        """At the end of the session: nothing more starts, and a build still running is stopped."""
        with self.lock:
            self.closed = True
            for process in self.running:
                process.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)


def wanted(request, fixture: str) -> bool:
    """Whether a collected test of this session uses `fixture` (directly or through another fixture)."""
    return any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items)


def finished(future: Future) -> subprocess.CompletedProcess:
    """The finished build (pytest-timeout bounds the wait)."""
    return future.result()


@pytest.fixture(scope="session")
def behind():
    queue = Behind()
    yield queue
    queue.close()


# -- The fresh clone, built with no network ------------------------------------------------------------------


def worktree_onto(clone: Path) -> None:
    """The working tree's uncommitted state onto a clone of HEAD: its changed and new files (those git does not
    ignore) copied, its deleted files deleted. The clone then builds from the very sources of the session's
    build, at the same commit, marked uncommitted (未提交) exactly when the working tree is."""

    def listed(*options: str) -> list[str]:
        out = subprocess.run(["git", "ls-files", "-z", *options], cwd=ROOT, capture_output=True, check=True).stdout
        return [name for name in out.decode().split("\0") if name]

    for name in listed("--cached", "--others", "--exclude-standard"):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    for name in listed("--deleted"):
        (clone / name).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def offline_clone_build(site, behind, tmp_path_factory) -> tuple[Path, Future]:
    """A fresh clone (HEAD and the working tree's changes), its `make build` queued with an empty cache (its
    own, not the `site` build's) inside a network namespace with no network at all, and a planted token in its
    environment: (the clone, the build's Future)."""
    base = shared_folder(tmp_path_factory, "offline-clone")
    clone = base / "clone"
    probe = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0 and "unshare" not in probe.stderr.split(":")[0], (
        "the build could not be isolated from the network (unshare -rn): " + probe.stderr
    )

    def make_clone() -> None:  # the working tree as it is once the `site` build is done
        shutil.rmtree(base / "cache", ignore_errors=True)
        shutil.rmtree(clone, ignore_errors=True)
        subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(clone)], check=True)
        worktree_onto(clone)
        (clone / ".venv").symlink_to(ROOT / ".venv")
        (clone / ".venv-notes").symlink_to(ROOT / ".venv-notes")

    env = {**os.environ, "DOCS_EXEC_CACHE": str(base / "cache"), "NO_MKDOCS_2_WARNING": "1", "GITHUB_TOKEN": PLANTED}
    return clone, behind.run(["unshare", "-rn", *MAKE, "build"], cwd=clone, env=env, folder=base, before=make_clone)


# -- Variants of the site, rendered from the session build's cache -------------------------------------------


def rendering_env() -> dict:
    """The environment of a build that renders from the `site` build's cache (conftest sets DOCS_EXEC_CACHE)."""
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


@pytest.fixture(scope="session")
def offline_build(site, behind, tmp_path_factory) -> tuple[Path, Future]:
    """`make offline` as the README gives it, queued in a copy of the site's sources: (the copy, the Future)."""
    folder = shared_folder(tmp_path_factory, "offline")
    root = folder / "repo"

    def copy_sources() -> None:
        shutil.rmtree(root, ignore_errors=True)
        for name in ("docs", "snippets", "hooks", "overrides"):
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("mkdocs.yml", "mkdocs-offline.yml", "Makefile"):
            shutil.copy2(ROOT / name, root / name)
        (root / ".venv").symlink_to(BIN.parent)
        (root / ".venv-notes").symlink_to(ROOT / ".venv-notes")

    return root, behind.run([*MAKE, "offline"], cwd=root, env=rendering_env(), folder=folder, before=copy_sources)


@pytest.fixture(scope="session")
def pages_builds(site, behind, tmp_path_factory) -> dict[str, tuple[Path, Future]]:
    """The Pages builds as pages.yml runs them, queued: kind -> (the site folder, the Future)."""
    started = {}
    for kind, (base_url, _) in sorted(DEPLOYMENTS.items()):
        folder = shared_folder(tmp_path_factory, f"pages-{kind}")
        target = folder / "site"
        env = {**rendering_env(), "SITE_URL": base_url, "REPO_URL": REPOSITORY, "EDIT_URI": "edit/main/docs/"}
        command = [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(target)]
        started[kind] = (target, behind.run(command, cwd=ROOT, env=env, folder=folder))
    return started


@pytest.fixture(scope="session")
def pages_site(pages_builds):
    """`pages_site("project")` or `pages_site("user")`: the site as pages.yml builds it for that deployment
    (SITE_URL from configure-pages, the repository and its edit links known), once per session:
    tests/test_deploy.py serves and crawls it, tests/test_reader_build.py reads its repository links."""

    def built(kind: str) -> Path:
        target, future = pages_builds[kind]
        done = finished(future)
        assert done.returncode == 0, done.stderr[-5000:]
        return target

    return built


@pytest.fixture(scope="session")
def offline_site(offline_build) -> Path:
    """`make offline` as the README gives it, in a copy of the site's sources: the file:// variant lands in
    site-offline/, whole, with no partial left."""
    root, future = offline_build
    done = finished(future)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    assert not (root / "site-offline.partial").exists()
    return root / "site-offline"


# -- Starting them -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def builds_ahead(request, clean_build_environment):
    """Queue, in this order, the background builds that this session's tests will read (each of them waits for
    the `site` build first)."""
    for reader, build in (
        ("offline_site", "offline_build"),
        ("offline_clone_site", "offline_clone_build"),
        ("pages_site", "pages_builds"),
    ):
        if wanted(request, reader):
            request.getfixturevalue(build)
