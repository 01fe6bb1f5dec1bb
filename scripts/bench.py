"""Build-speed benchmark: every figure and ratio measured in this one run, on this machine.

Usage: make bench  (writes .cache/bench/results.json too); BENCH_SCALE=0 skips the 10x site.

A scratch copy of the site (docs, snippets, hooks, configuration; the two environments linked) is
built with the real MkDocs in three set-ups, each cold (empty caches), warm (nothing changed) and
after a prose edit:

- stock: markdown-exec on its own (mkdocs.yml without hooks/exec_isolated.py: blocks run in the
  MkDocs process, no sandbox, no cache), the current environment;
- one environment: this project's execution (sandbox, cache), DOCS_EXEC_ENVS=current;
- two environments: the notes' and the current one, as the site is published.

Then the edit loop through a real `mkdocs serve` and HTTP (two environments): the time from saving a
prose edit, and a snippet edit, until the served page shows it. And, unless BENCH_SCALE=0, a synthetic
site of ten times the pages (copies of the real ones under new names): cold, warm and prose edit.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COPY = ("docs", "snippets", "hooks", "overrides", "mkdocs.yml")
TARGETS = {
    "one env cold / stock cold": 1.0,
    "two envs cold / stock cold": 1.5,
    "two envs cold / one env cold": 1.5,
    "two envs warm / one env warm": 1.10,
    "10x warm / (10 x warm)": 1.0,
    "10x prose edit / (10 x prose edit)": 1.0,
}
# Absolute targets (seconds): a prose edit visible under `make serve`, at 1x and at 10x the pages.
SECONDS = {"two envs: serve: prose edit visible": 1.0, "10x two envs: serve: prose edit visible": 2.0}
PROSE_PAGE = "tensor-basics/shape-vs-size"
COLD_BLOCKS: dict[str, int] = {}  # blocks executed by each set-up's cold build


def scratch(scale: int = 1) -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, root / name)
    for venv in (".venv", ".venv-notes"):
        (root / venv).symlink_to(ROOT / venv)
    if scale > 1:
        multiply(root, scale)
    return root


def multiply(root: Path, scale: int) -> None:
    """Copies k = 2..scale of every note page (and its snippet) under <area>-k/, added to the nav."""
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    extra = []
    for page in sorted((root / "docs").glob("*/*.md")):
        area, name = page.parent.name, page.stem
        snippet = root / "snippets" / area / f"{name}.py"
        if not snippet.is_file():
            continue
        for k in range(2, scale + 1):
            new_area = f"{area}-{k}"
            text = page.read_text(encoding="utf-8")
            text = text.replace(f'session="{area}/{name}"', f'session="{new_area}/{name}"')
            text = text.replace(f'"{area}/{name}.py:', f'"{new_area}/{name}.py:')
            target = root / "docs" / new_area / f"{name}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            (root / "snippets" / new_area).mkdir(parents=True, exist_ok=True)
            shutil.copy2(snippet, root / "snippets" / new_area / f"{name}.py")
            extra.append(f"  - {new_area}/{name}.md\n")
    (root / "mkdocs.yml").write_text(config.rstrip("\n") + "\n" + "".join(extra), encoding="utf-8")


def stock_config(root: Path) -> str:
    """mkdocs.yml without the execution hook: markdown-exec runs every block itself, in-process."""
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    config = re.sub(r"\n  - hooks/exec_isolated\.py[^\n]*", "", config)
    config = re.sub(r"\n  - 版本差异一览: version-diffs\.md[^\n]*", "", config)
    (root / "stock.yml").write_text(config, encoding="utf-8")
    return "stock.yml"


def environment(root: Path, envs: str) -> dict:
    return {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "DOCS_EXEC_CACHE": str(root / ".cache" / envs),
        "DOCS_EXEC_ENVS": envs,
        "DOCS_EXEC_REPORT": str(root / "exec-report.json"),
    }


def build(root: Path, envs: str, config: str = "mkdocs.yml") -> float:
    strict = [] if config == "stock.yml" else ["--strict"]
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "mkdocs"), "build", *strict, "-f", config, "--site-dir", str(root / "site")],
        cwd=root,
        env=environment(root, envs),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode:
        sys.exit(f"build failed ({config}, {envs}):\n{result.stderr[-4000:]}")
    return seconds


def executed(root: Path) -> int:
    return json.loads((root / "exec-report.json").read_text(encoding="utf-8"))["executed"]


def edit_prose(root: Path, marker: str) -> None:
    path = root / "docs" / f"{PROSE_PAGE}.md"
    text = path.read_text(encoding="utf-8")
    heading_end = text.index("\n") + 1
    path.write_text(text[:heading_end] + f"\n{marker}\n" + text[heading_end:], encoding="utf-8")


def edit_snippet(root: Path, marker: str) -> None:
    path = root / "snippets" / f"{PROSE_PAGE}.py"
    text = path.read_text(encoding="utf-8")
    last_end = text.rindex("# --8<-- [end:")
    path.write_text(text[:last_end] + f'print("{marker}")\n' + text[last_end:], encoding="utf-8")


def three(root: Path, envs: str, config: str = "mkdocs.yml") -> dict:
    """Cold, warm and prose-edit builds of one set-up."""
    shutil.rmtree(root / ".cache", ignore_errors=True)
    figures = {"cold": build(root, envs, config)}
    if config != "stock.yml":
        COLD_BLOCKS[envs] = executed(root)
    figures["warm"] = build(root, envs, config)
    edit_prose(root, f"这是一处只改文字的修改（{envs} {config}）。")
    figures["prose edit"] = build(root, envs, config)
    return figures


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  loopback only
            return response.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def until(condition, limit: float = 600.0) -> float:
    """Seconds until condition() holds, polling every 20 ms."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > limit:
            sys.exit("mkdocs serve did not show the edit in time")
        time.sleep(0.02)
    return time.perf_counter() - started


def log_text(root: Path) -> str:
    return (root / "serve.log").read_text(encoding="utf-8")


def serve_latency(root: Path, envs: str, config: str = "mkdocs.yml") -> dict:
    """Edit-to-visible through a real `mkdocs serve` (as `make serve` runs it, or stock): save a file, poll
    the page over HTTP until it shows."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/{PROSE_PAGE}/"
    log = open(root / "serve.log", "w")  # noqa: SIM115
    dirty = [] if config == "stock.yml" else ["--dirty"]
    server = subprocess.Popen(
        [str(BIN / "mkdocs"), "serve", *dirty, "-f", config, "--dev-addr", f"127.0.0.1:{port}"],
        cwd=root,
        env=environment(root, envs),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        until(lambda: "</html>" in fetch(url))
        until(lambda: "Watching paths for changes" in (root / "serve.log").read_text(encoding="utf-8"))
        figures = {}
        report = root / "exec-report.json"  # written at the end of every build of the hook
        for kind, editor in (("prose edit", edit_prose), ("snippet edit", edit_snippet)):
            marker = f"bench-{kind}-{time.monotonic_ns()}".replace(" ", "-")
            report.unlink(missing_ok=True)
            editor(root, marker)
            figures[f"serve: {kind} visible"] = until(lambda marker=marker: marker in fetch(url))
            if kind == "prose edit":  # the floor: the rebuild itself, and MkDocs' own watcher around it
                until(lambda: "Reloading browsers" in log_text(root).rsplit("Detected file changes", 1)[-1])
                built = re.findall(r"Documentation built in ([\d.]+) seconds", log_text(root))
                figures["serve: prose edit: the rebuild (MkDocs' log)"] = float(built[-1])
        if dirty:  # the page's own execution in that rebuild (the build's wall time waiting for its blocks)
            until(report.is_file)
            figures["serve: snippet edit: the page's execution"] = json.loads(report.read_text(encoding="utf-8"))[
                "exec_wall_seconds"
            ]
        return figures
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def main() -> None:
    scale = int(os.environ.get("BENCH_SCALE", "10"))
    figures: dict[str, float] = {}
    root = scratch()
    try:
        config = stock_config(root)
        for name, value in three(root, "current", config).items():
            figures[f"stock: {name}"] = value
        for envs, label in (("current", "one env"), ("notes,current", "two envs")):
            for name, value in three(root, envs).items():
                figures[f"{label}: {name}"] = value
        blocks = COLD_BLOCKS["notes,current"]
        edit_snippet(root, "bench snippet edit")
        figures["two envs: snippet edit"] = build(root, "notes,current")
        rerun = executed(root)
        for name, value in serve_latency(root, "notes,current").items():
            figures[f"two envs: {name}"] = value
        for name, value in serve_latency(root, "current", config).items():
            figures[f"stock: {name}"] = value
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if scale > 1:
        big = scratch(scale)
        try:
            for name, value in three(big, "notes,current").items():
                figures[f"{scale}x two envs: {name}"] = value
            for name, value in serve_latency(big, "notes,current").items():
                figures[f"{scale}x two envs: {name}"] = value
        finally:
            shutil.rmtree(big, ignore_errors=True)

    ratios = {
        "one env cold / stock cold": figures["one env: cold"] / figures["stock: cold"],
        "two envs cold / stock cold": figures["two envs: cold"] / figures["stock: cold"],
        "two envs cold / one env cold": figures["two envs: cold"] / figures["one env: cold"],
        "two envs warm / one env warm": figures["two envs: warm"] / figures["one env: warm"],
        "two envs warm / stock warm": figures["two envs: warm"] / figures["stock: warm"],
        "two envs prose edit / stock prose edit": figures["two envs: prose edit"] / figures["stock: prose edit"],
    }
    if scale > 1:
        ratios["10x warm / (10 x warm)"] = figures[f"{scale}x two envs: warm"] / (scale * figures["two envs: warm"])
        ratios["10x serve prose edit / serve prose edit"] = (
            figures[f"{scale}x two envs: serve: prose edit visible"] / figures["two envs: serve: prose edit visible"]
        )
        ratios["10x prose edit / (10 x prose edit)"] = figures[f"{scale}x two envs: prose edit"] / (
            scale * figures["two envs: prose edit"]
        )
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"Build benchmark on {machine} (all figures from this run)")
    for name, value in figures.items():
        target = SECONDS.get(name)
        if name.endswith("serve: snippet edit visible") and f"{name[:-8]}: the page's execution" in figures:
            target = figures[f"{name[:-8]}: the page's execution"] + 1.0  # that page's execution + 1 s
        verdict = "" if target is None else f"  (target < {target:g} s) " + ("ok" if value < target else "OVER TARGET")
        print(f"  {name:<44} {value:8.2f} s{verdict}")
    print(
        "  floor of a prose edit under serve: the rebuild above, plus MkDocs' watcher, which polls the files"
        " every 0.5 s and then waits 0.1 s for quiet (0.1-0.6 s, not configurable from the command line)"
    )
    print(f"  blocks: {blocks} executed cold (both environments); the snippet edit re-ran {rerun}")
    for name, value in ratios.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else f"(target <= {target})  " + ("ok" if value <= target else "OVER TARGET")
        print(f"  {name:<42} {value:6.3f}  {verdict}")
    out = ROOT / ".cache" / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine, "seconds": figures, "ratios": ratios, "targets": TARGETS}, indent=2))
    print(f"  written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
