"""MkDocs hook: figures leave the HTML for files of their own, loaded lazily, with their alt text.

Snippets print each figure as an <img> with a data: URI (so a block's output is self-contained and
cacheable). Inline, a page's figures would be downloaded before its first paint; here every data: image
over a few KB is written next to the page under a content-addressed name (the same bytes give the same
name, so builds stay reproducible), wherever it appears: the <img> and the lightbox link around it
(mkdocs-glightbox) point at the same file, and a `#only-light` / `#only-dark` fragment is kept.
Every <img> gets loading="lazy". Attribute values are matched as quoted strings, so a `>` in an alt
text cannot cut a tag short.

Notebook pages: nbconvert gives a figure without alt text the placeholder "No description has been
provided for this image"; such a page fails the build (the notebook shows its figures through its own
`show(draw, alt)`, which writes the alt text).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

DATA_URI = re.compile(
    r'(?P<quote>["\'])data:image/(?P<kind>png|svg\+xml|jpeg|webp);base64,(?P<data>[A-Za-z0-9+/=\s]+)(?P<fragment>#[\w-]*)?(?P=quote)'
)
IMG_TAG = re.compile(r"""<img\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
INLINE_LIMIT = 4096  # bytes of base64: smaller images stay inline
SUFFIX = {"png": "png", "svg+xml": "svg", "jpeg": "jpg", "webp": "webp"}
PLACEHOLDER = 'alt="No description has been provided for this image"'


def on_post_page(output, page, config, **_):
    folder = (Path(config.site_dir) / page.file.dest_uri).parent

    def extract(match: re.Match) -> str:
        quote, kind, data, fragment = match["quote"], match["kind"], match["data"], match["fragment"] or ""
        if len(data) < INLINE_LIMIT:
            return match[0]
        raw = base64.b64decode(data)
        name = f"figure-{hashlib.sha256(raw).hexdigest()[:16]}.{SUFFIX[kind]}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(raw)
        return f"{quote}{name}{fragment}{quote}"

    def lazy(match: re.Match) -> str:
        tag = match[0]
        return tag if re.search(r"\sloading=", tag) else tag[:4] + ' loading="lazy"' + tag[4:]

    if PLACEHOLDER in output:
        raise PluginError(
            f"docs/{page.file.src_uri}: {output.count(PLACEHOLDER)} figure(s) without alt text: "
            "show each figure with an alt text that says what it shows"
        )
    return IMG_TAG.sub(lazy, DATA_URI.sub(extract, output))
