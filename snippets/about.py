"""About page: the build record, printed by the code that produced every output
on the site."""

import runpy
from pathlib import Path

table = runpy.run_path(
    str(Path(__file__).resolve().parent / "_shared" / "tables.py")
)["table"]

# --8<-- [start:build_record]
import platform

import matplotlib
import numpy as np
import PIL
import torch
import torchvision

record = {
    "Python": platform.python_version(),
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "numpy": np.__version__,
    "matplotlib": matplotlib.__version__,
    "Pillow": PIL.__version__,
}
table(["软件", "版本"], record.items(), code=(1,))
# --8<-- [end:build_record]

# --8<-- [start:checks]
assert torch.__version__.startswith("2."), torch.__version__
assert len(record) == 6 and all(record.values())
# --8<-- [end:checks]
