"""默认数据类型：每一种常见的创建方式，实际得到的 dtype 都由执行给出。"""

import numpy as np
import torch

torch.manual_seed(0)
np.random.seed(0)

# --8<-- [start:default_dtype]
import numpy as np
import torch

print(f"torch.get_default_dtype() = {torch.get_default_dtype()}")
assert torch.get_default_dtype() == torch.float32
# --8<-- [end:default_dtype]


# --8<-- [start:dtype_table_helper]
def dtype_table(expressions: list[str]) -> dict[str, torch.dtype]:
    """逐个执行表达式，打印「表达式 → dtype」的 Markdown 表格，并返回结果供 assert 使用。"""
    dtypes = {expression: eval(expression).dtype for expression in expressions}
    print("| 表达式 | 得到的 dtype |")
    print("|:--|:--|")
    for expression, dtype in dtypes.items():
        print(f"| `{expression}` | `{dtype}` |")
    return dtypes


# --8<-- [end:dtype_table_helper]

# --8<-- [start:python_values]
from_python = dtype_table(
    [
        "torch.tensor(1)",
        "torch.tensor(1.0)",
        "torch.tensor([1, 2, 3])",
        "torch.tensor([1.0, 2.0])",
        "torch.tensor([1, 2.0])",  # 整数与浮点混合
        "torch.tensor(True)",
        "torch.tensor([1, True])",  # 整数与布尔混合
        "torch.tensor(1 + 2j)",
        "torch.tensor([1.0, 2j])",  # 浮点与复数混合
        "torch.tensor([])",  # 空列表
    ]
)
assert from_python["torch.tensor(1)"] == torch.int64
assert from_python["torch.tensor([1, 2, 3])"] == torch.int64
assert from_python["torch.tensor(1.0)"] == torch.float32
assert from_python["torch.tensor([1, 2.0])"] == torch.float32
assert from_python["torch.tensor([])"] == torch.float32
# 不属于「float32, int64」的两类：布尔与复数
assert from_python["torch.tensor(True)"] == torch.bool
assert from_python["torch.tensor([1, True])"] == torch.int64
assert from_python["torch.tensor(1 + 2j)"] == torch.complex64
assert from_python["torch.tensor([1.0, 2j])"] == torch.complex64
# --8<-- [end:python_values]

# --8<-- [start:factories]
# 每个工厂函数，和笔记（“默认 float32, int64”）让人预期的 dtype
expected = {
    "torch.rand(2)": torch.float32,
    "torch.randn(2)": torch.float32,
    "torch.zeros(2)": torch.float32,
    "torch.ones(2)": torch.float32,
    "torch.empty(2)": torch.float32,
    "torch.linspace(0, 1, 5)": torch.float32,
    "torch.arange(5)": torch.int64,
    "torch.arange(5.0)": torch.float32,
    "torch.arange(0, 1, 0.25)": torch.float32,
    "torch.randint(0, 10, (3,))": torch.int64,
    "torch.full((2,), 7)": torch.int64,
    "torch.full((2,), 7.0)": torch.float32,
    "torch.full((2,), True)": torch.bool,
}
from_factories = dtype_table(list(expected))
assert from_factories == expected, {k: v for k, v in from_factories.items() if expected[k] != v}
# --8<-- [end:factories]

# --8<-- [start:from_numpy]
ints = np.array([1, 2, 3])
floats = np.array([1.0, 2.0, 3.0])
floats32 = np.array([1.0, 2.0], dtype=np.float32)
print(
    f"NumPy 这边：默认整数 `np.int_` 是 `{np.dtype(np.int_)}`，`ints.dtype` 是 `{ints.dtype}`，`floats.dtype` 是 `{floats.dtype}`。"
)
print()
from_numpy = dtype_table(
    [
        "torch.tensor(ints)",
        "torch.from_numpy(ints)",
        "torch.as_tensor(ints)",
        "torch.tensor(floats)",
        "torch.from_numpy(floats)",
        "torch.as_tensor(floats)",
        "torch.tensor(np.float64(1.0))",  # NumPy 标量，例如 np.mean 的返回值
        "torch.from_numpy(floats32)",
        "torch.tensor(floats, dtype=torch.float32)",
        "torch.from_numpy(floats).float()",
    ]
)
for name in ["torch.tensor(ints)", "torch.from_numpy(ints)", "torch.as_tensor(ints)"]:
    assert from_numpy[name] == torch.from_numpy(np.zeros(1, dtype=np.int_)).dtype, name  # 跟随 NumPy 的整数
for name in [
    "torch.tensor(floats)",
    "torch.from_numpy(floats)",
    "torch.as_tensor(floats)",
    "torch.tensor(np.float64(1.0))",
]:
    assert from_numpy[name] == torch.float64, name  # 不是 float32！
assert from_numpy["torch.from_numpy(floats32)"] == torch.float32
assert from_numpy["torch.tensor(floats, dtype=torch.float32)"] == torch.float32
assert from_numpy["torch.from_numpy(floats).float()"] == torch.float32
# --8<-- [end:from_numpy]

# --8<-- [start:float64_meets_model]
layer = torch.nn.Linear(3, 1)
batch = torch.from_numpy(np.array([[1.0, 2.0, 3.0]]))
print(f"layer.weight.dtype = {layer.weight.dtype}，batch.dtype = {batch.dtype}")
try:
    layer(batch)
except RuntimeError as error:
    print(f"layer(batch) -> {type(error).__name__}: {error}")
else:
    raise AssertionError("float64 的输入本应与 float32 的权重冲突")
out = layer(batch.float())
print(f"layer(batch.float()).dtype = {out.dtype}")
assert out.dtype == torch.float32
# --8<-- [end:float64_meets_model]

# --8<-- [start:promotion]
from_promotion = dtype_table(
    [
        "torch.tensor([1, 2]) / 2",
        "torch.tensor([1, 2]) * 1.5",
        "torch.tensor([1, 2]) // 2",
        "torch.tensor([1, 2]) + torch.rand(2)",
        "torch.tensor([1.0, 2.0]) + torch.tensor([1.0], dtype=torch.float64)",
    ]
)
assert from_promotion["torch.tensor([1, 2]) / 2"] == torch.float32
assert from_promotion["torch.tensor([1, 2]) * 1.5"] == torch.float32
assert from_promotion["torch.tensor([1, 2]) // 2"] == torch.int64
assert from_promotion["torch.tensor([1, 2]) + torch.rand(2)"] == torch.float32
assert from_promotion["torch.tensor([1.0, 2.0]) + torch.tensor([1.0], dtype=torch.float64)"] == torch.float64
# --8<-- [end:promotion]

# --8<-- [start:set_default_dtype]
torch.set_default_dtype(torch.float64)
try:
    under_float64 = dtype_table(
        [
            "torch.tensor(1.0)",
            "torch.rand(2)",
            "torch.arange(5.0)",
            "torch.tensor(1 + 2j)",
            "torch.tensor(1)",
            "torch.arange(5)",
            "torch.from_numpy(floats32)",
        ]
    )
finally:
    torch.set_default_dtype(torch.float32)  # 还原，否则后面的代码都会受影响
print()
print(f"还原之后 `torch.get_default_dtype()` 是 `{torch.get_default_dtype()}`。")
assert torch.get_default_dtype() == torch.float32
for name in ["torch.tensor(1.0)", "torch.rand(2)", "torch.arange(5.0)"]:
    assert under_float64[name] == torch.float64, name
assert under_float64["torch.tensor(1 + 2j)"] == torch.complex128  # 复数跟着浮点默认类型走
assert under_float64["torch.tensor(1)"] == under_float64["torch.arange(5)"] == torch.int64  # 整数不受影响
assert under_float64["torch.from_numpy(floats32)"] == torch.float32  # NumPy 数组保留自己的 dtype
# --8<-- [end:set_default_dtype]

# --8<-- [start:integer_default_fixed]
try:
    torch.set_default_dtype(torch.int32)
except TypeError as error:
    print(f"torch.set_default_dtype(torch.int32) -> {type(error).__name__}: {error}")
else:
    raise AssertionError("整数类型本应不能设为默认类型")
assert torch.get_default_dtype() == torch.float32
# --8<-- [end:integer_default_fixed]
