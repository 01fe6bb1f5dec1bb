import torch

torch.manual_seed(0)

# --8<-- [start:placeholder]
import torch

x = torch.rand(2)
print(x)
# --8<-- [end:placeholder]
