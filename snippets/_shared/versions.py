"""Which PyTorch runs this snippet: the notes' (2.3) or the current one, named
in one place.

Every page runs twice, once per environment (hooks/exec_isolated.py). Where
behaviour differs by version, a snippet states each version's behaviour through
this helper, never by parsing versions itself:

    # the value changed in torch 2.4
    expected = since("2.4", before=1.0, after=0.0)
    assert grad == expected

A page includes the section in a hidden block; its snippet file runs this file
first (`runpy`).
"""

# --8<-- [start:setup]
import numpy as _numpy
import torch as _torch


def _release(version: str) -> tuple[int, int]:
    return tuple(int(part) for part in version.split("+")[0].split(".")[:2])


TORCH = _release(_torch.__version__)
NUMPY = _release(_numpy.__version__)


def since(version: str, *, before, after, package: str = "torch"):
    """`after` on `package` (torch or numpy) `version` and later, `before` on
    earlier releases (the notes' torch 2.3 and NumPy 1.26 among them)."""
    running = {"torch": TORCH, "numpy": NUMPY}[package]
    return after if running >= _release(version) else before


def torch_label() -> str:
    """The running release, as a page names it: 'torch 2.3.1'."""
    return f"torch {_torch.__version__.split('+')[0]}"


def numpy_label() -> str:
    """The running NumPy, as a page names it: 'NumPy 1.26.4'."""
    return f"NumPy {_numpy.__version__}"


# --8<-- [end:setup]
