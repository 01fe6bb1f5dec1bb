"""x.shape 与 x.size()：同一个值，一个是属性，一个是方法。"""

import torch

torch.manual_seed(0)

# --8<-- [start:same_value]
import torch

x = torch.zeros(2, 3)
print(f"x.shape        = {x.shape}")
print(f"x.size()       = {x.size()}")
print(f"type(x.shape)  = {type(x.shape).__name__}，type(x.size()) = {type(x.size()).__name__}")
print(f"torch.Size 的继承链：{' -> '.join(cls.__name__ for cls in torch.Size.__mro__)}")
print(f"x.shape == x.size()   : {x.shape == x.size()}")
print(f"x.shape == (2, 3)     : {x.shape == (2, 3)}")
print(f"x.shape == [2, 3]     : {x.shape == [2, 3]}")
assert type(x.shape) is type(x.size()) is torch.Size
assert issubclass(torch.Size, tuple)
assert x.shape == x.size() == (2, 3)
assert x.shape != [2, 3]  # 与元组相等，与列表不相等
# --8<-- [end:same_value]

# --8<-- [start:one_dimension]
print(f"x.size(0) = {x.size(0)}，x.shape[0] = {x.shape[0]}")
print(f"x.size(1) = {x.size(1)}，x.shape[1] = {x.shape[1]}")
print(f"x.size(-1) = {x.size(-1)}，x.shape[-1] = {x.shape[-1]}   # 负数从最后一维往前数")
print(f"x.size(dim=0) = {x.size(dim=0)}")
print(f"x.shape[1:] = {x.shape[1:]}   # 切片仍是 torch.Size")
rows, cols = x.shape  # torch.Size 是元组，可以直接解包
print(f"rows, cols = x.shape -> rows={rows}, cols={cols}")
assert (rows, cols) == (2, 3)
assert x.size(0) == x.shape[0] == 2 and x.size(-1) == x.shape[-1] == x.size(1) == 3
assert isinstance(x.shape[1:], torch.Size)
out_of_range = {"x.size(2)": lambda: x.size(2), "x.size(-3)": lambda: x.size(-3), "x.shape[2]": lambda: x.shape[2]}
for code, attempt in out_of_range.items():
    try:
        attempt()
    except IndexError as error:
        print(f"{code} -> {type(error).__name__}: {error}")
    else:
        raise AssertionError(f"{code} 越界，本应报 IndexError")
# --8<-- [end:one_dimension]

# --8<-- [start:without_parentheses]
import re

method = x.size
print(f"type(x.size)     = {type(method).__name__}")
print(f"x.size.__qualname__ = {method.__qualname__}")
print(f"x.size.__self__ is x : {method.__self__ is x}")
print(f"print(x.size) 显示：{re.sub(r'0x[0-9a-fA-F]+', '0x…', repr(method))}   # 地址已替换为 0x…")
assert callable(method) and not isinstance(method, tuple)
assert method.__self__ is x
# --8<-- [end:without_parentheses]

# --8<-- [start:forgotten_parentheses]
print(f"x.size == (2, 3)  -> {x.size == (2, 3)}   # 不报错，只是永远为 False")
print(f"bool(x.size)      -> {bool(x.size)}    # 写进 if 里永远成立")
assert (x.size == (2, 3)) is False
assert bool(x.size) is True


def unpack():
    rows, cols = x.size


attempts = {
    "x.size[0]": lambda: x.size[0],
    "len(x.size)": lambda: len(x.size),
    "rows, cols = x.size": unpack,
    "torch.zeros(x.size)": lambda: torch.zeros(x.size),
    "x.shape(0)": lambda: x.shape(0),  # 反过来，给属性加了括号
}
for code, attempt in attempts.items():
    try:
        attempt()
    except TypeError as error:
        print(f"{code:20} -> {type(error).__name__}: {error}")
    else:
        raise AssertionError(f"{code} 本应报 TypeError")
# --8<-- [end:forgotten_parentheses]

# --8<-- [start:numpy_contrast]
import numpy as np

a = np.zeros((2, 3))
print(f"a.shape = {a.shape}（{type(a.shape).__name__}）")
print(f"a.size  = {a.size}（{type(a.size).__name__}：NumPy 的 size 是元素个数，而且是属性）")
print(f"x.numel() = {x.numel()}（PyTorch 里元素个数要用 numel()）")
try:
    a.size()
except TypeError as error:
    print(f"a.size() -> {type(error).__name__}: {error}")
else:
    raise AssertionError("NumPy 的 size 本应不能调用")
assert a.shape == tuple(x.shape) and a.size == x.numel() == 6
# --8<-- [end:numpy_contrast]
