"""torch.rand(n)、rand(1, n)、rand(n, 1)：形状、矩阵乘和广播中的表现。"""

import runpy
from pathlib import Path

import torch

torch.manual_seed(0)
show = runpy.run_path(str(Path(__file__).resolve().parents[1] / "_shared" / "figures.py"))["show"]

# --8<-- [start:three_shapes]
import torch

n = 3
vector = torch.rand(n)  # 一维
row = torch.rand(1, n)  # 二维：1 行 n 列
column = torch.rand(n, 1)  # 二维：n 行 1 列
TENSORS = {"torch.rand(n)": vector, "torch.rand(1, n)": row, "torch.rand(n, 1)": column}
for name, tensor in TENSORS.items():
    print(f"{name} -> shape={tensor.shape}, ndim={tensor.ndim}, 元素个数={tensor.numel()}")
    print(f"{tensor}\n")
assert vector.shape == (n,) and vector.ndim == 1  # 只有它是一维向量
assert row.shape == (1, n) and row.ndim == 2
assert column.shape == (n, 1) and column.ndim == 2
assert vector.numel() == row.numel() == column.numel() == n  # 元素个数相同，形状不同
# --8<-- [end:three_shapes]


# --8<-- [start:matmul_table]
def outcome(compute) -> str:
    """执行一次运算：成功时给出结果形状，失败时给出异常类型。"""
    try:
        return f"`{tuple(compute().shape)}`"
    except Exception as error:  # noqa: BLE001  失败也是要记录的结果
        return f"✗ `{type(error).__name__}`"


def pair_table(symbol: str, operation) -> dict[tuple[str, str], str]:
    """三种张量两两组合（左 op 右），打印 Markdown 表格并返回每一格。"""
    cells = {(a, b): outcome(lambda: operation(TENSORS[a], TENSORS[b])) for a in TENSORS for b in TENSORS}
    print(f"| 左 {symbol} 右 | " + " | ".join(f"右 = `{b}`" for b in TENSORS) + " |")
    print("|:--|" + ":--|" * len(TENSORS))
    for a in TENSORS:
        print(f"| 左 = `{a}` | " + " | ".join(cells[a, b] for b in TENSORS) + " |")
    return cells


matmul = pair_table("@", lambda a, b: a @ b)
V, R, C = TENSORS  # 三个名字，用来写下面的 assert
assert matmul[V, V] == "`()`"  # 向量 @ 向量：内积，0 维
assert matmul[R, C] == "`(1, 1)`"  # 行 @ 列：1×1 矩阵，不是 0 维标量
assert matmul[C, R] == f"`({n}, {n})`"  # 列 @ 行：外积
assert matmul[V, C] == matmul[R, V] == "`(1,)`"  # 向量参与矩阵乘，结果少一维
assert matmul[V, R] == matmul[R, R] == matmul[C, C] == matmul[C, V] == "✗ `RuntimeError`"
# --8<-- [end:matmul_table]

# --8<-- [start:broadcast_table]
add = pair_table("+", lambda a, b: a + b)
print()
mul = pair_table("*", lambda a, b: a * b)
assert add == mul  # 广播只看形状，+ 和 * 的结果形状相同
assert add[V, V] == f"`({n},)`"
assert add[V, R] == add[R, V] == f"`(1, {n})`"
assert add[V, C] == add[C, V] == add[R, C] == add[C, R] == f"`({n}, {n})`"  # 都不报错！
assert all(not cell.startswith("✗") for cell in add.values())
# --8<-- [end:broadcast_table]

# --8<-- [start:broadcast_figure]
import matplotlib.pyplot as plt

a = torch.tensor([1.0, 2.0, 3.0])  # 形状 (3,)
b = torch.tensor([[10.0], [20.0], [30.0]])  # 形状 (3, 1)
total = a + b
assert total.shape == (3, 3)
assert torch.equal(total, a.expand(3, 3) + b.expand(3, 3))  # 两边先被「复制」成 (3, 3)

fig, axes = plt.subplots(1, 3, figsize=(7, 3), layout="constrained", gridspec_kw={"width_ratios": [3, 1, 3]})
panels = [
    (a.reshape(1, 3), f"a：形状 {tuple(a.shape)}"),
    (b, f"b：形状 {tuple(b.shape)}"),
    (total, f"a + b：形状 {tuple(total.shape)}"),
]
for ax, (grid, title) in zip(axes, panels):
    ax.imshow(grid.numpy(), cmap="Oranges", vmin=0, vmax=40, aspect="equal")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, f"{grid[i, j].item():g}", ha="center", va="center", fontsize=11)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("一维向量加一个列向量：广播成 3×3，而不是逐元素相加", fontsize=11)
show(fig, "a 形状 (3,) 与 b 形状 (3, 1) 相加，广播得到 3×3 的结果")
# --8<-- [end:broadcast_figure]

# --8<-- [start:loss_pitfall]
import warnings

import torch.nn.functional as F

prediction = torch.tensor([[1.0], [2.0], [3.0]])  # 网络输出常见的形状 (n, 1)
target = torch.tensor([1.0, 2.0, 3.0])  # 标签的形状 (n,)，数值与预测完全相同
manual = ((prediction - target) ** 2).mean()
correct = ((prediction.squeeze(1) - target) ** 2).mean()
print(f"(prediction - target).shape = {(prediction - target).shape}")
print(f"手写 MSE（形状不一致）= {manual.item():.4f}")
print(f"手写 MSE（先 squeeze(1)）= {correct.item():.4f}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    library = F.mse_loss(prediction, target)
print(f"F.mse_loss(prediction, target) = {library.item():.4f}，并发出 {len(caught)} 条 {caught[0].category.__name__}：")
print(f"  {caught[0].message}")
assert correct.item() == 0.0
assert abs(manual.item() - 4 / 3) < 1e-6  # 预测完全正确，损失却不是 0
assert library.item() == manual.item()
assert len(caught) == 1 and issubclass(caught[0].category, UserWarning) and "size" in str(caught[0].message)
# --8<-- [end:loss_pitfall]

# --8<-- [start:converting]
print(f"vector.unsqueeze(0).shape = {vector.unsqueeze(0).shape}    # 同 vector[None, :]")
print(f"vector.unsqueeze(1).shape = {vector.unsqueeze(1).shape}    # 同 vector[:, None]")
print(f"row.squeeze(0).shape      = {row.squeeze(0).shape}")
print(f"column.flatten().shape    = {column.flatten().shape}")
assert vector.unsqueeze(0).shape == vector[None, :].shape == row.shape
assert vector.unsqueeze(1).shape == vector[:, None].shape == column.shape
assert row.squeeze(0).shape == column.flatten().shape == vector.shape
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    transposed = vector.T
print(f"vector.T.shape            = {transposed.shape}    # 一维张量转置后形状不变")
print(f"  并发出 {caught[0].category.__name__}：{str(caught[0].message).split('. ')[0]}.")
assert transposed.shape == vector.shape
assert len(caught) == 1 and issubclass(caught[0].category, UserWarning)
# --8<-- [end:converting]
