"""MkDocs hook: notebook pages (mkdocs-jupyter) run and display without any network.

- The kernel that executes a notebook at build time runs in the same bubblewrap sandbox as the
  snippets (``exec_isolated.bwrap_command``: no network, an empty environment, read-only files), in
  the current environment: the private kernelspec ``python3`` starts it there. It talks to the build
  over Unix sockets (jupyter's ``ipc`` transport), not TCP on 127.0.0.1, in a private temporary
  folder, the one folder of the build that the sandbox shares.
- nbconvert's page template loads MathJax (``<script src=...>`` plus its configuration) and, for
  Mermaid diagrams, a module from a CDN. Both tags are removed: formulas in Markdown cells are rendered
  by the KaTeX that ships with the site (``docs/javascripts/katex.js``), and a notebook with a Mermaid
  diagram fails the build instead of publishing a diagram that needs the internet.
- nbconvert inlines ~0.6 MB of JupyterLab CSS into every notebook page. Large inline styles are moved
  to one content-addressed file under ``assets/notebooks/`` that every notebook page shares and the
  browser caches.
- Under ``mkdocs serve --dirty`` (``make serve``) a rebuild renders only the edited pages, and
  mkdocs-jupyter (0.26.3) deletes every cached notebook that the build did not render: one prose edit
  would cost the next build a notebook run. A dirty rebuild keeps those caches; a full build still
  evicts what it did not use.
- The notebook runs in both environments (issue 11) when both are selected (``DOCS_EXEC_ENVS``):
  mkdocs-jupyter's run, on the kernel ``python3``, is the current one and the one the page renders; a second
  run on the private kernelspec ``python3-notes`` (the notes' environment, in the same sandbox) starts in a
  background thread when the build starts (``on_files``) and is joined when the notebook page is rendered.
  It is rendered by the same nbconvert exporter, with nbclient (``allow_errors`` off: a failing cell fails
  the build, naming the notebook and the cell; ``DOCS_EXEC_TIMEOUT`` seconds per cell) and cached under
  ``DOCS_EXEC_CACHE``/notebooks, keyed by the notebook's bytes, the notes' versions and this hook's code.
  Each code cell's outputs as a reader sees them (printed text, ``text/plain``, HTML as text, figures by
  their decoded pixels: the PNG bytes of the same picture may differ with the encoder) are compared: each
  cell goes into the page's record (``exec_isolated``: ``Runner.records``, a ``Block`` per code cell), so the
  summary under the h1 and 版本差异一览 list the differing cells; a differing cell's output becomes two tabs
  (笔记版本 first, as on the Markdown pages), an identical one gets the versions label.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path

import sandbox  # not a hook: the environments and the bubblewrap command (MkDocs puts hooks/ on sys.path while loading)
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.utils import get_relative_url

MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
MERMAID_LOADER = re.compile(
    r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*const diagrams = document\.querySelectorAll\("\.jp-Mermaid > pre\.mermaid"\);.*?</script>',
    re.S,
)
MERMAID_DIAGRAM = re.compile(r'<[a-z]+ [^>]*class="[^"]*\bjp-Mermaid\b')
HEADING = re.compile(r'<h([1-6]) id="([^"]*)">(.*?)<a class="anchor-link" href="#[^"]*">', re.S)
STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
INLINE_LIMIT = 16 * 1024  # bytes: smaller styles stay inline
STYLE_FOLDER = "assets/notebooks"
JUPYTER_VARIABLES = ("JUPYTER_CONFIG_DIR", "JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")

_state: dict = {"dirty": False}


def on_startup(command, dirty, **_):
    _state["dirty"] = command == "serve" and dirty


def _nbconvert_config(folder: Path) -> dict:
    """The kernel over Unix sockets; a cell's printed text as one output, however the kernel flushed it.

    ipykernel sends printed text in pieces when it flushes (every 0.2 s, or on ``sys.stdout.flush()``), so
    one ``print`` on a busy machine could reach the page as two outputs. nbconvert's coalescing
    preprocessor merges them, but among its default preprocessors it comes before the one that executes:
    here it comes right after it."""
    from nbconvert.exporters import Exporter

    coalesce, execute = (
        "nbconvert.preprocessors.CoalesceStreamsPreprocessor",
        "nbconvert.preprocessors.ExecutePreprocessor",
    )
    order = [name for name in Exporter().default_preprocessors if name != coalesce]
    order.insert(order.index(execute) + 1, coalesce)
    return {
        "KernelManager": {"transport": "ipc", "ip": str(folder / "kernel")},
        "Exporter": {"default_preprocessors": order},
        "CoalesceStreamsPreprocessor": {"enabled": True},
    }


def on_config(config, **_):
    # Build-wide Jupyter configuration in a private folder: the reader's ~/.jupyter does not change the build.
    if _state.get("folder") is None:
        folder = Path(tempfile.mkdtemp(prefix="nbk-"))  # short: a Unix socket path must stay under 108 bytes
        (folder / "jupyter_nbconvert_config.json").write_text(json.dumps(_nbconvert_config(folder)), encoding="utf-8")
        (folder / "runtime").mkdir()
        _state["folder"] = folder
        _state["previous"] = {name: os.environ.get(name) for name in JUPYTER_VARIABLES}
    folder = _state["folder"]
    _write_kernelspec(folder)
    _state["both"] = [e.key for e in sandbox.selected_environments()] == [e.key for e in sandbox.ENVIRONMENTS]
    if _state["both"]:
        _write_kernelspec(folder, "notes")
    os.environ.update(
        {"JUPYTER_CONFIG_DIR": str(folder), "JUPYTER_PATH": str(folder), "JUPYTER_RUNTIME_DIR": str(folder / "runtime")}
    )
    return config


KERNELS = {"current": "python3", "notes": "python3-notes"}  # environment key -> private kernelspec


def _write_kernelspec(folder: Path, key: str = "current") -> None:
    """kernels/<name> in the private JUPYTER_PATH: a notebook kernel, started inside the sandbox of the
    environment ``key`` (``python3``: the current one, which mkdocs-jupyter uses; ``python3-notes``)."""
    env = next(e for e in sandbox.ENVIRONMENTS if e.key == key)
    versions = sandbox.env_versions(env)
    scratch = folder / f"scratch-{key}"
    command = sandbox.bwrap_command(sandbox.python_of(env), versions["prefix"], scratch, env.key, None, share=folder)
    spec = folder / "kernels" / KERNELS[key]
    spec.mkdir(parents=True, exist_ok=True)
    scratch.mkdir(exist_ok=True)
    # jupyter_client writes the connection file outside the sandbox (a temporary file): it is bound in, read-only.
    python = command.index("--")
    command[python:python] = ["--ro-bind", "{connection_file}", "{connection_file}"]
    argv = [*command, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": f"Python 3 ({env.label}, sandbox)", "language": "python"}),
        encoding="utf-8",
    )


def _is_notebook(page) -> bool:
    return page.file.src_uri.endswith(".ipynb")


def _toc_ids(items) -> list[str]:
    ids = []
    for item in items:
        ids.append(item.id)
        ids += _toc_ids(item.children)
    return ids


# After hooks/downloads.py (priority 0), which must not see the notebook's cells in the record (the page's
# download is the stored notebook); before hooks/search_index.py (-100), which indexes what this returns.
@event_priority(-50)
def on_page_content(html, page, config, **_):
    """Before the search index and the template see the notebook: no CDN loader, TOC ids that exist, and
    the notes' run of the notebook beside the current one."""
    if not _is_notebook(page):
        return html
    where = f"docs/{page.file.src_uri}"
    html = _both_versions(html, page, config)
    if MERMAID_DIAGRAM.search(html):
        raise PluginError(f"{where}: a Mermaid diagram would need a script from a CDN; draw it as a figure instead")
    html, found = MATHJAX.subn("", html)
    if found != 1:
        raise PluginError(f"{where}: nbconvert's MathJax loader was not found (template changed?)")
    html = MERMAID_LOADER.sub("", html)

    # nbconvert's ids drop Chinese (a heading of only Chinese gets id=""); the table of contents, built
    # from the same headings, has MkDocs' ids: give each heading the id its TOC entry links to.
    ids = iter(_toc_ids(page.toc))
    headings = HEADING.findall(html)
    wanted = _toc_ids(page.toc)
    if len(headings) != len(wanted):
        raise PluginError(f"{where}: {len(headings)} headings but {len(wanted)} table-of-contents entries")

    def rename(match: re.Match) -> str:
        new = next(ids)
        return f'<h{match[1]} id="{new}">{match[3]}<a class="anchor-link" href="#{new}">'

    html = HEADING.sub(rename, html)

    def move(match: re.Match) -> str:
        css = match.group(1)
        if len(css.encode()) < INLINE_LIMIT:
            return match.group(0)
        data = css.strip().encode()
        name = f"{STYLE_FOLDER}/{hashlib.sha256(data).hexdigest()[:16]}.css"
        target = Path(config.site_dir) / name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return f'<link rel="stylesheet" href="{get_relative_url(name, page.url or "index.html")}">'

    return STYLE.sub(move, html)


# -- The notebook in the notes' environment -------------------------------------------------------------------

CELL_TIMEOUT = float(os.environ.get("DOCS_EXEC_TIMEOUT", "60"))  # seconds per cell, as per snippet block
_cache_setting = os.environ.get("DOCS_EXEC_CACHE", str(sandbox.ROOT / ".cache" / "exec"))
CACHE_DIR = None if _cache_setting == "off" else Path(_cache_setting) / "notebooks"
CODE_CELL = re.compile(r'<div class="jp-Cell jp-CodeCell jp-Notebook-cell" id="cell-id=([^"]+)">')
ANY_CELL = re.compile(r'<div class="jp-Cell jp-(?:Code|Markdown|Raw)Cell jp-Notebook-cell"[^>]*>')
OUTPUT_AREA = '<div class="jp-OutputArea jp-Cell-outputArea">'
PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
EXEC_HOOK = "exec_isolated.py"
log = logging.getLogger("mkdocs.hooks.notebooks")


class NotebookFailed(PluginError):
    pass


def _exec_hook(config):
    """The running hooks/exec_isolated.py (MkDocs lists each hook module under its path in config.hooks)."""
    return next((m for path, m in config.hooks.items() if os.path.basename(path) == EXEC_HOOK), None)


def _balanced_div(text: str, start: int) -> int:
    """The end of the <div> that opens at ``start``."""
    depth = 0
    for match in re.compile(r"<div\b|</div>").finditer(text, start):
        depth += 1 if match[0] == "<div" else -1
        if depth == 0:
            return match.end()
    raise ValueError("unbalanced <div>")


def output_areas(html: str) -> dict[str, tuple[int, int] | None]:
    """Each code cell's id -> the span of its output area in nbconvert's HTML (None: the cell printed nothing)."""
    starts = [m.start() for m in ANY_CELL.finditer(html)] + [len(html)]
    areas: dict[str, tuple[int, int] | None] = {}
    for match in CODE_CELL.finditer(html):
        end = next(s for s in starts if s > match.start())
        at = html.find(OUTPUT_AREA, match.end(), end)
        areas[match[1]] = (at, _balanced_div(html, at)) if at >= 0 else None
    return areas


def reader_text(area: str) -> str:
    """What a reader sees of an output area, as text: printed text and HTML without markup, figures as <img>."""
    parts = []
    for piece in re.split(r"(<img\b[^>]*>)", area):
        if piece.startswith("<img"):
            parts.append(re.sub(r'\s(?:class|loading|style)="[^"]*"', "", piece))
        else:
            piece = re.sub(r"<style\b.*?</style>", "", piece, flags=re.S)
            parts.append(unescape(re.sub(r"<[^>]+>", "", piece)))
    return re.sub(r"\n{2,}", "\n", "".join(parts)).strip("\n")


def _pixels(match: re.Match) -> str:
    """A PNG by what it shows (size, mode and pixels), not by its bytes (compression, metadata)."""
    import base64
    import io

    try:
        from PIL import Image

        with Image.open(io.BytesIO(base64.b64decode(match[1]))) as image:
            data = image.size, image.mode, image.tobytes()
        digest = hashlib.sha256(repr(data[:2]).encode() + data[2]).hexdigest()
    except Exception:  # noqa: BLE001  not decodable here: compared by its bytes
        digest = hashlib.sha256(match[1].encode()).hexdigest()
    return f"png:{digest}"


@functools.lru_cache(maxsize=512)  # asked for every summary and the diff page: each figure is decoded once
def meaningful(output: str) -> str:
    return PNG.sub(_pixels, output)


def _cell_block_class(exec_hook):
    @dataclass
    class NotebookCell(exec_hook.Block):
        """A code cell of a notebook page, recorded as a Block: ``file`` is the notebook, ``line`` the cell's
        number (1-based, counting every cell, as in the build's errors), ``section`` "cell N", ``code`` the
        cell's source, ``outputs`` the text of what a reader sees (``reader_text``: figures as <img>).
        Figures count as equal when their pixels are."""

        @property
        def same(self) -> bool:
            outputs = set(self.outputs.values())
            return len(outputs) <= 1 or len({meaningful(output) for output in outputs}) <= 1

    return NotebookCell


def _notes_key(path: Path, versions: dict, options: dict) -> str:
    digest = hashlib.sha256(path.read_bytes())
    for part in (json.dumps(versions, sort_keys=True), json.dumps(options, sort_keys=True, default=repr)):
        digest.update(b"\0" + part.encode())
    for code in (Path(__file__), Path(sandbox.__file__)):
        digest.update(b"\0" + code.read_bytes())
    return digest.hexdigest()


def _converter_options(config) -> dict:
    jupyter = config.plugins["mkdocs-jupyter"].config
    names = ("theme", "show_input", "no_input", "no_prompt", "remove_tag_config", "highlight_extra_classes")
    options = {name: jupyter[name] for name in names}
    options.update(include_requirejs=jupyter["include_requirejs"], custom_mathjax_url=jupyter["custom_mathjax_url"])
    return options


def run_notes(path: Path, where: str, folder: Path, options: dict) -> dict[str, str | None]:
    """The notebook run on the notes' kernel and rendered like mkdocs-jupyter's: code cell id -> output area
    HTML (None without output). Cached; a failing cell raises NotebookFailed."""
    env = next(e for e in sandbox.ENVIRONMENTS if e.key == "notes")
    versions = sandbox.env_versions(env)
    cached = CACHE_DIR / f"notes-{_notes_key(path, versions, options)}.json" if CACHE_DIR else None
    _state.setdefault("notes_used", set()).add(cached)
    if cached is not None and cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    import nbformat
    from jupyter_client.manager import KernelManager
    from mkdocs_jupyter.nbconvert2 import nb2html
    from nbclient import NotebookClient
    from nbclient.exceptions import CellControlSignal, CellExecutionError, CellTimeoutError

    notebook = nbformat.read(path, as_version=4)
    manager = KernelManager(kernel_name=KERNELS["notes"], transport="ipc", ip=str(folder / "notes-kernel"))
    client = NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT, allow_errors=False, coalesce_streams=True)
    label = f"{env.label}, {sandbox.torch_label(versions)}"
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            try:
                client.execute_cell(cell, index)
            except (CellExecutionError, CellTimeoutError, CellControlSignal) as error:
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                raise NotebookFailed(
                    f"{where}: cell {index + 1} (`{first[:60]}`) failed in the {label} kernel:\n{error}"
                ) from None
    executed = folder / f"notes-{os.getpid()}-{threading.get_ident()}.ipynb"
    nbformat.write(notebook, executed)
    try:
        html = nb2html(str(executed), execute=False, **options)
    finally:
        executed.unlink()
    areas = {cell: span and html[span[0] : span[1]] for cell, span in output_areas(html).items()}
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(areas), encoding="utf-8")
        temporary.replace(cached)
    return areas


def _start_notes_run(file, config) -> Future:
    future: Future = Future()
    options = _converter_options(config)
    where, path = f"docs/{file.src_uri}", Path(file.abs_src_path)

    def work():
        started = time.perf_counter()
        try:
            areas = run_notes(path, where, _state["folder"], options)
            future.seconds = time.perf_counter() - started  # before the result: the page reads it then
            future.set_result(areas)
        except BaseException as error:  # noqa: BLE001  re-raised when the page is rendered
            future.set_exception(error)

    threading.Thread(target=work, name=f"notes-run {file.src_uri}", daemon=True).start()
    return future


def on_files(files, config, **_):
    """Start the notes' run of each notebook now: on a cold build it overlaps the rest of the build."""
    _state["notes_runs"], _state["notes_used"] = {}, set()
    if _state.get("both"):
        for file in files.documentation_pages():
            if file.src_uri.endswith(".ipynb"):
                _state["notes_runs"][file.src_uri] = _start_notes_run(file, config)
    return files


def _both_versions(html: str, page, config) -> str:
    """Record every code cell's outputs in both environments; show the notes' output where it differs."""
    future = _state.get("notes_runs", {}).get(page.file.src_uri)
    hook = _exec_hook(config)
    if future is None or hook is None:
        return html
    started = time.perf_counter()
    notes = future.result()
    log.info(
        "%s: the notes' run took %.1f s in the background; the page waited %.1f s for it",
        f"docs/{page.file.src_uri}",
        getattr(future, "seconds", 0.0),
        time.perf_counter() - started,
    )
    runner = hook.runner
    record = runner.records.setdefault(page.file.src_uri, hook.PageRecord(page.file.src_uri))
    record.url, record.title = page.url, record.title or page.title or ""
    Cell = _cell_block_class(hook)
    import nbformat

    notebook = nbformat.read(page.file.abs_src_path, as_version=4)
    numbers = {cell.get("id"): index + 1 for index, cell in enumerate(notebook.cells)}
    sources = {cell.get("id"): cell.source for cell in notebook.cells}
    current = output_areas(html)
    starts = {m[1]: m.start() for m in CODE_CELL.finditer(html)}
    code_cells = [cell.get("id") for cell in notebook.cells if cell.cell_type == "code"]
    if list(current) != code_cells or set(notes) != set(code_cells):
        raise PluginError(
            f"docs/{page.file.src_uri}: the two runs' HTML does not show every code cell by its id "
            "(a notebook needs cell ids: nbformat 4.5)"
        )
    labels = {e.key: f"{e.label} · {sandbox.torch_label(runner.versions[e.key])}" for e in runner.environments}
    names = " / ".join(sandbox.torch_label(runner.versions[e.key]) for e in runner.environments)
    record.blocks = []
    edits = []  # (start, end, replacement) in the current HTML
    for cell_id, span in current.items():
        areas = {"notes": notes[cell_id] or "", "current": html[span[0] : span[1]] if span else ""}
        number = numbers[cell_id]
        block = Cell(
            f"nb-cell-{number}",
            f"docs/{page.file.src_uri}",
            number,
            f"cell {number}",
            sources[cell_id],
            {key: reader_text(area) for key, area in areas.items()},
        )
        record.blocks.append(block)
        if block.same and span is None:  # printed nothing in either run
            continue
        if block.same:
            label = f'<p class="exec-versions" id="{block.anchor}" title="两个版本的输出相同" data-search-exclude>{escape(names)}</p>'
            edits.append((span[1], span[1], label))
        else:
            group = f"{page.file.src_uri.removesuffix('.ipynb').replace('/', '-')}-{block.anchor}"
            replacement = hook.version_tabs(group, block.anchor, areas, labels)
            if span is None:  # printed nothing in the current run: the tabs go right after the cell
                end = _balanced_div(html, starts[cell_id])
                edits.append((end, end, replacement))
            else:
                edits.append((span[0], span[1], replacement))
    for start, end, replacement in sorted(edits, reverse=True):
        html = html[:start] + replacement + html[end:]
    if record.differing():
        summary = hook._summary_html(record)
    else:
        summary = (
            '<p class="exec-notebook-same" data-search-exclude>'
            f"本页的每个单元格在两个版本（{escape(names)}）中的输出相同。</p>"
        )
    heading = re.search(r"</h1>", html)
    at = heading.end() if heading else 0
    return html[:at] + summary + html[at:]


@event_priority(100)  # before mkdocs-jupyter's own on_post_build, which evicts the caches this build did not use
def on_post_build(config, **_):
    jupyter = config.plugins.get("mkdocs-jupyter")
    used = getattr(jupyter, "_used_cache_paths", None)
    if _state["dirty"] and isinstance(used, set):
        used.update(Path(jupyter.config["cache_dir"]).glob("*.json"))
    # The notes' runs, likewise: a full build that ran every notebook evicts those it did not use.
    runs = _state.get("notes_runs", {})
    if (
        not _state["dirty"]
        and CACHE_DIR is not None
        and runs
        and all(f.done() and not f.exception() for f in runs.values())
    ):
        for stale in set(CACHE_DIR.glob("notes-*.json")) - _state.get("notes_used", set()):
            stale.unlink(missing_ok=True)


def _cleanup() -> None:
    folder = _state.pop("folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        for name, previous in _state.pop("previous", {}).items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous


def on_shutdown(**_):
    _cleanup()


def on_build_error(**_):
    _cleanup()
