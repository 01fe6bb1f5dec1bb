"""Page autograd/abs-subgradient: what autograd returns at points where a
function is not differentiable."""

import random
import runpy
from pathlib import Path

import numpy as np
import torch

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
SHARED = Path(__file__).resolve().parents[1] / "_shared"
show = runpy.run_path(str(SHARED / "figures.py"))["show"]
table = runpy.run_path(str(SHARED / "tables.py"))["table"]
since = runpy.run_path(str(SHARED / "versions.py"))["since"]

# --8<-- [start:abs_at_zero]
import torch

x = torch.tensor([-1.0, -0.5, -0.0, 0.0, 0.5, 1.0], requires_grad=True)
torch.abs(x).sum().backward()
for value, grad in zip(x.tolist(), x.grad.tolist()):
    print(f"x = {value:5}   d|x|/dx = {grad}")
# --8<-- [end:abs_at_zero]

# --8<-- [start:abs_figure]
import matplotlib.pyplot as plt

xs = (torch.arange(-200, 201) / 100).requires_grad_()  # 含精确的 0
torch.abs(xs).sum().backward()
xv, yv, gv = xs.detach().numpy(), xs.detach().abs().numpy(), xs.grad.numpy()
zero = xv == 0

fig, ax = plt.subplots(figsize=(5, 3.6))
ax.plot(xv, yv, color="#1f77b4", label="$|x|$")
ax.plot(xv[xv < 0], gv[xv < 0], color="#d62728", label="autograd 梯度")
ax.plot(xv[xv > 0], gv[xv > 0], color="#d62728")
dashed = {"colors": "#ff9800", "linestyles": "dashed", "linewidth": 2}
ax.vlines(0, -1, 1, label="0 点的子微分 $[-1, 1]$", **dashed)
marker = {"color": "#d62728", "markersize": 8, "markerfacecolor": "white"}
ax.plot(xv[zero], gv[zero], "o", markeredgewidth=2, **marker)
ax.annotate(
    f"x = 0 处 autograd 给出 {gv[zero][0]:g}",
    xy=(0, gv[zero][0]),
    xytext=(0.12, -0.6),
    arrowprops={"arrowstyle": "->"},
    fontsize=11,
)
ax.axhline(0, color="#999999", linewidth=0.8)
ax.set_xlabel("x")
ax.set_ylabel("值")
ax.set_title("torch.abs 及其自动求导梯度")
ax.legend(loc="upper center", fontsize=11)
alt = "绝对值函数与它的梯度：x 小于 0 时为 -1，大于 0 时为 1，"
alt += "x 等于 0 处 autograd 给出 0，落在子微分区间 [-1, 1] 内"
show(fig, alt)
# --8<-- [end:abs_figure]

# --8<-- [start:scalar_table]
import torch.nn.functional as F


def grad_at(f, point):
    """f 在一点的导数，由 autograd 算出。"""
    t = torch.tensor(point, requires_grad=True)
    f(t).backward()
    return t.grad.item()


lo, hi = torch.tensor(0.0), torch.tensor(1.0)  # 张量形式的边界
CASES = [  # (函数, 不可导点)
    ("torch.abs(x)", 0.0),
    ("torch.relu(x)", 0.0),
    ("F.leaky_relu(x)", 0.0),
    ("x.clamp(0, 1)", 0.0),
    ("x.clamp(0, 1)", 1.0),
    ("x.clamp(lo, hi)", 0.0),
    ("x.clamp(lo, hi)", 1.0),
    ("F.hardtanh(x)", 1.0),
    ("torch.sqrt(x)", 0.0),
    ("torch.sign(x)", 0.0),
    ("torch.round(x)", 0.5),
    ("torch.floor(x)", 1.0),
]
measured = {}
for expression, point in CASES:
    f = eval(f"lambda x: {expression}")
    measured[expression, point] = [
        grad_at(f, point + d) for d in (-1e-3, 0.0, 1e-3)
    ]
rows = [
    (e, f"{p:g}", *(f"{g:g}" for g in grads))
    for (e, p), grads in measured.items()
]
table(
    ["函数", "点", "左侧（−0.001）", "该点", "右侧（+0.001）"], rows, code=(0,)
)
# --8<-- [end:scalar_table]

# --8<-- [start:zero_almost_everywhere]
grid = torch.linspace(-3, 3, 601)
for f in (torch.sign, torch.round, torch.floor):
    t = grid.clone().requires_grad_()
    f(t).sum().backward()
    largest = t.grad.abs().max()
    print(f"torch.{f.__name__}：601 个点上梯度的最大绝对值 = {largest}")
# --8<-- [end:zero_almost_everywhere]


# --8<-- [start:vector_table]
def grads_of(f, values):
    t = torch.tensor(values, requires_grad=True)
    f(t).backward()
    return t.grad


VECTOR_CASES = [  # (表达式, 输入 v)
    ("torch.linalg.vector_norm(v)", [0.0, 0.0]),
    ("torch.norm(v)", [0.0, 0.0]),
    ("v.pow(2).sum().sqrt()", [0.0, 0.0]),  # 手写的范数
    ("(v.pow(2).sum() + 1e-12).sqrt()", [0.0, 0.0]),  # 加 eps
    ("v.max()", [1.0, 3.0, 3.0]),
    ("v.amax()", [1.0, 3.0, 3.0]),
    ("v.max(dim=0).values", [1.0, 3.0, 3.0]),
    ("v.min()", [1.0, 1.0, 3.0]),
    ("v.min(dim=0).values", [1.0, 1.0, 3.0]),
    ("torch.maximum(v[0], v[1])", [2.0, 2.0]),
]
vec = {
    e: grads_of(eval(f"lambda v: {e}"), values) for e, values in VECTOR_CASES
}
rows = [(e, values, vec[e].tolist()) for e, values in VECTOR_CASES]
table(["表达式", "输入 v", "autograd 梯度"], rows, code=(0,))
# --8<-- [end:vector_table]

# --8<-- [start:nan_spreads]
w = torch.zeros(2, requires_grad=True)
# 手写范数作正则项，w 恰好为 0
loss = w.pow(2).sum().sqrt() + (w - 1).pow(2).sum()
loss.backward()
print(f"loss = {loss.item()}，w.grad = {w.grad}")
with torch.no_grad():
    w -= 0.1 * w.grad  # 一步梯度下降
print(f"一步 SGD 之后 w = {w}")
# --8<-- [end:nan_spreads]

# --8<-- [start:checks]
# abs：0 点（含 -0.0）的梯度是 0，落在子微分 [-1, 1] 内；实现上就是 sign(x)
at_zero = x.grad[x.detach() == 0]
assert torch.equal(at_zero, torch.zeros(2))
assert torch.equal(x.grad, torch.sign(x.detach()))
assert gv[zero][0] == 0
assert set(gv[xv < 0]) == {-1.0} and set(gv[xv > 0]) == {1.0}
# 连续、有折角的函数：给出的值都在左右导数之间
for expression, point in CASES[:8]:
    left, at, right = measured[expression, point]
    assert min(left, right) <= at <= max(left, right), (expression, point)
assert measured["torch.abs(x)", 0.0] == [-1.0, 0.0, 1.0]  # 取中点
assert measured["torch.relu(x)", 0.0] == [0.0, 0.0, 1.0]  # 取左导数
left, at, _ = measured["F.leaky_relu(x)", 0.0]
assert at == left  # 取左导数（斜率 0.01）
assert measured["F.hardtanh(x)", 1.0][1] == 0.0
# clamp 在边界上：torch 2.3 取 1（边界内侧的导数）；
# torch 2.14 起数值边界取 0，张量边界取 0.5（逐个版本运行：改变出现在 2.14）
number_bounds = since("2.14", before=1.0, after=0.0)
tensor_bounds = since("2.14", before=1.0, after=0.5)
for point in (0.0, 1.0):
    assert measured["x.clamp(0, 1)", point][1] == number_bounds
    assert measured["x.clamp(lo, hi)", point][1] == tensor_bounds
assert measured["torch.sqrt(x)", 0.0][1] == float("inf")
for expression in ("torch.sign(x)", "torch.round(x)", "torch.floor(x)"):
    grads = next(g for (e, _), g in measured.items() if e == expression)
    assert grads == [0.0, 0.0, 0.0], expression
for f in (torch.sign, torch.round, torch.floor):  # 梯度处处为 0
    t = grid.clone().requires_grad_()
    f(t).sum().backward()
    assert torch.count_nonzero(t.grad) == 0, f
# 向量：范数在零向量处给 0，手写的 sqrt 给 nan，加 eps 给 0；
# 并列最大值平分或只给一个
assert torch.equal(vec["torch.linalg.vector_norm(v)"], torch.zeros(2))
assert torch.equal(vec["torch.norm(v)"], torch.zeros(2))
assert torch.isnan(vec["v.pow(2).sum().sqrt()"]).all()
assert torch.equal(vec["(v.pow(2).sum() + 1e-12).sqrt()"], torch.zeros(2))
assert torch.equal(vec["v.max()"], torch.tensor([0.0, 0.5, 0.5]))
assert torch.equal(vec["v.amax()"], torch.tensor([0.0, 0.5, 0.5]))
assert torch.equal(vec["v.min()"], torch.tensor([0.5, 0.5, 0.0]))
# 只给返回的那个下标
index = torch.tensor([1.0, 3.0, 3.0]).max(dim=0).indices
assert torch.equal(vec["v.max(dim=0).values"], F.one_hot(index, 3).float())
index = torch.tensor([1.0, 1.0, 3.0]).min(dim=0).indices
assert torch.equal(vec["v.min(dim=0).values"], F.one_hot(index, 3).float())
assert torch.equal(vec["torch.maximum(v[0], v[1])"], torch.tensor([0.5, 0.5]))
# nan 悄悄进入参数
assert torch.isnan(w).all()
print("本页的全部断言成立。")
# --8<-- [end:checks]
