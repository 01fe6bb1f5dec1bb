"""Page autograd/tensor-attributes: requires_grad, is_leaf, grad and grad_fn, checked by running autograd."""

import random
import runpy
from pathlib import Path

import numpy as np
import torch

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
show = runpy.run_path(str(Path(__file__).resolve().parents[1] / "_shared" / "figures.py"))["show"]

# --8<-- [start:requires_grad_defaults]
import torch
from torch import nn

plain = {
    "torch.tensor([1., 2.])": torch.tensor([1.0, 2.0]),
    "torch.ones(2)": torch.ones(2),
    "torch.randn(2, 3)": torch.randn(2, 3),
}
layer = nn.Linear(3, 2)
for name, t in plain.items():
    print(f"{name:<24} requires_grad = {t.requires_grad}")
for name, p in layer.named_parameters():
    print(f"nn.Linear(3, 2).{name:<8} requires_grad = {p.requires_grad}  ({type(p).__name__})")

assert not any(t.requires_grad for t in plain.values())  # 默认为 False
assert all(p.requires_grad for p in layer.parameters())  # 网络参数为 True

try:
    torch.tensor([1, 2], requires_grad=True)  # int64
except RuntimeError as error:
    print(f"整数张量要求梯度：RuntimeError: {error}")
else:
    raise AssertionError("an integer tensor cannot require grad")
# --8<-- [end:requires_grad_defaults]

# --8<-- [start:propagation_table]
w = torch.tensor([1.0, -2.0], requires_grad=True)  # 用户创建、需要梯度
x = torch.tensor([3.0, 4.0])  # 用户创建、不需要梯度

ones = torch.ones(3)
ops = [  # (表达式, 参与计算的张量, 结果)
    ("x * 2", (x,), x * 2),
    ("w * x", (w, x), w * x),
    ("((w * x).exp() + x).sum()", (w, x), ((w * x).exp() + x).sum()),
    ("layer(ones)", (*layer.parameters(), ones), layer(ones)),
    ("w.detach() * x", (w.detach(), x), w.detach() * x),
]
with torch.no_grad():
    ops.append(("w * x（在 torch.no_grad() 中）", (w, x), w * x))
with torch.inference_mode():
    ops.append(("w * x（在 torch.inference_mode() 中）", (w, x), w * x))
ops.append(("w > 0", (w,), w > 0))
ops.append(("w.argmax()", (w,), w.argmax()))
results = {expr: r for expr, _, r in ops}

print("| 表达式 | 参与计算的张量有 `requires_grad=True` 的？ | 结果 `requires_grad` | 结果 `is_leaf` | 结果 `dtype` |")
print("|:--|:--:|:--:|:--:|:--|")
for expr, inputs, r in ops:
    any_rg = any(t.requires_grad for t in inputs)
    print(f"| `{expr}` | {'是' if any_rg else '否'} | `{r.requires_grad}` | `{r.is_leaf}` | `{r.dtype}` |")

# 传递性：参与计算的张量里有 requires_grad=True 的，结果就是 True ……
for expr in ("w * x", "((w * x).exp() + x).sum()", "layer(ones)"):
    assert results[expr].requires_grad, expr
assert not results["x * 2"].requires_grad
# …… 但有例外：detach()、no_grad、inference_mode，以及不可导的输出（布尔、整数）
assert w.detach().data_ptr() == w.data_ptr()  # detach() 共享数据，只是不再需要梯度
for expr in (
    "w.detach() * x",
    "w * x（在 torch.no_grad() 中）",
    "w * x（在 torch.inference_mode() 中）",
    "w > 0",
    "w.argmax()",
):
    assert not results[expr].requires_grad, expr
# --8<-- [end:propagation_table]

# --8<-- [start:leaf_rule]
created = {"w": w, "x": x, "layer.weight": layer.weight, "layer.bias": layer.bias}
for name, t in created.items():
    print(f"用户直接创建 {name}: is_leaf = {t.is_leaf}, requires_grad = {t.requires_grad}")
assert all(t.is_leaf for t in created.values())

non_leaves = [e for e, r in results.items() if not r.is_leaf]
leaves_from_ops = [e for e, r in results.items() if r.is_leaf]
print(f"运算结果中的非叶子：{non_leaves}")
print(f"运算结果中的叶子：  {leaves_from_ops}")
assert non_leaves == ["w * x", "((w * x).exp() + x).sum()", "layer(ones)"]

# 实际规则：is_leaf 等价于 grad_fn is None；requires_grad=False 的张量一律是叶子
everything = {**created, **results}
assert all(t.is_leaf == (t.grad_fn is None) for t in everything.values())
assert all(t.is_leaf for t in everything.values() if not t.requires_grad)
rule = all(t.is_leaf == (not t.requires_grad or t.grad_fn is None) for t in everything.values())
print(f"对上面 {len(everything)} 个张量：is_leaf == (not requires_grad or grad_fn is None) 全部成立：{rule}")
assert rule
# --8<-- [end:leaf_rule]

# --8<-- [start:grad_table]
import warnings

w = torch.tensor([1.0, 2.0], requires_grad=True)  # 叶子，需要梯度
x = torch.tensor([3.0, 4.0])  # 叶子，不需要梯度
s = x * 2  # 运算结果，但不需要梯度：也是叶子
h = w * x  # 非叶子，需要梯度
r = w * x  # 非叶子，需要梯度，并调用 retain_grad()
r.retain_grad()

cases = {"w": w, "h": h, "r": r, "x": x, "s": s}
labels = {
    "w": "`w`：用户创建，`requires_grad=True`",
    "h": "`h = w * x`：中间结果",
    "r": "`r = w * x`，调用了 `r.retain_grad()`",
    "x": "`x`：用户创建，不需要梯度",
    "s": "`s = x * 2`：不需要梯度的运算结果",
}

# 用 hook 记录反向传播时「流经」每个张量的梯度：这就是「计算了」的证据
flowed = {}
for name, t in cases.items():
    try:
        t.register_hook(lambda g, name=name: flowed.__setitem__(name, g.clone()))
    except RuntimeError:  # 不需要梯度的张量不能注册 hook
        flowed[name] = "不能注册 hook"

loss = (h * s + r).sum()
loss.backward()


def cell(value):
    return value if isinstance(value, str) else f"`{None if value is None else value.tolist()}`"


grads, caught = {}, {}
print("| 情形 | `requires_grad` | `is_leaf` | 反向传播中流经的梯度（hook） | backward 之后的 `.grad` |")
print("|:--|:--:|:--:|:--|:--|")
for name, t in cases.items():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        grads[name] = t.grad  # 读取非叶子的 .grad 会发出警告：这里捕获，不让它漏出去
    caught[name] = [item.category.__name__ for item in record]
    print(f"| {labels[name]} | `{t.requires_grad}` | `{t.is_leaf}` | {cell(flowed[name])} | {cell(grads[name])} |")

assert torch.equal(grads["w"], x * s + x) and torch.equal(flowed["w"], grads["w"])
assert torch.equal(flowed["h"], s) and grads["h"] is None  # 计算了，但没有保留
assert torch.equal(grads["r"], torch.ones(2))  # retain_grad() 之后保留
assert grads["x"] is None and grads["s"] is None
# --8<-- [end:grad_table]

# --8<-- [start:compare_table]
pool = [*cases.values(), *everything.values()]  # 本页到此为止创建的全部张量
empty_cell = [t for t in pool if not t.requires_grad and not t.is_leaf]
measured = {
    (True, True): isinstance(flowed["w"], torch.Tensor) and grads["w"] is not None,
    (True, False): isinstance(flowed["h"], torch.Tensor) and grads["h"] is None,
    (False, True): all(flowed[n] == "不能注册 hook" and grads[n] is None for n in ("x", "s")),
    (False, False): len(empty_cell) > 0,
}
author = {
    (True, True): "计算 grad 并保留",
    (True, False): "计算 grad 但不保留",
    (False, True): "不计算 grad",
    (False, False): "不计算 grad",
}
evidence = {
    (True, True): f"`w`：hook 收到梯度，`.grad` = `{grads['w'].tolist()}`",
    (True, False): f"`h`：hook 收到 `{flowed['h'].tolist()}`，`.grad` 为 `None`",
    (False, True): f"`x`、`s`：{flowed['x']}，`.grad` 为 `{grads['x']}`",
    (False, False): f"本页 {len(pool)} 个张量中，两者都为 `False` 的有 {len(empty_cell)} 个",
}
print("| `requires_grad` | `is_leaf` | 原笔记 | 实测 | 结论 |")
print("|:--:|:--:|:--|:--|:--|")
for (rg, leaf), claim in author.items():
    verdict = "一致" if measured[(rg, leaf)] else "**不成立：没有这种张量**"
    print(f"| `{rg}` | `{leaf}` | {claim} | {evidence[(rg, leaf)]} | {verdict} |")

assert measured[(True, True)] and measured[(True, False)] and measured[(False, True)]  # 三个单元格与原表一致
assert not measured[(False, False)]  # 第四个单元格是空集
# --8<-- [end:compare_table]

# --8<-- [start:nonleaf_grad_warning]
print(f"读取 h.grad 时捕获的警告：{caught['h']}")
with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    _ = h.grad
message = str(record[0].message)
print(f"{record[0].category.__name__}: {message.split('. ')[0]}. ...")
print(f"读取 r.grad（retain_grad 之后）、w.grad（叶子）捕获的警告：{caught['r']}、{caught['w']}")
print(f"r.retains_grad = {r.retains_grad}, h.retains_grad = {h.retains_grad}")

assert caught["h"] == ["UserWarning"] and "not a leaf Tensor" in message
assert caught["r"] == [] and caught["w"] == [] and r.retains_grad and not h.retains_grad
# --8<-- [end:nonleaf_grad_warning]

# --8<-- [start:accumulation]
w = torch.tensor([1.0, 2.0], requires_grad=True)
x = torch.tensor([3.0, 4.0])
loss = (w * x).sum()  # d loss / d w = x

loss.backward(retain_graph=True)  # 保留计算图，才能对同一张图再做一次 backward
first = w.grad.clone()
loss.backward()
print(f"第一次 backward 后 w.grad = {first}")
print(f"第二次 backward 后 w.grad = {w.grad}")
assert torch.equal(first, x) and torch.equal(w.grad, 2 * x)  # 梯度是累加的，不是覆盖

try:
    loss.backward()  # 图已经在上一次 backward 中释放
except RuntimeError as error:
    print(f"第三次 backward：RuntimeError: {' '.join(str(error).split()[:10])} ...")
else:
    raise AssertionError("the third backward should fail")

optimizer = torch.optim.SGD([w], lr=0.1)
optimizer.zero_grad()  # 训练循环每一步先清空：默认把 .grad 置为 None
print(f"optimizer.zero_grad() 之后 w.grad = {w.grad}")
assert w.grad is None
(w * x).sum().backward()
print(f"重新建图、backward：w.grad = {w.grad}")
assert torch.equal(w.grad, x)
# --8<-- [end:accumulation]

# --8<-- [start:grad_fn_names]
w = torch.tensor([1.0, -2.0], requires_grad=True)
x = torch.tensor([3.0, 4.0])
exprs = {
    "w * x": w * x,
    "w + x": w + x,
    "w.exp()": w.exp(),
    "w.relu()": w.relu(),
    "w @ x": w @ x,
    "w.sum()": w.sum(),
    "w.sum(dim=0)": w.sum(dim=0),
    "w.max()": w.max(),
    "w.max(dim=0).values": w.max(dim=0).values,
}
print("| 表达式 | `type(grad_fn).__name__` | `grad_fn.name()` |")
print("|:--|:--|:--|")
for expr, t in exprs.items():
    print(f"| `{expr}` | `{type(t.grad_fn).__name__}` | `{t.grad_fn.name()}` |")

names = [type(t.grad_fn).__name__ for t in exprs.values()]
assert all("BackWard" not in n and n[:-1].endswith("Backward") and n[-1].isdigit() for n in names)
assert type(exprs["w * x"].grad_fn).__name__ == "MulBackward0"
assert {n[-1] for n in names} == {"0", "1"}  # 后缀不总是 0：同一运算的不同重载编号不同
# --8<-- [end:grad_fn_names]

# --8<-- [start:grad_fn_leaf_and_node]
for name, t in {"w（叶子，requires_grad=True）": w, "x（叶子，不需要梯度）": x, "layer.weight": layer.weight}.items():
    print(f"{name}: grad_fn = {t.grad_fn}")
node = exprs["w * x"].grad_fn
print(f"isinstance(grad_fn, torch.autograd.graph.Node) = {isinstance(node, torch.autograd.graph.Node)}")
print(f"isinstance(grad_fn, torch.autograd.Function)   = {isinstance(node, torch.autograd.Function)}")

assert w.grad_fn is None and x.grad_fn is None and layer.weight.grad_fn is None
assert isinstance(node, torch.autograd.graph.Node) and not isinstance(node, torch.autograd.Function)
# --8<-- [end:grad_fn_leaf_and_node]

# --8<-- [start:graph_text]
w = torch.tensor([1.0, -2.0], requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
x = torch.tensor([3.0, 4.0])
y = (w * x + b).relu().sum()
names = {id(w): "w", id(b): "b"}


def label(fn):
    """A node's class name; an AccumulateGrad node also names the leaf it writes .grad into."""
    if fn is None:
        return "None（该输入不需要梯度）"
    if hasattr(fn, "variable"):
        return f"AccumulateGrad → {names[id(fn.variable)]}.grad"
    return type(fn).__name__


def walk(fn, depth=0, lines=None):
    lines = [] if lines is None else lines
    lines.append("    " * depth + label(fn))
    for child, _ in fn.next_functions if fn is not None else ():
        walk(child, depth + 1, lines)
    return lines


chain = walk(y.grad_fn)
print("\n".join(chain))
assert [line.strip() for line in chain] == [
    "SumBackward0",
    "ReluBackward0",
    "AddBackward0",
    "MulBackward0",
    "AccumulateGrad → w.grad",
    "None（该输入不需要梯度）",
    "AccumulateGrad → b.grad",
]
# --8<-- [end:graph_text]

# --8<-- [start:graph_figure]
import matplotlib.pyplot as plt

# 1) 从根出发遍历 next_functions，收集节点和边；节点的层 = 离根的距离
nodes, edges, depth, keep = {}, [], {}, []
pending = [(y.grad_fn, 0, None)]
while pending:
    fn, d, parent = pending.pop(0)
    keep.append(fn)  # 保持引用：id() 才不会被回收后的新对象复用
    key = ("none", parent, len(edges)) if fn is None else id(fn)
    nodes[key] = label(fn)
    depth[key] = max(depth.get(key, 0), d)
    if parent is not None:
        edges.append((parent, key))
    for child, _ in fn.next_functions if fn is not None else ():
        pending.append((child, d + 1, key))

layers = {}
for key in nodes:
    layers.setdefault(depth[key], []).append(key)
children = {key: [c for p, c in edges if p == key] for key in nodes}
column = {}


def place(key):
    """Leaves take consecutive columns; a node sits above the middle of its children."""
    for child in children[key]:
        place(child)
    kids = children[key]
    column[key] = sum(column[c] for c in kids) / len(kids) if kids else len([k for k in column if not children[k]])


place(id(y.grad_fn))
pos = {key: (column[key] * 2.4, -depth[key]) for key in nodes}

# 2) 画图：方框是 Node，箭头从一个节点指向它的 next_functions
fig, ax = plt.subplots(figsize=(6.4, 4.6))
colors = {"AccumulateGrad": "#c8e6c9", "None": "#eeeeee"}
for key, text in nodes.items():
    face = next((c for prefix, c in colors.items() if text.startswith(prefix)), "#ffe0b2")
    ax.text(
        *pos[key],
        text.replace(" → ", "\n→ ").replace("（", "\n（"),
        ha="center",
        va="center",
        fontsize=9,
        bbox={"boxstyle": "round,pad=0.4", "facecolor": face, "edgecolor": "#555555"},
    )
for parent, child in edges:
    (x0, y0), (x1, y1) = pos[parent], pos[child]
    ax.annotate("", xy=(x1, y1 + 0.25), xytext=(x0, y0 - 0.2), arrowprops={"arrowstyle": "->", "color": "#555555"})
xs = [p[0] for p in pos.values()]
ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
ax.set_ylim(-max(layers) - 0.5, 0.5)
ax.axis("off")
ax.set_title("y = (w * x + b).relu().sum() 的反向图（沿 grad_fn.next_functions）")
show(fig, "y 的反向计算图：SumBackward0 → ReluBackward0 → AddBackward0，再分到 MulBackward0 与 b 的 AccumulateGrad")

assert len(nodes) == 7 and len(edges) == 6 and max(layers) == 4
# --8<-- [end:graph_figure]
