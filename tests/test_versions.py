"""Every block runs on the notes' PyTorch (2.3) and on the current one; the page shows both where they differ.

Expected values are computed here, by running each environment's own Python; nothing is copied from pages.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess

import pytest
from bs4 import BeautifulSoup

from conftest import ROOT, page
from scratch import make_build, scratch_repo

ENVIRONMENTS = {"notes": ROOT / ".venv-notes/bin/python", "current": ROOT / ".venv/bin/python"}
LABELS = {"notes": "笔记版本", "current": "当前版本"}
PAGE_PATHS = sorted(  # the notebook page too: its cells run in both environments as well (hooks/notebooks.py)
    p.relative_to(ROOT / "docs").with_suffix("").as_posix()
    for p in (ROOT / "docs").rglob("*")
    if p.suffix in {".md", ".ipynb"}
)


def in_env(env: str, code: str) -> str:
    result = subprocess.run(
        [str(ENVIRONMENTS[env]), "-I", "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout


@functools.cache  # asked for each of the site's outputs: one subprocess per environment, not one per output
def torch_version(env: str) -> str:
    return in_env(env, "import torch; print(torch.__version__.split('+')[0])").strip()


def test_the_two_environments_are_the_pinned_ones():
    """The notes' environment runs torch 2.3 with NumPy 1.26; the current one what requirements/pytorch-current.in pins."""
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements/pytorch-current.in").read_text().splitlines()
        if line.startswith("torch==")
    )
    versions = {
        env: json.loads(
            in_env(env, "import json, torch, numpy; print(json.dumps([torch.__version__, numpy.__version__]))")
        )
        for env in ENVIRONMENTS
    }
    assert versions["notes"][0].startswith("2.3.") and versions["notes"][1].startswith("1.26.")
    assert versions["current"][0].split("+")[0] == pins["torch"]


# -- The machinery, on a scratch site with a block that differs by version and one that does not ------------

SNIPPET = """# --8<-- [start:differs]
import torch
print(torch.__version__.split("+")[0], torch.tensor([1, 2]).float().mean().item())
# --8<-- [end:differs]
# --8<-- [start:same]
print(sum(range(10)))
# --8<-- [end:same]
"""
FENCES = "\n".join(
    f'```python exec="on" source="block" result="text" session="demo/versions"\n--8<-- "demo/versions.py:{name}"\n```\n'
    for name in ("differs", "same")
)


@pytest.fixture(scope="module")
def scratch_site(tmp_path_factory):
    root = scratch_repo(
        tmp_path_factory.mktemp("versions"),
        {"docs/demo/versions.md": f"# 版本\n\n{FENCES}", "snippets/demo/versions.py": SNIPPET},
        ["index.md", "demo/versions.md", "version-diffs.md"],
    )
    result = make_build(root, {"DOCS_EXEC_ENVS": "notes,current"})
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "site"


def test_a_differing_output_shows_both_versions_with_their_labels(scratch_site):
    soup = page(scratch_site, "demo/versions", versions=True)
    differing = soup.select("article .exec-differs")
    assert len(differing) == 1
    labels = [label.get_text() for label in differing[0].select(".tabbed-labels label")]
    values = [block.get_text().strip() for block in differing[0].select(".tabbed-block")]
    expected = {
        env: in_env(
            env, 'import torch; print(torch.__version__.split("+")[0], torch.tensor([1, 2]).float().mean().item())'
        ).strip()
        for env in ENVIRONMENTS
    }
    assert labels == [f"{LABELS[env]} · torch {torch_version(env)}" for env in ("notes", "current")]
    assert values == [expected["notes"], expected["current"]]
    summary = soup.select_one("article .exec-summary")
    assert summary is not None and [a["href"] for a in summary.select("a")] == [f"#{differing[0]['id']}"]


def test_an_identical_output_is_shown_once_with_both_versions_named(scratch_site):
    soup = page(scratch_site, "demo/versions", versions=True)
    same = [node for node in soup.select("article .result") if not node.select(".exec-differs")]
    assert len(same) == 1
    assert same[0].select_one("code").get_text().strip() == in_env("current", "print(sum(range(10)))").strip()
    assert same[0].select_one(".exec-versions").get_text() == " / ".join(
        f"torch {torch_version(env)}" for env in ("notes", "current")
    )


def test_the_diff_page_lists_exactly_the_differing_blocks(scratch_site):
    soup = page(scratch_site, "version-diffs")
    links = [a["href"] for a in soup.select("article li a")]
    assert links == ["../demo/versions/#exec-1"]


# -- The real site ----------------------------------------------------------------------------------------


def test_every_page_shows_its_outputs_for_both_versions(site):
    """Every output on every page is labelled with both versions or shown in both versions' tabs."""
    labels = {env: f"{LABELS[env]} · torch {torch_version(env)}" for env in ENVIRONMENTS}
    counted = 0
    for path in PAGE_PATHS:
        soup = page(site, path, versions=True)
        for node in soup.select("article .exec-differs"):
            assert [label.get_text() for label in node.select(".tabbed-labels label")] == [
                labels["notes"],
                labels["current"],
            ]
            counted += 1
        for node in soup.select("article .exec-versions"):
            assert node.get_text() == f"torch {torch_version('notes')} / torch {torch_version('current')}"
            counted += 1
    assert counted >= 60  # the eleven note pages hold dozens of outputs


def test_the_diff_page_lists_every_differing_block_of_the_site(site):
    differing = set()
    for path in PAGE_PATHS:
        for node in page(site, path, versions=True).select("article .exec-differs"):
            differing.add(("" if path == "index" else f"{path}/") + f"#{node['id']}")
    listed = set()
    for anchor in page(site, "version-diffs").select("article li a"):
        listed.add(re.sub(r"^\.\./?", "", anchor["href"]))  # "..#exec-1" is the home page
    assert listed == differing
    assert differing, "torch 2.3.1 and the current torch print something different somewhere on the site"


def test_footer_names_both_environments(site):
    text = (
        BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
        .select_one(".page-meta__provenance")
        .get_text()
    )
    for env in ENVIRONMENTS:
        assert LABELS[env] in text and torch_version(env) in text
