"""Page autograd/abs-subgradient: what autograd returns at points where a function is not differentiable."""

import random
import runpy
from pathlib import Path

import numpy as np
import torch

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
show = runpy.run_path(str(Path(__file__).resolve().parents[1] / "_shared" / "figures.py"))["show"]

# --8<-- [start:abs_at_zero]
import torch

x = torch.tensor([-1.0, -0.5, -0.0, 0.0, 0.5, 1.0], requires_grad=True)
torch.abs(x).sum().backward()
for value, grad in zip(x.tolist(), x.grad.tolist()):
    print(f"x = {value:5}   d|x|/dx = {grad}")

at_zero = x.grad[x.detach() == 0]  # 包括 +0.0 和 -0.0
assert torch.equal(at_zero, torch.zeros(2))  # 输入为 0 时梯度是 0
assert -1 <= at_zero.min() and at_zero.max() <= 1  # 0 在次梯度集合 [-1, 1] 之内
assert torch.equal(x.grad, torch.sign(x.detach()))  # 实现上就是 sign(x)
# --8<-- [end:abs_at_zero]

# --8<-- [start:abs_figure]
import matplotlib.pyplot as plt

xs = (torch.arange(-200, 201) / 100).requires_grad_()  # 含精确的 0
torch.abs(xs).sum().backward()
grad = xs.grad
xv, yv, gv = xs.detach().numpy(), xs.detach().abs().numpy(), grad.numpy()
zero = xv == 0

fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot(xv, yv, color="#1f77b4", label="$|x|$")
ax.plot(xv[xv < 0], gv[xv < 0], color="#d62728", label="autograd 梯度")
ax.plot(xv[xv > 0], gv[xv > 0], color="#d62728")
ax.vlines(0, -1, 1, colors="#ff9800", linestyles="dashed", linewidth=2, label="0 点的次梯度集合 $[-1, 1]$")
ax.plot(xv[zero], gv[zero], "o", color="#d62728", markersize=8, markerfacecolor="white", markeredgewidth=2)
ax.annotate(
    f"x = 0 处 autograd 给出 {gv[zero][0]:g}",
    xy=(0, gv[zero][0]),
    xytext=(0.35, -0.6),
    arrowprops={"arrowstyle": "->"},
    fontsize=9,
)
ax.axhline(0, color="#999999", linewidth=0.8)
ax.set_xlabel("x")
ax.set_ylabel("值")
ax.set_title("torch.abs 及其自动求导梯度")
ax.legend(loc="upper center", fontsize=8)
show(fig, "绝对值函数与它的梯度：x<0 时为 -1，x>0 时为 1，x=0 处 autograd 给出 0，落在次梯度区间 [-1, 1] 内")

assert gv[zero][0] == 0 and set(gv[xv < 0]) == {-1.0} and set(gv[xv > 0]) == {1.0}
# --8<-- [end:abs_figure]

# --8<-- [start:scalar_table]
import torch.nn.functional as F

DELTA = 1e-3


def grad_at(f, point):
    """d f / d x at a single point, by autograd."""
    t = torch.tensor(point, requires_grad=True)
    f(t).backward()
    return t.grad.item()


def show_value(g):
    return f"`{g:g}`"


lo, hi = torch.tensor(0.0), torch.tensor(1.0)
scalar_cases = [  # (显示的函数, 函数, 不可导点)
    ("torch.abs(x)", torch.abs, 0.0),
    ("torch.relu(x)", torch.relu, 0.0),
    ("F.leaky_relu(x)（斜率 0.01）", F.leaky_relu, 0.0),
    ("x.clamp(0, 1)", lambda t: t.clamp(0, 1), 0.0),
    ("x.clamp(0, 1)", lambda t: t.clamp(0, 1), 1.0),
    ("x.clamp(lo, hi)（边界是张量）", lambda t: t.clamp(lo, hi), 0.0),
    ("x.clamp(lo, hi)（边界是张量）", lambda t: t.clamp(lo, hi), 1.0),
    ("F.hardtanh(x)", F.hardtanh, 1.0),
    ("torch.sqrt(x)", torch.sqrt, 0.0),
    ("torch.sign(x)", torch.sign, 0.0),
    ("torch.round(x)", torch.round, 0.5),
    ("torch.floor(x)", torch.floor, 1.0),
]
measured = {}
print(f"| 函数 | 点 | 左侧（点 − {DELTA:g}）的梯度 | 该点 autograd 给出的梯度 | 右侧（点 + {DELTA:g}）的梯度 |")
print("|:--|:--:|:--:|:--:|:--:|")
for name, f, x0 in scalar_cases:
    left, at, right = (grad_at(f, x0 + d) for d in (-DELTA, 0.0, DELTA))
    measured[(name, x0)] = (left, at, right)
    print(f"| `{name}` | `{x0:g}` | {show_value(left)} | **{show_value(at)}** | {show_value(right)} |")

for name, _, x0 in scalar_cases[:8]:  # 连续、有折角的函数：给出的值都在左右导数之间
    left, at, right = measured[(name, x0)]
    assert min(left, right) <= at <= max(left, right), name
assert measured[("torch.abs(x)", 0.0)] == (-1.0, 0.0, 1.0)  # abs 取中点
assert measured[("torch.relu(x)", 0.0)] == (0.0, 0.0, 1.0)
assert measured[("F.leaky_relu(x)（斜率 0.01）", 0.0)][1] == measured[("F.leaky_relu(x)（斜率 0.01）", 0.0)][0]
assert measured[("x.clamp(0, 1)", 0.0)][1] == 0.0 and measured[("x.clamp(0, 1)", 1.0)][1] == 0.0
assert measured[("x.clamp(lo, hi)（边界是张量）", 0.0)][1] == 0.5 == measured[("x.clamp(lo, hi)（边界是张量）", 1.0)][1]
assert measured[("F.hardtanh(x)", 1.0)][1] == 0.0
assert measured[("torch.sqrt(x)", 0.0)][1] == float("inf")
for name in ("torch.sign(x)", "torch.round(x)", "torch.floor(x)"):
    assert all(g == 0 for g in next(v for k, v in measured.items() if k[0] == name)), name
# --8<-- [end:scalar_table]

# --8<-- [start:zero_almost_everywhere]
grid = torch.linspace(-3, 3, 601)
for name, f in (("torch.sign", torch.sign), ("torch.round", torch.round), ("torch.floor", torch.floor)):
    t = grid.clone().requires_grad_()
    f(t).sum().backward()
    print(f"{name:<12} 在 [-3, 3] 的 {t.numel()} 个点上：梯度绝对值的最大值 = {t.grad.abs().max().item()}")
    assert torch.count_nonzero(t.grad) == 0
# --8<-- [end:zero_almost_everywhere]


# --8<-- [start:vector_table]
def grads_of(f, values):
    t = torch.tensor(values, requires_grad=True)
    f(t).backward()
    return t.grad


vector_cases = [  # (显示的表达式, 函数, 输入)
    ("torch.linalg.vector_norm(v)", torch.linalg.vector_norm, [0.0, 0.0]),
    ("torch.norm(v)", torch.norm, [0.0, 0.0]),
    ("v.pow(2).sum().sqrt()（手写范数）", lambda t: t.pow(2).sum().sqrt(), [0.0, 0.0]),
    ("(v.pow(2).sum() + 1e-12).sqrt()（加 eps）", lambda t: (t.pow(2).sum() + 1e-12).sqrt(), [0.0, 0.0]),
    ("v.max()", torch.max, [1.0, 3.0, 3.0]),
    ("v.amax()", torch.amax, [1.0, 3.0, 3.0]),
    ("v.max(dim=0).values", lambda t: t.max(dim=0).values, [1.0, 3.0, 3.0]),
    ("v.min()", torch.min, [1.0, 1.0, 3.0]),
    ("v.min(dim=0).values", lambda t: t.min(dim=0).values, [1.0, 1.0, 3.0]),
    ("torch.maximum(v[0], v[1])", lambda t: torch.maximum(t[0], t[1]), [2.0, 2.0]),
]
vec = {}
print("| 表达式 | 输入 `v` | autograd 梯度 | 全部有限？ |")
print("|:--|:--|:--|:--:|")
for name, f, values in vector_cases:
    g = grads_of(f, values)
    vec[name] = g
    finite = bool(torch.isfinite(g).all())
    print(f"| `{name}` | `{values}` | `{g.tolist()}` | {'是' if finite else '**否**'} |")

assert torch.equal(vec["torch.linalg.vector_norm(v)"], torch.zeros(2))
assert torch.equal(vec["torch.norm(v)"], torch.zeros(2))
assert torch.isnan(vec["v.pow(2).sum().sqrt()（手写范数）"]).all()
assert torch.equal(vec["(v.pow(2).sum() + 1e-12).sqrt()（加 eps）"], torch.zeros(2))
assert torch.equal(vec["v.max()"], torch.tensor([0.0, 0.5, 0.5]))  # 并列时平分
assert torch.equal(vec["v.amax()"], torch.tensor([0.0, 0.5, 0.5]))
index = torch.tensor([1.0, 3.0, 3.0]).max(dim=0).indices
assert torch.equal(vec["v.max(dim=0).values"], torch.nn.functional.one_hot(index, 3).float())  # 只给返回的那个下标
assert torch.equal(vec["v.min()"], torch.tensor([0.5, 0.5, 0.0]))
index = torch.tensor([1.0, 1.0, 3.0]).min(dim=0).indices
assert torch.equal(vec["v.min(dim=0).values"], torch.nn.functional.one_hot(index, 3).float())
assert torch.equal(vec["torch.maximum(v[0], v[1])"], torch.tensor([0.5, 0.5]))
# --8<-- [end:vector_table]

# --8<-- [start:nan_spreads]
w = torch.zeros(2, requires_grad=True)
loss = w.pow(2).sum().sqrt() + (w - 1).pow(2).sum()  # 手写范数作正则项，w 恰好为 0
loss.backward()
print(f"loss = {loss.item()}，w.grad = {w.grad}")
with torch.no_grad():
    w -= 0.1 * w.grad  # 一步梯度下降
print(f"一步 SGD 之后 w = {w}")
assert torch.isnan(w).all()
# --8<-- [end:nan_spreads]
