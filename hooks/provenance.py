"""MkDocs hook: every page says which software and which commit produced its outputs.

The record (for each environment the snippets ran in: Python, torch, torchvision, numpy, matplotlib;
the notebook's environment; and the short commit, marked 未提交 when the work tree has changes) goes
into ``config.extra.provenance``; ``overrides/main.html`` shows it at the
bottom of every page. It holds no clock time, so two builds of one commit are identical:
``SOURCE_DATE_EPOCH`` (read by MkDocs for the sitemap dates) is set to the commit's time unless the
caller already set it.

Versions are read from package metadata: torch is not imported here. mkdocs-jupyter's notebook cache
is keyed by the notebook and the plugin options only, so its folder gets a suffix derived from this
record's versions: a notebook executed under other versions is never shown under these ones.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "torchvision", "numpy", "matplotlib")
# What the pages are made from: a change here that is not committed is marked 未提交 on every page.
INPUTS = ("docs", "snippets", "hooks", "overrides", "mkdocs.yml", "requirements")
# Also change what a notebook prints or draws, without being named on the page.
NOTEBOOK_PACKAGES = ("pillow", "noto-cjk-sans-otc", "ipykernel", "nbconvert", "nbclient")


def git(root: Path, *args: str) -> str | None:
    """A git command's output in the site's folder, or None (no git, not a repository)."""
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def record(root: Path) -> dict:
    versions = {"Python": platform.python_version()}
    versions.update({name: metadata.version(name) for name in PACKAGES})
    commit = git(root, "rev-parse", "--short", "HEAD")
    dirty = bool(git(root, "status", "--porcelain", "--", *INPUTS)) if commit else False
    return {"versions": versions, "commit": commit, "dirty": dirty}


def on_config(config, **_):
    root = Path(config.config_file_path).resolve().parent
    provenance = record(root)
    # Both environments the snippets ran in (hooks/exec_isolated.py reads them before this hook runs).
    provenance["environments"] = [
        {
            "label": env["label"],
            "versions": {"Python": env["versions"]["python"], **{name: env["versions"][name] for name in PACKAGES}},
        }
        for env in config.extra.get("environments", [])
    ]
    config.extra["provenance"] = provenance
    if "SOURCE_DATE_EPOCH" not in os.environ:
        committed = git(root, "log", "-1", "--format=%ct")
        if committed:
            os.environ["SOURCE_DATE_EPOCH"] = committed

    jupyter = config.plugins.get("mkdocs-jupyter")
    # DOCS_EXEC_CACHE governs the notebooks too: "off" turns their cache off, a folder holds theirs as well.
    exec_cache = os.environ.get("DOCS_EXEC_CACHE")
    if jupyter is not None and exec_cache == "off":
        jupyter.config["cache"] = False
    elif jupyter is not None and exec_cache and not jupyter.config["cache_dir"].startswith(exec_cache):
        jupyter.config["cache_dir"] = str(Path(exec_cache) / "notebooks")
    if jupyter is not None and jupyter.config.get("cache"):
        versions = dict(provenance["versions"], **{name: metadata.version(name) for name in NOTEBOOK_PACKAGES})
        key = hashlib.sha256(repr(sorted(versions.items())).encode()).hexdigest()[:12]
        base = Path(jupyter.config["cache_dir"])
        if not base.name.startswith("env-"):  # `mkdocs serve` calls on_config again on every rebuild
            jupyter.config["cache_dir"] = str(base / f"env-{key}")
    return config
