"""Builds are reproducible, need no network, hold no secret, and link only to what exists; workflows are hardened."""

from __future__ import annotations

import filecmp
import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from conftest import BIN, ROOT
from scratch import make_build, page_with_blocks, scratch_repo

PLANTED = "ghp_PLANTEDfakeTOKEN0123456789abcdefXYZ"


@pytest.fixture(scope="module")
def offline_clone_site(tmp_path_factory) -> Path:
    """A fresh clone of HEAD, built with an empty cache inside a network namespace with no network at all."""
    base = tmp_path_factory.mktemp("offline")
    clone = base / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    probe = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0 and "unshare" not in probe.stderr.split(":")[0], (
        "the build could not be isolated from the network (unshare -rn): " + probe.stderr
    )
    env = {**os.environ, "DOCS_EXEC_CACHE": str(base / "cache"), "NO_MKDOCS_2_WARNING": "1", "GITHUB_TOKEN": PLANTED}
    result = subprocess.run(
        ["unshare", "-rn", "make", "--no-print-directory", "-o", ".venv/.installed", "build"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return clone / "site"


def test_build_needs_no_network(offline_clone_site: Path):
    assert (offline_clone_site / "index.html").is_file()
    assert (offline_clone_site / "sitemap.xml").is_file()


def test_two_clean_builds_are_byte_identical(site: Path, offline_clone_site: Path):
    """The session build (working tree) and a fresh clone's offline build: the same files, the same bytes."""

    def differences(left: Path, right: Path, comparison: filecmp.dircmp) -> list[str]:
        found = [f"only in one build: {name}" for name in comparison.left_only + comparison.right_only]
        found += [str(Path(comparison.left).relative_to(left) / name) for name in comparison.diff_files]
        for sub in comparison.subdirs.values():
            found += differences(left, right, sub)
        return found

    filecmp.clear_cache()
    comparison = filecmp.dircmp(site, offline_clone_site, ignore=[])
    # dircmp compares shallowly by stat; compare contents instead
    comparison.diff_files[:] = [
        n for n in comparison.common_files if not filecmp.cmp(site / n, offline_clone_site / n, shallow=False)
    ]
    found = differences(site, offline_clone_site, comparison)
    for path in offline_clone_site.rglob("*"):
        other = site / path.relative_to(offline_clone_site)
        if path.is_file() and other.is_file() and path.read_bytes() != other.read_bytes():
            found.append(str(path.relative_to(offline_clone_site)))
    assert not sorted(set(found)), sorted(set(found))[:20]


def test_no_environment_value_reaches_the_site(offline_clone_site: Path):
    """The offline build ran with a planted token in its environment: no byte of it is published."""
    for path in offline_clone_site.rglob("*"):
        if path.is_file():
            assert PLANTED.encode() not in path.read_bytes(), path


def test_snippets_see_no_secret(tmp_path):
    body = 'import os\nprint(sorted(os.environ))\nprint(os.environ.get("GITHUB_TOKEN"))'
    files = {
        "docs/demo/env.md": page_with_blocks("环境", "demo/env", ["demo/env.py:env"]),
        "snippets/demo/env.py": f"# --8<-- [start:env]\n{body}\n# --8<-- [end:env]\n",
    }
    root = scratch_repo(tmp_path, files, ["index.md", "demo/env.md"])
    result = make_build(root, env={"GITHUB_TOKEN": PLANTED, "AWS_SECRET_ACCESS_KEY": PLANTED})
    assert result.returncode == 0, result.stderr[-3000:]
    html = (root / "site/demo/env/index.html").read_text(encoding="utf-8")
    assert PLANTED not in html and "AWS_SECRET_ACCESS_KEY" not in html
    assert "PATH" in html  # the snippet really printed its environment


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_linkchecker_finds_no_broken_link_or_anchor(site: Path, tmp_path: Path):
    """A third-party checker (LinkChecker, with its anchor check) over the built site served on loopback."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = tmp_path / "linkcheckerrc"
    config.write_text("[filtering]\ncheckextern=0\n[AnchorCheck]\n[output]\nstatus=0\n", encoding="utf-8")
    try:
        result = subprocess.run(
            [
                str(BIN / "linkchecker"),
                "--config",
                str(config),
                "--no-warnings",
                f"http://127.0.0.1:{server.server_port}/",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stdout[-5000:]
    checked = re.search(r"(\d+) links in (\d+) URLs checked", result.stdout)
    assert checked, result.stdout[-2000:]
    assert int(checked[1]) > 100, checked[0]  # the crawl really covered the site


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_workflows_and_dependabot_validate_against_their_schemas():
    assert len(WORKFLOWS) >= 2
    for schema, files in (
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.dependabot", [ROOT / ".github/dependabot.yml"]),
    ):
        result = subprocess.run(
            [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_reports_no_finding():
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--format", "plain", str(ROOT / ".github")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_least_privilege_and_pinned_actions():
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        assert workflow["permissions"] == {}, path.name
        assert "pull_request_target" not in text, path.name
        for name, job in workflow["jobs"].items():
            assert "timeout-minutes" in job, f"{path.name}:{name}"
            grants = job.get("permissions", {})
            write = {k for k, v in grants.items() if v == "write"}
            if name != "deploy":
                assert not write, f"{path.name}:{name} must not hold a write permission"
            else:
                assert write == {"pages", "id-token"} and job["environment"]["name"] == "github-pages"
            for step in job.get("steps", []):
                if "uses" in step:
                    ref = step["uses"].split("@", 1)[1]
                    assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), step["uses"]
                    if step["uses"].startswith("actions/checkout@"):
                        assert step["with"]["persist-credentials"] is False
        concurrency = workflow.get("concurrency", {})
        if "deploy" in workflow["jobs"]:
            assert concurrency.get("cancel-in-progress") is False
