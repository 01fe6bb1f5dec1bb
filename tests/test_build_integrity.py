"""Builds are reproducible, need no network, hold no secret, and link only to what exists; workflows are hardened."""

from __future__ import annotations

import filecmp
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from browsing import serve
from bs4 import BeautifulSoup
from builds import PLANTED, finished

from conftest import BIN, ROOT
from scratch import make_build, page_with_blocks, scratch_repo


@pytest.fixture(scope="module")
def offline_clone_site(offline_clone_build) -> Path:
    """A fresh clone (HEAD and the working tree's changes), built with an empty cache inside a network
    namespace with no network at all, a planted token in its environment (started with the session, behind
    the tests: tests/builds.py)."""
    clone, future = offline_clone_build
    done = finished(future)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    return clone / "site"


def test_build_needs_no_network(offline_clone_site: Path):
    assert (offline_clone_site / "index.html").is_file()
    assert (offline_clone_site / "sitemap.xml").is_file()


def test_two_clean_builds_are_byte_identical(site: Path, offline_clone_site: Path):
    """The session build (working tree) and a fresh clone's offline build of the same sources, each executing
    every block from an empty cache: the same files, the same bytes."""

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


def test_linkchecker_finds_no_broken_link(site: Path, tmp_path: Path):
    """A third-party checker (LinkChecker) over the built site served on loopback. The server names itself
    to LinkChecker (browsing.serve), so it checks at the rate asked for instead of pausing before each request.
    Anchors are checked below, once per page: LinkChecker's anchor check fetches and parses a page again for
    every `page#anchor` link (900 URLs, minutes of CPU)."""
    config = tmp_path / "linkcheckerrc"
    config.write_text(
        "[checking]\nmaxrequestspersecond=1000\n[filtering]\ncheckextern=0\n[output]\nstatus=0\n", encoding="utf-8"
    )
    with serve(site) as base:
        result = subprocess.run(
            [str(BIN / "linkchecker"), "--config", str(config), "--no-warnings", base],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    assert result.returncode == 0, result.stdout[-5000:]
    checked = re.search(r"(\d+) links in (\d+) URLs checked", result.stdout)
    assert checked, result.stdout[-2000:]
    assert int(checked[1]) > 100, checked[0]  # the crawl really covered the site


def test_every_anchor_link_lands_on_an_element(site: Path):
    """Every link inside the site to `page#fragment` names an element id (or <a name>) on that page."""
    anchors: dict[Path, set[str]] = {}

    def names(page: Path) -> set[str]:
        if page not in anchors:
            soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
            anchors[page] = {tag["id"] for tag in soup.find_all(id=True)} | {
                tag["name"] for tag in soup.find_all("a", attrs={"name": True})
            }
        return anchors[page]

    checked, missing = 0, []
    for page in sorted(site.rglob("*.html")):
        for link in BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find_all("a", href=True):
            url = urlsplit(link["href"])
            if url.scheme or url.netloc or not url.fragment:
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            target = target / "index.html" if target.is_dir() else target
            if not target.is_file():
                missing.append(f"{page.relative_to(site)}: {link['href']} (no such page)")
            elif target.suffix != ".html":  # a figure's #only-light / #only-dark: Material's palette switch
                assert url.fragment in {"only-light", "only-dark"}, link["href"]
                continue
            elif unquote(url.fragment) not in names(target):
                missing.append(f"{page.relative_to(site)}: {link['href']}")
            checked += 1
    assert checked > 100, checked
    assert not missing, missing[:20]


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
    """zizmor's strictest persona (pedantic): no finding in any workflow or in dependabot.yml."""
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona", "pedantic", "--format", "plain", str(ROOT / ".github")],
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


# -- Locked requirements ----------------------------------------------------------------------------------

REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+?)(?: \\)?$", re.M)


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    return {norm(name): version for name, version in PIN.findall(path.read_text(encoding="utf-8"))}


def direct_pins(path: Path) -> dict[str, str]:
    """An .in file's own pins and those of the .in files it includes (-r)."""
    found = pins(path)
    for included in re.findall(r"^-r (\S+\.in)$", path.read_text(encoding="utf-8"), re.M):
        found |= direct_pins(path.parent / included)
    return found


def entries(path: Path) -> dict[str, list[str]]:
    """A lock's packages and the hashes given for each."""
    blocks = re.split(r"\n(?=[A-Za-z0-9])", path.read_text(encoding="utf-8"))
    return {
        norm(block.split("==", 1)[0]): re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
        for block in blocks
        if PIN.match(block)
    }


LOCKS = {  # lock: (its .in, holds PyTorch packages)
    "current.txt": ("current.in", False),
    "dev.txt": ("dev.in", False),
    "notes.txt": ("notes.in", False),
    "pytorch-current-pypi.txt": ("pytorch-current.in", True),
    "pytorch-notes-pypi.txt": ("pytorch-notes.in", True),
}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_is_hashed_and_follows_its_in_file(lock):
    source, with_pytorch = LOCKS[lock]
    locked = entries(REQUIREMENTS / lock)
    assert len(locked) >= 3, lock
    unhashed = [name for name, hashes in locked.items() if not hashes]
    assert not unhashed, f"{lock}: no hash for {unhashed}"
    wanted = direct_pins(REQUIREMENTS / source)
    locked_versions = pins(REQUIREMENTS / lock)
    stale = {
        name: (version, locked_versions.get(name))
        for name, version in wanted.items()
        if (with_pytorch or name not in {"torch", "torchvision"}) and locked_versions.get(name) != version
    }
    assert not stale, f"{lock} does not follow {source}: run `make lock` ({stale})"
    pytorch_and_cuda = {
        n for n in locked if n in {"torch", "torchvision", "triton"} or n.startswith(("nvidia-", "cuda-"))
    }
    if with_pytorch:
        assert {"torch", "torchvision"} <= pytorch_and_cuda
    else:  # PyTorch packages come from their own lock and their own index, never from this one
        assert not pytorch_and_cuda, f"{lock}: {sorted(pytorch_and_cuda)}"


@pytest.mark.parametrize("environment", ["current", "notes"])
def test_pytorch_cpu_lock_pins_what_the_in_file_pins(environment):
    """The CPU index's lock (versions with a `+cpu` label once `make lock` writes it there) follows the .in."""
    locked = {
        name: version.split("+")[0] for name, version in pins(REQUIREMENTS / f"pytorch-{environment}-cpu.txt").items()
    }
    assert locked == pins(REQUIREMENTS / f"pytorch-{environment}.in")


def test_no_workflow_merges_package_indexes():
    """PyTorch's index is only ever given as *the* index of the PyTorch install step (PYTORCH_INDEX_URL,
    used with --index-url), never added next to PyPI, where any package name could come from either."""
    given = set()
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "EXTRA_INDEX" not in text.upper() and "extra-index-url" not in text, path.name
        for job in yaml.safe_load(text)["jobs"].values():
            for env in [job.get("env", {}), *(step.get("env", {}) for step in job.get("steps", []))]:
                names = {name for name in env if "INDEX" in name}
                assert names <= {"PYTORCH_INDEX_URL"}, (path.name, names)
                given |= {env[name] for name in names}
    assert len(given) == 1, given  # one index for PyTorch, the same in every workflow
