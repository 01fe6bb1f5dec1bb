"""常用乘法：把五种写法在各种形状上真正执行一遍，再从执行结果推出笔记里的 √ 表。"""

import torch

torch.manual_seed(0)

# --8<-- [start:operations]
import torch

OPERATIONS = {
    "r1 * r2": lambda r1, r2: r1 * r2,
    "torch.mul(r1, r2)": torch.mul,
    "r1 @ r2": lambda r1, r2: r1 @ r2,
    "torch.matmul(r1, r2)": torch.matmul,
    "torch.dot(r1, r2)": torch.dot,
}


def example(*shape: int) -> torch.Tensor:
    """形状为 shape 的张量，元素是 1, 2, 3, ...（浮点），便于手算核对。"""
    count = 1
    for size in shape:
        count *= size
    return torch.arange(1.0, count + 1).reshape(shape)


def attempt(operation, r1: torch.Tensor, r2: torch.Tensor):
    """执行一次乘法：成功返回结果张量，失败返回异常对象。"""
    try:
        return operation(r1, r2)
    except Exception as error:  # noqa: BLE001  失败也是要记录的结果
        return error


# --8<-- [end:operations]

# --8<-- [start:shape_runs]
SHAPES = [
    ((3,), (3,)),  # 1-D × 1-D
    ((3,), (4,)),  # 1-D × 1-D，长度不同
    ((2, 2), (2, 2)),  # 2-D × 2-D，方阵
    ((2, 3), (3, 2)),  # 2-D × 2-D，非方阵，可以做矩阵乘
    ((2, 3), (2, 3)),  # 2-D × 2-D，非方阵，形状相同
    ((2, 3), (3,)),  # 2-D × 1-D
    ((3,), (3, 2)),  # 1-D × 2-D
    ((2, 3), (2,)),  # 2-D × 1-D，长度对不上
]


def describe(result) -> str:
    if isinstance(result, Exception):
        return f"✗ `{type(result).__name__}`"
    return f"`{tuple(result.shape)}`"


runs = {}
print("| r1 形状 × r2 形状 | " + " | ".join(f"`{name}`" for name in OPERATIONS) + " |")
print("|:--|" + ":--|" * len(OPERATIONS))
for shape1, shape2 in SHAPES:
    r1, r2 = example(*shape1), example(*shape2)
    cells = []
    for name, operation in OPERATIONS.items():
        runs[name, shape1, shape2] = attempt(operation, r1, r2)
        cells.append(describe(runs[name, shape1, shape2]))
    print(f"| `{shape1}` × `{shape2}` | " + " | ".join(cells) + " |")

# 几个关键格子：
assert runs["r1 * r2", (3,), (3,)].shape == (3,)  # 1-D * 1-D 仍是 1-D，不是内积
assert runs["r1 @ r2", (3,), (3,)].shape == ()  # 1-D @ 1-D 是 0 维标量
assert runs["torch.dot(r1, r2)", (3,), (3,)].shape == ()
assert isinstance(runs["torch.dot(r1, r2)", (2, 2), (2, 2)], RuntimeError)  # dot 只接受 1-D
assert isinstance(runs["r1 * r2", (2, 3), (3, 2)], RuntimeError)  # 形状不能广播
assert isinstance(runs["r1 @ r2", (2, 3), (2, 3)], RuntimeError)  # 内维 3 ≠ 2
assert runs["r1 * r2", (2, 3), (3,)].shape == (2, 3)  # 广播
assert runs["r1 @ r2", (2, 3), (3,)].shape == (2,)  # 矩阵 × 向量
assert runs["r1 @ r2", (3,), (3, 2)].shape == (2,)  # 向量 × 矩阵
for shape1, shape2 in SHAPES:  # 两种写法，结果完全相同
    for a, b in [("r1 * r2", "torch.mul(r1, r2)"), ("r1 @ r2", "torch.matmul(r1, r2)")]:
        x, y = runs[a, shape1, shape2], runs[b, shape1, shape2]
        same = type(x) is type(y) if isinstance(x, Exception) else torch.equal(x, y)
        assert same, (a, shape1, shape2)
# --8<-- [end:shape_runs]


# --8<-- [start:derive_columns]
def elementwise_reference(r1: torch.Tensor, r2: torch.Tensor) -> list:
    """对位乘的定义：同一位置的元素相乘（用 Python 循环算，不借助任何乘法算子）。"""
    if r1.ndim == 1:
        return [r1[i].item() * r2[i].item() for i in range(len(r1))]
    return [[r1[i, j].item() * r2[i, j].item() for j in range(r1.shape[1])] for i in range(r1.shape[0])]


def matrix_reference(r1: torch.Tensor, r2: torch.Tensor) -> list:
    """矩阵乘的定义：第 i 行与第 j 列对应元素的乘积之和。"""
    n, k = r1.shape
    m = r2.shape[1]
    return [[sum(r1[i, t].item() * r2[t, j].item() for t in range(k)) for j in range(m)] for i in range(n)]


def inner_reference(r1: torch.Tensor, r2: torch.Tensor) -> float:
    """内积的定义：两个向量对应元素的乘积之和，结果是一个数。"""
    return sum(r1[i].item() * r2[i].item() for i in range(len(r1)))


def computes(result, expected) -> bool:
    return not isinstance(result, Exception) and result.tolist() == expected


COLUMNS = ["对位乘", "矩阵乘", "内积"]
derived = {}
for name in OPERATIONS:
    derived[name, "对位乘"] = all(
        computes(runs[name, s1, s2], elementwise_reference(example(*s1), example(*s2)))
        for s1, s2 in [((3,), (3,)), ((2, 2), (2, 2)), ((2, 3), (2, 3))]
    )
    derived[name, "矩阵乘"] = all(
        computes(runs[name, s1, s2], matrix_reference(example(*s1), example(*s2)))
        for s1, s2 in [((2, 2), (2, 2)), ((2, 3), (3, 2))]
    )
    derived[name, "内积"] = computes(runs[name, (3,), (3,)], inner_reference(example(3), example(3)))

print("| | " + " | ".join(COLUMNS) + " |")
print("|:--:|" + ":--:|" * len(COLUMNS))
for name in OPERATIONS:
    print(f"| `{name}` | " + " | ".join("√" if derived[name, column] else "" for column in COLUMNS) + " |")
# --8<-- [end:derive_columns]

# --8<-- [start:compare_with_note]
NOTE_TABLE = {  # 原笔记的 √ 表，逐格抄成数据
    "r1 * r2": {"对位乘"},
    "torch.mul(r1, r2)": {"对位乘"},
    "r1 @ r2": {"矩阵乘", "内积"},
    "torch.matmul(r1, r2)": {"矩阵乘", "内积"},
    "torch.dot(r1, r2)": {"内积"},
}
agree = 0
print("| 笔记 / 实测 | " + " | ".join(COLUMNS) + " |")
print("|:--:|" + ":--:|" * len(COLUMNS))
for name in OPERATIONS:
    cells = []
    for column in COLUMNS:
        note_says = column in NOTE_TABLE[name]
        measured = derived[name, column]
        verdict = "一致" if note_says == measured else "**不一致**"
        cells.append(f"{'√' if note_says else '空'} / {'√' if measured else '空'}：{verdict}")
        agree += note_says == measured
    print(f"| `{name}` | " + " | ".join(cells) + " |")
print()
print(
    f"笔记的表共 {len(OPERATIONS)} × {len(COLUMNS)} = {len(OPERATIONS) * len(COLUMNS)} 格，与执行推出的表一致的有 {agree} 格。"
)
assert agree == 15  # 每一格都一致
# --8<-- [end:compare_with_note]

# --8<-- [start:square_pitfall]
r1 = example(2, 2)
r2 = example(2, 2)
print(f"r1 =\n{r1}")
print(f"r1 * r2 =\n{r1 * r2}")
print(f"r1 @ r2 =\n{r1 @ r2}")
assert (r1 * r2).shape == (r1 @ r2).shape == (2, 2)
assert not torch.equal(r1 * r2, r1 @ r2)  # 形状相同，数值不同
# --8<-- [end:square_pitfall]

# --8<-- [start:broadcasting]
matrix = example(2, 3)
vector = torch.tensor([1.0, 10.0, 100.0])
print(f"matrix =\n{matrix}")
print(f"matrix * vector（vector 被复制到每一行）=\n{matrix * vector}")
print(f"matrix @ vector（每一行与 vector 做内积）= {matrix @ vector}")
print(f"matrix * 2（标量乘，也是广播）=\n{matrix * 2}")
assert torch.equal(matrix * vector, matrix * vector.expand(2, 3))
assert torch.equal(matrix @ vector, (matrix * vector).sum(dim=1))
column = torch.tensor([[1.0], [-1.0]])
print(f"matrix * column（形状 (2, 1)，被复制到每一列）=\n{matrix * column}")
assert (matrix * column).shape == (2, 3)
# --8<-- [end:broadcasting]

# --8<-- [start:dtype_rules]
ints = torch.arange(3)  # int64
floats = torch.ones(3)  # float32
print(f"ints * floats -> {(ints * floats).dtype}")
for name in ["r1 @ r2", "torch.dot(r1, r2)"]:
    error = attempt(OPERATIONS[name], ints, floats)
    print(f"{name.replace('r1', 'ints').replace('r2', 'floats')} -> {type(error).__name__}: {error}")
    assert isinstance(error, RuntimeError)
assert (ints * floats).dtype == torch.float32
print(f"ints.float() @ floats -> {ints.float() @ floats}")
# --8<-- [end:dtype_rules]

# --8<-- [start:dot_only_vectors]
import numpy as np

square = example(2, 2)
print(f"np.dot(二维, 二维) =\n{np.dot(square.numpy(), square.numpy())}")
error = attempt(torch.dot, square, square)
print(f"torch.dot(二维, 二维) -> {type(error).__name__}: {error}")
assert isinstance(error, RuntimeError)
assert np.array_equal(np.dot(square.numpy(), square.numpy()), (square @ square).numpy())
# --8<-- [end:dot_only_vectors]
