"""Every snippet file on every torch minor release from the notes' one to the current one: which outputs change where.

    make versions                       # all releases; results in .cache/versions/
    python scripts/versions.py --releases 2.3,2.9       # some minor releases only (merged into earlier results)
    python scripts/versions.py --python .venv/bin/python  # one existing interpreter, nothing installed
    python scripts/versions.py --table-only             # the table again, from .cache/versions/results.json

For each torch minor release from the notes' (requirements-notes.txt) to the current one (requirements.txt),
a virtual environment is created in a temporary directory and gets that minor's latest patch release with its
torchvision (torchvision 0.<minor + 15>, the pairing PyTorch documents), NumPy, and the current environment's
plotting stack (matplotlib, Pillow, mplfonts pinned as in requirements.txt), so that output differences come from
PyTorch and NumPy only. The first and last releases use the exact pins of the two requirements files. NumPy is the
current pin, except on torch 2.3, which was built against NumPy 1 and gets the notes' NumPy 1.26; torch 2.4 runs a
second time with NumPy 1.26 so that a change at 2.4 can be told apart as PyTorch's or NumPy's. torch is pinned
by its exact version (the latest `pip index versions torch` lists for the minor, local builds such as "+cpu" left
out). Two environments install while one runs; each is deleted once its snippets have run. Downloads go through
pip's cache (`--no-cache` to bypass it); a full run takes about an hour and 5–7 GiB of disk per environment.

Every `snippets/<area>/<note>.py` then runs standalone (`cwd` = repository root, MPLBACKEND=Agg, a time limit per
file) the way the build runs a page: the file's code in one namespace, section by section
(`# --8<-- [start:name]` … `# --8<-- [end:name]`; code outside sections is a chunk of its own), recording each
chunk's printed output, its warnings (stderr) and any exception with its line. A chunk that fails does not stop
the ones after it.

Outputs are compared after normalisation: a figure (`<img … src="data:…">`) by its alt text, format and pixel size,
memory addresses and the temporary environment's paths masked. Results: `.cache/versions/results.json` (every
chunk's output per release) and `.cache/versions/table.md`, which is also printed: one row per page section whose
output changes across releases; per release "=" same as the release before, "Δ" printed output changed,
"w" only warnings changed, "✗" error; then one line per change with the first differing line before and after.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "snippets"
OUT = ROOT / ".cache" / "versions"
MARKER = re.compile(r"^\s*# --8<-- \[(start|end):([\w.-]+)\]\s*$")
PLOTTING = ("matplotlib", "pillow", "mplfonts")  # pinned as in requirements.txt in every environment
TORCHVISION_OFFSET = 15  # torchvision 0.(m + 15) goes with torch 2.m (PyTorch's compatibility table)
FILE_TIMEOUT_S = 600


# --------------------------------------------------------------------------- running one snippet file (any torch)
def split_chunks(path: Path) -> list[tuple[str, int, int]]:
    """(name, first line, last line) of each chunk: the sections and the code between them, in file order.

    Code outside sections is named "(top)" before the first section and "(after NAME)" after one. A marker that
    does not pair up is an error naming the file and line.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    chunks: list[tuple[str, int, int]] = []
    current, start, previous = None, 1, None
    for number, line in enumerate(lines, 1):
        match = MARKER.match(line)
        if not match:
            continue
        kind, name = match.groups()
        if kind == "start":
            if current is not None:
                raise SystemExit(f"{path}:{number}: section '{name}' starts inside section '{current}'")
            outside = "(top)" if previous is None else f"(after {previous})"
            chunks.append((outside, start, number - 1))
            current, start = name, number + 1
        else:
            if current != name:
                raise SystemExit(f"{path}:{number}: end of section '{name}', but the open section is {current!r}")
            chunks.append((name, start, number - 1))
            current, previous, start = None, name, number + 1
    if current is not None:
        raise SystemExit(f"{path}: section '{current}' is never ended")
    outside = "(top)" if previous is None else f"(after {previous})"
    chunks.append((outside, start, len(lines)))
    # Chunks outside sections that hold no code (blank lines, comments) are left out.
    return [
        (name, first, last)
        for name, first, last in chunks
        if not name.startswith("(")
        or any(line.strip() and not line.lstrip().startswith("#") for line in lines[first - 1 : last])
    ]


def run_file(path: Path, jsonl: Path) -> None:
    """Run a snippet file chunk by chunk in one namespace; append one JSON line per chunk to `jsonl`."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    filename = str(path)
    sys.argv = [filename]
    sys.path[0] = str(path.parent)
    namespace: dict = {"__name__": "__main__", "__file__": filename, "__builtins__": __builtins__}
    with jsonl.open("a", encoding="utf-8") as sink:
        for name, first, last in split_chunks(path):
            out, err = io.StringIO(), io.StringIO()
            record: dict = {"name": name, "lines": [first, last], "status": "ok"}
            started = time.perf_counter()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = compile("\n" * (first - 1) + "".join(lines[first - 1 : last]), filename, "exec")
                    exec(code, namespace)  # noqa: S102
                except BaseException as error:  # noqa: BLE001  SystemExit too: the next chunk still runs
                    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
                    record["status"] = "error"
                    record["error"] = {
                        "type": type(error).__name__,
                        "message": str(error),
                        "line": frames[-1].lineno if frames else None,
                        "source": frames[-1].line if frames else None,
                    }
            record.update(stdout=out.getvalue(), stderr=err.getvalue(), seconds=round(time.perf_counter() - started, 3))
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()


# --------------------------------------------------------------------------- environments
def pins(requirements: Path) -> dict[str, str]:
    """name → version of every `name==version` line of a requirements file."""
    found = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            found[match[1].lower()] = match[2]
    return found


@functools.cache
def torch_versions() -> tuple[str, ...]:
    """Every torch version pip can see (`pip index versions torch`)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "torch"], capture_output=True, text=True, check=True
    )
    listed = next(line for line in done.stdout.splitlines() if line.startswith("Available versions:"))
    return tuple(v.strip() for v in listed.split(":", 1)[1].split(","))


def latest_torch(minor: int) -> str:
    """The latest torch 2.<minor>.<patch> release pip can see, leaving out local builds ("2.13.0+cpu")."""
    found = [v for v in torch_versions() if re.fullmatch(rf"2\.{minor}\.\d+", v)]
    if not found:
        raise SystemExit(f"no torch 2.{minor} release found by `pip index versions torch`")
    return max(found, key=lambda v: int(v.split(".")[2]))


def environments() -> list[dict]:
    """The environments to run, oldest first: label, the pip requirements, and the minor release.

    torch is pinned with `===` (the exact version string), so that a local build such as 2.13.0+cpu,
    whose binary does not match the PyPI torchvision, is never picked instead of the PyPI release.
    """
    current, notes = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-notes.txt")
    plotting = [f"{name}=={current[name]}" for name in PLOTTING]
    first, last = (int(spec["torch"].split(".")[1]) for spec in (notes, current))
    found = []
    for minor in range(first, last + 1):
        if minor == first:
            stack = {"torch": notes["torch"], "torchvision": notes["torchvision"], "numpy": notes["numpy"]}
        elif minor == last:
            stack = {"torch": current["torch"], "torchvision": current["torchvision"], "numpy": current["numpy"]}
        else:
            stack = {
                "torch": latest_torch(minor),
                "torchvision": f"0.{minor + TORCHVISION_OFFSET}.*",
                "numpy": current["numpy"],
            }
        if minor == first + 1:  # the release after the notes' also with the notes' NumPy: PyTorch vs NumPy changes
            found.append({"key": f"2.{minor}/np1", "minor": minor, "stack": {**stack, "numpy": notes["numpy"]}})
        found.append({"key": f"2.{minor}", "minor": minor, "stack": stack})
    for env in found:
        stack = env["stack"]
        env["requirements"] = [
            f"torch==={stack['torch']}",
            f"torchvision=={stack['torchvision']}",
            f"numpy=={stack['numpy']}",
            *plotting,
        ]
    return found


def installed_versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, platform;"
        "print(json.dumps({n: m.version(n) for n in ('torch', 'torchvision', 'numpy', 'matplotlib', 'pillow')}"
        " | {'python': platform.python_version()}))"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def install(env: dict, workdir: Path, use_cache: bool) -> dict:
    """Create the environment's venv under `workdir` and install its packages; returns what happened."""
    venv = workdir / env["key"].replace("/", "-")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    command = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # bytecode is compiled when the snippets import a module, not for every file
    ]
    if not use_cache:
        command.append("--no-cache-dir")
    done = subprocess.run([*command, *env["requirements"]], capture_output=True, text=True)
    result = {"venv": str(venv), "install_s": round(time.perf_counter() - started, 1)}
    if done.returncode:
        result["install_error"] = (done.stderr.strip() or done.stdout.strip())[-3000:]
        return result
    result["versions"] = installed_versions(python)
    result["disk_bytes"] = directory_size(venv)
    return result


def snippet_files() -> list[Path]:
    """Every page's snippet file: snippets/index.py and snippets/<area>/<note>.py, not the shared helpers."""
    files = sorted(p for p in SNIPPETS.glob("*/*.py") if p.parent.name != "_shared")
    home = SNIPPETS / "index.py"
    return ([home] if home.exists() else []) + files


def page_of(path: Path) -> str:
    return path.relative_to(SNIPPETS).with_suffix("").as_posix()


def run_snippets(python: Path, timeout: int, pycache: Path) -> dict:
    """Run every snippet file with `python`; page → {"sections": [...], "seconds", "returncode"}.

    Bytecode goes to `pycache` (thrown away with the environment): compiled on the first file, reused after.
    """
    pages = {}
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for path in snippet_files():
        with tempfile.TemporaryDirectory(prefix="versions-") as tmp:
            jsonl = Path(tmp) / "chunks.jsonl"
            env["MPLCONFIGDIR"] = str(Path(tmp) / "mpl")  # matplotlib's font cache: per environment, thrown away
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    [str(python), str(Path(__file__).resolve()), "--run-file", str(path), "--jsonl", str(jsonl)],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
                returncode, tail = done.returncode, done.stderr[-2000:]
            except subprocess.TimeoutExpired:
                returncode, tail = "timeout", f"stopped after {timeout} s"
            seconds = round(time.perf_counter() - started, 1)
            sections = (
                [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()] if jsonl.exists() else []
            )
        expected = [name for name, _, _ in split_chunks(path)]
        for name in expected[len(sections) :]:  # not reached: the process died or timed out
            sections.append(
                {
                    "name": name,
                    "status": "not run",
                    "stdout": "",
                    "stderr": "",
                    "error": {"type": str(returncode), "message": tail, "line": None},
                }
            )
        pages[page_of(path)] = {"sections": sections, "seconds": seconds, "returncode": returncode}
        print(
            f"    {page_of(path)}: {seconds} s, {sum(s['status'] != 'ok' for s in sections)} failing chunk(s)",
            flush=True,
        )
    return pages


# --------------------------------------------------------------------------- comparison
IMG = re.compile(r'<img\b[^>]*?alt="([^"]*)"[^>]*?src="data:image/([\w+.-]+);base64,([A-Za-z0-9+/=]+)"[^>]*>')


def _image_size(mime: str, data: bytes) -> str:
    if mime == "png" and data[:8] == b"\x89PNG\r\n\x1a\n":
        width, height = struct.unpack(">II", data[16:24])
        return f"{width}×{height} px"
    if mime.startswith("svg"):
        head = data[:2000].decode("utf-8", "replace")
        svg = re.search(r"<svg\b[^>]*>", head)
        if svg:
            size = [re.search(rf'\b{a}="([^"]+)"', svg[0]) for a in ("width", "height")]
            if all(size):
                return f"{size[0][1]}×{size[1][1]}"
    return f"{len(data)} bytes"


def _figure(match: re.Match) -> str:
    alt, mime, payload = match.groups()
    try:
        size = _image_size(mime, base64.b64decode(payload))
    except ValueError:
        size = "undecodable"
    return f'<img alt="{alt}" {mime.split("+")[0]} {size}>'


def normalise(text: str, venv: str | None) -> str:
    text = IMG.sub(_figure, text)
    if venv:
        text = text.replace(venv, "<venv>")
    text = text.replace(str(ROOT), "<repo>")
    text = re.sub(re.escape(tempfile.gettempdir()) + r"/[\w.-]+", "<tmp>", text)
    return re.sub(r"\b0x[0-9a-fA-F]{6,}\b", "0x…", text)


def outcome(section: dict, venv: str | None) -> tuple[str, str, str]:
    """What is compared: (status and error, printed output, warnings), normalised."""
    status = section["status"]
    if status != "ok":
        error = section.get("error") or {}
        message = normalise(str(error.get("message", "")), venv).strip().splitlines()
        status = f"✗ {error.get('type')}: {message[-1] if message else ''} (line {error.get('line')})"
    return status, normalise(section.get("stdout", ""), venv), normalise(section.get("stderr", ""), venv)


def failure(status: str, section: dict) -> str:
    """A status as the change list shows it: an error with the source line that raised it."""
    source = (section.get("error") or {}).get("source")
    return f"{status[:-1]}: `{short(source, 120)}`)" if status != "ok" and source else status


def first_difference(before: str, after: str) -> tuple[str, str]:
    """The first line that differs, before and after; a long common start is cut to "…" and 30 characters."""
    a, b = before.splitlines(), after.splitlines()
    for x, y in zip(a, b, strict=False):
        if x != y:
            same = len(os.path.commonprefix([x, y]))
            if same > 40:
                x, y = "…" + x[same - 30 :], "…" + y[same - 30 :]
            return x, y
    n = min(len(a), len(b))
    return (a[n] if len(a) > n else "(nothing more)"), (b[n] if len(b) > n else "(nothing more)")


def short(text: str, limit: int = 160) -> str:
    text = text.strip().replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(results: dict) -> str:
    """The Markdown table of sections whose output changes across the releases run, and one line per change."""
    envs = [e for e in results["environments"] if e.get("pages")]
    failed = [e for e in results["environments"] if not e.get("pages")]
    header = [e["label"] for e in envs]
    lines = ["# Snippet outputs across torch releases", ""]
    lines.append("| release | torch | torchvision | NumPy | install | disk | snippets run |")
    lines.append("|:--|:--|:--|:--|--:|--:|--:|")
    for e in results["environments"]:
        v = e.get("versions", {})
        disk = f"{e['disk_bytes'] / 2**30:.1f} GiB" if e.get("disk_bytes") else "—"
        install_s = f"{e['install_s']:.0f} s" if e.get("install_s") is not None else "—"
        run_s = f"{e['run_s']:.0f} s" if e.get("run_s") is not None else "—"
        lines.append(
            f"| {e['label']} | {v.get('torch', '—')} | {v.get('torchvision', '—')} | {v.get('numpy', '—')} "
            f"| {install_s} | {disk} | {run_s} |"
        )
    for e in failed:
        lines.append(f"\n**{e['label']} did not run**: {short(e.get('install_error', 'unknown'), 600)}")
    keys: list[tuple[str, str]] = []
    for e in envs:
        for page, data in e["pages"].items():
            for s in data["sections"]:
                if (page, s["name"]) not in keys:
                    keys.append((page, s["name"]))
    rows, changes = [], []
    for page, name in keys:
        cells, previous, changed = [], None, False
        for e in envs:
            section = next((s for s in e["pages"].get(page, {}).get("sections", []) if s["name"] == name), None)
            if section is None:
                cells.append("—")
                previous = None
                continue
            now = outcome(section, e.get("venv"))
            if previous is None:
                cell = "✗" if now[0] != "ok" else "•"
            elif now[0] != "ok":
                cell = "✗"
            elif now[:2] != previous[1][:2]:
                cell = "Δ"
            elif now[2] != previous[1][2]:
                cell = "w"
            else:
                cell = "="
            if previous is not None and now != previous[1]:
                changed = True
                before_label, was, before_section = previous
                if now[0] != was[0]:
                    what = f"{failure(was[0], before_section)} → {failure(now[0], section)}"
                elif now[1] != was[1]:
                    x, y = first_difference(was[1], now[1])
                    what = f"`{short(x)}` → `{short(y)}`"
                else:
                    x, y = first_difference(was[2], now[2])
                    what = f"warnings: `{short(x)}` → `{short(y)}`"
                changes.append(f"- `{page}:{name}` changes at **{e['label']}** (from {before_label}): {what}")
            elif previous is None and now[0] != "ok":
                changed = True
                changes.append(f"- `{page}:{name}` fails on **{e['label']}**: {failure(now[0], section)}")
            cells.append(cell)
            previous = (e["label"], now, section)
        if changed:
            rows.append(f"| `{page}:{name}` | " + " | ".join(cells) + " |")
    lines += ["", f"{len(rows)} of {len(keys)} sections change across {len(envs)} environments.", ""]
    lines.append(
        "Cells: • first release run, = same as the release before, Δ printed output changed, w only warnings "
        "(stderr) changed, ✗ error, — not run."
    )
    lines.append("")
    lines.append("| page:section | " + " | ".join(header) + " |")
    lines.append("|:--|" + ":-:|" * len(header))
    lines += rows
    lines += ["", "## Changes", ""] + (changes or ["(none)"])
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main
def save(results: dict, out: Path, copies: list[Path]) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    text = table(results)
    for target in [out / "table.md", *copies]:
        target.write_text(text, encoding="utf-8")
    return text


def merge(results: dict, entry: dict, order: list[str]) -> None:
    kept = [e for e in results["environments"] if e["key"] != entry["key"]] + [entry]
    rank = {key: i for i, key in enumerate(order)}
    results["environments"] = sorted(kept, key=lambda e: rank.get(e["key"], len(order)))


def label_of(env: dict, versions: dict) -> str:
    label = versions.get("torch", env["key"]).split("+")[0]
    return f"{label} (NumPy {versions['numpy']})" if env["key"].endswith("/np1") else label


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", help="comma-separated minor releases to run, e.g. 2.3,2.4 (default: all)")
    parser.add_argument("--python", help="run the snippets with this existing interpreter only (nothing installed)")
    parser.add_argument("--table-only", action="store_true", help="write the table from the saved results")
    parser.add_argument("--fresh", action="store_true", help="start from empty results instead of merging")
    parser.add_argument("--timeout", type=int, default=FILE_TIMEOUT_S, help="seconds per snippet file")
    parser.add_argument("--installs", type=int, default=2, help="environments installed at the same time")
    parser.add_argument("--no-cache", action="store_true", help="do not use (or fill) pip's download cache")
    parser.add_argument("--out", type=Path, default=OUT, help="where results.json and table.md go")
    parser.add_argument("--copy-table", type=Path, action="append", default=[], help="also write the table here")
    parser.add_argument("--run-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--jsonl", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_file:  # inside the environment under test: standard library only
        run_file(args.run_file.resolve(), args.jsonl)
        return 0

    saved = args.out / "results.json"
    results = {"environments": []}
    if saved.exists() and not args.fresh:
        results = json.loads(saved.read_text(encoding="utf-8"))
    if args.table_only:
        print(save(results, args.out, args.copy_table))
        return 0

    all_envs = environments()
    order = [e["key"] for e in all_envs] + ["local"]
    if args.python:
        python = Path(args.python).absolute()
        versions = installed_versions(python)
        started = time.perf_counter()
        print(f"== {python}: torch {versions['torch']}", flush=True)
        with tempfile.TemporaryDirectory(prefix="versions-pycache-") as pycache:
            pages = run_snippets(python, args.timeout, Path(pycache))
        entry = {
            "key": "local",
            "label": f"{versions['torch']} (local)",
            "versions": versions,
            "pages": pages,
            "run_s": round(time.perf_counter() - started, 1),
        }
        merge(results, entry, order)
        print(save(results, args.out, args.copy_table))
        return 0

    wanted = set(args.releases.split(",")) if args.releases else None
    envs = [e for e in all_envs if wanted is None or f"2.{e['minor']}" in wanted]
    if wanted and len({f"2.{e['minor']}" for e in envs}) != len(wanted):
        known = ", ".join(sorted({f"2.{e['minor']}" for e in all_envs}, key=lambda r: int(r.split(".")[1])))
        parser.error(f"--releases: the known minor releases are {known}")
    ahead = max(1, args.installs)
    with tempfile.TemporaryDirectory(prefix="torch-versions-") as workdir, ThreadPoolExecutor(ahead) as pool:
        # The next environments install (network, disk) while this one runs its snippets (CPU); at most
        # `ahead` environments are installing or waiting at any time, so disk use stays bounded.
        pending: list[Future] = [pool.submit(install, e, Path(workdir), not args.no_cache) for e in envs[:ahead]]
        for i, env in enumerate(envs):
            print(f"== {env['key']}: installing {' '.join(env['requirements'])}", flush=True)
            installed = pending.pop(0).result()
            if i + ahead < len(envs):
                pending.append(pool.submit(install, envs[i + ahead], Path(workdir), not args.no_cache))
            entry = {"key": env["key"], "requirements": env["requirements"], **installed}
            entry["label"] = label_of(env, installed.get("versions", {}))
            venv = Path(installed["venv"])
            if "install_error" in installed:
                print(f"   did not install ({installed['install_s']} s):\n{installed['install_error']}", flush=True)
            else:
                v = installed["versions"]
                print(
                    f"   torch {v['torch']}, torchvision {v['torchvision']}, numpy {v['numpy']}: "
                    f"{installed['install_s']} s, {installed['disk_bytes'] / 2**30:.1f} GiB",
                    flush=True,
                )
                started = time.perf_counter()
                entry["pages"] = run_snippets(venv / "bin" / "python", args.timeout, venv / "pycache")
                entry["run_s"] = round(time.perf_counter() - started, 1)
            shutil.rmtree(venv, ignore_errors=True)
            merge(results, entry, order)
            save(results, args.out, args.copy_table)
    print(save(results, args.out, args.copy_table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
