"""The sandbox side of execution: one server per environment, one forked process per page.

``hooks/exec_isolated.py`` starts this file as a script inside a bubblewrap sandbox (see ``sandbox``
there), with the environment's own Python (``.venv`` or ``.venv-notes``). It imports torch, numpy and
matplotlib once (and torchvision, named in its further arguments, when the site's snippets import it), then
serves pages one at a time over the socket whose fd is its first argument:

- ``("page", name, options)``: fork a page process. It starts seeded, with matplotlib defaults and no
  figures, in an empty working directory, under a memory limit, and says ``("hello",)``: the build
  takes the pid that the kernel attaches to that message (SCM_CREDENTIALS) as the page's own, and
  rejects any later message from another process (a child forked by a snippet cannot answer).
- ``("run", code, filename, first_line)`` to the page process: run one block, reply
  ``("ok", output, seconds)`` or ``("error", kind, line, summary, trace)``.
- ``("end",)`` to the page process: it exits. The server then kills every other process left in the
  sandbox (children a snippet started, however detached), empties the scratch folders, and replies
  ``("ended", exit_code, fault_dump)``; only then does the build send the next page.

A block that runs past its time limit is stopped by the page process itself (``faulthandler``
dumps the stack of the running line and exits); the server reports the line. This module imports
only the standard library at top level, so the build can read its constants without torch.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import random
import re
import resource
import shutil
import signal
import socket
import sys
import time
import traceback
import types
import warnings

SEED = 0
# Imported once by the server, so that every forked page pays nothing for them. The build adds, as arguments,
# the optional ones that the site's snippets import (torchvision: 1.7 s, most of it torch._dynamo), so that a
# site without them does not pay for them either.
PRELOAD = ("numpy", "torch", "matplotlib.pyplot")
OPTIONAL = ("torchvision",)
CHUNK = 60_000  # bytes per socket message (SOCK_SEQPACKET keeps message boundaries and per-message credentials)
SCRATCH = "/scratch"  # the only writable folder besides /tmp, both emptied after every page
FAULT_LOG = f"{SCRATCH}/.fault"  # the stack of a block that ran out of time


class OutputLimitExceeded(BaseException):
    """A block printed more than the output budget allows (a BaseException: `except Exception` cannot hide it)."""


# -- Messages -------------------------------------------------------------------------------------------


def send(sock: socket.socket, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    for start in range(0, len(data), CHUNK):
        last = start + CHUNK >= len(data)
        sock.send((b"." if last else b"+") + data[start : start + CHUNK])
    if not data:
        sock.send(b".")


def receive(sock: socket.socket):
    parts = []
    while True:
        chunk = sock.recv(CHUNK + 1)
        if not chunk:
            raise EOFError
        parts.append(chunk[1:])
        if chunk[:1] == b".":
            return pickle.loads(b"".join(parts))  # noqa: S301  the build's own messages


# -- The page process -------------------------------------------------------------------------------


def _reset_state() -> None:
    """Start the page from the same state every time: seeded RNGs, default matplotlib, no figures."""
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


def _failure(error: BaseException, filename: str) -> tuple[str, int | None, str, str]:
    """(kind, the snippet line that failed, summary, a traceback limited to the snippet's frames and below)."""
    tb = traceback.TracebackException.from_exception(error)
    line = None
    for frame in tb.stack:
        if frame.filename == filename:
            line = frame.lineno
    frames = list(tb.stack)
    while frames and frames[0].filename != filename:
        frames.pop(0)
    tb.stack = traceback.StackSummary.from_list(frames)
    summary = f"{type(error).__name__}: {error}"
    out_of_memory = isinstance(error, MemoryError) or (
        isinstance(error, RuntimeError) and re.search(r"can't allocate memory|not enough memory", str(error))
    )
    return ("memory" if out_of_memory else "error"), line, summary, "".join(tb.format())


def page(sock: socket.socket, options: dict) -> None:
    """A page's process: run its blocks in one namespace until the build says ("end",)."""
    me = os.getpid()
    # A child forked by a snippet (os.fork, multiprocessing, DataLoader workers) does not keep the channel.
    os.register_at_fork(after_in_child=lambda: os.close(sock.fileno()) if os.getpid() != me else None)
    limit = options["memory"]
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    workdir = f"{SCRATCH}/page"
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    fault_log = open(FAULT_LOG, "w")  # noqa: SIM115  kept open for faulthandler
    try:
        _reset_state()
        broken = None
    except BaseException as error:  # noqa: BLE001  reported for every block instead of a silent exit
        broken = ("error", "error", None, f"the page's process could not start: {type(error).__name__}: {error}", "")
    send(sock, ("hello",))
    # The blocks run in a fresh module that is __main__, as in `python snippet.py`: functions they define
    # pickle by reference (multiprocessing, DataLoader workers).
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    namespace: dict = main.__dict__
    while True:
        message = receive(sock)
        if message[0] == "end":
            os._exit(0)
        _, code, filename, first_line = message
        if broken:
            send(sock, broken)
            continue
        out = _Budgeted(options["output_limit"])
        namespace["print"] = lambda *args, sep=" ", end="\n", **_: out.write(sep.join(map(str, args)) + end)
        started = time.perf_counter()
        faulthandler.dump_traceback_later(options["timeout"], file=fault_log, exit=True)
        try:
            # Pad so that line numbers in tracebacks are the snippet file's own line numbers.
            compiled = compile("\n" * (first_line - 1) + code, filename, "exec")
            exec(compiled, namespace)  # noqa: S102
            reply = ("ok", "".join(out.parts), time.perf_counter() - started)
        except BaseException as error:  # noqa: BLE001  SystemExit and KeyboardInterrupt included, on purpose
            reply = ("error", *_failure(error, filename))
        finally:
            faulthandler.cancel_dump_traceback_later()
        if os.getpid() != me:  # a forked child that returned from the block: it has nothing to say
            os._exit(0)
        sys.stdout.flush()
        sys.stderr.flush()
        send(sock, reply)


# -- The server -------------------------------------------------------------------------------------


def _others() -> list[int]:
    """Every process in the sandbox but the sandbox's init (pid 1) and this server."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, os.getpid()):
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    state = stat.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                found.append(int(entry))
    return found


def _kill_the_rest() -> None:
    """SIGKILL every process a page left behind, until none is left (a forking loop included)."""
    for _ in range(1000):
        left = _others()
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while True:  # reap our own children; the others are reaped by the sandbox's init
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        time.sleep(0.001)
    raise RuntimeError("processes left by the page could not be stopped")


def _empty(folder: str) -> None:
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _fault_dump() -> str:
    """What faulthandler wrote when a block ran out of time (the running stack), or ''."""
    try:
        with open(FAULT_LOG, encoding="utf-8", errors="replace") as log:
            return log.read()
    except OSError:
        return ""


def serve(sock: socket.socket, optional: list[str]) -> None:
    for name in (*PRELOAD, *(name for name in optional if name in OPTIONAL)):
        __import__(name)
    send(sock, ("ready", {name: sys.modules[name].__version__ for name in ("torch", "numpy")}))
    while True:
        try:
            message = receive(sock)
        except EOFError:
            return
        _, _name, options = message
        pid = os.fork()
        if pid == 0:
            try:
                page(sock, options)
            finally:
                os._exit(70)
        _, status = os.waitpid(pid, 0)
        _kill_the_rest()
        dump = _fault_dump()
        for folder in (SCRATCH, "/tmp"):
            _empty(folder)
        send(sock, ("ended", os.waitstatus_to_exitcode(status), dump))


if __name__ == "__main__":
    channel = socket.socket(fileno=int(sys.argv[1]))
    # The Python error of a server that cannot start reaches the build through the channel.
    try:
        serve(channel, sys.argv[2:])
    except BaseException as error:  # noqa: BLE001
        send(channel, ("broken", f"{type(error).__name__}: {error}", traceback.format_exc()))
