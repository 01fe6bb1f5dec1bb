"""默认数据类型：每一种常见的创建方式，实际得到的 dtype 都由执行给出。"""

import runpy
from pathlib import Path

import numpy as np
import torch

torch.manual_seed(0)
np.random.seed(0)
table = runpy.run_path(
    str(Path(__file__).resolve().parents[1] / "_shared" / "tables.py")
)["table"]

# --8<-- [start:default_dtype]
import numpy as np
import torch

print(torch.get_default_dtype())
# --8<-- [end:default_dtype]


# --8<-- [start:dtype_table_helper]
def dtypes(expressions):
    """每个表达式执行一次，列出得到的 dtype。"""
    rows = [
        (expression, str(eval(expression).dtype)) for expression in expressions
    ]
    table(["表达式", "dtype"], rows, code=(0, 1))


# --8<-- [end:dtype_table_helper]

# --8<-- [start:python_values]
dtypes(
    [
        "torch.tensor(1)",
        "torch.tensor([1, 2, 3])",
        "torch.tensor(1.0)",
        "torch.tensor([1, 2.0])",
        "torch.tensor([])",
        "torch.tensor(True)",
        "torch.tensor([1, True])",
        "torch.tensor(1 + 2j)",
        "torch.tensor([1.0, 2j])",
    ]
)
# --8<-- [end:python_values]

# --8<-- [start:factories]
dtypes(
    [
        "torch.rand(2)",
        "torch.randn(2)",
        "torch.zeros(2)",
        "torch.ones(2)",
        "torch.empty(2)",
        "torch.linspace(0, 1, 5)",
        "torch.arange(5)",
        "torch.arange(5.0)",
        "torch.arange(0, 1, 0.25)",
        "torch.randint(0, 10, (3,))",
        "torch.full((2,), 7)",
        "torch.full((2,), 7.0)",
        "torch.full((2,), True)",
    ]
)
# --8<-- [end:factories]

# --8<-- [start:from_numpy]
ints = np.array([1, 2, 3])
floats = np.array([1.0, 2.0, 3.0])
floats32 = np.array([1.0, 2.0], dtype=np.float32)
print(f"NumPy：ints.dtype = {ints.dtype}，floats.dtype = {floats.dtype}")
print()
dtypes(
    [
        "torch.tensor(ints)",
        "torch.from_numpy(ints)",
        "torch.as_tensor(ints)",
        "torch.tensor(floats)",
        "torch.from_numpy(floats)",
        "torch.as_tensor(floats)",
        "torch.tensor(np.float64(1.0))",
        "torch.from_numpy(floats32)",
        "torch.tensor(floats, dtype=torch.float32)",
        "torch.from_numpy(floats).float()",
    ]
)
# --8<-- [end:from_numpy]

# --8<-- [start:float64_meets_model]
layer = torch.nn.Linear(3, 1)
batch = torch.from_numpy(np.array([[1.0, 2.0, 3.0]]))
print(f"layer.weight.dtype = {layer.weight.dtype}")
print(f"batch.dtype = {batch.dtype}")
try:
    layer(batch)
except RuntimeError as error:
    print("layer(batch) ->")
    print(f"RuntimeError: {error}")
print(f"layer(batch.float()).dtype = {layer(batch.float()).dtype}")
# --8<-- [end:float64_meets_model]

# --8<-- [start:promotion]
dtypes(
    [
        "torch.tensor([1, 2]) / 2",
        "torch.tensor([1, 2]) * 1.5",
        "torch.tensor([1, 2]) // 2",
        "torch.tensor([1, 2]) + torch.rand(2)",
        "torch.ones(2) + torch.ones(2, dtype=torch.float64)",
        "torch.ones(2) + torch.tensor(1.0, dtype=torch.float64)",
        "torch.ones(2) + np.float64(1.0)",
    ]
)
# --8<-- [end:promotion]

# --8<-- [start:set_default_dtype]
torch.set_default_dtype(torch.float64)
try:
    dtypes(
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
print(f"还原之后：{torch.get_default_dtype()}")
# --8<-- [end:set_default_dtype]

# --8<-- [start:integer_default_fixed]
try:
    torch.set_default_dtype(torch.int32)
except TypeError as error:
    print("torch.set_default_dtype(torch.int32) ->")
    print(f"TypeError: {error}")
# --8<-- [end:integer_default_fixed]


# --8<-- [start:checks]
def expect(dtype, *expressions):
    for expression in expressions:
        assert eval(expression).dtype == dtype, (expression, dtype)


assert torch.get_default_dtype() == torch.float32
# 笔记：Python 的整数 → int64，浮点 → float32；工厂函数同理
expect(
    torch.int64,
    "torch.tensor(1)",
    "torch.tensor([1, 2, 3])",
    "torch.arange(5)",
    "torch.randint(0, 10, (3,))",
    "torch.full((2,), 7)",
)
expect(
    torch.float32,
    "torch.tensor(1.0)",
    "torch.tensor([1, 2.0])",
    "torch.tensor([])",
    "torch.rand(2)",
    "torch.randn(2)",
    "torch.zeros(2)",
    "torch.ones(2)",
    "torch.empty(2)",
    "torch.linspace(0, 1, 5)",
    "torch.arange(5.0)",
    "torch.arange(0, 1, 0.25)",
    "torch.full((2,), 7.0)",
)
# 补充：布尔与复数各有自己的默认
expect(torch.bool, "torch.tensor(True)", "torch.full((2,), True)")
expect(torch.int64, "torch.tensor([1, True])")
expect(torch.complex64, "torch.tensor(1 + 2j)", "torch.tensor([1.0, 2j])")
# 补充：从 NumPy 转换保留 NumPy 的 dtype（整数跟随 np.int_）
expect(
    torch.from_numpy(np.zeros(1, dtype=np.int_)).dtype,
    "torch.tensor(ints)",
    "torch.from_numpy(ints)",
    "torch.as_tensor(ints)",
)
expect(
    torch.float64,
    "torch.tensor(floats)",
    "torch.from_numpy(floats)",
    "torch.as_tensor(floats)",
    "torch.tensor(np.float64(1.0))",
)
expect(
    torch.float32,
    "torch.from_numpy(floats32)",
    "torch.tensor(floats, dtype=torch.float32)",
    "torch.from_numpy(floats).float()",
)
# float64 的输入与 float32 的权重相遇：报错；.float() 之后可以
try:
    layer(batch)
    raise AssertionError("float64 的输入本应与 float32 的权重冲突")
except RuntimeError:
    pass
assert layer(batch.float()).dtype == torch.float32
# 运算结果：真除法、乘浮点数得到默认浮点；0 维的 float64 张量与 NumPy 标量不提升
expect(
    torch.float32,
    "torch.tensor([1, 2]) / 2",
    "torch.tensor([1, 2]) * 1.5",
    "torch.tensor([1, 2]) + torch.rand(2)",
    "torch.ones(2) + torch.tensor(1.0, dtype=torch.float64)",
    "torch.ones(2) + np.float64(1.0)",
)
expect(torch.int64, "torch.tensor([1, 2]) // 2")
expect(torch.float64, "torch.ones(2) + torch.ones(2, dtype=torch.float64)")
# set_default_dtype(float64)：浮点和复数跟着变，整数与 NumPy 数组不变
torch.set_default_dtype(torch.float64)
try:
    expect(
        torch.float64, "torch.tensor(1.0)", "torch.rand(2)", "torch.arange(5.0)"
    )
    expect(torch.complex128, "torch.tensor(1 + 2j)")
    expect(torch.int64, "torch.tensor(1)", "torch.arange(5)")
    expect(torch.float32, "torch.from_numpy(floats32)")
finally:
    torch.set_default_dtype(torch.float32)
# 整数类型不能设为默认
try:
    torch.set_default_dtype(torch.int32)
    raise AssertionError("整数类型本应不能设为默认类型")
except TypeError:
    pass
assert torch.get_default_dtype() == torch.float32
print("本页的全部断言成立。")
# --8<-- [end:checks]
