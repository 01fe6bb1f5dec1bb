"""MkDocs hook: a build that ends must have written every page.

A build that stops early without an error (a plugin swallowing an exit, a page dropped from the
output) would otherwise look like a success. After the build, every documentation page must exist
in the site folder, non-empty; otherwise the build fails and names the missing pages.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError

_pages: list = []


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
