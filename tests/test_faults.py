"""Every fault fails the build, names the page and the snippet file and line, and leaves no site to deploy.

Each test builds a scratch copy of the site (real mkdocs.yml, hooks and Makefile; only the pages the test
writes) with `make build`, the command CI and the deploy job use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scratch import make_build, page_with_blocks, result_blocks, scratch_repo

PAGE = "docs/demo/fault.md"
SNIPPET = "snippets/demo/fault.py"


def snippet(body: str) -> str:
    # line 1: comment, line 2: section start, body from line 3
    return f"# a snippet with a fault\n# --8<-- [start:fault]\n{body}\n# --8<-- [end:fault]\n"


def build_fault(tmp_path: Path, body: str, env: dict | None = None):
    files = {PAGE: page_with_blocks("故障", "demo/fault", ["demo/fault.py:fault"]), SNIPPET: snippet(body)}
    root = scratch_repo(tmp_path, files, ["index.md", "demo/fault.md"])
    return root, make_build(root, env)


def assert_failed(root: Path, result, *expected: str) -> None:
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-3000:]
    for text in expected:
        assert text in log, f"{text!r} not in the build log:\n{log[-3000:]}"
    assert not (root / "site").exists(), "a failed build left a site to deploy"


def test_exception_names_page_file_and_line(tmp_path):
    root, result = build_fault(tmp_path, 'x = 1\nraise ValueError("故意的错误")')
    assert_failed(root, result, f"{SNIPPET}:4: ValueError: 故意的错误", PAGE)


@pytest.mark.parametrize(
    ("body", "line", "kind"),
    [("import sys\nsys.exit(0)", 4, "SystemExit"), ("raise KeyboardInterrupt", 3, "KeyboardInterrupt")],
)
def test_exit_and_interrupt_fail_the_build(tmp_path, body, line, kind):
    root, result = build_fault(tmp_path, body)
    assert_failed(root, result, f"{SNIPPET}:{line}: {kind}", PAGE)


def test_block_that_never_ends_is_stopped(tmp_path):
    # line 3 starts the block; the error names line 5, the line that was running when time ran out
    root, result = build_fault(
        tmp_path, "import time\nwhile True:\n    time.sleep(0.01)", env={"DOCS_EXEC_TIMEOUT": "3"}
    )
    assert_failed(root, result, f"{SNIPPET}:5: TimeoutError: the block did not finish within 3 s", PAGE)


def test_enormous_output_is_stopped(tmp_path):
    root, result = build_fault(tmp_path, 'while True:\n    print("x" * 1000)', env={"DOCS_EXEC_OUTPUT_LIMIT": "100000"})
    assert_failed(root, result, f"{SNIPPET}:4: OutputLimitExceeded", "output budget of 100000 bytes", PAGE)


def test_network_fails_fast_with_a_clear_message(tmp_path):
    body = 'import urllib.request\nurllib.request.urlopen("http://1.1.1.1", timeout=120)'
    # With a time limit below the request's own, a hang would show up as a TimeoutError instead.
    root, result = build_fault(tmp_path, body, env={"DOCS_EXEC_TIMEOUT": "20"})
    assert_failed(root, result, "Network is unreachable", SNIPPET, PAGE)
    assert "TimeoutError" not in result.stderr


def test_missing_snippet_file_and_section(tmp_path):
    files = {PAGE: page_with_blocks("故障", "demo/fault", ["demo/absent.py:fault"])}
    root = scratch_repo(tmp_path / "file", files, ["index.md", "demo/fault.md"])
    assert_failed(root, make_build(root), "demo/absent.py", "demo/fault.md")

    files = {PAGE: page_with_blocks("故障", "demo/fault", ["demo/fault.py:absent"]), SNIPPET: snippet("x = 1")}
    root = scratch_repo(tmp_path / "section", files, ["index.md", "demo/fault.md"])
    assert_failed(root, make_build(root), "absent", "demo/fault.md")


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[断链](absent.md)", "absent.md"),
        ("[断锚](../index.md#no-such-heading)", "no-such-heading"),
        ("![缺图](missing.png)", "missing.png"),
    ],
)
def test_broken_link_anchor_or_image(tmp_path, markdown, expected):
    root = scratch_repo(tmp_path, {PAGE: f"# 故障\n\n{markdown}\n"}, ["index.md", "demo/fault.md"])
    assert_failed(root, make_build(root), expected, "demo/fault.md")


def test_page_missing_from_nav(tmp_path):
    root = scratch_repo(tmp_path, {PAGE: "# 不在目录里\n"}, ["index.md"])
    assert_failed(root, make_build(root), "demo/fault.md")


def test_markdown_that_is_not_utf8(tmp_path):
    root = scratch_repo(tmp_path, {PAGE: "# 故障\n\n第三行\n".encode("gbk")}, ["index.md", "demo/fault.md"])
    assert_failed(root, make_build(root), "demo/fault.md")


def test_snippet_that_is_not_utf8(tmp_path):
    files = {
        PAGE: page_with_blocks("故障", "demo/fault", ["demo/fault.py:fault"]),
        SNIPPET: snippet('print("中文")').encode("gbk"),
    }
    root = scratch_repo(tmp_path, files, ["index.md", "demo/fault.md"])
    assert_failed(root, make_build(root), f"{SNIPPET}:3: not valid UTF-8")


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


def test_state_changes_do_not_reach_the_next_page(tmp_path):
    files = {
        "docs/a/change.md": page_with_blocks("改状态", "a/change", ["a/change.py:fault"]),
        "snippets/a/change.py": snippet(STATE_CHANGER),
        "docs/b/read.md": page_with_blocks("读状态", "b/read", ["b/read.py:fault"]),
        "snippets/b/read.py": snippet(STATE_READER),
    }
    together = scratch_repo(tmp_path / "together", dict(files), ["index.md", "a/change.md", "b/read.md"])
    assert make_build(together).returncode == 0
    alone_files = {k: v for k, v in files.items() if "/b/" in k}
    alone = scratch_repo(tmp_path / "alone", alone_files, ["index.md", "b/read.md"])
    assert make_build(alone).returncode == 0

    read_together = result_blocks((together / "site/b/read/index.html").read_text(encoding="utf-8"))
    read_alone = result_blocks((alone / "site/b/read/index.html").read_text(encoding="utf-8"))
    assert read_together == read_alone
    assert "True None" in read_alone[0] and "torch.float32" in read_alone[0]
    assert "changed" in (together / "site/a/change/index.html").read_text(encoding="utf-8")


def test_process_that_dies_mid_block(tmp_path):
    root, result = build_fault(tmp_path, "import os\nos._exit(3)")
    assert_failed(root, result, f"{SNIPPET}:3: the page's process ended (exit code 3)", PAGE)
