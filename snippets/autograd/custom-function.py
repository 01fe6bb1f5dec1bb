"""Page autograd/custom-function: grad_fn nodes compute input gradients; a custom torch.autograd.Function."""

import random

import numpy as np
import torch

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)

# --8<-- [start:builtin_nodes]
import torch

w = torch.tensor([1.0, -2.0], requires_grad=True)
x = torch.tensor([3.0, 4.0])
y = w * x
e = w.exp()

node = y.grad_fn
print(f"type(y.grad_fn).__name__ = {type(node).__name__}")
print(f"isinstance(node, torch.autograd.graph.Node) = {isinstance(node, torch.autograd.graph.Node)}")
print(f"isinstance(node, torch.autograd.Function)   = {isinstance(node, torch.autograd.Function)}")
print(f"callable(node) = {callable(node)}, hasattr(node, 'backward') = {hasattr(node, 'backward')}")
print(f"next_functions: {[(type(f).__name__ if f is not None else None) for f, _ in node.next_functions]}")

# 直接调用节点：传入输出的梯度，得到每个输入的梯度（不需要梯度的输入 x 对应 None）
with torch.no_grad():
    grad_w, grad_x = node(torch.ones_like(y))
    grad_e = e.grad_fn(torch.ones_like(e))
print(f"y.grad_fn(ones) = ({grad_w}, {grad_x})")
print(f"e.grad_fn(ones) = {grad_e}    （exp 的导数就是 exp(w) = {e.detach()}）")

# 与自动求导引擎算出的结果对照
auto_y = torch.autograd.grad(y, w, torch.ones_like(y))[0]
auto_e = torch.autograd.grad(e, w, torch.ones_like(e))[0]
assert torch.equal(grad_w, auto_y) and torch.equal(grad_w, x) and grad_x is None
assert torch.equal(grad_e, auto_e) and torch.equal(grad_e, e.detach())
assert isinstance(node, torch.autograd.graph.Node) and not isinstance(node, torch.autograd.Function)
assert callable(node) and not hasattr(node, "backward")
# --8<-- [end:builtin_nodes]


# --8<-- [start:custom_exp]
class MyExp(torch.autograd.Function):
    """exp(x)，手写反向传播：d exp(x) / dx = exp(x)。"""

    @staticmethod
    def forward(ctx, input):
        result = input.exp()
        ctx.save_for_backward(result)  # 反向要用的张量，必须通过 save_for_backward 保存
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result  # 每个 forward 输入对应一个梯度


t = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
out = MyExp.apply(t)  # 通过 .apply 调用，不要实例化 MyExp
print(f"out = {out}")
print(f"type(out.grad_fn).__name__ = {type(out.grad_fn).__name__}")
print(f"out.grad_fn.next_functions: {[type(f).__name__ for f, _ in out.grad_fn.next_functions]}")
print(f"isinstance(out.grad_fn, MyExp) = {isinstance(out.grad_fn, MyExp)}")

assert type(out.grad_fn).__name__ == "MyExpBackward"
assert torch.equal(out.detach(), torch.exp(t.detach()))
assert not isinstance(out.grad_fn, MyExp) and isinstance(out.grad_fn, torch.autograd.graph.Node)
# --8<-- [end:custom_exp]

# --8<-- [start:compare_builtin]
v = torch.randn(5)  # 一个随机的「上游梯度」权重，避免所有分量都一样
a = torch.randn(5, requires_grad=True)
b = a.detach().clone().requires_grad_()

(MyExp.apply(a) * v).sum().backward()
(torch.exp(b) * v).sum().backward()
print(f"MyExp 的梯度:     {a.grad}")
print(f"torch.exp 的梯度: {b.grad}")
print(f"最大差: {(a.grad - b.grad).abs().max().item():.3g}")
assert torch.allclose(a.grad, b.grad)
# --8<-- [end:compare_builtin]

# --8<-- [start:gradcheck]
from torch.autograd import gradcheck, gradgradcheck

x64 = torch.randn(6, dtype=torch.double, requires_grad=True)  # gradcheck 要用 float64：有限差分需要精度
ok = gradcheck(MyExp.apply, (x64,))
ok2 = gradgradcheck(MyExp.apply, (x64,))  # 二阶导：backward 用到的 result 自身带着计算图
print(f"gradcheck(MyExp.apply) = {ok}, gradgradcheck(MyExp.apply) = {ok2}")
assert ok and ok2


class WrongExp(torch.autograd.Function):
    """故意写错的 backward（多乘了 1.01），看 gradcheck 能否发现。"""

    @staticmethod
    def forward(ctx, input):
        result = input.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result * 1.01


bad = gradcheck(WrongExp.apply, (x64,), raise_exception=False)
print(f"gradcheck(WrongExp.apply) = {bad}")
assert bad is False
# --8<-- [end:gradcheck]


# --8<-- [start:straight_through]
class RoundSTE(torch.autograd.Function):
    """前向取整，反向把梯度原样传回（straight-through estimator，量化训练常用）。"""

    @staticmethod
    def forward(ctx, input):
        return input.round()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


p = torch.tensor([0.2, 0.7, 1.4, 2.6], requires_grad=True)
q = p.detach().clone().requires_grad_()
RoundSTE.apply(p).sum().backward()
torch.round(q).sum().backward()
print(f"前向结果相同: {RoundSTE.apply(p).tolist()} vs {torch.round(q).tolist()}")
print(f"torch.round 的梯度: {q.grad}")
print(f"RoundSTE 的梯度:    {p.grad}")
assert torch.equal(q.grad, torch.zeros(4)) and torch.equal(p.grad, torch.ones(4))
# --8<-- [end:straight_through]


# --8<-- [start:setup_context]
class MyExp2(torch.autograd.Function):
    @staticmethod
    def forward(input):  # 没有 ctx：forward 只管计算
        return input.exp()

    @staticmethod
    def setup_context(ctx, inputs, output):  # 保存反向所需的东西放到这里
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


ok = gradcheck(MyExp2.apply, (x64,))
print(f"gradcheck(MyExp2.apply) = {ok}, grad_fn: {type(MyExp2.apply(x64).grad_fn).__name__}")

z = torch.tensor([0.0, 1.0, 2.0])
g_new = torch.func.grad(lambda s: MyExp2.apply(s).sum())(z)
print(f"torch.func.grad(MyExp2) = {g_new}")
try:
    torch.func.grad(lambda s: MyExp.apply(s).sum())(z)
except RuntimeError as error:
    old_error = str(error)
    print(f"torch.func.grad(MyExp)  → RuntimeError: {old_error.split('. ')[0]}.")
else:
    raise AssertionError("the old-style Function should not work with torch.func")

assert ok and torch.allclose(g_new, z.exp())
assert "setup_context" in old_error
# --8<-- [end:setup_context]
