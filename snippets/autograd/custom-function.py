"""Page autograd/custom-function: grad_fn nodes compute input gradients; a
custom torch.autograd.Function."""

import random
import runpy
from pathlib import Path

import numpy as np
import torch

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
since = runpy.run_path(
    str(Path(__file__).resolve().parents[1] / "_shared" / "versions.py")
)["since"]

# --8<-- [start:builtin_nodes]
import torch

w = torch.tensor([1.0, -2.0], requires_grad=True)
x = torch.tensor([3.0, 4.0])
y = w * x
e = w.exp()

node = y.grad_fn
print(f"type(y.grad_fn) = {type(node).__name__}")
inputs = [type(fn).__name__ if fn else None for fn, _ in node.next_functions]
print(f"next_functions: {inputs}")

# 调用节点：传入输出的梯度，得到每个输入的梯度（不需要梯度的 x 对应 None）
with torch.no_grad():
    grad_w, grad_x = node(torch.ones_like(y))
    grad_e = e.grad_fn(torch.ones_like(e))
print(f"y.grad_fn(ones) = ({grad_w}, {grad_x})")
print(f"e.grad_fn(ones) = {grad_e}")
print(f"exp(w)          = {e.detach()}")
# --8<-- [end:builtin_nodes]


# --8<-- [start:custom_exp]
class MyExp(torch.autograd.Function):
    """exp(x)，手写反向传播：d exp(x) / dx = exp(x)。"""

    @staticmethod
    def forward(ctx, input):
        result = input.exp()
        # 反向要用的张量，通过 save_for_backward 保存
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result  # 每个 forward 输入对应一个梯度


t = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
out = MyExp.apply(t)  # 通过 .apply 调用，不要实例化 MyExp
print(f"out = {out}")
print(f"type(out.grad_fn) = {type(out.grad_fn).__name__}")
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
# --8<-- [end:compare_builtin]

# --8<-- [start:gradcheck]
from torch.autograd import gradcheck, gradgradcheck

# 有限差分需要 float64
x64 = torch.randn(6, dtype=torch.double, requires_grad=True)
print(f"gradcheck(MyExp.apply) = {gradcheck(MyExp.apply, (x64,))}")
print(f"gradgradcheck(MyExp.apply) = {gradgradcheck(MyExp.apply, (x64,))}")


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
# --8<-- [end:gradcheck]


# --8<-- [start:straight_through]
class RoundSTE(torch.autograd.Function):
    """前向取整，反向把梯度原样传回（straight-through estimator）。"""

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
print(f"RoundSTE.apply(p) = {RoundSTE.apply(p).tolist()}")
print(f"torch.round(q)    = {torch.round(q).tolist()}")
print(f"torch.round 的梯度: {q.grad}")
print(f"RoundSTE 的梯度:    {p.grad}")
# --8<-- [end:straight_through]


# --8<-- [start:setup_context]
import textwrap

import torch._dynamo  # 仅 torch 2.3 需要，原因见下一节


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


print(f"gradcheck(MyExp2.apply) = {gradcheck(MyExp2.apply, (x64,))}")
z = torch.tensor([0.0, 1.0, 2.0])
grad_new = torch.func.grad(lambda s: MyExp2.apply(s).sum())
print(f"torch.func.grad(MyExp2) = {grad_new(z)}")
try:
    torch.func.grad(lambda s: MyExp.apply(s).sum())(z)
except RuntimeError as error:
    old_error = str(error)
    print("torch.func.grad(MyExp) ->")
    print(textwrap.fill(f"RuntimeError: {old_error.split('. ')[0]}.", 72))
# --8<-- [end:setup_context]

# --8<-- [start:fresh_process]
import subprocess
import sys

FRESH = """
import torch

class Exp(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x.exp()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]

print(torch.func.grad(lambda s: Exp.apply(s).sum())(torch.zeros(2)))
"""
run = subprocess.run(
    [sys.executable, "-c", FRESH], capture_output=True, text=True
)
print(run.stdout.strip() or run.stderr.strip().splitlines()[-1])
# --8<-- [end:fresh_process]

# --8<-- [start:checks]
from torch.autograd import Function
from torch.autograd.graph import Node

# 内置节点：调用它，得到与自动求导引擎相同的输入梯度
# 它是 Node，不是 Function，没有名为 backward 的方法
assert type(node).__name__ == "MulBackward0"
assert torch.equal(grad_w, torch.autograd.grad(y, w, torch.ones_like(y))[0])
assert torch.equal(grad_w, x) and grad_x is None
assert torch.equal(grad_e, torch.autograd.grad(e, w, torch.ones_like(e))[0])
assert torch.equal(grad_e, e.detach())
assert isinstance(node, Node) and not isinstance(node, Function)
assert callable(node) and not hasattr(node, "backward")
assert [f is None for f, _ in node.next_functions] == [False, True]
# 自定义 Function：节点类名是「类名 + Backward」，也是 Node，不是 MyExp 的实例
assert type(out.grad_fn).__name__ == "MyExpBackward"
assert isinstance(out.grad_fn, Node) and not isinstance(out.grad_fn, MyExp)
assert torch.equal(out.detach(), torch.exp(t.detach()))
assert torch.allclose(a.grad, b.grad)  # 与 torch.exp 的梯度相同
assert gradcheck(MyExp.apply, (x64,)) and gradgradcheck(MyExp.apply, (x64,))
assert bad is False  # gradcheck 能发现写错的 backward
assert torch.equal(q.grad, torch.zeros(4))
assert torch.equal(p.grad, torch.ones(4))
# setup_context 写法能用于 torch.func；旧写法报错，错误信息点名 setup_context
assert gradcheck(MyExp2.apply, (x64,))
assert type(MyExp2.apply(x64).grad_fn).__name__ == "MyExp2Backward"
grad_of_sum = torch.func.grad(lambda s: MyExp2.apply(s).sum())
assert torch.allclose(grad_of_sum(z), z.exp())
assert "setup_context" in old_error
# 新进程中第一次在 torch.func 里用自定义 Function：torch 2.3 报错，当前版本正常
# 2.3 在这里才第一次导入 torch._dynamo，而导入在函数变换中失败
# （pytorch/pytorch#128607）；逐个版本运行的结果：torch 2.4 起不再失败
fresh = run.stdout.strip() or run.stderr.strip().splitlines()[-1]
expected = since(
    "2.4",
    before="RuntimeError: clone is not supported by NestedIntSymNode",
    after=str(torch.ones(2)),
)
assert fresh == expected, fresh
print("本页的全部断言成立。")
# --8<-- [end:checks]
