"""Every fault fails the build, names the page and the snippet file and line, and leaves no site to deploy.

Each test builds a scratch copy of the site (real mkdocs.yml, hooks and Makefile; only the pages the test
writes) with `make build`, the command CI and the deploy job use. The builds are made ahead, two at a time
(`ahead` in tests/scratch.py): each test names its own above it and reads the result.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scratch import ahead, page_with_blocks, result_blocks

PAGE = "docs/demo/fault.md"
SNIPPET = "snippets/demo/fault.py"
NAV = ["index.md", "demo/fault.md"]


def snippet(body: str) -> str:
    # line 1: comment, line 2: section start, body from line 3
    return f"# a snippet with a fault\n# --8<-- [start:fault]\n{body}\n# --8<-- [end:fault]\n"


def fault(body: str, env: dict | None = None) -> tuple:
    """A site whose one page runs `body` (from line 3 of its snippet), built with `env`: for `ahead`."""
    files = {PAGE: page_with_blocks("故障", "demo/fault", ["demo/fault.py:fault"]), SNIPPET: snippet(body)}
    return files, NAV, env


def assert_failed(root: Path, result, *expected: str) -> None:
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-3000:]
    for text in expected:
        assert text in log, f"{text!r} not in the build log:\n{log[-3000:]}"
    assert not (root / "site").exists(), "a failed build left a site to deploy"


@ahead(fault=fault('x = 1\nraise ValueError("故意的错误")'))
def test_exception_names_page_file_and_line(built):
    assert_failed(*built["fault"], f"{SNIPPET}:4: ValueError: 故意的错误", PAGE)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        pytest.param(4, "SystemExit", marks=ahead(fault=fault("import sys\nsys.exit(0)")), id="exit"),
        pytest.param(3, "KeyboardInterrupt", marks=ahead(fault=fault("raise KeyboardInterrupt")), id="interrupt"),
    ],
)
def test_exit_and_interrupt_fail_the_build(built, line, kind):
    assert_failed(*built["fault"], f"{SNIPPET}:{line}: {kind}", PAGE)


# line 3 starts the block; the error names line 5, the line that was running when time ran out
@ahead(fault=fault("import time\nwhile True:\n    time.sleep(0.01)", {"DOCS_EXEC_TIMEOUT": "3"}))
def test_block_that_never_ends_is_stopped(built):
    assert_failed(*built["fault"], f"{SNIPPET}:5: TimeoutError: the block did not finish within 3 s", PAGE)


@ahead(fault=fault('while True:\n    print("x" * 1000)', {"DOCS_EXEC_OUTPUT_LIMIT": "100000"}))
def test_enormous_output_is_stopped(built):
    assert_failed(*built["fault"], f"{SNIPPET}:4: OutputLimitExceeded", "output budget of 100000 bytes", PAGE)


# With a time limit below the request's own, a hang would show up as a TimeoutError instead.
@ahead(
    fault=fault(
        'import urllib.request\nurllib.request.urlopen("http://1.1.1.1", timeout=120)', {"DOCS_EXEC_TIMEOUT": "20"}
    )
)
def test_network_fails_fast_with_a_clear_message(built):
    root, result = built["fault"]
    assert_failed(root, result, "Network is unreachable", SNIPPET, PAGE)
    assert "TimeoutError" not in result.stderr


@ahead(
    file=({PAGE: page_with_blocks("故障", "demo/fault", ["demo/absent.py:fault"])}, NAV),
    section=({PAGE: page_with_blocks("故障", "demo/fault", ["demo/fault.py:absent"]), SNIPPET: snippet("x = 1")}, NAV),
)
def test_missing_snippet_file_and_section(built):
    assert_failed(*built["file"], "demo/absent.py", "demo/fault.md")
    assert_failed(*built["section"], "absent", "demo/fault.md")


@pytest.mark.parametrize(
    "expected",
    [
        pytest.param("absent.md", marks=ahead(page=({PAGE: "# 故障\n\n[断链](absent.md)\n"}, NAV)), id="link"),
        pytest.param(
            "no-such-heading",
            marks=ahead(page=({PAGE: "# 故障\n\n[断锚](../index.md#no-such-heading)\n"}, NAV)),
            id="anchor",
        ),
        pytest.param("missing.png", marks=ahead(page=({PAGE: "# 故障\n\n![缺图](missing.png)\n"}, NAV)), id="image"),
    ],
)
def test_broken_link_anchor_or_image(built, expected):
    assert_failed(*built["page"], expected, "demo/fault.md")


@ahead(page=({PAGE: "# 不在目录里\n"}, ["index.md"]))
def test_page_missing_from_nav(built):
    assert_failed(*built["page"], "demo/fault.md")


@ahead(page=({PAGE: "# 故障\n\n第三行\n".encode("gbk")}, NAV))
def test_markdown_that_is_not_utf8(built):
    assert_failed(*built["page"], "demo/fault.md")


@ahead(
    page=(
        {
            PAGE: page_with_blocks("故障", "demo/fault", ["demo/fault.py:fault"]),
            SNIPPET: snippet('print("中文")').encode("gbk"),
        },
        NAV,
    )
)
def test_snippet_that_is_not_utf8(built):
    assert_failed(*built["page"], f"{SNIPPET}:3: not valid UTF-8")
    assert "Traceback" not in built["page"][1].stderr  # the build's own message, not a crash


STATE_CHANGER = """\
import os, random, warnings
import matplotlib.pyplot as plt
import numpy as np
import torch
os.chdir("/")
os.environ["LEAKED"] = "1"
random.seed(123); np.random.seed(123); torch.manual_seed(123)
plt.rcParams["lines.linewidth"] = 9
torch.set_default_dtype(torch.float64)
torch.set_grad_enabled(False)
warnings.simplefilter("ignore")
plt.figure()
print("changed")"""

STATE_READER = """\
import os, random
import matplotlib.pyplot as plt
import numpy as np
import torch
print(os.getcwd() != "/", os.environ.get("LEAKED"), random.random(), np.random.rand(), torch.rand(1).item())
print(plt.rcParams["lines.linewidth"], torch.get_default_dtype(), torch.is_grad_enabled(), plt.get_fignums())"""


STATE_FILES = {
    "docs/a/change.md": page_with_blocks("改状态", "a/change", ["a/change.py:fault"]),
    "snippets/a/change.py": snippet(STATE_CHANGER),
    "docs/b/read.md": page_with_blocks("读状态", "b/read", ["b/read.py:fault"]),
    "snippets/b/read.py": snippet(STATE_READER),
}


@ahead(
    together=(STATE_FILES, ["index.md", "a/change.md", "b/read.md"]),
    alone=({k: v for k, v in STATE_FILES.items() if "/b/" in k}, ["index.md", "b/read.md"]),
)
def test_state_changes_do_not_reach_the_next_page(built):
    (together, built_together), (alone, built_alone) = built["together"], built["alone"]
    assert built_together.returncode == 0, built_together.stderr[-3000:]
    assert built_alone.returncode == 0, built_alone.stderr[-3000:]

    read_together = result_blocks((together / "site/b/read/index.html").read_text(encoding="utf-8"))
    read_alone = result_blocks((alone / "site/b/read/index.html").read_text(encoding="utf-8"))
    assert read_together == read_alone
    assert "True None" in read_alone[0] and "torch.float32" in read_alone[0]
    assert "changed" in (together / "site/a/change/index.html").read_text(encoding="utf-8")


@ahead(fault=fault("import os\nos._exit(3)"))
def test_process_that_dies_mid_block(built):
    assert_failed(*built["fault"], f"{SNIPPET}:3: the page's process ended (exit code 3)", PAGE)
