"""Page autograd/tensor-attributes: requires_grad, is_leaf, grad and grad_fn,
checked by running autograd."""

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

# --8<-- [start:requires_grad_defaults]
import torch
from torch import nn

layer = nn.Linear(3, 2)
print(f"torch.ones(2).requires_grad = {torch.ones(2).requires_grad}")
print(f"torch.randn(2, 3).requires_grad = {torch.randn(2, 3).requires_grad}")
print(f"layer.weight.requires_grad = {layer.weight.requires_grad}")
print(f"layer.bias.requires_grad = {layer.bias.requires_grad}")
try:
    torch.tensor([1, 2], requires_grad=True)  # int64
except RuntimeError as error:
    print(f"整数张量：RuntimeError:\n  {error}")
# --8<-- [end:requires_grad_defaults]

# --8<-- [start:propagation_table]
w = torch.tensor([1.0, -2.0], requires_grad=True)  # 用户创建，需要梯度
x = torch.tensor([3.0, 4.0])  # 用户创建，不需要梯度
ones = torch.ones(3)
results = {
    "x * 2": x * 2,
    "w * x": w * x,
    "((w * x).exp() + x).sum()": ((w * x).exp() + x).sum(),
    "layer(ones)": layer(ones),
    "w.detach() * x": w.detach() * x,
    "w > 0": w > 0,
    "w.argmax()": w.argmax(),
}
with torch.no_grad():
    results["w * x（no_grad 中）"] = w * x
    results["w[:1]（no_grad 中）"] = w[:1]
with torch.inference_mode():
    results["w * x（inference_mode 中）"] = w * x
    results["w[:1]（inference_mode 中）"] = w[:1]

dtype = {
    name: str(t.dtype).removeprefix("torch.") for name, t in results.items()
}
rows = [
    (name, t.requires_grad, t.is_leaf, dtype[name])
    for name, t in results.items()
]
table(["结果", "requires_grad", "is_leaf", "dtype"], rows, code=(0,))
# --8<-- [end:propagation_table]

# --8<-- [start:leaf_rule]
print(f"w.is_leaf = {w.is_leaf}，x.is_leaf = {x.is_leaf}")
print(f"layer.weight.is_leaf = {layer.weight.is_leaf}")
tensors = {"w": w, "x": x, "layer.weight": layer.weight, **results}
rule = all(t.is_leaf == (t.grad_fn is None) for t in tensors.values())
print(f"以上 {len(tensors)} 个张量，is_leaf 都等于 grad_fn is None：{rule}")
# --8<-- [end:leaf_rule]

# --8<-- [start:grad_table]
import warnings

w = torch.tensor([1.0, 2.0], requires_grad=True)  # 叶子，需要梯度
x = torch.tensor([3.0, 4.0])  # 叶子，不需要梯度
s = x * 2  # 不需要梯度的运算结果：也是叶子
h = w * x  # 中间结果
r = w * x  # 中间结果，调用 retain_grad()
r.retain_grad()

flowed = {}  # 反向传播中流经每个张量的梯度，由钩子记下
for name, t in {"w": w, "h": h, "r": r}.items():
    t.register_hook(lambda grad, name=name: flowed.setdefault(name, grad))
(h * s + r).sum().backward()


def grad_of(t):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 读非叶子的 .grad 会警告，见下一节
        return None if t.grad is None else t.grad.tolist()


def row(name, t):
    received = flowed[name].tolist() if name in flowed else "—"
    return [name, t.requires_grad, t.is_leaf, received, grad_of(t)]


cases = {"w": w, "h": h, "r": r, "x": x, "s": s}
grad_rows = [row(name, t) for name, t in cases.items()]
header = ["张量", "requires_grad", "is_leaf", "钩子收到的梯度", "之后的 .grad"]
table(header, grad_rows, code=(0,))
# --8<-- [end:grad_table]

# --8<-- [start:nonleaf_grad_warning]
import textwrap

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(f"h.grad = {h.grad}")
first_sentence = str(caught[0].message).split(". ")[0]
warning = f"{caught[0].category.__name__}: {first_sentence}."
print(textwrap.fill(warning, 72))
print(f"h.retains_grad = {h.retains_grad}，r.retains_grad = {r.retains_grad}")
# --8<-- [end:nonleaf_grad_warning]

# --8<-- [start:accumulation]
w = torch.tensor([1.0, 2.0], requires_grad=True)
x = torch.tensor([3.0, 4.0])
loss = (w * x).sum()  # MulBackward0 为反向保存了 x

loss.backward(retain_graph=True)  # 保留保存的张量，才能再做一次 backward
print(f"第一次 backward 后 w.grad = {w.grad}")
loss.backward()
print(f"第二次 backward 后 w.grad = {w.grad}")  # 累加，不是覆盖
try:
    loss.backward()
except RuntimeError as error:
    message = str(error).split(" (or")[0]
    print(textwrap.fill(f"第三次：RuntimeError: {message}", 72))

w.grad = None
total = (w + x).sum()  # AddBackward0、SumBackward0 不保存张量
total.backward()
total.backward()  # 没有 retain_graph 也可以
print(f"(w + x).sum() 两次 backward 后 w.grad = {w.grad}")

optimizer = torch.optim.SGD([w], lr=0.1)
optimizer.zero_grad()  # 默认把 .grad 置为 None
print(f"optimizer.zero_grad() 之后 w.grad = {w.grad}")
# --8<-- [end:accumulation]

# --8<-- [start:grad_fn_names]
w = torch.tensor([1.0, -2.0], requires_grad=True)
x = torch.tensor([3.0, 4.0])
NAMES = [
    "w * x",
    "w + x",
    "w.exp()",
    "w.relu()",
    "w @ x",
    "w.sum()",
    "w.sum(dim=0)",
    "w.max()",
    "w.max(dim=0).values",
]
rows = [
    (expression, type(eval(expression).grad_fn).__name__)
    for expression in NAMES
]
table(["表达式", "grad_fn 的类名"], rows, code=(0, 1))
# --8<-- [end:grad_fn_names]

# --8<-- [start:grad_fn_leaf_and_node]
node = (w * x).grad_fn
print(f"w.grad_fn = {w.grad_fn}，x.grad_fn = {x.grad_fn}")
print(f"(x * 2).grad_fn = {(x * 2).grad_fn}")
from torch.autograd import Function
from torch.autograd.graph import Node

print(f"type(node) = {type(node).__name__}")
print(f"isinstance(node, Node) = {isinstance(node, Node)}")
print(f"isinstance(node, Function) = {isinstance(node, Function)}")
# --8<-- [end:grad_fn_leaf_and_node]

# --8<-- [start:graph_text]
w = torch.tensor([1.0, -2.0], requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
x = torch.tensor([3.0, 4.0])
y = (w * x + b).relu().sum()
leaves = {id(w): "w", id(b): "b"}


def label(fn):
    """节点的类名；AccumulateGrad 节点还写出它写入哪个叶子的 .grad。"""
    if fn is None:
        return "None（该输入不需要梯度）"
    if hasattr(fn, "variable"):
        return f"AccumulateGrad → {leaves[id(fn.variable)]}.grad"
    return type(fn).__name__


def walk(fn, depth=0):
    print("    " * depth + label(fn))
    for child, _ in fn.next_functions if fn is not None else ():
        walk(child, depth + 1)


walk(y.grad_fn)
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
children = {key: [c for p, c in edges if p == key] for key in nodes}
column = {}


def place(key):
    """叶子依次占一列；其余节点放在子节点的正中上方。"""
    for child in children[key]:
        place(child)
    kids = children[key]
    leaves_placed = len([k for k in column if not children[k]])
    column[key] = (
        sum(column[c] for c in kids) / len(kids) if kids else leaves_placed
    )


place(id(y.grad_fn))
pos = {key: (column[key] * 2.4, -depth[key]) for key in nodes}

# 2) 画图：方框是 Node，箭头从一个节点指向它的 next_functions
fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
colors = {"AccumulateGrad": "#c8e6c9", "None": "#eeeeee"}
for key, text in nodes.items():
    face = next((c for k, c in colors.items() if text.startswith(k)), "#ffe0b2")
    box = {
        "boxstyle": "round,pad=0.4",
        "facecolor": face,
        "edgecolor": "#555555",
    }
    text = text.replace(" → ", "\n→ ").replace("（", "\n（")
    ax.text(*pos[key], text, ha="center", va="center", fontsize=12, bbox=box)
for parent, child in edges:
    (x0, y0), (x1, y1) = pos[parent], pos[child]
    arrow = {"arrowstyle": "->", "color": "#555555"}
    ax.annotate("", xy=(x1, y1 + 0.25), xytext=(x0, y0 - 0.2), arrowprops=arrow)
xs = [p[0] for p in pos.values()]
ax.set_xlim(min(xs) - 1, max(xs) + 1)
ax.set_ylim(-max(depth.values()) - 0.5, 0.5)
ax.axis("off")
ax.set_title(
    "y = (w * x + b).relu().sum() 的反向图\n（沿 grad_fn.next_functions）"
)
alt = "y 的反向计算图：SumBackward0 → ReluBackward0 → AddBackward0，"
alt += "再分到 MulBackward0 与 b 的 AccumulateGrad"
show(fig, alt)
# --8<-- [end:graph_figure]

# --8<-- [start:checks]
# ① 默认值：普通张量 False，网络参数 True；整数张量不能要求梯度
assert not torch.ones(2).requires_grad and not torch.randn(2, 3).requires_grad
assert all(p.requires_grad for p in layer.parameters())
try:
    torch.tensor([1, 2], requires_grad=True)
    raise AssertionError("整数张量本应不能要求梯度")
except RuntimeError:
    pass
# 传递性成立的三行，和它的例外
for name in ["w * x", "((w * x).exp() + x).sum()", "layer(ones)"]:
    assert results[name].requires_grad and not results[name].is_leaf, name
EXCEPTIONS = [
    "x * 2",
    "w.detach() * x",
    "w > 0",
    "w.argmax()",
    "w * x（no_grad 中）",
    "w * x（inference_mode 中）",
]
for name in EXCEPTIONS:
    assert not results[name].requires_grad and results[name].is_leaf, name
assert dtype["w > 0"] == "bool" and dtype["w.argmax()"] == "int64"
# no_grad / inference_mode 中取的视图仍然 requires_grad=True（而且是叶子）
for name in ["w[:1]（no_grad 中）", "w[:1]（inference_mode 中）"]:
    assert results[name].requires_grad and results[name].is_leaf, name
assert len(results) == 3 + len(EXCEPTIONS) + 2
# ② is_leaf 就是 grad_fn is None；requires_grad=False 的张量一律是叶子
assert rule and all(t.is_leaf for t in tensors.values() if not t.requires_grad)
created = (tensors["w"], tensors["x"], layer.weight, layer.bias)
assert all(t.is_leaf for t in created)
# ③ 笔记的表：计算并保留（w），计算但不保留（h），不计算（x、s）
# retain_grad() 之后保留（r）
grads = {name: (received, kept) for name, _, _, received, kept in grad_rows}
x34 = torch.tensor([3.0, 4.0])
assert grads["w"] == ((2 * x34**2 + x34).tolist(),) * 2  # d/dw Σ(w·x·2x + w·x)
assert grads["h"] == ((x34 * 2).tolist(), None)  # 流经了 h，但没有保留
assert grads["r"] == ([1.0, 1.0], [1.0, 1.0])  # retain_grad() 之后保留
assert grads["x"] == grads["s"] == ("—", None)
for t in (x34, x34 * 2):
    try:
        t.register_hook(lambda grad: grad)
        raise AssertionError("不需要梯度的张量本应不能注册钩子")
    except RuntimeError:
        pass
# 笔记表的第四格（requires_grad=False、is_leaf=False）：本页没有一个这样的张量
every = [*tensors.values(), w, x, s, h, r, y, b]
assert not [t for t in every if not t.requires_grad and not t.is_leaf]
# 读取非叶子的 .grad：None 加一个 UserWarning；retain_grad 之后不警告
assert issubclass(caught[0].category, UserWarning)
assert "not a leaf Tensor" in str(caught[0].message)
assert not h.retains_grad and r.retains_grad
# 梯度累加；保存了张量的图第二次 backward 前要 retain_graph，不保存张量的图不必
g = torch.tensor([1.0, 2.0], requires_grad=True)
twice = (g * x34).sum()
twice.backward(retain_graph=True)
twice.backward()
assert torch.equal(g.grad, 2 * x34)
try:
    twice.backward()
    raise AssertionError("第三次 backward 本应报错")
except RuntimeError as error:
    assert "second time" in str(error)
g.grad = None
plain = (g + x34).sum()
plain.backward()
plain.backward()
assert torch.equal(g.grad, torch.full((2,), 2.0))
# ④ grad_fn：类名以 Backward 加数字结尾（不是 BackWard），后缀不总是 0
names = [type(eval(expression).grad_fn).__name__ for expression in NAMES]
assert all("BackWard" not in n and n[:-1].endswith("Backward") for n in names)
assert names[0] == "MulBackward0" and {n[-1] for n in names} == {"0", "1"}
# 叶子和不需要梯度的运算结果没有 grad_fn
# 需要梯度的运算结果的 grad_fn 是 Node，不是 Function
assert w.grad_fn is None and x.grad_fn is None and (x * 2).grad_fn is None
assert isinstance(node, torch.autograd.graph.Node)
assert not isinstance(node, torch.autograd.Function)
# 计算图：7 个节点、6 条边、5 层
assert sorted(nodes.values()) == sorted(
    [
        "SumBackward0",
        "ReluBackward0",
        "AddBackward0",
        "MulBackward0",
        "AccumulateGrad → w.grad",
        "None（该输入不需要梯度）",
        "AccumulateGrad → b.grad",
    ]
)
assert len(edges) == 6 and max(depth.values()) == 4
print("本页的全部断言成立。")
# --8<-- [end:checks]
