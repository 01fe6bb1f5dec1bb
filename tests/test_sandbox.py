"""The sandbox holds against a hostile or clumsy snippet: nothing leaks, hangs the build, or publishes a wrong output.

Each test builds a scratch copy of the site (real mkdocs.yml, hooks and Makefile; only the pages it
writes) with `make build`, and checks what a hostile or clumsy block could do: leave processes behind,
answer for the page from a forked child, write into the cache, the site or docs/, read the build's
secrets, use the network, exhaust memory or time, or inject markup. Each case names the issue's number.
"""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from scratch import ahead, make_build, scratch_repo

FENCE = '```python exec="on" source="block" result="{result}" session="{session}"\n--8<-- "{session}.py:{name}"\n```\n'


def site_files(pages: dict[str, list[str]], results: dict[str, str] | None = None) -> tuple[dict, list[str]]:
    """A scratch site's files and nav: for each page path ('a/one'), its blocks in order, as sections b1, b2, ...
    of its snippet; outputs shown as text, or as Markdown for the pages `results` maps to ""."""
    files: dict[str, str] = {}
    for path, blocks in pages.items():
        result = (results or {}).get(path, "text")
        body = "".join(f"# --8<-- [start:b{i}]\n{code}\n# --8<-- [end:b{i}]\n" for i, code in enumerate(blocks, 1))
        files[f"snippets/{path}.py"] = "# a scratch snippet\n" + body
        fences = "\n".join(FENCE.format(result=result, session=path, name=f"b{i}") for i in range(1, len(blocks) + 1))
        files[f"docs/{path}.md"] = f"# {path}\n\n{fences}"
    return files, ["index.md", *(f"{path}.md" for path in pages)]


def site_with(tmp_path: Path, pages: dict[str, list[str]], results: dict[str, str] | None = None) -> Path:
    """The scratch site of `site_files`, written (not built)."""
    return scratch_repo(tmp_path, *site_files(pages, results))


def html_of(root: Path, path: str) -> str:
    return (root / "site" / path / "index.html").read_text(encoding="utf-8")


def outputs_of(root: Path, path: str) -> list[str]:
    """The text of each executed output on a page, in order."""
    soup = BeautifulSoup(html_of(root, path), "html.parser")
    return [node.get_text().strip() for node in soup.select("article .result code")]


def processes_with(marker: str) -> list[str]:
    """Command lines of live processes that contain `marker` (read from /proc, as `pgrep -f` would)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in command:
                found.append(command)
    return found


def failed(root: Path, result, *expected: str) -> str:
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-3000:]
    for text in expected:
        assert text in log, f"{text!r} not in the build log:\n{log[-3000:]}"
    assert not (root / "site").exists(), "a failed build left a site to deploy"
    return log


# -- One build of a site whose pages do what a hostile or clumsy block would; the tests read it ------------

SLEEP_MARK = f"3000.{uuid.uuid4().int % 10**9}"  # a unique command line to look for afterwards
TOKEN = f"tok-{uuid.uuid4().hex}"  # planted in the build's environment

SPAWN = f"""import os, subprocess
subprocess.Popen(["sleep", "{SLEEP_MARK}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    while True:
        pass
print("started")"""

ENVIRON = """import os
print(sorted(os.environ))
for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    try:
        print(pid, open(f"/proc/{pid}/environ", "rb").read().replace(b"\\0", b" ").decode())
    except OSError as error:
        print(pid, "unreadable:", error.strerror)"""

WORKERS = """import torch
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, TensorDataset

loader = DataLoader(TensorDataset(torch.arange(8.0)), batch_size=2, num_workers=2)
print("batches", [batch[0].tolist() for batch in loader])

def square(x):
    return x * x

with mp.get_context("fork").Pool(2) as pool:
    print("pool", pool.map(square, range(5)))"""

NETWORK = """import _socket, subprocess
s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
try:
    s.connect(("1.1.1.1", 80))
    print("CONNECTED")
except OSError as error:
    print("socket:", error.strerror)
run = subprocess.run(["python3", "-c", "import socket; socket.create_connection(('1.1.1.1', 53), timeout=5)"],
                     capture_output=True, text=True)
print("subprocess:", run.returncode, run.stderr.strip().splitlines()[-1])"""

FENCE_BREAKER = 'print("````````")\nprint("<script>window.planted = 1</script>")\nprint("````````")'

TABLE = """try:
    raise ValueError("<img src=x onerror=alert(1)> | injected")
except ValueError as error:
    table(["表达式", "结果"], [["bad()", str(error)]])"""


def write_attempts(root: Path) -> tuple[str, list[Path]]:
    targets = [root / ".cache/exec/planted.json", root / "site.partial/planted.html", root / "docs/planted.md"]
    block = "import os\n" + "\n".join(
        f"""try:
    open({str(target)!r}, "w").write("planted")
    print("WROTE", {target.name!r})
except OSError as error:
    print("refused:", error.strerror)"""
        for target in targets
    )
    block += '\nopen("scratch.txt", "w").write("ok")\nprint("scratch:", open("scratch.txt").read(), os.getcwd())'
    return block, targets


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """The scratch site, built once with a token in the build's environment."""
    tables = (Path(__file__).resolve().parent.parent / "snippets/_shared/tables.py").read_text(encoding="utf-8")
    table_setup = tables.split("# --8<-- [start:setup]\n")[1].split("# --8<-- [end")[0]
    pages = {
        "a/spawn": [SPAWN],
        "a/fork": ['import os\npid = os.fork()\nprint("first")', 'print("second")', 'print("third")'],
        "a/write": ["print('placeholder')"],
        "a/env": [ENVIRON],
        "a/workers": [WORKERS],
        "a/net": [NETWORK],
        "a/fence": [FENCE_BREAKER],
        "a/table": [table_setup, TABLE],
    }
    root = site_with(tmp_path_factory.mktemp("hostile"), pages, results={"a/table": ""})
    block, _ = write_attempts(root)
    (root / "snippets/a/write.py").write_text(f"# --8<-- [start:b1]\n{block}\n# --8<-- [end:b1]\n", encoding="utf-8")
    (root / ".cache/exec").mkdir(parents=True)
    # capture_output: if an orphan kept the build's stdout open, run() would not return (the time-out fails it).
    result = make_build(root, {"GITHUB_TOKEN": TOKEN, "AWS_SECRET_ACCESS_KEY": TOKEN}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


# -- 1, 2: processes a block starts never outlive its page ------------------------------------------------


def test_children_and_forked_spinners_are_killed_when_the_page_ends(hostile):
    """Case 1: a started process and a spinning forked child end with the page; the build's output closed."""
    assert outputs_of(hostile, "a/spawn") == ["started"]
    assert processes_with(SLEEP_MARK) == []


GRANDCHILD_MARK = f"3000.{uuid.uuid4().int % 10**9}"
GRANDCHILD = f"""import subprocess
subprocess.Popen(["sh", "-c", "sleep {GRANDCHILD_MARK}; true"])
while True: pass"""  # one line: the loop is interrupted on it, whichever instruction is running


@ahead(hang=(*site_files({"a/hang": [GRANDCHILD]}), {"DOCS_EXEC_TIMEOUT": "5"}))
def test_grandchildren_die_with_a_timed_out_page(built):
    """Case 2: after a time-out, what the block started is gone too."""
    failed(*built["hang"], "TimeoutError", "snippets/a/hang.py:5")
    assert processes_with(GRANDCHILD_MARK) == []


# -- 3: only the page's own process answers ------------------------------------------------------------


def test_a_forked_child_that_returns_does_not_shift_the_outputs(hostile):
    """Case 3, clumsy: a child forked in a block runs on past it; every block still shows its own output."""
    assert outputs_of(hostile, "a/fork") == ["first", "second", "third"]


HOSTILE_FORK = """import ctypes, os, pickle, socket, stat

def is_socket(fd):
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False

channel = next(fd for fd in map(int, os.listdir("/proc/self/fd")) if is_socket(fd))
libc = ctypes.CDLL(None)
if libc.fork() == 0:  # a C-level fork: no Python at-fork handler runs
    forged = pickle.dumps(("ok", "FORGED OUTPUT", 0.0))
    socket.socket(fileno=os.dup(channel)).send(b"." + forged)
    os._exit(0)
import time
time.sleep(0.5)
print("genuine")"""


@ahead(forge=site_files({"a/forge": [HOSTILE_FORK, 'print("after")']}))
def test_a_forged_answer_from_another_process_is_rejected(built):
    """Case 3, hostile: a C-level fork writes a fake reply on the page's channel; the kernel names its pid."""
    log = failed(*built["forge"], "a process other than the page's own", "snippets/a/forge.py", "a/forge.md")
    assert "FORGED OUTPUT" not in log


# -- 4, 5: nothing outside the scratch folder is writable; nothing of the build is readable ---------------


def test_the_repository_cache_site_and_docs_are_read_only(hostile):
    """Case 4: a block cannot write into the cache, the site being built or docs/; its scratch folder works."""
    _, targets = write_attempts(hostile)
    printed = "\n".join(outputs_of(hostile, "a/write"))
    assert "WROTE" not in printed and printed.count("refused:") == len(targets)
    assert "scratch: ok /scratch" in printed
    assert not any(target.exists() for target in targets)
    assert not list((hostile / "site").rglob("planted*"))


def test_the_build_environment_is_unreadable_even_through_proc(hostile):
    """Case 5: a token in the build's environment is not in os.environ, /proc/self/environ or any /proc entry."""
    printed = "\n".join(outputs_of(hostile, "a/env"))
    assert TOKEN not in html_of(hostile, "a/env") and "AWS_SECRET_ACCESS_KEY" not in printed
    assert "'PATH'" in printed and "\n1 " in printed  # the block really printed its environment and pid 1's


# -- 6: multi-process PyTorch works; the network does not -------------------------------------------------


def test_dataloader_workers_and_torch_multiprocessing_work(hostile):
    """Case 6: DataLoader with two workers and torch.multiprocessing, the most common multi-process code."""
    printed = "\n".join(outputs_of(hostile, "a/workers"))
    batches = [[float(2 * i), float(2 * i + 1)] for i in range(4)]
    assert f"batches {batches}" in printed
    assert f"pool {[x * x for x in range(5)]}" in printed


def test_no_network_however_it_is_reached(hostile):
    """Case 6: the network namespace has no route out: the low-level _socket module and a subprocess fail too."""
    printed = "\n".join(outputs_of(hostile, "a/net"))
    assert "CONNECTED" not in printed
    assert "socket: Network is unreachable" in printed
    assert "subprocess: 1" in printed and "Network is unreachable" in printed.split("subprocess:")[1]


# -- 7: memory ------------------------------------------------------------------------------------------


ALLOCATE = "import torch\nkept = []\nwhile True:\n    kept.append(torch.ones(64 * 2**20))"


@ahead(oom=(*site_files({"a/oom": [ALLOCATE]}), {"DOCS_EXEC_MEMORY": "1G"}))
def test_running_out_of_memory_is_reported_as_such(built):
    """Case 7: a page that allocates without end hits DOCS_EXEC_MEMORY and is reported as out of memory."""
    failed(*built["oom"], "snippets/a/oom.py:6: out of memory", "a/oom.md")


# -- 8: fail fast ----------------------------------------------------------------------------------------


HANG = "import time\ncount = 0\nwhile True:\n    time.sleep(0.05)"


# If the second page ran, its block would hold the build past make_build's time limit (a failure).
@ahead(
    hang=(*site_files({"a/first": [HANG], "b/second": ["import time\ntime.sleep(10_000)"]}), {"DOCS_EXEC_TIMEOUT": "5"})
)
def test_a_hang_in_a_shared_block_fails_the_build_once_with_the_running_line(built):
    """Case 8: the first time-out ends a strict build, naming the line that hung; no later page runs."""
    log = failed(*built["hang"], "snippets/a/first.py:6: TimeoutError", "within 5 s", "docs/a/first.md")
    assert "b/second" not in log


def test_after_a_failed_block_the_page_runs_nothing_more(tmp_path):
    """Case 8: without --strict (as `mkdocs serve`), a failed page shows its error and skips its later blocks."""
    pages = {"a/fail": ['raise ValueError("boom")', "x = 1\nprint(undefined_name)"]}
    root = site_with(tmp_path, pages)
    result = subprocess.run(
        [str(root / ".venv/bin/mkdocs"), "build", "--site-dir", str(root / "site")],
        cwd=root,
        env={**os.environ, "DOCS_EXEC_CACHE": "off", "DOCS_EXEC_ENVS": "current", "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    html = html_of(root, "a/fail")
    assert "ValueError: boom" in html
    assert "NameError" not in html and "NameError" not in result.stderr
    assert "not run: an earlier block of the page failed (snippets/a/fail.py:3)" in html


# -- 9: output is data ----------------------------------------------------------------------------------


def test_printed_fences_and_markup_stay_text(hostile):
    """Case 9: eight backticks and a <script> printed by a block are shown as text, not parsed."""
    html = html_of(hostile, "a/fence")
    assert "<script>window.planted" not in html
    assert outputs_of(hostile, "a/fence") == ["````````\n<script>window.planted = 1</script>\n````````"]


def test_table_cells_are_escaped(hostile):
    """Case 9: an exception message in a Markdown table (tables helper) is text, not HTML."""
    html = html_of(hostile, "a/table")
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &#124; injected</td>" in html


# -- 10: the site holds only what the build produced; concurrent builds ----------------------------------


def test_a_file_nothing_produced_fails_the_build(tmp_path):
    """Case 10: a stray file written into the site folder (here by an extra hook) fails the build, named."""
    root = site_with(tmp_path, {"a/ok": ['print("ok")']})
    (root / "hooks/stray.py").write_text(
        "from pathlib import Path\n\ndef on_post_build(config, **_):\n"
        "    (Path(config.site_dir) / 'stray.txt').write_text('x')\n",
        encoding="utf-8",
    )
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(
        config.replace("\nhooks:\n", "\nhooks:\n  - hooks/stray.py\n", 1), encoding="utf-8"
    )
    failed(root, make_build(root), "the site holds files that no page or asset produced: stray.txt")


def test_two_builds_in_one_checkout_both_succeed(tmp_path):
    """Case 10: two `make build`s at once: the second waits for the first; a complete site/ remains."""
    root = site_with(tmp_path, {"a/ok": ['print("concurrent")']})
    results: list = [None, None]

    def build(slot: int) -> None:
        results[slot] = make_build(root)

    threads = [threading.Thread(target=build, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
    assert "concurrent" in html_of(root, "a/ok")
