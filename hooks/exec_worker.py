"""The process side of isolated execution: one forked process per page session.

The fork server imports torch, torchvision, numpy and matplotlib once (see PRELOAD); every page
session then forks from it, so a page starts in milliseconds, from a clean interpreter state, with
nothing left over from the pages built before it. This module itself imports only the standard
library, so that the build process can name its entry point without importing torch.
"""

from __future__ import annotations

import os
import random
import re
import socket
import sys
import time
import traceback
import warnings

SEED = 0
# The only environment variables a snippet sees: no token or key of the build reaches a page.
ENV_ALLOWED = re.compile(
    r"^(PATH|HOME|USER|LANG|LANGUAGE|LC_\w+|TZ|TMPDIR|MPLBACKEND|MPLCONFIGDIR|PYTHON\w*|OMP_NUM_THREADS|OPENBLAS_\w+|MKL_\w+|TORCH_\w+)$"
)
# Imported once by the fork server (with MPLBACKEND=Agg), so that every forked page pays nothing for them.
PRELOAD = ["numpy", "torch", "torchvision", "matplotlib.pyplot", __name__]


class OutputLimitExceeded(BaseException):
    """A block printed more than the output budget allows (a BaseException: `except Exception` cannot hide it)."""


class NetworkDisabled(OSError):
    """Raised for any network use from a snippet."""


def _no_network(*_args, **_kwargs):
    raise NetworkDisabled(
        "network access is disabled while the site builds: use synthetic data or files shipped inside a package"
    )


def _isolate() -> None:
    """Start the page from the same state every time: seeded RNGs, default matplotlib, no network."""
    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    plt.close("all")
    matplotlib.rcdefaults()
    matplotlib.use("Agg")
    # A Chinese label drawn with a font that lacks the glyph must fail the build, not show boxes.
    warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font")
    for name in [name for name in os.environ if not ENV_ALLOWED.match(name)]:
        del os.environ[name]
    # Which environment runs the page (snippets/_shared/tables.py prints Markdown when it is set); the
    # two-environment worker on main sets "notes" or "current", this single-environment one runs the current.
    os.environ["DOCS_EXEC_ENV"] = "current"
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.socket.connect_ex = _no_network  # type: ignore[method-assign]
    socket.getaddrinfo = _no_network  # type: ignore[assignment]
    socket.create_connection = _no_network  # type: ignore[assignment]


class _Budgeted:
    """What `print` writes to: text collected up to a byte budget."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit

    def write(self, text: str) -> None:
        self.size += len(text.encode())
        if self.size > self.limit:
            raise OutputLimitExceeded(f"the block printed more than the output budget of {self.limit} bytes")
        self.parts.append(text)


def _format_error(error: BaseException, filename: str) -> tuple[int | None, str]:
    """The snippet line that failed and a traceback limited to the snippet's own frames and below."""
    tb = traceback.TracebackException.from_exception(error)
    line = None
    for frame in tb.stack:
        if frame.filename == filename:
            line = frame.lineno
    frames = list(tb.stack)
    while frames and frames[0].filename != filename:
        frames.pop(0)
    tb.stack = traceback.StackSummary.from_list(frames)
    return line, "".join(tb.format())


def serve(conn, output_limit: int) -> None:
    """Run blocks sent by the build until the pipe closes. Each message: (code, filename, first_line)."""
    try:
        _isolate()
        broken = None
    except BaseException as error:  # noqa: BLE001  reported for every block instead of a silent exit
        broken = ("error", None, f"the page's process could not start: {type(error).__name__}: {error}", "")
    session_globals: dict = {"__name__": "__main__"}
    while True:
        try:
            code, filename, first_line = conn.recv()
        except EOFError:
            return
        if broken:
            conn.send(broken)
            continue
        out = _Budgeted(output_limit)
        session_globals["print"] = lambda *args, sep=" ", end="\n", **_: out.write(sep.join(map(str, args)) + end)
        started = time.perf_counter()
        try:
            # Pad so that line numbers in tracebacks are the snippet file's own line numbers.
            compiled = compile("\n" * (first_line - 1) + code, filename, "exec")
            exec(compiled, session_globals)  # noqa: S102
        except BaseException as error:  # noqa: BLE001  SystemExit and KeyboardInterrupt included, on purpose
            line, text = _format_error(error, filename)
            conn.send(("error", line, f"{type(error).__name__}: {error}", text))
            continue
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        conn.send(("ok", "".join(out.parts), time.perf_counter() - started))


def start(conn, output_limit: int) -> None:
    """Entry point of a forked page process."""
    os.environ.pop("PYTHONBREAKPOINT", None)
    serve(conn, output_limit)
