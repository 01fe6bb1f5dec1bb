"""Lighthouse (npm lighthouse@12, tools/lighthouse) on the built site, in Debian's chromium, with no network.

Usage: make lighthouse   (builds site/ first). Audits the home page and the heaviest note page, prints the
performance and accessibility scores, writes .cache/lighthouse/scores.json (make bench reports it), and exits
non-zero when a score is below the target.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
CLI = ROOT / "tools" / "lighthouse" / "node_modules" / "lighthouse" / "cli" / "index.js"
OUT = ROOT / ".cache" / "lighthouse"
TARGET = 95
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run --disable-default-apps"
)


class Gzipping(http.server.SimpleHTTPRequestHandler):
    """Serves the site as GitHub Pages does: gzip-compressed text, so transfer sizes are the real ones."""

    COMPRESS = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt"}

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix not in self.COMPRESS or "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().send_head()
        if not path.is_file():
            return super().send_head()
        body = gzip.compress(path.read_bytes(), mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, *args):
        pass


def heaviest_note_page() -> str:
    pages = [p for p in SITE.glob("*/*/index.html") if p.parent.parent.name not in {"assets", "search", "notebooks"}]
    heaviest = max(pages, key=lambda p: p.stat().st_size)
    return heaviest.parent.relative_to(SITE).as_posix() + "/"


def audit(url: str, name: str) -> dict[str, float]:
    report = OUT / f"{name}.json"
    result = subprocess.run(
        [
            "node",
            str(CLI),
            url,
            "--quiet",
            "--only-categories=performance,accessibility",
            "--output=json",
            f"--output-path={report}",
            f"--chrome-flags={CHROME_FLAGS}",
            "--max-wait-for-load=60000",
        ],
        env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        sys.exit(f"lighthouse failed on {url}:\n{result.stderr[-3000:]}")
    categories = json.loads(report.read_text(encoding="utf-8"))["categories"]
    return {key: round(value["score"] * 100) for key, value in categories.items()}


def main() -> None:
    if not CLI.is_file():
        sys.exit("lighthouse is not installed: run `make lighthouse` (npm ci in tools/lighthouse)")
    OUT.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Gzipping, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    scores = {}
    try:
        for name, path in (("home", ""), ("heaviest note page", heaviest_note_page())):
            scores[f"{name} ({path or '/'})"] = audit(base + path, name.split()[0])
    finally:
        server.shutdown()
    (OUT / "scores.json").write_text(json.dumps(scores, indent=2, ensure_ascii=False), encoding="utf-8")
    failed = False
    for page, values in scores.items():
        print(f"{page}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
        failed |= any(v < TARGET for v in values.values())
    if failed:
        sys.exit(f"a Lighthouse score is below {TARGET}")


if __name__ == "__main__":
    main()
