"""nn.CrossEntropyLoss already contains (log-)softmax: what an extra softmax
does."""

import runpy
from pathlib import Path

import torch

SHARED = Path(__file__).resolve().parents[1] / "_shared"
show = runpy.run_path(str(SHARED / "figures.py"))["show"]
table = runpy.run_path(str(SHARED / "tables.py"))["table"]
torch.manual_seed(0)

# --8<-- [start:class_name]
import torch
from torch import nn

print(f'hasattr(nn, "CrossEntropy")     = {hasattr(nn, "CrossEntropy")}')
print(f'hasattr(nn, "CrossEntropyLoss") = {hasattr(nn, "CrossEntropyLoss")}')
try:
    nn.CrossEntropy()
except AttributeError as error:
    print("nn.CrossEntropy() ->")
    print(f"AttributeError: {error}")
# --8<-- [end:class_name]

# --8<-- [start:what_it_computes]
import torch.nn.functional as F

torch.manual_seed(0)
logits = torch.randn(4, 3)  # 4 个样本、3 个类别的网络原始输出（logits）
target = torch.tensor([0, 2, 1, 2])
rows = torch.arange(len(target))

ce = nn.CrossEntropyLoss()(logits, target)
nll = F.nll_loss(F.log_softmax(logits, dim=1), target)
manual = (torch.logsumexp(logits, dim=1) - logits[rows, target]).mean()
via_softmax = -torch.log(torch.softmax(logits, dim=1)[rows, target]).mean()
print(f"nn.CrossEntropyLoss()(logits, y)     = {ce.item():.6f}")
print(f"F.nll_loss(F.log_softmax(logits), y) = {nll.item():.6f}")
print(f"mean(logsumexp(z) - z_y)             = {manual.item():.6f}")
print(f"mean(-log(softmax(z)[y]))            = {via_softmax.item():.6f}")
# --8<-- [end:what_it_computes]

# --8<-- [start:log_softmax_stable]
extreme = torch.tensor([[0.0, 200.0]])  # 真实类别 0 的 logit 比另一类小 200
label = torch.tensor([0])
p0 = torch.softmax(extreme, dim=1)[0, 0]
print(f"softmax 后 p_0 = {p0.item()}")  # float32 下溢为 0
print(f"-log(p_0)            = {-torch.log(p0).item()}")
print(f"nn.CrossEntropyLoss() = {nn.CrossEntropyLoss()(extreme, label).item()}")
# --8<-- [end:log_softmax_stable]

# --8<-- [start:loss_floor]
import math

K = 3
bound = math.log(1 + (K - 1) / math.e)  # = -log(e / (e + K - 1))
print(f"K = {K}：下界 log(1 + (K-1)/e) = {bound:.6f}")
print(f"对应的「最大概率」e/(e+K-1) = {math.e / (math.e + K - 1):.6f}")

# softmax 输出 p 被当成 logits 再做一次交叉熵
one_hot = torch.eye(K)  # 最理想的 softmax 输出：真实类别概率为 1
at_best = nn.CrossEntropyLoss()(one_hot, torch.arange(K))
print(f"p 恰为 one-hot 时的 loss = {at_best.item():.6f}")

torch.manual_seed(0)
many_probs = torch.softmax(5 * torch.randn(100_000, K), dim=1)  # 各式各样的输出
many_labels = torch.randint(0, K, (100_000,))
per_sample = nn.CrossEntropyLoss(reduction="none")(many_probs, many_labels)
print(f"10 万个随机 softmax 输出：最小 loss = {per_sample.min().item():.6f}")
# --8<-- [end:loss_floor]

# --8<-- [start:toy_task]
# 三条旋臂的螺旋：3 类、2 维点、每类 100 个；固定种子
torch.manual_seed(0)
n_per_class = 100
radius = torch.linspace(0.0, 1.0, n_per_class)
points, labels = [], []
for k in range(K):
    angle = 4.0 * radius + 2 * math.pi * k / K + 0.2 * torch.randn(n_per_class)
    points.append(
        torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
    )
    labels.append(torch.full((n_per_class,), k))
X, y = torch.cat(points), torch.cat(labels)
print(f"X: {tuple(X.shape)}，y: {tuple(y.shape)}")
print(f"每类样本数 {torch.bincount(y).tolist()}")
# --8<-- [end:toy_task]

# --8<-- [start:training]
import copy

torch.set_num_threads(1)  # 网络很小：单线程反而更快，也少受机器上其他进程的干扰


def train(model, first_layer, optimizer, steps=200):
    """全批量训练；返回每步的 loss、第一层权重梯度的范数，
    以及最终 loss 和准确率。"""
    loss_fn = nn.CrossEntropyLoss()
    losses, grad_norms = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        losses.append(loss.item())
        grad_norms.append(first_layer.weight.grad.norm().item())
        optimizer.step()
    with torch.no_grad():
        output = model(X)
        accuracy = (output.argmax(dim=1) == y).float().mean().item()
        return losses, grad_norms, loss_fn(output, y).item(), accuracy


OPTIMIZERS = {
    "SGD(lr=1.0)": lambda params: torch.optim.SGD(params, lr=1.0),
    "Adam(lr=0.05)": lambda params: torch.optim.Adam(params, lr=0.05),
}
runs = {}
for name, make in OPTIMIZERS.items():
    torch.manual_seed(1)
    base = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, K))
    plain = copy.deepcopy(base)  # 正确：输出 logits 直接交给 CrossEntropyLoss
    # 多加一层 softmax
    extra = nn.Sequential(copy.deepcopy(base), nn.Softmax(dim=1))
    runs[name, "logits"] = train(plain, plain[0], make(plain.parameters()))
    runs[name, "额外 Softmax"] = train(
        extra, extra[0][0], make(extra.parameters())
    )

rows = []
for (name, output), (_, norms, final, accuracy) in runs.items():
    mean_norm = sum(norms) / len(norms)
    cells = (f"{final:.4f}", f"{accuracy:.1%}", f"{mean_norm:.4f}")
    rows.append((name, output, *cells))
table(
    ["优化器", "网络输出", "最终 loss", "准确率", "平均梯度范数"],
    rows,
    code=(0,),
)
print(f"\n下界 `-log(e/(e+K-1))` = {bound:.4f}（K = {K}）")
# --8<-- [end:training]

# --8<-- [start:softmax_jacobian]
from torch.autograd.functional import jacobian

torch.manual_seed(0)
points = 3 * torch.randn(200, K)
jacobians = [jacobian(lambda v: torch.softmax(v, dim=0), v) for v in points]
largest = max(j.abs().max().item() for j in jacobians)
print(f"softmax 雅可比矩阵元素的最大绝对值（200 个随机点）：{largest:.4f}")
# --8<-- [end:softmax_jacobian]

# --8<-- [start:figure]
import matplotlib.pyplot as plt

# 上下两幅（而不是左右）：在手机上缩小后，字仍然看得清
fig, (ax_loss, ax_grad) = plt.subplots(2, 1, figsize=(5, 6.2), sharex=True)
colors = {"logits": "tab:blue", "额外 Softmax": "tab:red"}
styles = {"SGD(lr=1.0)": "-", "Adam(lr=0.05)": ":"}
for (name, output), (losses, grad_norms, _, _) in runs.items():
    curve = f"{output}，{name.split('(')[0]}"
    style = {"color": colors[output], "label": curve, "linewidth": 1.4}
    ax_loss.plot(losses, styles[name], **style)
    ax_grad.plot(grad_norms, styles[name], **style)
ax_loss.axhline(bound, color="gray", linestyle="--", linewidth=1)
ax_loss.text(
    200, bound - 0.03, f"下界 {bound:.3f}", ha="right", va="top", color="gray"
)
ax_loss.set(title="训练 loss", ylabel="交叉熵", ylim=(0, 1.2))
ax_grad.set(title="第一层权重梯度的范数", xlabel="训练步数", yscale="log")
handles, legend_labels = ax_loss.get_legend_handles_labels()
fig.tight_layout()
below = {"loc": "upper center", "bbox_to_anchor": (0.5, 0.0), "ncol": 2}
fig.legend(handles, legend_labels, fontsize=11, frameon=False, **below)
alt = "两条曲线：多加一层 softmax 后，训练 loss 停在下界之上，第一层梯度更小"
show(fig, alt)
# --8<-- [end:figure]

# --8<-- [start:checks]
# 类名：没有 nn.CrossEntropy，有 nn.CrossEntropyLoss
assert not hasattr(nn, "CrossEntropy") and hasattr(nn, "CrossEntropyLoss")
# 四种算法结果相同：CrossEntropyLoss = log_softmax + nll_loss
for value in (nll, manual, via_softmax):
    assert torch.allclose(ce, value)
# 先 softmax 再取对数会得到 inf，CrossEntropyLoss 仍是有限的正确值
assert p0.item() == 0.0 and torch.isinf(-torch.log(p0))
assert torch.isclose(nn.CrossEntropyLoss()(extreme, label), torch.tensor(200.0))
# 把概率当 logits：loss 有下界，one-hot 时取到
assert math.isclose(at_best.item(), bound, rel_tol=1e-6)
assert per_sample.min().item() >= bound - 1e-6
# 训练：多加 softmax 时 loss 卡在下界之上、第一层梯度更小；
# SGD 准确率明显更低，Adam 相当
for name in OPTIMIZERS:
    good, bad = runs[name, "logits"], runs[name, "额外 Softmax"]
    assert min(bad[0]) > bound and bad[2] > bound
    assert good[2] < bound
    assert sum(bad[1]) < sum(good[1])
sgd = [runs["SGD(lr=1.0)", out][3] for out in ("额外 Softmax", "logits")]
assert sgd[0] < sgd[1] - 0.1
adam = [runs["Adam(lr=0.05)", out][3] for out in ("额外 Softmax", "logits")]
assert abs(adam[0] - adam[1]) <= 0.02
# softmax 的雅可比矩阵元素绝对值不超过 1/4
assert largest <= 0.25
print("本页的全部断言成立。")
# --8<-- [end:checks]
