"""MkDocs hook: every python block runs in a sandbox, once per environment, cached, and fails fast.

markdown-exec parses the fences (``markdown_exec.formatters`` is its public table of formatters); this
hook replaces the ``python`` formatter: it runs the block and renders the outputs itself.

Two environments (``ENVIRONMENTS``): the notes' PyTorch (``.venv-notes``, "笔记版本") and the current
one (``.venv``, "当前版本"); ``DOCS_EXEC_ENVS=current`` runs one. Each has a worker server
(``exec_worker.py``, run by that environment's Python) inside a bubblewrap sandbox: no network, an
empty environment, its own PID namespace (``/proc`` shows nothing of the build), the repository and
every other folder read-only, a scratch folder as the only writable place. A page's blocks run in one
process forked from that server, in both environments at once; when the page ends every process it
started is killed. Only the page's own process can answer: the kernel attaches the sender's pid to
each message (SCM_CREDENTIALS).

- Identical outputs are shown once, labelled with both versions; different ones in tabs named after
  the exact versions. Every block is recorded (``Runner.records``; the format is written down at
  ``Block``): the page's list of differences, the generated 版本差异一览 page, the downloads
  (``hooks/downloads.py``) and ``scripts/output_diff.py`` (through ``DOCS_EXEC_RECORD``) read that record.
- A failure (exception, exit, time-out with the line that was running, out of memory, output over
  budget, a foreign process answering) names the snippet file and line and the page. In a strict
  build the first one ends the build; otherwise the page shows it and runs none of its later blocks.
- Outputs are cached per environment in ``.cache/exec`` (``DOCS_EXEC_CACHE`` names another folder,
  ``off`` disables it): a block's key covers its code, every earlier block of its page, and the
  environment's Python and ``PACKAGES``. A fully cached build starts no sandbox.

Settings: ``DOCS_EXEC_TIMEOUT`` (seconds per block, default 60), ``DOCS_EXEC_MEMORY`` (bytes of data a
page process may allocate, default 4 GiB; suffixes K, M, G), ``DOCS_EXEC_OUTPUT_LIMIT`` (bytes printed
per block, default 262144), ``DOCS_EXEC_RECORD`` (a file: the build's record as JSON).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import html
import json
import logging
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import markdown_exec
from markdown_exec import MarkdownConverter, add_source
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, InclusionLevel
from mkdocs.utils import get_relative_url
from pymdownx.superfences import SuperFencesException
from sandbox import (
    ENVIRONMENTS,
    Environment,
    bwrap_command,
    env_versions,
    python_of,
    selected_environments,
    torch_label,
)

import exec_worker  # standard library only: no torch here (MkDocs puts hooks/ on sys.path while loading)

HOOKS = Path(__file__).resolve().parent
ROOT = HOOKS.parent
SNIPPETS = ROOT / "snippets"


def _bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


# The slowest block measured on this site took 12-20 s on two busy cores (it starts a Python of its own): 60 s is
# a margin of three or more.
TIMEOUT = float(os.environ.get("DOCS_EXEC_TIMEOUT", "60"))
GRACE = 15.0  # seconds the build waits beyond TIMEOUT for the page process to report its own time-out
MEMORY = _bytes(os.environ.get("DOCS_EXEC_MEMORY", "4G"))
OUTPUT_LIMIT = int(os.environ.get("DOCS_EXEC_OUTPUT_LIMIT", str(256 * 1024)))
_cache_setting = os.environ.get("DOCS_EXEC_CACHE", str(ROOT / ".cache" / "exec"))
CACHE_DIR = None if _cache_setting == "off" else Path(_cache_setting)


# The fence grammar, written down once: an executed block shows its code above, below or as a block
# with the result under it, or no code at all (set-up blocks); `result="text"` shows the output as text.
SOURCE_LOCATIONS = ("", "above", "below", "block")
# The section grammar: `# --8<-- [start:name]` ... `# --8<-- [end:name]` in snippets/<area>/<note>.py.
SECTION = re.compile(r"^\s*# --8<-- \[(start|end):([\w-]+)\]\s*$")

log = logging.getLogger("mkdocs.hooks.exec")


class BlockFailed(Exception):
    def __init__(self, filename: str, line: int, summary: str, trace: str = "") -> None:
        super().__init__(f"{filename}:{line}: {summary}")
        self.filename, self.line, self.summary, self.trace = filename, line, summary, trace


class ExecutionFailed(SuperFencesException, PluginError):
    """Ends a strict build at the first failure (superfences lets it through; MkDocs reports it cleanly)."""


def read_text(path: Path) -> str:
    """A source file's text, or an error that names the file and the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BlockFailed(path.relative_to(ROOT).as_posix(), line, f"not valid UTF-8 (byte {error.start})") from None


def optional_imports() -> list[str]:
    """The optional packages (exec_worker.OPTIONAL) that a snippet imports: the sandbox's server preloads them.
    Read while MkDocs loads the configuration: a file that is not UTF-8 fails the build later, with its line
    (index_snippets), not here."""
    code = "\n".join(path.read_bytes().decode("utf-8", "replace") for path in sorted(SNIPPETS.rglob("*.py")))
    return [name for name in exec_worker.OPTIONAL if re.search(rf"^\s*(?:import|from)\s+{name}\b", code, re.M)]


def index_snippets() -> dict[str, tuple[str, int, str]]:
    """Map each snippet section's text to (file, first line, section name), to name where a block comes from."""
    index: dict[str, tuple[str, int, str]] = {}
    for path in sorted(SNIPPETS.rglob("*.py")):
        lines = read_text(path).splitlines()
        opened: dict[str, int] = {}
        for number, line in enumerate(lines, 1):
            match = SECTION.match(line)
            if match and match[1] == "start":
                opened[match[2]] = number
            elif match and match[2] in opened:
                body = lines[opened.pop(match[2]) : number - 1]
                first = number - len(body)
                while body and not body[0].strip():
                    body.pop(0)
                    first += 1
                index["\n".join(body).strip("\n")] = (path.relative_to(ROOT).as_posix(), first, match[2])
    return index


def env_fingerprint(env: Environment, versions: dict, preload: list[str]) -> str:
    """What every cached output of the environment depends on besides its code: the worker, the versions, and
    what the worker preloads (an import can change the state a block starts from)."""
    worker = hashlib.sha256(Path(exec_worker.__file__).read_bytes()).hexdigest()
    return json.dumps({"env": env.key, "worker": worker, "preload": preload, **versions}, sort_keys=True)


def _receive(sock: socket.socket, timeout: float) -> tuple[object, set[int]]:
    """One message and the pids the kernel says sent it (one per chunk)."""
    parts, senders = [], set()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            raise TimeoutError
        data, ancillary, _, _ = sock.recvmsg(exec_worker.CHUNK + 1, socket.CMSG_SPACE(12))
        if not data:
            raise EOFError
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                senders.add(struct.unpack("iII", payload[:12])[0])
        parts.append(data[1:])
        if data[:1] == b".":
            import pickle

            return pickle.loads(b"".join(parts)), senders  # noqa: S301  checked senders below


class Sandbox:
    """One environment's worker server in its bubblewrap sandbox, started on the first cache miss."""

    def __init__(self, env: Environment, versions: dict, preload: list[str]) -> None:
        self.env, self.versions, self.preload = env, versions, preload
        self.process: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.server_pid = 0
        self.ready = False

    def start(self) -> None:
        if self.process is not None:
            return
        self.scratch = Path(tempfile.mkdtemp(prefix="docs-exec-"))
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  the server's stderr, quoted when it breaks
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        command = (
            bwrap_command(python_of(self.env), self.versions["prefix"], self.scratch, self.env.key, theirs.fileno())
            + self.preload
        )
        self.process = subprocess.Popen(
            command,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
            env={},  # bwrap itself is the sandbox's pid 1: its /proc/1/environ must hold nothing of the build
        )
        theirs.close()
        self.sock = ours

    def wait_ready(self) -> None:
        if self.ready:
            return
        self.start()
        try:
            message, senders = _receive(self.sock, 300)
        except (TimeoutError, EOFError):
            message, senders = ("broken", "no answer", ""), set()
        if message[0] != "ready" or len(senders) != 1:
            self.log.seek(0)
            stderr = self.log.read().decode(errors="replace")[-3000:]
            self.kill()
            raise PluginError(f"the {self.env.label} sandbox did not start: {message[1]}\n{message[-1]}\n{stderr}")
        self.server_pid = senders.pop()
        self.ready = True

    def send(self, message) -> None:
        exec_worker.send(self.sock, message)

    def receive(self, timeout: float) -> tuple[object, set[int]]:
        return _receive(self.sock, timeout)

    def kill(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.sock.close()
            self.log.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
        self.process = self.sock = None
        self.ready = False


# -- A page in one environment ------------------------------------------------------------------------


class PageRun:
    """A page's session in one environment: its blocks' cache chain, and its process (on a cache miss)."""

    def __init__(self, page: str, sandbox: Sandbox, fingerprint: str) -> None:
        self.page, self.sandbox = page, sandbox
        self.chain = hashlib.sha256(fingerprint.encode())
        self.pending: list[tuple[str, str, int]] = []  # cached blocks the process has not run yet
        self.pid = 0  # the page process, once started
        self.seconds = 0.0
        self.slowest = (0.0, "")  # the slowest block run: (seconds, where)
        self.executed = self.cached = 0

    def run(self, code: str, filename: str, first_line: int) -> str:
        self.chain.update(code.encode() + b"\0")
        key = self.chain.hexdigest()
        cached = cache_get(key)
        if cached is not None:
            self.pending.append((code, filename, first_line))
            self.cached += 1
            return cached
        if not self.pid:
            self._start()
        for block in self.pending:  # a later block changed: replay the cached ones to rebuild the state
            self._execute(*block)
        self.pending.clear()
        output = self._execute(code, filename, first_line)
        self.executed += 1
        cache_put(key, output)
        return output

    def _start(self) -> None:
        self.sandbox.wait_ready()
        options = {"timeout": TIMEOUT, "memory": MEMORY, "output_limit": OUTPUT_LIMIT}
        self.sandbox.send(("page", self.page, options))
        message, senders = self.sandbox.receive(60)
        if message != ("hello",) or len(senders) != 1 or self.sandbox.server_pid in senders:
            self.sandbox.kill()
            raise PluginError(f"the {self.sandbox.env.label} sandbox did not start page {self.page}: {message!r}")
        self.pid = senders.pop()

    def _execute(self, code: str, filename: str, first_line: int) -> str:
        sandbox = self.sandbox
        label = f"{sandbox.env.label}, {torch_label(sandbox.versions)}"
        sandbox.send(("run", code, filename, first_line))
        try:
            message, senders = sandbox.receive(TIMEOUT + GRACE)
        except (TimeoutError, EOFError):
            self.pid = 0
            sandbox.kill()
            raise BlockFailed(
                filename, first_line, f"TimeoutError: the block did not finish within {TIMEOUT:g} s ({label})"
            ) from None
        if senders != {self.pid} and not (message[0] == "ended" and senders == {sandbox.server_pid}):
            self.pid = 0
            sandbox.kill()
            raise BlockFailed(
                filename,
                first_line,
                f"a process other than the page's own (pid {sorted(senders - {self.pid})}) answered for the block: "
                f"the output is rejected ({label})",
            )
        if message[0] == "ok":
            self.seconds += message[2]
            if message[2] > self.slowest[0]:
                self.slowest = (message[2], f"{filename}:{first_line} ({sandbox.env.label})")
            return message[1]
        if message[0] == "ended":  # the page process died in the middle of the block
            self.pid = 0
            _, code_, dump = message
            if dump.startswith("Timeout"):
                lines = re.findall(rf'File "{re.escape(filename)}", line (\d+)', dump)
                raise BlockFailed(
                    filename,
                    int(lines[0]) if lines else first_line,
                    f"TimeoutError: the block did not finish within {TIMEOUT:g} s (DOCS_EXEC_TIMEOUT; {label})",
                    dump,
                )
            if code_ == -signal.SIGKILL:
                summary = f"out of memory: the page's process was killed (SIGKILL) ({label})"
            else:
                summary = f"the page's process ended (exit code {code_}) before the block finished ({label})"
            raise BlockFailed(filename, first_line, summary)
        _, kind, line, summary, trace = message
        if kind == "memory":
            summary = f"out of memory: {summary} (DOCS_EXEC_MEMORY={MEMORY} bytes; {label})"
        else:
            summary = f"{summary} ({label})"
        raise BlockFailed(filename, line or first_line, summary, trace)

    def close(self) -> None:
        """End the page: its process exits and the server kills whatever it left behind."""
        if not self.pid:
            return
        self.pid = 0
        try:
            self.sandbox.send(("end",))
            message, senders = self.sandbox.receive(30)
            if message[0] != "ended" or senders != {self.sandbox.server_pid}:
                raise EOFError
        except (OSError, EOFError, TimeoutError):
            self.sandbox.kill()


def cache_get(key: str) -> str | None:
    if CACHE_DIR is None:
        return None
    try:
        return json.loads((CACHE_DIR / key[:2] / f"{key}.json").read_text(encoding="utf-8"))["output"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def cache_put(key: str, output: str) -> None:
    if CACHE_DIR is None:
        return
    path = CACHE_DIR / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps({"output": output}), encoding="utf-8")
    temporary.replace(path)


# -- The record of a page -----------------------------------------------------------------------------


SVG_IMAGE = re.compile(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)")
SVG_ID = re.compile(r"(?<=[\"#])([a-z])[0-9a-f]{10}(?=[\")])")


@functools.lru_cache(maxsize=512)  # asked by the page, its summary and the diff page: each output once
def comparable(output: str) -> str:
    """An output with the ids matplotlib derives for an SVG's clip paths and markers numbered in order of
    appearance: they hash the repr of NumPy values, which differs between NumPy 1 and 2 for the same figure."""

    def canonical(match: re.Match) -> str:
        svg = base64.b64decode(match[1]).decode("utf-8", errors="replace")
        names: dict[str, str] = {}
        return SVG_ID.sub(lambda m: names.setdefault(m[0], f"{m[1]}{len(names)}"), svg)

    return SVG_IMAGE.sub(canonical, output)


# The record of the build, written down once: ``Runner.records`` holds a PageRecord per page, each with its
# blocks in page order. The page's list of differences, the 版本差异一览 page and hooks/downloads.py read it
# in the build; ``DOCS_EXEC_RECORD`` writes it as JSON (``Runner.as_json``) for scripts/output_diff.py.


@dataclass
class Block:
    """One executed block: where its code comes from, the code, and what each environment printed."""

    anchor: str  # id of the block's output on the page ("exec-3": the page's third executed block)
    file: str  # the snippet file ("snippets/area/note.py"), or "docs/<page> (inline block)"
    line: int  # the section's first line in that file
    section: str  # the snippet section's name ("" for an inline block)
    code: str  # the code as it ran (the section, dedented)
    outputs: dict[str, str]  # environment key -> printed output (Markdown; figures as <img> with data: URIs)
    heading: str = ""  # the page heading (h2-h6) the block sits under, as Markdown text; "" above the first

    @property
    def same(self) -> bool:
        outputs = set(self.outputs.values())
        return len(outputs) <= 1 or len({comparable(output) for output in outputs}) <= 1


@dataclass
class PageRecord:
    """A page's blocks in page order (``failed``: the block that stopped the page; later blocks never ran)."""

    src_uri: str  # "autograd/abs-subgradient.md"
    blocks: list[Block] = field(default_factory=list)
    failed: BlockFailed | None = None
    url: str = ""  # "autograd/abs-subgradient/"
    title: str = ""  # the title in the navigation
    heading: str = ""  # the page's h1, as Markdown text (set when the page has been rendered)

    def differing(self) -> list[Block]:
        return [block for block in self.blocks if not block.same]

    def number(self, block: Block) -> int:
        """The block's place among the page's outputs a reader sees (set-up blocks print nothing)."""
        shown = [b for b in self.blocks if any(b.outputs.values())]
        return shown.index(block) + 1


# -- The build ----------------------------------------------------------------------------------------


class Runner:
    def __init__(self) -> None:
        self.environments: list[Environment] = []
        self.versions: dict[str, dict] = {}
        self.sandboxes: dict[str, Sandbox] = {}
        self.preload: list[str] = []  # the optional packages the servers import (configure)
        self.index: dict[str, tuple[str, int, str]] = {}
        self.records: dict[str, PageRecord] = {}
        self.runs: dict[str, PageRun] = {}
        self.page = ""
        self.strict = False
        self.incremental = False
        self.pool = ThreadPoolExecutor(max_workers=len(ENVIRONMENTS))
        self.stats = {"executed": 0, "cached": 0, "seconds": 0.0, "slowest": (0.0, ""), "waited": 0.0}

    def configure(self, strict: bool) -> None:
        self.strict = strict
        self.environments = selected_environments()
        versions = dict(
            zip([e.key for e in self.environments], self.pool.map(env_versions, self.environments), strict=True)
        )
        self.preload = optional_imports()
        for env in self.environments:  # a changed environment, or a changed preload, gets a new server
            box = self.sandboxes.get(env.key)
            if box is not None and (box.versions, box.preload) != (versions[env.key], self.preload):
                box.kill()
                del self.sandboxes[env.key]
            self.sandboxes.setdefault(env.key, Sandbox(env, versions[env.key], self.preload))
        self.versions = versions

    def reset(self) -> None:
        self.end_page()
        self.index = index_snippets()
        if not self.incremental:  # `mkdocs serve --dirty` keeps the records of the pages it does not rebuild
            self.records = {}
        self.stats = {"executed": 0, "cached": 0, "seconds": 0.0, "slowest": (0.0, ""), "waited": 0.0}

    def begin_page(self, page) -> None:
        self.end_page()
        self.page = page.file.src_uri
        self.records[self.page] = PageRecord(self.page, url=page.url, title=page.title or "")
        for env in self.environments:
            fingerprint = env_fingerprint(env, self.versions[env.key], self.preload)
            self.runs[env.key] = PageRun(self.page.removesuffix(".md"), self.sandboxes[env.key], fingerprint)

    def end_page(self) -> None:
        runs = list(self.runs.values())
        for run in runs:
            self.stats["executed"] += run.executed
            self.stats["cached"] += run.cached
            self.stats["seconds"] += run.seconds
            self.stats["slowest"] = max(self.stats["slowest"], run.slowest)
        list(self.pool.map(PageRun.close, runs))
        self.runs = {}

    def close(self) -> None:
        self.end_page()
        for box in self.sandboxes.values():
            box.kill()

    def as_json(self) -> dict:
        """The record as JSON: ``{"environments": {key: {"label", "versions"}}, "pages": {src_uri: {"url",
        "title", "heading", "blocks": [{the fields of Block, and "same"}]}}}``, pages with a block only."""
        return {
            "environments": {
                env.key: {"label": env.label, "versions": self.versions[env.key]} for env in self.environments
            },
            "pages": {
                uri: {
                    "url": record.url,
                    "title": record.title,
                    "heading": record.heading,
                    "blocks": [{**dataclasses.asdict(block), "same": block.same} for block in record.blocks],
                }
                for uri, record in self.records.items()
                if record.blocks
            },
        }

    # markdown-exec calls this for every python fence (see `formatter` below).
    def execute(self, code: str, session: str | None) -> tuple[Block, tuple[str, int, str]]:
        record = self.records[self.page]
        where = self.index.get(code.strip("\n"), (f"docs/{self.page} (inline block)", 1, ""))
        filename, first_line, section = where
        expected = self.page.removesuffix(".md")
        if session != expected:
            raise BlockFailed(
                filename,
                first_line,
                f'the block needs session="{expected}" (the page\'s own path), not "{session or ""}"',
            )
        if record.failed is not None:
            raise BlockFailed(
                filename,
                first_line,
                f"not run: an earlier block of the page failed ({record.failed.filename}:{record.failed.line})",
            )
        started = time.perf_counter()
        futures = {key: self.pool.submit(run.run, code, filename, first_line) for key, run in self.runs.items()}
        outputs, failure = {}, None
        for key, future in futures.items():
            try:
                outputs[key] = future.result()
            except BlockFailed as error:
                failure = failure or error
        self.stats["waited"] += time.perf_counter() - started  # the build's wall time spent on execution
        if failure is not None:
            record.failed = failure
            for run in self.runs.values():  # a failed page runs nothing more: its processes end now
                run.close()
                run.pid = 0
            raise failure
        block = Block(f"exec-{len(record.blocks) + 1}", filename, first_line, section, code, outputs)
        record.blocks.append(block)
        return block, where


runner = Runner()


# -- Rendering ----------------------------------------------------------------------------------------


def _render_output(output: str, result: str, raw_html: bool, md, update_toc: bool) -> str:
    """An output as HTML. Text results are escaped here, never handed to Markdown: nothing printed can
    end a fence or inject markup. Markdown results (tables) escape their cells in snippets/_shared/tables.py."""
    if not output:
        return ""
    if raw_html:
        return output
    if result:
        language = re.sub(r"[^\w-]", "", result)
        return f'<div class="language-{language} highlight"><pre><span></span><code>{html.escape(output, quote=False)}</code></pre></div>'
    return str(MarkdownConverter(md, update_toc=update_toc).convert(output))


def _versions_html(block: Block, rendered: dict[str, str]) -> str:
    labels = {env.key: f"{env.label} · {torch_label(runner.versions[env.key])}" for env in runner.environments}
    if block.same:
        names = " / ".join(torch_label(runner.versions[key]) for key in rendered)
        title = "两个版本的输出相同" if len(rendered) > 1 else "执行环境"
        body = next(iter(rendered.values()))
        if not body:
            return ""
        return f'{body}<p class="exec-versions" id="{block.anchor}" title="{title}" data-search-exclude>{html.escape(names)}</p>'
    group = f"{runner.page.removesuffix('.md').replace('/', '-')}-{block.anchor}"
    return version_tabs(group, block.anchor, rendered, labels)


def version_tabs(group: str, anchor: str, bodies: dict[str, str], labels: dict[str, str]) -> str:
    """Differing outputs as Material's tabs, one per environment (also used by hooks/notebooks.py)."""
    inputs = "".join(
        f'<input {"checked " if i == 0 else ""}id="{group}-{i}" name="{group}" type="radio">'
        for i in range(len(bodies))
    )
    names = "".join(f'<label for="{group}-{i}">{html.escape(labels[key])}</label>' for i, key in enumerate(bodies))
    panes = "".join(
        f'<div class="tabbed-block">{body or "<p><em>（没有输出）</em></p>"}</div>' for body in bodies.values()
    )
    return (
        f'<div class="tabbed-set tabbed-alternate exec-differs" id="{anchor}" data-tabs="{len(bodies)}">'
        f'{inputs}<div class="tabbed-labels">{names}</div><div class="tabbed-content">{panes}</div></div>'
    )


def _error_html(error: BlockFailed) -> str:
    text = f"{error.filename}:{error.line}: {error.summary}\n\n{error.trace}".rstrip()
    return f'<div class="admonition failure"><p class="admonition-title">代码执行失败</p><pre><code>{html.escape(text)}</code></pre></div>'


def formatter(
    *,
    code: str,
    md,
    html: bool = False,  # noqa: FBT001, FBT002
    source: str = "",
    result: str = "",
    tabs=markdown_exec.default_tabs,
    session: str | None = None,
    update_toc: bool = True,
    **extra,
) -> str:
    """markdown-exec's python formatter, replaced: run in every environment, render the outputs."""
    try:
        blocks = runner.records[runner.page].blocks
        before = len(blocks)
        output = _format(code, md, html, source, result, tabs, session, update_toc, extra)
        # Where the block sits on the page, for its record's heading (on_page_content reads and removes it).
        return BLOCK_MARK.format(blocks[-1].anchor) + output if len(blocks) > before else output
    except SuperFencesException:
        raise
    except Exception as error:  # pymdownx.superfences would swallow it: the block would vanish
        raise ExecutionFailed(f"docs/{runner.page}: the block could not be rendered: {error!r}") from error


def _format(code, md, html, source, result, tabs, session, update_toc, extra) -> str:  # noqa: PLR0913
    if source not in SOURCE_LOCATIONS:
        raise ExecutionFailed(f'docs/{runner.page}: source="{source}" is not one of {SOURCE_LOCATIONS}')
    try:
        block, _ = runner.execute(code, session)
    except BlockFailed as failure:
        message = f"{failure.filename}:{failure.line}: {failure.summary} (page docs/{runner.page})"
        if runner.strict:
            raise ExecutionFailed(f"{message}\n{failure.trace}".rstrip()) from None
        log.error("%s\n%s", message, failure.trace)
        return _error_html(failure)
    rendered = {key: _render_output(out, result, html, md, update_toc) for key, out in block.outputs.items()}
    output = _versions_html(block, rendered)
    if not source:  # shown without its source: wrapped, as one shown with it sits in <div class="result">
        return f'<div class="exec-output">{output}</div>' if output else ""
    placeholder = f'<div class="{uuid4()}"></div>'
    wrapped = add_source(
        source=code, location=source, output=placeholder, language="python", tabs=tabs, **extra.get("extra", {})
    )
    return str(MarkdownConverter(md, update_toc=update_toc).convert(wrapped, stash={placeholder: output}))


markdown_exec.formatters["python"] = markdown_exec.formatters["py"] = formatter


# -- Generated pages ----------------------------------------------------------------------------------

DIFF_PAGE = "version-diffs.md"


def _summary_html(record: PageRecord) -> str:
    items = "".join(
        f'<li><a href="#{b.anchor}">第 {record.number(b)} 个输出</a>（<code>{html.escape(b.section or b.file)}</code>）</li>'
        for b in record.differing()
    )
    labels = "与".join(f"{env.label}（{torch_label(runner.versions[env.key])}）" for env in runner.environments)
    return (
        '<div class="admonition info exec-summary"><p class="admonition-title">本页的版本差异</p>'
        f"<p>下面这些输出在{labels}中不同，两个版本都列出：</p><ul>{items}</ul></div>"
    )


def _diff_page_markdown(page) -> str:
    envs = "、".join(f"{e.label}（{torch_label(runner.versions[e.key])}）" for e in runner.environments)
    lines = [
        "# 版本差异一览",
        "",
        f"本站每个代码块都在两个环境中执行：{envs}。下面列出输出不同的全部代码块，按页面分组；"
        "点击进入页面，可以在标签页中对照两个版本的输出。",
        "",
    ]
    total = 0
    for record in runner.records.values():
        if record.src_uri == DIFF_PAGE or not record.differing():
            continue
        lines += [f"## {record.title}", ""]
        for block in record.differing():
            total += 1
            href = get_relative_url(record.url, page.url) + f"#{block.anchor}"
            first = {key: _first_difference(block, key) for key in block.outputs}
            detail = "；".join(f"{_env(key).label}：<code>{html.escape(text)}</code>" for key, text in first.items())
            lines.append(
                f'- <a href="{html.escape(href)}">第 {record.number(block)} 个输出</a>'
                f"（<code>{html.escape(block.section or block.file)}</code>）：{detail}"
            )
        lines.append("")
    if total == 0:
        lines.append("目前没有输出不同的代码块。")
    return "\n".join(lines) + "\n"


def _env(key: str) -> Environment:
    return next(e for e in ENVIRONMENTS if e.key == key)


def _first_difference(block: Block, key: str) -> str:
    """The first line of this environment's output that differs from the other's (shortened)."""
    others = [out.splitlines() for k, out in block.outputs.items() if k != key]
    mine = block.outputs[key].splitlines()
    for number, line in enumerate(mine):
        if any(number >= len(other) or other[number] != line for other in others):
            line = re.sub(r"<img\b[^>]*>", "〔图〕", line)
            line = re.sub(r"<[^>]+>", "", line).strip(" |").replace(" | ", "｜")  # a table row as plain text
            return line if len(line) <= 80 else line[:77] + "…"
    return "（少了后面的行）" if mine else "（没有输出）"


# -- Headings into the record --------------------------------------------------------------------------

# Each recorded block's output is preceded by this comment; on_page_content gives every block the heading
# above it (for the downloads' section cells) and removes the comments.
BLOCK_MARK = "<!--exec-block:{}-->"
_MARK_OR_HEADING = re.compile(
    r"<!--exec-block:(?P<anchor>[\w-]+)-->|<h(?P<level>[1-6])\b[^>]*>(?P<text>.*?)</h(?P=level)>", re.S
)


def _markdown_text(heading_html: str) -> str:
    """A rendered heading as the Markdown text it came from: `code` and $math$ kept, its permalink dropped."""
    text = re.sub(r'<a class="headerlink".*?</a>', "", heading_html, flags=re.S)
    text = re.sub(r"<code>(.*?)</code>", r"`\1`", text, flags=re.S)
    text = re.sub(r'<span class="arithmatex">\\\((.*?)\\\)</span>', r"$\1$", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _record_headings(record: PageRecord, content: str) -> str:
    blocks = {block.anchor: block for block in record.blocks}
    heading = ""
    for match in _MARK_OR_HEADING.finditer(content):
        if match["anchor"] in blocks:
            blocks[match["anchor"]].heading = heading
        elif match["level"] == "1":
            record.heading = record.heading or _markdown_text(match["text"])
        elif match["level"]:
            heading = _markdown_text(match["text"])
    return re.sub(r"<!--exec-block:[\w-]+-->", "", content)


# -- MkDocs events ------------------------------------------------------------------------------------


def on_config(config, **_):
    try:
        runner.configure(bool(config.get("strict")))
    except PluginError:
        raise
    if runner.incremental:  # `make serve`: the workers import torch now, so a snippet edit pays only its run
        for box in runner.sandboxes.values():
            box.start()
    config.extra["environments"] = [
        {"key": e.key, "label": e.label, "versions": runner.versions[e.key]} for e in runner.environments
    ]
    return config


def on_startup(command, dirty, **_):
    runner.incremental = command == "serve" and dirty


def on_files(files, config, **_):
    pages = {file.src_uri for file in files.documentation_pages()}
    for gone in set(runner.records) - pages:  # a page removed while serving
        del runner.records[gone]
    generated = File.generated(config, DIFF_PAGE, content="# 版本差异一览\n")
    generated.inclusion = InclusionLevel.NOT_IN_NAV  # a site whose nav leaves it out builds without a warning
    files.append(generated)
    return files


def on_pre_build(config, **_):
    try:
        runner.reset()
    except BlockFailed as failure:
        raise PluginError(str(failure)) from None


def on_page_markdown(markdown, page, **_):
    runner.begin_page(page)
    if page.file.src_uri == DIFF_PAGE:  # rendered last (its file is the last one): every record is complete
        return _diff_page_markdown(page)
    return markdown


def on_page_content(content, page, **_):
    runner.end_page()
    record = runner.records.get(page.file.src_uri)
    if record is not None:
        content = _record_headings(record, content)
    if record is not None and record.differing() and len(runner.environments) > 1:
        summary = _summary_html(record)
        heading = re.search(r"</h1>", content)
        content = content[: heading.end()] + summary + content[heading.end() :] if heading else summary + content
    return content


def on_post_build(config, **_):
    runner.end_page()
    stats = runner.stats
    log.info(
        "executed %d python blocks (%.1f s; slowest %.1f s, %s) in %d environment(s), %d taken from the cache",
        stats["executed"],
        stats["seconds"],
        *stats["slowest"],
        len(runner.environments),
        stats["cached"],
    )
    record = os.environ.get("DOCS_EXEC_RECORD")  # for scripts/output_diff.py: every block of every page
    if record:
        Path(record).write_text(json.dumps(runner.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    report = os.environ.get("DOCS_EXEC_REPORT")  # for scripts/bench.py
    if report:
        Path(report).write_text(
            json.dumps(
                {
                    "executed": stats["executed"],
                    "cached": stats["cached"],
                    "exec_seconds": stats["seconds"],
                    "exec_wall_seconds": stats["waited"],
                    "slowest_block": stats["slowest"],
                }
            ),
            encoding="utf-8",
        )


def on_build_error(error, **_):
    runner.end_page()


def on_shutdown(**_):
    runner.close()
