"""x.shape 与 x.size()：同一个值，一个是属性，一个是方法。"""

import runpy
from pathlib import Path

import torch

torch.manual_seed(0)
SHARED = Path(__file__).resolve().parents[1] / "_shared"
table = runpy.run_path(str(SHARED / "tables.py"))["table"]
since = runpy.run_path(str(SHARED / "versions.py"))["since"]

# --8<-- [start:same_value]
import torch

x = torch.zeros(2, 3)
print(f"x.shape  = {x.shape}")
print(f"x.size() = {x.size()}")
print(f"x.shape == x.size() : {x.shape == x.size()}")
print(f"x.shape == (2, 3)   : {x.shape == (2, 3)}")
print(f"x.shape == [2, 3]   : {x.shape == [2, 3]}")
print(f"torch.Size 的父类：{torch.Size.__mro__[1].__name__}")
# --8<-- [end:same_value]

# --8<-- [start:one_dimension]
import textwrap

print(f"x.size(0) = {x.size(0)}，x.shape[0] = {x.shape[0]}")
# 从最后一维往前数
print(f"x.size(-1) = {x.size(-1)}，x.shape[-1] = {x.shape[-1]}")
print(f"x.shape[1:] = {x.shape[1:]}")  # 切片仍是 torch.Size
rows, cols = x.shape  # torch.Size 是元组，可以直接解包
print(f"rows = {rows}，cols = {cols}")
for code in ["x.size(2)", "x.shape[2]"]:
    try:
        eval(code)
    except IndexError as error:
        print(f"{code} ->")
        print(textwrap.fill(f"IndexError: {error}", 72))
# --8<-- [end:one_dimension]

# --8<-- [start:without_parentheses]
print(f"type(x.size) = {type(x.size).__name__}")
print(f"x.size.__self__ is x : {x.size.__self__ is x}")
# 即 print(x.size)，地址从略
print(repr(x.size).split(" at 0x")[0] + " at 0x…>")
# --8<-- [end:without_parentheses]


# --8<-- [start:forgotten_parentheses]
def outcome(statement):
    """执行一句代码：得到的值，或报出的 TypeError。"""
    scope = {"x": x, "torch": torch}
    try:
        exec(f"value = {statement}", scope)
    except TypeError as error:
        return f"TypeError: {error}"
    return repr(scope["value"])


FORGOTTEN = [
    "x.size == (2, 3)",
    "bool(x.size)",
    "x.size[0]",
    "len(x.size)",
    "rows, cols = x.size",
    "torch.zeros(x.size)",
    "x.shape(0)",  # 反过来，给属性加了括号
]
outcomes = {statement: outcome(statement) for statement in FORGOTTEN}
table(["写法", "结果"], outcomes.items(), code=(0,))
raised = [s for s, result in outcomes.items() if result.startswith("TypeError")]
print(f"\n{len(FORGOTTEN)} 种写法中，立刻报错的 {len(raised)} 种，", end="")
print(f"不报错、悄悄得到错误结果的 {len(FORGOTTEN) - len(raised)} 种。")
# --8<-- [end:forgotten_parentheses]

# --8<-- [start:numpy_contrast]
import numpy as np

a = np.zeros((2, 3))
print(f"a.shape = {a.shape}")
print(f"a.size = {a.size}")  # NumPy 的 size：元素个数，而且是属性
print(f"x.numel() = {x.numel()}")  # PyTorch 里元素个数要用 numel()
try:
    a.size()
except TypeError as error:
    print(f"a.size() -> TypeError: {error}")
# --8<-- [end:numpy_contrast]

# --8<-- [start:checks]
assert type(x.shape) is type(x.size()) is torch.Size
assert issubclass(torch.Size, tuple)
# 与元组相等，与列表不相等
assert x.shape == x.size() == (2, 3) and x.shape != [2, 3]
assert x.size(0) == x.shape[0] == 2
assert x.size(-1) == x.shape[-1] == x.size(1) == 3
assert isinstance(x.shape[1:], torch.Size) and (rows, cols) == (2, 3)
for code in ["x.size(2)", "x.size(-3)", "x.shape[2]"]:
    try:
        eval(code)
        raise AssertionError(f"{code} 越界，本应报 IndexError")
    except IndexError:
        pass
assert callable(x.size) and x.size.__self__ is x
assert not isinstance(x.size, tuple)
# 忘了括号：两种不报错（结果永远错），其余立刻报 TypeError
assert outcomes["x.size == (2, 3)"] == "False"
assert outcomes["bool(x.size)"] == "True"
assert raised == FORGOTTEN[2:], raised
assert all("builtin_function_or_method" in outcomes[s] for s in FORGOTTEN[2:6])
assert "not callable" in outcomes["x.shape(0)"]
# torch.zeros 的措辞随版本而变（逐个版本运行的结果：torch 2.10 起）
before, after = "but found element of type", "not builtin_function_or_method"
wording = since("2.10", before=before, after=after)
assert wording in outcomes["torch.zeros(x.size)"]
assert a.shape == tuple(x.shape) and a.size == x.numel() == 6
print("本页的全部断言成立。")
# --8<-- [end:checks]
