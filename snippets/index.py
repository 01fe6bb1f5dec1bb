"""Home page: the versions that produced the site's outputs, printed by the
code that produced them."""

# --8<-- [start:versions]
import platform

import numpy as np
import torch
import torchvision

print(f"torch {torch.__version__}、torchvision {torchvision.__version__}")
print(f"NumPy {np.__version__}、Python {platform.python_version()}")
# --8<-- [end:versions]
