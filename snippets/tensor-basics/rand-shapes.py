"""torch.rand(n)、rand(1, n)、rand(n, 1)：形状、矩阵乘和广播中的表现。"""

import runpy
from pathlib import Path

import torch

torch.manual_seed(0)
SHARED = Path(__file__).resolve().parents[1] / "_shared"
show = runpy.run_path(str(SHARED / "figures.py"))["show"]
table = runpy.run_path(str(SHARED / "tables.py"))["table"]

# --8<-- [start:three_shapes]
import torch

n = 3
vector = torch.rand(n)  # 一维
row = torch.rand(1, n)  # 二维：1 行 n 列
column = torch.rand(n, 1)  # 二维：n 行 1 列
TENSORS = {"rand(n)": vector, "rand(1, n)": row, "rand(n, 1)": column}
for name, tensor in TENSORS.items():
    print(f"torch.{name}: shape={tuple(tensor.shape)}, ndim={tensor.ndim}")
    print(tensor)
# --8<-- [end:three_shapes]


# --8<-- [start:matmul_table]
def outcome(operation, left, right):
    """结果的形状；报 RuntimeError 时是 ✗。"""
    try:
        return str(tuple(operation(TENSORS[left], TENSORS[right]).shape))
    except RuntimeError:
        return "✗"


def pair_table(symbol, operation):
    """三种张量两两组合：左 symbol 右。"""
    rows = [[x] + [outcome(operation, x, y) for y in TENSORS] for x in TENSORS]
    table([f"左 {symbol} 右", *TENSORS], rows, code=range(4))


pair_table("@", lambda a, b: a @ b)
# --8<-- [end:matmul_table]

# --8<-- [start:broadcast_table]
pair_table("+", lambda a, b: a + b)
print()
pair_table("*", lambda a, b: a * b)
# --8<-- [end:broadcast_table]

# --8<-- [start:broadcast_figure]
import matplotlib.pyplot as plt

a = torch.tensor([1.0, 2.0, 3.0])  # 形状 (3,)
b = torch.tensor([[10.0], [20.0], [30.0]])  # 形状 (3, 1)
total = a + b

# 手机上也看得清：4.8 英寸宽的图，字号不小于 12 磅
plt.rcParams["font.size"] = 12
widths = {"width_ratios": [3, 1, 3]}
fig, axes = plt.subplots(
    1, 3, figsize=(4.8, 2.7), layout="constrained", gridspec_kw=widths
)
panels = [
    (a.reshape(1, 3), f"a\n形状 {tuple(a.shape)}"),
    (b, f"b\n形状 {tuple(b.shape)}"),
    (total, f"a + b\n形状 {tuple(total.shape)}"),
]
for ax, (grid, title) in zip(axes, panels):
    ax.imshow(grid.numpy(), cmap="Oranges", vmin=0, vmax=40, aspect="equal")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, f"{grid[i, j].item():g}", ha="center", va="center")
    ax.set_title(title, fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("一维向量加一个列向量：广播成 3×3，而不是逐元素相加")
show(fig, "a 形状 (3,) 与 b 形状 (3, 1) 相加，广播得到 3×3 的结果")
# --8<-- [end:broadcast_figure]

# --8<-- [start:loss_pitfall]
import textwrap
import warnings

import torch.nn.functional as F

prediction = torch.tensor([[1.0], [2.0], [3.0]])  # 网络输出常见的形状 (n, 1)
target = torch.tensor([1.0, 2.0, 3.0])  # 标签 (n,)，数值与预测完全相同
print(f"(prediction - target).shape = {tuple((prediction - target).shape)}")
mse = ((prediction - target) ** 2).mean()
mse_squeezed = ((prediction.squeeze(1) - target) ** 2).mean()
print(f"手写 MSE：{mse.item():.4f}")
print(f"先 squeeze(1)：{mse_squeezed.item():.4f}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    library = F.mse_loss(prediction, target)
print(f"F.mse_loss：{library.item():.4f}")
print(textwrap.fill(f"{caught[0].category.__name__}: {caught[0].message}", 72))
# --8<-- [end:loss_pitfall]

# --8<-- [start:converting]
# 即 [None, :]
print(f"vector.unsqueeze(0).shape = {tuple(vector.unsqueeze(0).shape)}")
# 即 [:, None]
print(f"vector.unsqueeze(1).shape = {tuple(vector.unsqueeze(1).shape)}")
print(f"row.squeeze(0).shape = {tuple(row.squeeze(0).shape)}")
print(f"column.flatten().shape = {tuple(column.flatten().shape)}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    transposed = vector.T
print(f"vector.T.shape = {tuple(transposed.shape)}")  # 一维张量转置后形状不变
first_sentence = str(caught[0].message).split(". ")[0]
print(textwrap.fill(f"{caught[0].category.__name__}: {first_sentence}.", 72))
# --8<-- [end:converting]

# --8<-- [start:checks]
V, R, C = TENSORS
assert vector.shape == (n,) and vector.ndim == 1  # 只有 rand(n) 是一维向量
assert row.shape == (1, n) and column.shape == (n, 1)
assert row.ndim == column.ndim == 2
# 元素个数相同，形状不同
assert vector.numel() == row.numel() == column.numel() == n
pairs = [(x, y) for x in TENSORS for y in TENSORS]
matmul = {(x, y): outcome(lambda p, q: p @ q, x, y) for x, y in pairs}
assert matmul[V, V] == "()"  # 向量 @ 向量：内积，0 维
assert matmul[R, C] == "(1, 1)"  # 行 @ 列：1×1 矩阵，不是 0 维标量
assert matmul[C, R] == f"({n}, {n})"  # 列 @ 行：外积
assert matmul[V, C] == matmul[R, V] == "(1,)"  # 向量参与矩阵乘，结果少一维
assert matmul[V, R] == matmul[R, R] == matmul[C, C] == matmul[C, V] == "✗"
add = {(x, y): outcome(lambda p, q: p + q, x, y) for x, y in pairs}
mul = {(x, y): outcome(lambda p, q: p * q, x, y) for x, y in pairs}
assert add == mul  # 广播只看形状，+ 和 * 的结果形状相同
assert add[V, V] == f"({n},)" and add[V, R] == add[R, V] == f"(1, {n})"
# 都不报错
assert add[V, C] == add[C, V] == add[R, C] == add[C, R] == f"({n}, {n})"
assert "✗" not in add.values()
# 两边先被「复制」成 (3, 3)
assert torch.equal(total, a.expand(3, 3) + b.expand(3, 3))
assert ((prediction.squeeze(1) - target) ** 2).mean().item() == 0.0
manual = ((prediction - target) ** 2).mean().item()
assert abs(manual - 4 / 3) < 1e-6  # 预测全对，损失却不是 0
assert library.item() == manual  # 发出警告，但结果同样是错的
assert vector.unsqueeze(0).shape == vector[None, :].shape == row.shape
assert vector.unsqueeze(1).shape == vector[:, None].shape == column.shape
assert row.squeeze(0).shape == column.flatten().shape == vector.shape
assert transposed.shape == vector.shape
assert issubclass(caught[0].category, UserWarning)
assert "deprecated" in str(caught[0].message)
print("本页的全部断言成立。")
# --8<-- [end:checks]
