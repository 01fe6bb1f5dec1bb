"""Home page: the build record, printed by the code that produced every output on the site."""

# --8<-- [start:build_record]
import platform

import matplotlib
import numpy as np
import torch
import torchvision

record = {
    "Python": platform.python_version(),
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "numpy": np.__version__,
    "matplotlib": matplotlib.__version__,
}
assert torch.__version__.startswith("2."), torch.__version__
print("| 软件 | 版本 |")
print("|:--|:--|")
for name, version in record.items():
    print(f"| {name} | `{version}` |")
# --8<-- [end:build_record]
