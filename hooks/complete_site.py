"""MkDocs hook: the built site holds every page, and nothing that no page or asset produced.

- A build that stops early without an error (a plugin swallowing an exit, a page dropped from the
  output) would otherwise look like a success: every documentation page must exist in the site
  folder, non-empty.
- A file that nothing of the build accounts for (a stray write into the site folder) fails the build
  and is named. What the build produces: the files MkDocs knows (pages, assets, generated downloads),
  the theme's templates (404.html, sitemap), the search index, what a configured plugin writes itself
  (glightbox's script and styles), and the content-addressed files the
  hooks write (``figure-<hash>.<ext>`` beside a page, ``assets/notebooks/<hash>.css``), whose name
  must match their bytes.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

_pages: list = []
_known: set[str] = set()
_plugins: set[str] = set()  # the configured plugins' names
_incremental: list[bool] = [False]  # `mkdocs serve --dirty` keeps the files of earlier builds
THEME_OUTPUTS = {"404.html", "sitemap.xml", "sitemap.xml.gz"}
# Written straight into the site by a configured plugin, not through MkDocs' files.
PLUGIN_OUTPUTS = {"glightbox": {"assets/javascripts/glightbox.min.js", "assets/stylesheets/glightbox.min.css"}}
SEARCH = re.compile(r"^search/search_index\.(json|js)$")
# Content-addressed outputs of hooks/figures.py, hooks/notebooks.py and the notebook figures.
HASHED = re.compile(r"(^|/)(figure-(?P<figure>[0-9a-f]{16})\.[a-z]+|assets/notebooks/(?P<css>[0-9a-f]{16})\.css)$")


def on_startup(command, dirty, **_):
    _incremental[0] = command == "serve" and dirty


def on_files(files, **_):
    _pages[:] = list(files.documentation_pages())
    return files


def on_post_build(config, **_):
    site = Path(config.site_dir)
    missing = [
        page.src_uri
        for page in _pages
        if not (site / page.dest_uri).is_file() or (site / page.dest_uri).stat().st_size == 0
    ]
    if missing:
        raise PluginError("the build did not write these pages: " + ", ".join(missing))
    if _incremental[0]:
        return
    unexpected = [path for path in sorted(site.rglob("*")) if path.is_file() and not _accounted_for(site, path)]
    if unexpected:
        names = ", ".join(path.relative_to(site).as_posix() for path in unexpected[:20])
        raise PluginError(f"the site holds files that no page or asset produced: {names}")


def _accounted_for(site: Path, path: Path) -> bool:
    relative = path.relative_to(site).as_posix()
    if relative in _known or relative in THEME_OUTPUTS or SEARCH.match(relative):
        return True
    if any(relative in outputs for name, outputs in PLUGIN_OUTPUTS.items() if name in _plugins):
        return True
    match = HASHED.search(relative)
    if match:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if match["figure"]:
            return digest.startswith(match["figure"])
        return digest.startswith(match["css"]) or hashlib.sha256(path.read_bytes().strip()).hexdigest().startswith(
            match["css"]
        )
    return False


def on_env(env, config, files, **_):
    _plugins.clear()
    _plugins.update(config.plugins)
    # Every file MkDocs knows at this point (pages, static assets, theme files, generated downloads).
    _known.clear()
    _known.update(file.dest_uri for file in files)
    # Notebooks stored beside their page by mkdocs-jupyter (include_source).
    _known.update(
        f"{Path(file.dest_uri).parent.as_posix()}/{Path(file.src_uri).name}"
        for file in files.documentation_pages()
        if file.src_uri.endswith(".ipynb")
    )
    return env
