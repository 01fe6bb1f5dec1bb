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
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
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


def on_config(config, **_):
    # Build-wide Jupyter configuration in a private folder: the reader's ~/.jupyter does not change the build.
    if _state.get("folder") is None:
        folder = Path(tempfile.mkdtemp(prefix="nbk-"))  # short: a Unix socket path must stay under 108 bytes
        (folder / "jupyter_nbconvert_config.json").write_text(
            json.dumps({"KernelManager": {"transport": "ipc", "ip": str(folder / "kernel")}}), encoding="utf-8"
        )
        (folder / "runtime").mkdir()
        _state["folder"] = folder
        _state["previous"] = {name: os.environ.get(name) for name in JUPYTER_VARIABLES}
    folder = _state["folder"]
    _write_kernelspec(folder)
    os.environ.update(
        {"JUPYTER_CONFIG_DIR": str(folder), "JUPYTER_PATH": str(folder), "JUPYTER_RUNTIME_DIR": str(folder / "runtime")}
    )
    return config


def _write_kernelspec(folder: Path) -> None:
    """kernels/python3 in the private JUPYTER_PATH: the notebook's kernel, started inside the sandbox."""
    env = next(e for e in sandbox.ENVIRONMENTS if e.key == "current")
    versions = sandbox.env_versions(env)
    command = sandbox.bwrap_command(
        sandbox.python_of(env), versions["prefix"], folder / "scratch", env.key, None, share=folder
    )
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (folder / "scratch").mkdir(exist_ok=True)
    # jupyter_client writes the connection file outside the sandbox (a temporary file): it is bound in, read-only.
    python = command.index("--")
    command[python:python] = ["--ro-bind", "{connection_file}", "{connection_file}"]
    argv = [*command, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3 (sandbox)", "language": "python"}), encoding="utf-8"
    )


def _is_notebook(page) -> bool:
    return page.file.src_uri.endswith(".ipynb")


def _toc_ids(items) -> list[str]:
    ids = []
    for item in items:
        ids.append(item.id)
        ids += _toc_ids(item.children)
    return ids


def on_page_content(html, page, config, **_):
    """Before the search index and the template see the notebook: no CDN loader, TOC ids that exist."""
    if not _is_notebook(page):
        return html
    where = f"docs/{page.file.src_uri}"
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


@event_priority(100)  # before mkdocs-jupyter's own on_post_build, which evicts the caches this build did not use
def on_post_build(config, **_):
    jupyter = config.plugins.get("mkdocs-jupyter")
    used = getattr(jupyter, "_used_cache_paths", None)
    if _state["dirty"] and isinstance(used, set):
        used.update(Path(jupyter.config["cache_dir"]).glob("*.json"))


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
