"""nn.Module.__call__ -> forward -> F.conv2d
(page: docs/nn-module/call-and-forward.md).

The sections the reader sees come first; the checks that keep the page honest
come last (the page shows them collapsed, under 本页如何自证).
"""

import runpy
from pathlib import Path

import torch

torch.manual_seed(0)
_shared = Path(__file__).resolve().parents[1] / "_shared"
table = runpy.run_path(str(_shared / "tables.py"))["table"]

# --8<-- [start:wtfnet]
import torch
import torch.nn.functional as F
from torch import nn


class WtfNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)  # in=1, out=4, kernel=3
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.conv1(x)
        x = self.relu(x)
        return x


torch.manual_seed(0)
x = torch.randn(2, 1, 6, 6)  # (N, C, H, W)
model = WtfNet()  # ① 实例化
output = model(x)  # ② 调用实例: 触发 __call__，再调用 forward
print(f"output.shape = {tuple(output.shape)}")
# --8<-- [end:wtfnet]

# --8<-- [start:three_lines]
# 用的是 nn.Module 的 __call__
print(type(model).__call__ is nn.Module.__call__)
print("__call__" in vars(WtfNet), "forward" in vars(WtfNet))  # 只写了 forward
conv = model.conv1  # ③ 同样是 nn.Module，最后调用 F.conv2d
print(torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias)))
# --8<-- [end:three_lines]

# --8<-- [start:hooks]
calls = []


def hook(module, args, out):
    calls.append("钩子")


handle = model.register_forward_hook(hook)
model(x)
print(f"model(x) 之后，钩子运行了 {len(calls)} 次")
model.forward(x)
print(f"model.forward(x) 之后，仍是 {len(calls)} 次")
handle.remove()
# --8<-- [end:hooks]


# --8<-- [start:four_ways]
class InInit(nn.Module):  # 1. 笔记的典型写法
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return self.conv1(x)


class ParameterAndF(nn.Module):  # 2. 权重登记为参数，forward 里调用 F.conv2d
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 1, 3, 3) * 0.3)
        self.bias = nn.Parameter(torch.zeros(4))

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias)


class LayerInForward(nn.Module):  # (a) forward 里现建一个层
    def forward(self, x):
        return nn.Conv2d(1, 4, 3)(x)


class RandnInForward(nn.Module):  # (b) forward 里现造权重
    def forward(self, x):
        return F.conv2d(x, torch.randn(4, 1, 3, 3), torch.randn(4))


torch.manual_seed(1)
teacher = nn.Conv2d(1, 4, 3).requires_grad_(False)  # 要学会的「老师」卷积
inputs = torch.randn(16, 1, 8, 8)
targets = teacher(inputs)


def train(net, steps=30):
    """Adam 训练 30 步；没有参数时返回优化器报的错。"""
    try:
        optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    except ValueError as error:
        return f"ValueError: {error}"
    first = F.mse_loss(net(inputs), targets).item()
    for _ in range(steps):
        loss = F.mse_loss(net(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return f"{first:.4f} → {F.mse_loss(net(inputs), targets).item():.4f}"


torch.manual_seed(2)
nets = {
    "1. __init__ 里 nn.Conv2d": InInit(),
    "2. nn.Parameter + F.conv2d": ParameterAndF(),
    "(a) forward 里 nn.Conv2d(...)(x)": LayerInForward(),
    "(b) forward 里 torch.randn + F.conv2d": RandnInForward(),
}
rows = []
for name, net in nets.items():
    n_params = sum(p.numel() for p in net.parameters())
    stable = torch.equal(net(inputs), net(inputs))
    rows.append((name, n_params, "是" if stable else "否", train(net)))
table(
    ["写法", "参数个数", "两次调用输出相同", "训练 30 步: loss"],
    rows,
    code=(0,),
)
# --8<-- [end:four_ways]


# --8<-- [start:python_calls]
import sys
import textwrap


def python_calls(fn):
    """fn() 运行期间执行的 Python 函数（sys.setprofile 记下的 call 事件）。"""
    names = []

    def record(frame, event, arg):
        if event == "call":
            names.append(frame.f_code.co_qualname)

    sys.setprofile(record)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return names[1:]  # 去掉 lambda 本身


layer = nn.Conv2d(1, 4, 3)
w, b = layer.weight, layer.bias
with torch.no_grad():
    for size in (8, 256):
        data = torch.randn(1, 1, size, size)
        by_layer = python_calls(lambda: layer(data))
        by_function = python_calls(lambda: F.conv2d(data, w, b))
        print(f"输入 {size}×{size}，layer(x)：{len(by_layer)} 个 Python 函数")
        chain = textwrap.fill(" → ".join(by_layer), 60)
        print(textwrap.indent(chain, "  "))
        print(f"输入 {size}×{size}，F.conv2d(x, w, b)：{len(by_function)} 个")
# --8<-- [end:python_calls]

# --8<-- [start:what_x_equals]
x_wrong = nn.Conv2d(1, 4, 3)
print(f"x = nn.Conv2d(1, 4, 3) 得到 {x_wrong!r}")
print(f"是张量吗？{isinstance(x_wrong, torch.Tensor)}")
print(f"是 nn.Module 吗？{isinstance(x_wrong, nn.Module)}")
y = nn.Conv2d(1, 4, 3)(inputs)  # 实例化后立刻调用: 能算，但这个层用完就丢
print(f"nn.Conv2d(1, 4, 3)(x) 得到 {type(y).__name__}，形状 {tuple(y.shape)}")
# --8<-- [end:what_x_equals]

# --8<-- [start:checks]
import inspect

# ①② model(x) 经过 nn.Module 的 __call__: WtfNet 没有自己的 __call__
assert output.shape == (2, 4, 4, 4)
assert type(model).__call__ is nn.Module.__call__
assert "__call__" not in vars(WtfNet) and "forward" in vars(WtfNet)
assert type(model.conv1).__call__ is nn.Module.__call__
# __call__ 调用 forward: 源码里 _call_impl 把 self.forward 记作 forward_call
assert "forward_call(" in inspect.getsource(nn.Module._call_impl)
# ③ Conv2d 的 forward 最后就是 F.conv2d，结果逐位相同
assert torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias))
assert "return F.conv2d(" in inspect.getsource(nn.Conv2d._conv_forward)
# model.forward(x) 绕过 __call__: 挂在 model 上的钩子不运行
assert calls == ["钩子"]

# 四种写法: 只有权重登记为参数的写法有参数、输出稳定、能训练
results = {name: (n, stable, outcome) for name, n, stable, outcome in rows}
for name in list(results)[:2]:  # 1 与 2
    n, stable, outcome = results[name]
    before, after = (float(v) for v in outcome.split(" → "))
    assert n == 4 * 1 * 3 * 3 + 4 and stable == "是", name
    assert after < 0.1 * before, name
for name in list(results)[2:]:  # (a) 与 (b)
    n, stable, outcome = results[name]
    assert n == 0 and stable == "否" and "empty parameter list" in outcome, name

# 效率: 模块调用多出的 6 个 Python 函数，__call__ 自己的只有 2 个；
# 与输入大小无关
with torch.no_grad():
    small, large = torch.randn(1, 1, 8, 8), torch.randn(1, 1, 256, 256)
    by_layer = python_calls(lambda: layer(small))
    assert by_layer == python_calls(lambda: layer(large))
    assert python_calls(lambda: F.conv2d(small, w, b)) == []
# 前两个属于 __call__
assert by_layer[:2] == ["Module._wrapped_call_impl", "Module._call_impl"]
rest = ["Conv2d.forward", "Conv2d._conv_forward"] + ["Module.__getattr__"] * 2
assert sorted(by_layer[2:]) == sorted(rest)

# x = nn.Conv2d(...) 得到的是层（实例），不是张量；实例化后立刻调用能得到张量
assert isinstance(x_wrong, nn.Module) and not isinstance(x_wrong, torch.Tensor)
assert isinstance(y, torch.Tensor) and y.shape == (16, 4, 6, 6)
print("本页的断言全部成立")
# --8<-- [end:checks]
