"""`make check`: the quick loop before a pull request, about a minute with a warm execution cache.

1. lint: the checks of `make lint` (pre-commit) on the files changed since the branch left main;
2. build: a strict build with the execution cache (only changed code runs again), into .cache/check/site;
3. tests of what changed, run against that build: the page tests (tests/test_pages_*.py …) that name a changed
   page, each changed snippet run on its own, and changed test files, in two processes at once. A change to shared
   parts (hooks, theme, mkdocs.yml, snippets/_shared) selects every page test.

`make test` remains the whole suite (cold build, browser, integrity); CI runs it on every pull request.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SITE = ROOT / ".cache" / "check" / "site"
PAGE_TESTS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_page*.py"))
SHARED = ("hooks/", "overrides/", "snippets/_shared/", "mkdocs.yml", "requirements/", "tests/conftest.py")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def changed_files() -> list[str]:
    """Files changed since the branch left main (committed or not), and new files git does not ignore."""
    base = (
        next(
            (
                git("merge-base", "HEAD", ref)
                for ref in ("@{upstream}", "origin/main", "main")
                if git("rev-parse", "-q", "--verify", ref)
            ),
            "",
        )
        or "HEAD"
    )
    names = set(git("diff", "--name-only", base).splitlines()) | set(
        git("ls-files", "--others", "--exclude-standard").splitlines()
    )
    return sorted(name for name in names if name)


def page_of(name: str) -> str | None:
    """docs/autograd/x.md or snippets/autograd/x.py -> 'autograd/x'."""
    match = re.fullmatch(r"(?:docs/(.+)\.(?:md|ipynb)|snippets/(?!_shared/)(.+)\.py)", name)
    return (match[1] or match[2]) if match else None


def selected_tests(changed: list[str]) -> list[str]:
    """Test ids: the page tests that name a changed page, without their cases for other pages (a test
    parametrized over a module's pages keeps only the changed pages' cases), and each changed snippet's own run."""
    shared = any(name.startswith(SHARED) for name in changed)
    pages = {page for name in changed if (page := page_of(name))}
    changed_tests = {
        name for name in changed if re.fullmatch(r"tests/test_page\w*\.py", name) and (ROOT / name).is_file()
    }
    modules = (
        set(PAGE_TESTS)
        if shared
        else {t for t in PAGE_TESTS if any(p in (ROOT / t).read_text(encoding="utf-8") for p in pages)}
    )
    ids = []
    if modules | changed_tests:
        collected = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--collect-only",
                "-q",
                f"--built-site={SITE}",
                *sorted(modules | changed_tests),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.splitlines()
        for node in (line for line in collected if "::" in line):
            case = re.search(r"\[(.+)\]$", node)
            if shared or node.split("::")[0] in changed_tests or not case:
                ids.append(node)
            elif any(p == case[1] or p.endswith("/" + case[1]) or case[1].startswith(p) for p in pages):
                ids.append(node)
    # The current environment's run (the build has just run the snippet in both, in the sandbox); `make test`
    # runs it on its own in both.
    ids += [
        f"tests/test_site.py::test_snippet_runs_standalone[{name.removeprefix('snippets/')}-current]"
        for name in changed
        if name.startswith("snippets/") and name.endswith(".py") and (ROOT / name).is_file()
    ]
    return ids


def step(title: str, *commands: list[str], env: dict | None = None) -> None:
    """Run the commands at once (each keeps about one core busy), then print what each wrote, in turn."""
    print(f"\n== {title}", flush=True)
    started = time.monotonic()
    logs = [tempfile.TemporaryFile(mode="w+") for _ in commands]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        for command, log in zip(commands, logs, strict=True)
    ]
    codes = [process.wait() for process in processes]
    for log in logs:
        log.seek(0)
        print(log.read(), end="", flush=True)
    failed = next((code for code in codes if code), 0)
    print(f"== {title}: {'FAILED' if failed else 'ok'} in {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        sys.exit(failed)


def pytest(ids: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", f"--built-site={SITE}", *ids]


def main() -> None:
    changed = changed_files()
    existing = [name for name in changed if (ROOT / name).is_file()]
    print(f"changed since main: {len(changed)} files")
    if existing:
        step(
            "lint (changed files)",
            [str(BIN / "pre-commit"), "run", "--files", *existing],
            env={"PRE_COMMIT_HOME": str(ROOT / ".cache" / "pre-commit")},
        )
    with ThreadPoolExecutor(max_workers=1) as pool:
        selection = pool.submit(selected_tests, changed)  # pytest collects the page tests while the site builds
        step("strict build (execution cache)", [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(SITE)])
        tests = selection.result()
    if tests:
        # Two pytest processes side by side: the changed snippets run as scripts (warning-free), and the page tests.
        scripts = [i for i in tests if i.startswith("tests/test_site.py::")]
        pages = [i for i in tests if i not in scripts]
        step("tests of what changed", *(pytest(group) for group in (pages, scripts) if group))
    else:
        print("\n== no page, snippet or page test changed: no page tests to run")


if __name__ == "__main__":
    main()
