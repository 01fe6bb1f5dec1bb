"""nn.Module.__call__ -> forward -> F.conv2d, checked by execution (page: docs/nn-module/call-and-forward.md)."""

import torch

torch.manual_seed(0)

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
output = model(x)  # ② 调用实例
print(model)
print(f"output.shape = {tuple(output.shape)}")
assert output.shape == (2, 4, 4, 4)
# --8<-- [end:wtfnet]

# --8<-- [start:call_is_modules]
# ① WtfNet 继承 nn.Module；WtfNet 自己没有定义 __call__
print(f"issubclass(WtfNet, nn.Module)      = {issubclass(WtfNet, nn.Module)}")
print(f"'__call__' in WtfNet.__dict__      = {'__call__' in WtfNet.__dict__}")
# ② model(x) 用的是 type(model).__call__，它就是 nn.Module 定义的那个函数
call = type(model).__call__
print(f"type(model).__call__ is nn.Module.__call__ = {call is nn.Module.__call__}")
print(f"type(model).__call__.__qualname__  = {call.__qualname__}")
print(f"它定义在 {call.__module__}")
# ③ self.conv1 也是 nn.Module 的实例，nn.Conv2d 同样没有自己的 __call__
print(f"isinstance(model.conv1, nn.Module) = {isinstance(model.conv1, nn.Module)}")
print(f"type(model.conv1).__call__ is nn.Module.__call__ = {type(model.conv1).__call__ is nn.Module.__call__}")
assert issubclass(WtfNet, nn.Module) and "__call__" not in WtfNet.__dict__
assert call is nn.Module.__call__ and call.__qualname__.startswith("Module.")
assert isinstance(model.conv1, nn.Module) and type(model.conv1).__call__ is nn.Module.__call__
# --8<-- [end:call_is_modules]

# --8<-- [start:wrapped_call_source]
import inspect
import textwrap

wrapped_source = textwrap.dedent(inspect.getsource(nn.Module.__call__)).rstrip()
print(wrapped_source)
assert "self._call_impl(" in wrapped_source and "_compiled_call_impl" in wrapped_source
assert "forward_call(" in inspect.getsource(nn.Module._call_impl)
# --8<-- [end:wrapped_call_source]

# --8<-- [start:call_trace]
import sys

INTERESTING = ("Module._wrapped_call_impl", "Module._call_impl")


def trace_calls(fn, *args):
    """Record, indented by call depth, the calls made while fn(*args) runs (nn.Module internals, forward, C ops)."""
    lines, depth = [], [0]

    def profiler(frame, event, arg):
        code = frame.f_code
        keep = code.co_qualname in INTERESTING or code.co_name.endswith("forward")
        keep = keep or (code.co_name == "relu" and code.co_filename.endswith("functional.py"))
        if event == "call":
            depth[0] += 1
            if keep:
                name = "F.relu" if code.co_name == "relu" else code.co_qualname
                lines.append("  " * (depth[0] - 1) + name)
        elif event == "return":
            depth[0] -= 1
        elif event == "c_call" and getattr(arg, "__name__", "") in ("conv2d", "relu"):
            lines.append("  " * depth[0] + f"{arg.__name__}  (C++ 算子)")

    sys.setprofile(profiler)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
    return lines


trace = trace_calls(model, x)
print("\n".join(trace))
names = [line.strip() for line in trace]
assert names[:3] == ["Module._wrapped_call_impl", "Module._call_impl", "WtfNet.forward"]
assert names.index("Conv2d.forward") < names.index("conv2d  (C++ 算子)") < names.index("ReLU.forward")
# --8<-- [end:call_trace]

# --8<-- [start:hooks_order]
records = []


def add_hooks(net):
    """Forward pre-hooks and forward hooks on the net and on each of its submodules; they append to `records`."""
    handles = []
    for name, module in net.named_modules():
        label = f"{name or 'model'} ({type(module).__name__})"

        def before(module, args, label=label):
            records.append(f"进入 {label}")

        def after(module, args, out, label=label):
            records.append(f"离开 {label}，输出 {tuple(out.shape)}")

        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(after))
    return handles


real_conv2d = F.conv2d


def recording_conv2d(*args, **kwargs):
    records.append("    F.conv2d 被调用")
    return real_conv2d(*args, **kwargs)


handles = add_hooks(model)
F.conv2d = recording_conv2d  # nn.Conv2d 在运行时才查找 F.conv2d，所以能看到替换后的函数
try:
    records.clear()
    out_call = model(x)
    via_call = list(records)
    records.clear()
    out_forward = model.forward(x)
    via_forward = list(records)
finally:
    F.conv2d = real_conv2d
    for handle in handles:
        handle.remove()

print("model(x) 记录到的顺序：")
print("\n".join(f"  {i}. {line}" for i, line in enumerate(via_call, 1)))
print("model.forward(x) 记录到的顺序：")
print("\n".join(f"  {i}. {line}" for i, line in enumerate(via_forward, 1)))
print(f"两种写法输出相同：{torch.equal(out_call, out_forward)}")
assert via_call[0] == "进入 model (WtfNet)" and via_call[-1].startswith("离开 model (WtfNet)")
assert (
    via_call.index("进入 conv1 (Conv2d)") < via_call.index("    F.conv2d 被调用") < via_call.index("进入 relu (ReLU)")
)
assert not any("model" in line for line in via_forward)  # model 自己的钩子一个都没触发
assert via_forward == via_call[1:-1]  # 子模块仍经由它们自己的 __call__，钩子照常触发
assert torch.equal(out_call, out_forward)
# --8<-- [end:hooks_order]

# --8<-- [start:conv_is_f_conv2d]
conv = model.conv1
by_module = conv(x)
by_function = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
print(f"torch.equal(conv(x), F.conv2d(...)) = {torch.equal(by_module, by_function)}")
source = inspect.getsource(nn.Conv2d._conv_forward)
start = source.rindex("return F.conv2d")
last_statement = textwrap.dedent(source[source.rindex("\n", 0, start) + 1 :]).rstrip()
print("本机安装的 nn.Conv2d._conv_forward，最后一句：")
print(last_statement)
assert torch.equal(by_module, by_function)
assert last_statement.startswith("return F.conv2d(")
# --8<-- [end:conv_is_f_conv2d]


# --8<-- [start:three_ways]
class InInit(nn.Module):
    """层在 __init__ 里创建：权重是模型的参数。"""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return self.conv1(x)


class FunctionalWithParameter(nn.Module):
    """forward 里直接调用 F.conv2d，权重仍在 __init__ 里登记为 nn.Parameter。"""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(4, 1, 3, 3))
        self.bias = nn.Parameter(torch.empty(4))
        reference = nn.Conv2d(1, 4, 3)  # 借用 nn.Conv2d 的初始化方式
        with torch.no_grad():
            self.weight.copy_(reference.weight)
            self.bias.copy_(reference.bias)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias)


class InlineModule(nn.Module):
    """(a) 在 forward 里写 nn.Conv2d(...)(x)：每次调用都新建一个层。"""

    def forward(self, x):
        return nn.Conv2d(1, 4, 3)(x)


class InlineRandn(nn.Module):
    """(b) 在 forward 里用 torch.randn 造权重再调用 F.conv2d：每次调用都是新的随机权重。"""

    def forward(self, x):
        weight = torch.randn(4, 1, 3, 3, requires_grad=True)
        bias = torch.randn(4, requires_grad=True)
        return F.conv2d(x, weight, bias)


# 一个小任务：学会一个固定的"老师"卷积（输入随机，目标是老师的输出）
torch.manual_seed(1)
teacher = nn.Conv2d(1, 4, 3).requires_grad_(False)
inputs = torch.randn(16, 1, 8, 8)
targets = teacher(inputs)


def train(net, steps=30):
    """Adam 训练若干步，返回 (训练前 loss, 训练后 loss)；没有参数时返回优化器报的错。"""
    try:
        optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    except ValueError as error:
        return f"`ValueError: {error}`"
    losses = []
    for _ in range(steps + 1):
        loss = F.mse_loss(net(inputs), targets)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses[0], losses[-1]


torch.manual_seed(2)
nets = {
    "`__init__` 里 `nn.Conv2d`": InInit(),
    "`__init__` 里 `nn.Parameter` + `F.conv2d`": FunctionalWithParameter(),
    "(a) `forward` 里 `nn.Conv2d(...)(x)`": InlineModule(),
    "(b) `forward` 里 `torch.randn` + `F.conv2d`": InlineRandn(),
}
results = {}
print("| 写法 | 参数个数 | 两次调用输出相同 | 训练 30 步：loss 变化 |")
print("|:--|--:|:--:|:--|")
for name, net in nets.items():
    n_params = sum(p.numel() for p in net.parameters())
    same = torch.equal(net(inputs), net(inputs))
    outcome = train(net)
    results[name] = (n_params, same, outcome)
    change = outcome if isinstance(outcome, str) else f"{outcome[0]:.4f} → {outcome[1]:.4f}"
    print(f"| {name} | {n_params} | {'是' if same else '否'} | {change} |")

(p_init, s_init, o_init), (p_fun, s_fun, o_fun), (p_a, s_a, o_a), (p_b, s_b, o_b) = results.values()
assert p_init == p_fun == 4 * 1 * 3 * 3 + 4 and p_a == p_b == 0
assert s_init and s_fun and not s_a and not s_b
assert o_init[1] < 0.1 * o_init[0] and o_fun[1] < 0.1 * o_fun[0]
assert "empty parameter list" in o_a and "empty parameter list" in o_b
# --8<-- [end:three_ways]

# --8<-- [start:inline_grads_lost]
net = InlineModule()
loss = F.mse_loss(net(inputs), targets)
loss.backward()  # 反向传播照常进行，梯度落在这次调用临时建的权重上
conv_node = loss.grad_fn.next_functions[0][0]
temporaries = [node.variable for node, _ in conv_node.next_functions if node is not None and hasattr(node, "variable")]
print(f"loss 的计算图：{type(loss.grad_fn).__name__} ← {type(conv_node).__name__}")
for tensor in temporaries:
    print(f"  临时叶子张量 {tuple(tensor.shape)}，梯度已算出：{tensor.grad is not None}")
print(f"模型里能交给优化器的参数：{list(net.parameters())}")
assert len(temporaries) == 2 and all(t.grad is not None for t in temporaries)
assert list(net.parameters()) == []
# --8<-- [end:inline_grads_lost]

# --8<-- [start:timing]
import timeit


def python_calls(fn):
    """How many Python functions one call runs (sys.setprofile 'call' events): the same on every machine."""
    count = [0]

    def profiler(frame, event, arg):
        count[0] += event == "call"

    sys.setprofile(profiler)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count[0]


def fastest(fn):
    """Seconds per call: the fastest of 5 groups of 60 calls (the way the timeit docs recommend reading it)."""
    fn()  # 预热
    return min(timeit.repeat(fn, number=60, repeat=5)) / 60


torch.manual_seed(3)
threads = torch.get_num_threads()
torch.set_num_threads(1)  # 单线程：机器上别的进程对计时的干扰小一些
try:
    with torch.no_grad():
        data = torch.randn(1, 1, 8, 8)
        layer = nn.Conv2d(1, 4, 3)
        w, b = layer.weight, layer.bias
        calls = {
            "模块调用 `conv(x)`": lambda: layer(data),
            "同一组权重 `F.conv2d(x, w, b)`": lambda: F.conv2d(data, w, b),
            "(a) 每次新建 `nn.Conv2d(...)(x)`": lambda: nn.Conv2d(1, 4, 3)(data),
        }
        assert torch.equal(layer(data), F.conv2d(data, w, b))
        for call in calls.values():
            call()  # 先各调用一次：第一次调用里的一次性初始化不算在内
        counts = {label: python_calls(call) for label, call in calls.items()}
        seconds = {label: fastest(call) for label, call in calls.items()}
finally:
    torch.set_num_threads(threads)

module, functional, inline = calls
print("| 写法 | 每次调用执行的 Python 函数（个） |")
print("|:--|--:|")
for label, count in counts.items():
    print(f"| {label} | {count} |")
print()
# 计时只发布稳健的比较结论，不发布随机器变化的微秒数（两次构建必须逐字节相同）。
inline_slower = seconds[inline] > 2 * seconds[module]
print(f"- 直接 `F.conv2d` 少走 {counts[module] - counts[functional]} 个 Python 函数：这就是 `__call__` 的固定开销。")
print(f"- 实测：写法 (a) 每次调用的耗时超过模块调用的 2 倍：{inline_slower}")
assert counts[functional] < counts[module] < counts[inline]
assert inline_slower
# --8<-- [end:timing]

# --8<-- [start:what_x_equals]
x_wrong = nn.Conv2d(1, 4, 3)
print(f"x = nn.Conv2d(1, 4, 3) 得到：{x_wrong!r}")
print(
    f"type: {type(x_wrong).__name__}；是 Tensor 吗？{isinstance(x_wrong, torch.Tensor)}；是 nn.Module 吗？{isinstance(x_wrong, nn.Module)}"
)
try:
    nn.Conv2d(inputs)
except TypeError as error:
    print(f"nn.Conv2d(x) → TypeError: {error}")
y_inline = nn.Conv2d(1, 4, 3)(inputs)
print(f"nn.Conv2d(1, 4, 3)(x) 是 {type(y_inline).__name__}，形状 {tuple(y_inline.shape)}（能算，但层是临时的）")
assert isinstance(x_wrong, nn.Module) and not isinstance(x_wrong, torch.Tensor)
assert isinstance(y_inline, torch.Tensor) and y_inline.shape == (16, 4, 6, 6)
# --8<-- [end:what_x_equals]
