"""MkDocs hook: figures leave the HTML for files of their own, loaded lazily.

Snippets print each figure as an <img> with a data: URI (so a block's output is self-contained and
cacheable). Inline, a page's figures would be downloaded before its first paint; here every data: image
over a few KB is written next to the page under a content-addressed name (the same bytes give the same
name, so builds stay reproducible), and the <img> points at it with loading="lazy".
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

IMAGE = re.compile(r'<img\b([^>]*?)\bsrc="data:image/(png|svg\+xml|jpeg);base64,([A-Za-z0-9+/=\s]+)"([^>]*)>')
INLINE_LIMIT = 4096  # bytes of base64: smaller images stay inline
SUFFIX = {"png": "png", "svg+xml": "svg", "jpeg": "jpg"}


def on_post_page(output, page, config, **_):
    folder = Path(config.site_dir) / page.file.dest_uri
    folder = folder.parent

    def extract(match: re.Match) -> str:
        before, kind, data, after = match.groups()
        if len(data) < INLINE_LIMIT:
            return match[0]
        raw = base64.b64decode(data)
        name = f"figure-{hashlib.sha256(raw).hexdigest()[:16]}.{SUFFIX[kind]}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(raw)
        lazy = "" if "loading=" in before + after else ' loading="lazy"'
        return f'<img{before}src="{name}"{lazy}{after}>'

    return IMAGE.sub(extract, output)
