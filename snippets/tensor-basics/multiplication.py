"""常用乘法：把五种写法在各种形状上真正执行一遍，
再从执行结果推出笔记里的 √ 表。"""

import runpy
from pathlib import Path

import torch

torch.manual_seed(0)
table = runpy.run_path(
    str(Path(__file__).resolve().parents[1] / "_shared" / "tables.py")
)["table"]

# --8<-- [start:operations]
import numpy as np
import torch

OPERATIONS = {
    "*": lambda r1, r2: r1 * r2,
    "torch.mul": torch.mul,
    "@": lambda r1, r2: r1 @ r2,
    "torch.matmul": torch.matmul,
    "torch.dot": torch.dot,
}


def example(*shape):
    """形状为 shape 的张量，元素是 1, 2, 3, …，便于手算核对。"""
    return torch.arange(1.0, torch.Size(shape).numel() + 1).reshape(shape)


def outcome(name, shape1, shape2):
    """结果的形状；报 RuntimeError 时是 ✗。"""
    try:
        return str(
            tuple(OPERATIONS[name](example(*shape1), example(*shape2)).shape)
        )
    except RuntimeError:
        return "✗"


# --8<-- [end:operations]

# --8<-- [start:shape_runs]
SHAPES = [
    ((3,), (3,)),
    ((3,), (4,)),
    ((2, 2), (2, 2)),
    ((2, 3), (3, 2)),
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (2,)),
]


def row(s1, s2):
    return [f"{s1} × {s2}"] + [outcome(name, s1, s2) for name in OPERATIONS]


table(
    ["r1 × r2", *OPERATIONS], [row(s1, s2) for s1, s2 in SHAPES], code=range(6)
)
# --8<-- [end:shape_runs]

# --8<-- [start:derive_columns]
DEFINITIONS = {  # 每一列：在哪些形状上、按定义应得什么（参考答案用 NumPy 算）
    "对位乘": [((2, 3), (2, 3), np.multiply), ((2, 2), (2, 2), np.multiply)],
    "矩阵乘": [((2, 3), (3, 2), np.matmul), ((2, 2), (2, 2), np.matmul)],
    "内积": [((3,), (3,), np.dot)],
}


def computes(name, column):
    """这种写法在该列的每个例子上都给出按定义应得的结果吗？"""
    for shape1, shape2, reference in DEFINITIONS[column]:
        r1, r2 = example(*shape1), example(*shape2)
        try:
            result = OPERATIONS[name](r1, r2).numpy()
        except RuntimeError:
            return False
        if not np.array_equal(result, reference(r1.numpy(), r2.numpy())):
            return False
    return True


derived = {
    name: [c for c in DEFINITIONS if computes(name, c)] for name in OPERATIONS
}


def marks(name):
    return ["√" if column in derived[name] else "" for column in DEFINITIONS]


table(
    ["", *DEFINITIONS], [[name, *marks(name)] for name in OPERATIONS], code=(0,)
)
# --8<-- [end:derive_columns]

# --8<-- [start:square_pitfall]
r1 = example(2, 2)
r2 = example(2, 2)
print(f"r1 * r2 =\n{r1 * r2}")
print(f"r1 @ r2 =\n{r1 @ r2}")
# --8<-- [end:square_pitfall]

# --8<-- [start:broadcasting]
matrix = example(2, 3)
vector = torch.tensor([1.0, 10.0, 100.0])
column = torch.tensor([[1.0], [-1.0]])
print(f"matrix =\n{matrix}")
print(f"matrix * vector =\n{matrix * vector}")  # vector 乘到每一行
print(f"matrix * column =\n{matrix * column}")  # column 乘到每一列
print(f"matrix @ vector = {matrix @ vector}")  # 每一行与 vector 做内积
# --8<-- [end:broadcasting]

# --8<-- [start:dtype_rules]
ints = torch.arange(3)  # int64
floats = torch.ones(3)  # float32
print(f"(ints * floats).dtype = {(ints * floats).dtype}")
for expression in ["ints @ floats", "torch.dot(ints, floats)"]:
    try:
        eval(expression)
    except RuntimeError as error:
        print(f"{expression} -> RuntimeError:\n  {error}")
print(f"ints.float() @ floats = {ints.float() @ floats}")
# --8<-- [end:dtype_rules]

# --8<-- [start:dot_only_vectors]
square = example(2, 2).numpy()
print(f"np.dot(square, square) =\n{np.dot(square, square)}")
try:
    torch.dot(example(2, 2), example(2, 2))
except RuntimeError as error:
    print(f"torch.dot(二维, 二维) -> RuntimeError:\n  {error}")
# --8<-- [end:dot_only_vectors]

# --8<-- [start:checks]
NOTE_TABLE = {  # 原笔记的 √ 表，逐格写成数据
    "*": ["对位乘"],
    "torch.mul": ["对位乘"],
    "@": ["矩阵乘", "内积"],
    "torch.matmul": ["矩阵乘", "内积"],
    "torch.dot": ["内积"],
}
assert derived == NOTE_TABLE  # 笔记的 15 格与执行推出的表逐格一致
cells = {
    (n, s1, s2): outcome(n, s1, s2) for n in OPERATIONS for s1, s2 in SHAPES
}
assert cells["*", (3,), (3,)] == "(3,)"  # 1-D * 1-D 仍是 1-D，不是内积
assert cells["@", (3,), (3,)] == cells["torch.dot", (3,), (3,)] == "()"
assert cells["torch.dot", (2, 2), (2, 2)] == "✗"  # dot 只接受 1-D
assert cells["*", (2, 3), (3, 2)] == "✗"  # 形状不能广播
assert cells["@", (2, 3), (2, 3)] == "✗"  # 内维 3 ≠ 2
assert cells["*", (2, 3), (3,)] == "(2, 3)"  # 广播
assert cells["@", (2, 3), (3,)] == cells["@", (3,), (3, 2)] == "(2,)"
for s1, s2 in SHAPES:  # 两种写法，结果完全相同（数值也相同）
    for a, b in [("*", "torch.mul"), ("@", "torch.matmul")]:
        assert cells[a, s1, s2] == cells[b, s1, s2], (a, s1, s2)
        if not cells[a, s1, s2].startswith("✗"):
            x, y = example(*s1), example(*s2)
            assert torch.equal(OPERATIONS[a](x, y), OPERATIONS[b](x, y))
assert (r1 * r2).shape == (r1 @ r2).shape and not torch.equal(r1 * r2, r1 @ r2)
assert torch.equal(matrix * vector, matrix * vector.expand(2, 3))
assert torch.equal(matrix @ vector, (matrix * vector).sum(dim=1))
assert (matrix * column).shape == (2, 3)
assert (ints * floats).dtype == torch.float32
for expression in [
    "ints @ floats",
    "torch.dot(ints, floats)",
    "torch.dot(r1, r2)",
]:
    try:
        eval(expression)
        raise AssertionError(f"{expression} 本应报 RuntimeError")
    except RuntimeError:
        pass
assert np.array_equal(np.dot(square, square), (r1 @ r2).numpy())
print("本页的全部断言成立。")
# --8<-- [end:checks]
