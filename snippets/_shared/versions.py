"""Which PyTorch runs this snippet: the notes' (2.3) or the current one, named in one place.

Every page runs twice, once per environment (hooks/exec_isolated.py). Where behaviour differs by
version, a snippet states each version's behaviour through this helper, never by parsing versions itself:

    expected = since("2.4", before=1.0, after=0.0)   # the value changed in torch 2.4
    assert grad == expected

A page includes the section in a hidden block; its snippet file runs this file first (`runpy`).
"""

# --8<-- [start:setup]
import torch as _torch

TORCH = tuple(int(part) for part in _torch.__version__.split("+")[0].split(".")[:2])


def since(version: str, *, before, after):
    """`after` on torch `version` and later, `before` on earlier releases (the notes' 2.3 among them)."""
    return after if TORCH >= tuple(int(part) for part in version.split(".")) else before


def torch_label() -> str:
    """The running release, as a page names it: 'torch 2.3.1'."""
    return f"torch {_torch.__version__.split('+')[0]}"


# --8<-- [end:setup]
