"""The two environments the snippets run in, and the bubblewrap sandbox that runs them.

Not a hook: ``hooks/exec_isolated.py`` (the snippets) and ``hooks/notebooks.py`` (the notebook kernel)
both import it. Standard library and MkDocs only: reading an environment's versions does not import torch.

The sandbox (bubblewrap, the tool Flatpak uses): new user, PID, network, IPC and UTS namespaces (no
network at all, and ``/proc`` shows only the sandbox's own processes), an empty environment but for
the variables listed in ``bwrap_command``, the system folders, the environment's Python and the
repository read-only, ``/tmp`` a private tmpfs, and one scratch folder, the working directory, as the
only writable place. It does not limit CPU time (the hook's time-out does) or filter system calls.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mkdocs.exceptions import PluginError

HOOKS = Path(__file__).resolve().parent
ROOT = HOOKS.parent
SCRATCH = "/scratch"  # inside the sandbox: the scratch folder, also the working directory


@dataclass(frozen=True)
class Environment:
    key: str  # "notes" or "current": DOCS_EXEC_ENV inside the sandbox
    venv: str  # relative to the repository
    label: str  # how pages name it


# In the order pages show them. Each is installed by `make` from its own pinned requirements file.
ENVIRONMENTS = (
    Environment("notes", ".venv-notes", "笔记版本"),
    Environment("current", ".venv", "当前版本"),
)
# Everything whose version can change what a snippet prints: the cache key of every block includes them.
PACKAGES = ("torch", "torchvision", "numpy", "matplotlib", "pillow", "noto-cjk-sans-otc")


# -- Environments ---------------------------------------------------------------------------------------

_VERSIONS_SCRIPT = (
    "import json, sys; from importlib import metadata as m; "
    "print(json.dumps({'python': sys.version.split()[0], "
    "**{n: m.version(n) for n in sys.argv[1:]}, 'prefix': sys.base_prefix}))"
)
_versions_cache: dict[tuple, dict] = {}


def selected_environments() -> list[Environment]:
    wanted = os.environ.get("DOCS_EXEC_ENVS", ",".join(e.key for e in ENVIRONMENTS)).split(",")
    unknown = set(wanted) - {e.key for e in ENVIRONMENTS}
    if unknown:
        raise PluginError(f"DOCS_EXEC_ENVS names unknown environments: {', '.join(sorted(unknown))}")
    return [e for e in ENVIRONMENTS if e.key in wanted]


def python_of(env: Environment) -> Path:
    return ROOT / env.venv / "bin" / "python"


def env_versions(env: Environment) -> dict:
    """The environment's Python and PACKAGES versions, read from its metadata (torch is not imported)."""
    python = python_of(env)
    if not python.exists():
        raise PluginError(
            f"the {env.label} environment is missing: {env.venv}/bin/python does not exist (run `make setup`)"
        )
    site = next((ROOT / env.venv / "lib").glob("python*/site-packages"), python)
    stamp = (str(python), site.stat().st_mtime_ns)
    if stamp not in _versions_cache:
        result = subprocess.run(
            [str(python), "-I", "-c", _VERSIONS_SCRIPT, *PACKAGES], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise PluginError(f"the {env.label} environment ({env.venv}) is broken:\n{result.stderr[-2000:]}")
        _versions_cache[stamp] = json.loads(result.stdout)
    return _versions_cache[stamp]


def torch_label(versions: dict) -> str:
    return f"torch {versions['torch'].split('+')[0]}"


# -- The sandbox ----------------------------------------------------------------------------------------


def bwrap_command(
    python: Path, prefix: str, scratch: Path, env_key: str, fd: int | None, share: Path | None = None
) -> list[str]:
    """bubblewrap: new user, PID, network, IPC and UTS namespaces; only the listed folders, read-only."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise PluginError(
            "bubblewrap is not installed (`apt-get install bubblewrap`): snippets run only in its sandbox"
        )
    command = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
    command += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    venv = str(python.parent.parent.resolve())  # a venv that is a symlink is read (and run) where it really is
    python = Path(venv) / "bin" / python.name
    for folder in ("/usr", "/etc", "/bin", "/lib", "/lib64", "/sbin", prefix, venv, str(ROOT)):
        command += ["--ro-bind-try", folder, folder]
    if share is not None:  # a folder the build shares with the sandbox (the notebook kernel's sockets)
        command += ["--bind", str(share), str(share)]
    command += ["--bind", str(scratch), SCRATCH, "--chdir", SCRATCH]
    variables = {
        "PATH": "/usr/bin:/bin",
        "HOME": SCRATCH,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DOCS_EXEC_ENV": env_key,
    }
    for name, value in variables.items():
        command += ["--setenv", name, value]
    if fd is None:  # the caller adds the program's arguments
        return [*command, "--", str(python)]
    return [*command, "--", str(python), "-I", str(HOOKS / "exec_worker.py"), str(fd)]
