"""Build-speed benchmark: every figure and ratio measured in this one run, on this machine.

Usage: make bench  (writes .cache/bench/results.json too)

A scratch copy of the site (docs, snippets, hooks, configuration) is built with the real MkDocs:
cold (empty caches), warm (nothing changed), after a prose edit, after a snippet edit; and the pieces
are measured on their own: importing torch, the summed execution of the blocks (reported by
hooks/exec_isolated.py), executing the notebooks (nbclient), and rendering with no execution at all
(a build whose blocks all come from the cache).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COPY = ("docs", "snippets", "hooks", "overrides", "mkdocs.yml")
TARGETS = {"warm / cold": 0.30, "prose edit / cold": 0.35, "cold / (import + execution + rendering)": 1.2}


def scratch() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, root / name)
    return root


RENDER_ONLY = """\
# Rendering with no execution at all: blocks from the (warm) cache, notebooks converted but not run.
INHERIT: mkdocs.yml
plugins:
  mkdocs-jupyter:
    execute: false
    cache: false
"""


def build(root: Path, config: str = "mkdocs.yml") -> dict:
    report = root / "exec-report.json"
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "DOCS_EXEC_CACHE": str(root / ".cache" / "exec"),
        "DOCS_EXEC_REPORT": str(report),
    }
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "-f", config, "--site-dir", str(root / "site")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode:
        sys.exit(f"build failed:\n{result.stderr[-4000:]}")
    return {"seconds": seconds, **json.loads(report.read_text(encoding="utf-8"))}


def torch_import() -> float:
    code = (
        "import time; t = time.perf_counter(); import numpy, torch, torchvision, matplotlib.pyplot; "
        "print(time.perf_counter() - t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "MPLBACKEND": "Agg"},
            ).stdout
        )
        for _ in range(3)
    ]
    return statistics.median(runs)


def notebooks(root: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    total = 0.0
    for path in sorted((root / "docs").rglob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        total += time.perf_counter() - started
    return total


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def lighthouse() -> dict:
    """Scores from `make lighthouse` (it writes .cache/lighthouse/scores.json), if it ran."""
    scores = ROOT / ".cache" / "lighthouse" / "scores.json"
    return json.loads(scores.read_text(encoding="utf-8")) if scores.is_file() else {}


def main() -> None:
    root = scratch()
    try:
        figures = {"torch import": torch_import()}
        cold = build(root)
        figures["cold build"] = cold["seconds"]
        figures["block execution (summed)"] = cold["exec_seconds"]
        warm = build(root)
        assert warm["executed"] == 0, warm
        figures["warm build"] = warm["seconds"]
        (root / "render-only.yml").write_text(RENDER_ONLY, encoding="utf-8")
        render = build(root, "render-only.yml")
        assert render["executed"] == 0, render
        figures["rendering without execution"] = render["seconds"]

        edit(root / "docs" / "tensor-basics" / "shape-vs-size.md", "\n", "\n\n这是一处只改文字的修改。\n")
        prose = build(root)
        assert prose["executed"] == 0, prose
        figures["prose-edit rebuild"] = prose["seconds"]

        snippet = root / "snippets" / "tensor-basics" / "shape-vs-size.py"
        text = snippet.read_text(encoding="utf-8")
        last_end = text.rindex("# --8<-- [end:")
        snippet.write_text(text[:last_end] + 'print("bench edit")\n' + text[last_end:], encoding="utf-8")
        edited = build(root)
        assert 0 < edited["executed"] < cold["executed"], edited
        figures["snippet-edit rebuild"] = edited["seconds"]
        figures["notebook execution"] = notebooks(root)

        pages = sorted(
            ((p.stat().st_size, p.relative_to(root / "site").as_posix()) for p in (root / "site").rglob("*.html")),
            reverse=True,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)

    pieces = (
        figures["torch import"]
        + figures["block execution (summed)"]
        + figures["notebook execution"]
        + figures["rendering without execution"]
    )
    ratios = {
        "warm / cold": figures["warm build"] / figures["cold build"],
        "prose edit / cold": figures["prose-edit rebuild"] / figures["cold build"],
        "cold / (import + execution + rendering)": figures["cold build"] / pieces,
    }
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"Build benchmark on {machine}")
    for name, value in figures.items():
        print(f"  {name:<32} {value:8.2f} s")
    print(f"  blocks: {cold['executed']} executed cold, {edited['executed']} after the snippet edit")
    for name, value in ratios.items():
        verdict = "ok" if value <= TARGETS[name] else "OVER TARGET"
        print(f"  {name:<42} {value:6.3f}  (target <= {TARGETS[name]})  {verdict}")
    print(f"  heaviest page: {pages[0][1]} {pages[0][0] / 1024:.0f} KiB (limit 1024 KiB)")
    scores = lighthouse()
    for page, values in scores.items():
        print(f"  lighthouse {page}: " + ", ".join(f"{k} {v:.0f}" for k, v in values.items()))
    if not scores:
        print("  lighthouse: not run (make lighthouse)")
    out = ROOT / ".cache" / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": machine,
                "seconds": figures,
                "ratios": ratios,
                "targets": TARGETS,
                "heaviest_page": {"path": pages[0][1], "bytes": pages[0][0]},
                "lighthouse": scores,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"  written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
