"""MkDocs hook: markdown-exec's ``python`` blocks run isolated, bounded, cached, and fail loudly.

markdown-exec alone runs blocks inside the MkDocs process: its sessions are global and survive
``mkdocs serve`` rebuilds, a failing block is only a warning, ``sys.exit()`` ends the build with exit 0
and no site, nothing stops a block that never ends, and nothing is cached. Here markdown-exec still
parses the fences and renders the results (``markdown_exec.formatters`` is its public table of
formatters); only the running of the code is replaced:

- each page's session runs in its own process, forked from a server that imported torch once
  (``exec_worker``): no state crosses pages, and every page starts seeded, with figures closed;
- the session name must be the page's own path (``autograd/tensor-attributes`` for
  ``docs/autograd/tensor-attributes.md``);
- an exception, ``SystemExit`` or ``KeyboardInterrupt``, a time-out (``DOCS_EXEC_TIMEOUT``, seconds,
  default 300) or an output over budget (``DOCS_EXEC_OUTPUT_LIMIT``, bytes, default 262144) is an
  error naming the snippet file and line and the page;
- outputs are cached in ``.cache/exec`` (``DOCS_EXEC_CACHE`` names another folder, ``off`` disables
  it); a block's key covers its code, every earlier block of its page, and the versions of Python
  and the packages the snippets use, so nothing stale is ever reused. When every block of a build
  is cached, torch is never imported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import re
import sys
from importlib import metadata
from pathlib import Path

import markdown_exec
from markdown_exec import ExecutionError, base_format, code_block
from markupsafe import Markup

import exec_worker  # standard library only: no torch here (MkDocs puts hooks/ on sys.path while loading)

HOOKS = Path(__file__).resolve().parent
ROOT = HOOKS.parent
SNIPPETS = ROOT / "snippets"
TIMEOUT = float(os.environ.get("DOCS_EXEC_TIMEOUT", "300"))
OUTPUT_LIMIT = int(os.environ.get("DOCS_EXEC_OUTPUT_LIMIT", str(256 * 1024)))
_cache_setting = os.environ.get("DOCS_EXEC_CACHE", str(ROOT / ".cache" / "exec"))
CACHE_DIR = None if _cache_setting == "off" else Path(_cache_setting)
# Everything whose version can change what a snippet prints.
PACKAGES = ("torch", "torchvision", "numpy", "matplotlib", "pillow", "noto-cjk-sans-otc", "markdown-exec")

log = logging.getLogger("mkdocs.hooks.exec")
SECTION = re.compile(r"^\s*# --8<-- \[(start|end):([\w-]+)\]\s*$")


class BlockFailed(Exception):
    def __init__(self, filename: str, line: int, summary: str, trace: str = "") -> None:
        super().__init__(f"{filename}:{line}: {summary}")
        self.filename, self.line, self.summary, self.trace = filename, line, summary, trace


def read_text(path: Path) -> str:
    """A source file's text, or an error that names the file and the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BlockFailed(path.relative_to(ROOT).as_posix(), line, f"not valid UTF-8 (byte {error.start})") from None


def index_snippets() -> dict[str, tuple[str, int]]:
    """Map each snippet section's text to (file, first line), to name the file and line of a failure."""
    index: dict[str, tuple[str, int]] = {}
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
                index["\n".join(body).strip("\n")] = (path.relative_to(ROOT).as_posix(), first)
    return index


def environment_fingerprint() -> str:
    """Python, package versions (read from metadata: torch is not imported) and the worker's own code."""
    parts = {"python": sys.version, "worker": hashlib.sha256(Path(exec_worker.__file__).read_bytes()).hexdigest()}
    parts.update({name: metadata.version(name) for name in PACKAGES})
    return json.dumps(parts, sort_keys=True)


class Session:
    """One page's session: its worker process (started only on a cache miss) and its chain of blocks."""

    _context = None

    def __init__(self, name: str, fingerprint: str) -> None:
        self.name = name
        self.chain = hashlib.sha256(fingerprint.encode())
        self.pending: list[tuple[str, str, int]] = []  # cached blocks the worker has not run yet
        self.process = None
        self.conn = None
        self.seconds = 0.0  # time spent executing blocks (replays included)

    @classmethod
    def context(cls):
        if cls._context is None:
            os.environ.setdefault("MPLBACKEND", "Agg")
            if str(HOOKS) not in sys.path:
                sys.path.insert(0, str(HOOKS))  # the fork server imports exec_worker by name
            cls._context = multiprocessing.get_context("forkserver")
            # multiprocessing re-runs the `mkdocs` console script in every forked process (as __mp_main__):
            # with what it imports preloaded too, that costs nothing.
            main_imports = [name for name in ("mkdocs.__main__",) if name in sys.modules]
            cls._context.set_forkserver_preload(exec_worker.PRELOAD + main_imports)
        return cls._context

    def run(self, code: str, filename: str, first_line: int) -> str:
        self.chain.update(code.encode() + b"\0")
        key = self.chain.hexdigest()
        cached = cache_get(key)
        if cached is not None:
            self.pending.append((code, filename, first_line))
            return cached
        if self.process is None:
            context = self.context()
            self.conn, child = context.Pipe()
            self.process = context.Process(
                target=exec_worker.start, args=(child, OUTPUT_LIMIT), name=f"exec:{self.name}", daemon=True
            )
            self.process.start()
            child.close()
        for block in self.pending:  # a later block changed: replay the cached ones to rebuild the state
            self._execute(*block)
        self.pending.clear()
        output = self._execute(code, filename, first_line)
        cache_put(key, output)
        return output

    def _execute(self, code: str, filename: str, first_line: int) -> str:
        try:
            self.conn.send((code, filename, first_line))
            if not self.conn.poll(TIMEOUT):
                self.close()
                raise BlockFailed(
                    filename,
                    first_line,
                    f"TimeoutError: the block did not finish within {TIMEOUT:g} s (DOCS_EXEC_TIMEOUT)",
                )
            reply = self.conn.recv()
        except (EOFError, OSError):  # the process died: at start-up, or in the middle of the block
            self.process.join(5)
            code = self.process.exitcode
            self.close()
            raise BlockFailed(
                filename, first_line, f"the page's process ended (exit code {code}) before the block finished"
            ) from None
        if reply[0] == "ok":
            self.seconds += reply[2]
            return reply[1]
        _, line, summary, trace = reply
        raise BlockFailed(filename, line or first_line, summary, trace)

    def close(self) -> None:
        if self.process is not None:
            self.conn.close()
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.process = self.conn = None


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
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"output": output}), encoding="utf-8")
    temporary.replace(path)


class Runner:
    """The state of one build: the page being rendered, its sessions, the snippet index."""

    def __init__(self) -> None:
        self.page = ""
        self.sessions: dict[str, Session] = {}
        self.index: dict[str, tuple[str, int]] = {}
        self.fingerprint = ""
        self.executed = 0
        self.cached = 0

    def reset(self) -> None:
        self.close()
        self.index = index_snippets()
        self.fingerprint = environment_fingerprint()
        self.executed = self.cached = 0

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()

    def run(self, code: str, returncode: int | None = None, session: str | None = None, **extra: str) -> str:  # noqa: ARG002
        filename, first_line = self.index.get(code.strip("\n"), (f"docs/{self.page} (inline block)", 1))
        expected = self.page.removesuffix(".md")
        try:
            if session != expected:
                raise BlockFailed(
                    filename,
                    first_line,
                    f'the block needs session="{expected}" (the page\'s own path), not "{session or ""}"',
                )
            state = self.sessions.get(session)
            if state is None:
                state = self.sessions[session] = Session(session, self.fingerprint)
            before = len(state.pending)
            output = state.run(code, filename, first_line)
            if len(state.pending) > before:
                self.cached += 1
            else:
                self.executed += 1
            return output
        except Exception as error:  # noqa: BLE001  pymdownx.superfences would swallow it: the block would vanish
            failure = error if isinstance(error, BlockFailed) else BlockFailed(filename, first_line, repr(error))
            log.error(
                "%s:%s: %s (page docs/%s)\n%s",
                failure.filename,
                failure.line,
                failure.summary,
                self.page,
                failure.trace,
            )
            raise ExecutionError(code_block("python", failure.trace or str(failure))) from None


runner = Runner()


def format_block(**options):
    """markdown-exec's rendering; an output shown without its source (no `source=` option) is wrapped in
    <div class="exec-output">, as one shown with it sits in <div class="result">: every executed output is
    findable in the built page (tests, scripts/output_diff.py), the reader sees no difference."""
    rendered = base_format(language="python", run=runner.run, **options)
    if options.get("source") or not rendered:
        return rendered
    return Markup(f'<div class="exec-output">{rendered}</div>')  # noqa: S704 (markdown-exec's own HTML)


markdown_exec.formatters["python"] = markdown_exec.formatters["py"] = format_block


def on_pre_build(config, **_):
    try:
        runner.reset()
    except BlockFailed as failure:
        from mkdocs.exceptions import PluginError

        raise PluginError(str(failure)) from None


def on_page_markdown(markdown, page, **_):
    runner.page = page.file.src_uri
    return markdown


def on_post_build(config, **_):
    seconds = sum(session.seconds for session in runner.sessions.values())
    runner.close()
    log.info("executed %d python blocks (%.1f s), %d taken from the cache", runner.executed, seconds, runner.cached)
    report = os.environ.get("DOCS_EXEC_REPORT")  # for scripts/bench.py
    if report:
        Path(report).write_text(
            json.dumps({"executed": runner.executed, "cached": runner.cached, "exec_seconds": seconds}),
            encoding="utf-8",
        )


def on_build_error(error, **_):
    runner.close()


def on_shutdown(**_):
    runner.close()
