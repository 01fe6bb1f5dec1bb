"""MkDocs hook: no page asks another host for anything; what a page needs ships with the site.

After every other step has written a page, its HTML is read for resources a browser would fetch on
its own: scripts, stylesheets, icons, images, frames, media, CSS ``url()``/``@import`` and dynamic
``import()``. Any absolute URL there (``https://``, ``http://``, ``//host``) fails the build and names
the page and the URL. Links a reader clicks (``<a href>``) are not requests and stay allowed.
The browser tests check the same at run time (theme scripts included).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from mkdocs.exceptions import PluginError

EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)
# (tag, attribute) pairs a browser loads by itself.
FETCHED = {
    ("script", "src"),
    ("img", "src"),
    ("img", "srcset"),
    ("source", "src"),
    ("source", "srcset"),
    ("iframe", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("video", "src"),
    ("video", "poster"),
    ("audio", "src"),
    ("track", "src"),
    ("input", "src"),
}
LINK_RELS = {
    "stylesheet",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "preload",
    "prefetch",
    "modulepreload",
    "manifest",
    "mask-icon",
}
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:[a-z][a-z0-9+.-]*:)?//[^'")\s]+)""", re.I)
JS_IMPORT = re.compile(r"""\bimport\(\s*['"]((?:https?:)?//[^'"]+)""", re.I)


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in = ""

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.found += CSS_URL.findall(value)
            if (tag, name) in FETCHED:
                urls = [part.strip().split(" ")[0] for part in value.split(",")] if name == "srcset" else [value]
                self.found += [url for url in urls if EXTERNAL.match(url)]
        if tag == "link" and set((values.get("rel") or "").lower().split()) & LINK_RELS:
            href = values.get("href") or ""
            if EXTERNAL.match(href):
                self.found.append(href)
        self._in = tag if tag in {"style", "script"} else ""

    def handle_endtag(self, tag):
        self._in = ""

    def handle_data(self, data):
        if self._in == "style":
            self.found += CSS_URL.findall(data)
        elif self._in == "script":
            self.found += JS_IMPORT.findall(data)


def external_requests(html: str) -> list[str]:
    """The absolute URLs a browser would fetch by itself when it loads `html`."""
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return sorted(set(finder.found))


def on_post_page(output, page, **_):
    found = external_requests(output)
    if found:
        raise PluginError(f"docs/{page.file.src_uri} would load from another host: {', '.join(found)}")
    return output
