"""`make lint`: every check of .pre-commit-config.yaml is there, runs offline from .venv, and the repository passes.

pre-commit runs in a scratch git repository holding a copy of the working tree (tracked files and new ones
that git does not ignore), so that its fixers never touch the real files and a new file is checked too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from conftest import BIN, ROOT

# Each hook id and the pinned package that provides its tool: removing a check fails here.
HOOKS = {
    "trailing-whitespace": "pre-commit-hooks",
    "end-of-file-fixer": "pre-commit-hooks",
    "check-yaml": "pre-commit-hooks",
    "ruff-check": "ruff",
    "ruff-format": "ruff",
    "lint-zh": "autocorrect-py",
    "pymarkdown": "pymarkdownlnt",
    "nbstripout": "nbstripout",
}


def hooks() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: {**hook, "repo": repo["repo"]} for repo in config["repos"] for hook in repo["hooks"]}


def pins() -> dict[str, str]:
    """The direct pins of the development environment (requirements/dev.in, locked in dev.txt)."""
    text = (ROOT / "requirements" / "dev.in").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.M))


def scratch_repository(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """A git repository with a copy of the working tree (or only the lint set-up and `files`), and .venv linked."""
    root = tmp_path / "repo"
    root.mkdir()
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    setup = {".pre-commit-config.yaml", "ruff.toml", ".pymarkdown", ".gitignore", "scripts/lint_zh.py"}
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink() and (files is None or name in setup):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    # The hooks call .venv/bin/<tool>: link the real environment's parts (pyvenv.cfg too, so python finds it).
    (root / ".venv").mkdir()
    for part in BIN.parent.iterdir():
        (root / ".venv" / part.name).symlink_to(part)
    git = ["git", "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    return root


def pre_commit(root: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    env.pop("PRE_COMMIT_COLOR", None)
    return subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files", "--color", "never"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_config_has_every_check_and_each_runs_a_pinned_tool_from_the_venv():
    found = hooks()
    assert set(found) == set(HOOKS), sorted(found)
    pinned = pins()
    for hook_id, package in HOOKS.items():
        hook = found[hook_id]
        assert hook["repo"] == "local" and hook["language"] == "system", hook_id  # nothing to download
        tool = hook["entry"].split()[0]
        assert tool.startswith(".venv/bin/"), f"{hook_id} must run the .venv tool, not whatever is on PATH"
        assert (BIN / tool.removeprefix(".venv/bin/")).is_file(), f"{hook_id}: {tool} is not installed"
        assert package in pinned, f"{package} ({hook_id}) is not pinned in requirements/dev.in"
    assert "pre-commit" in pinned


def test_each_check_catches_its_fault(tmp_path):
    """A file with one fault per check: each hook fails, on the file it guards."""
    faults = {
        "docs/area/note.md": "# 标题\n\n中文和English之间没有空格,标点也是半角.\n",  # lint-zh
        "CONTRIBUTING.md": "# 标题\n\n## 小节\n#### 跳级的标题\n",  # pymarkdown (MD001, MD022)
        "snippets/area/note.py": "import os\nx = 1\n",  # ruff-check (F401)
        "scripts/tool.py": "x = {'a':1}\n",  # ruff-format
        "hooks/tail.py": "x = 1   \n",  # trailing-whitespace
        "tests/no_newline.py": "x = 1",  # end-of-file-fixer
        "mkdocs.yml": "site_name: x\nsite_url: !ENV [SITE_URL, '']\nnav: [\n",  # check-yaml
        "docs/nb.ipynb": '{"cells": [{"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": '
        '[{"name": "stdout", "output_type": "stream", "text": ["1\\n"]}], "source": ["print(1)"]}], '
        '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n',  # nbstripout
    }
    result = pre_commit(scratch_repository(tmp_path, faults), tmp_path)
    assert result.returncode == 1, result.stdout
    failed = set(re.findall(r"^- hook id: (\S+)$", result.stdout, re.M))
    assert failed == set(HOOKS), result.stdout
    assert "docs/area/note.md:3:" in result.stdout  # lint-zh names the file and line


def test_make_lint_passes_on_the_repository(tmp_path):
    """`make lint`, as a contributor runs it, on a copy of the working tree: every check runs and passes,
    and pre-commit keeps its files under the copy's .cache/, not in the user's home."""
    root = scratch_repository(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRE_COMMIT")} | {"NO_COLOR": "1"}
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "lint"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    ran = set(re.findall(r"^(.+?)\.{3,}(?:Passed|\(no files to check\)Skipped)$", result.stdout, re.M))
    assert len(ran) == len(HOOKS), result.stdout
    assert (root / ".cache" / "pre-commit").is_dir()
