"""nn.CrossEntropyLoss already contains (log-)softmax: what an extra softmax does (page: docs/losses/cross-entropy.md)."""

import runpy
from pathlib import Path

import torch

show = runpy.run_path(str(Path(__file__).resolve().parents[1] / "_shared" / "figures.py"))["show"]
torch.manual_seed(0)

# --8<-- [start:class_name]
import torch
from torch import nn

print(f'hasattr(nn, "CrossEntropy")     = {hasattr(nn, "CrossEntropy")}')
print(f'hasattr(nn, "CrossEntropyLoss") = {hasattr(nn, "CrossEntropyLoss")}')
print(f"nn 里名字含 CrossEntropy 的：{[name for name in dir(nn) if 'CrossEntropy' in name]}")
try:
    nn.CrossEntropy()
except AttributeError as error:
    print(f"nn.CrossEntropy() → AttributeError: {error}")
assert not hasattr(nn, "CrossEntropy") and hasattr(nn, "CrossEntropyLoss")
# --8<-- [end:class_name]

# --8<-- [start:what_it_computes]
import torch.nn.functional as F

torch.manual_seed(0)
logits = torch.randn(4, 3)  # 4 个样本、3 个类别的网络原始输出（logits）
target = torch.tensor([0, 2, 1, 2])

ce = nn.CrossEntropyLoss()(logits, target)
nll_of_log_softmax = F.nll_loss(F.log_softmax(logits, dim=1), target)
rows = torch.arange(len(target))
manual = (torch.logsumexp(logits, dim=1) - logits[rows, target]).mean()  # -log(e^{z_y} / Σ e^{z_j}) 的平均
manual_softmax = -torch.log(torch.softmax(logits, dim=1)[rows, target]).mean()

print(f"nn.CrossEntropyLoss()(logits, y)          = {ce.item():.6f}")
print(f"F.nll_loss(F.log_softmax(logits), y)      = {nll_of_log_softmax.item():.6f}")
print(f"mean(logsumexp(z) - z_y)                  = {manual.item():.6f}")
print(f"mean(-log(softmax(z)[y]))                 = {manual_softmax.item():.6f}")
assert torch.allclose(ce, nll_of_log_softmax) and torch.allclose(ce, manual) and torch.allclose(ce, manual_softmax)
# --8<-- [end:what_it_computes]

# --8<-- [start:log_softmax_stable]
extreme = torch.tensor([[0.0, 200.0]])  # 真实类别 0 的 logit 比另一类小 200
label = torch.tensor([0])
naive = -torch.log(torch.softmax(extreme, dim=1)[0, 0])
builtin = nn.CrossEntropyLoss()(extreme, label)
print(f"softmax 后 p_0 = {torch.softmax(extreme, dim=1)[0, 0].item()}（float32 下溢为 0）")
print(f"-log(softmax(z))[0]      = {naive.item()}")
print(f"nn.CrossEntropyLoss()    = {builtin.item()}")
assert torch.isinf(naive) and torch.isclose(builtin, torch.tensor(200.0))
# --8<-- [end:log_softmax_stable]

# --8<-- [start:loss_floor]
import math

K = 3
bound = math.log(1 + (K - 1) / math.e)  # = -log(e / (e + K - 1))
print(f"K = {K}：下界 log(1 + (K-1)/e) = -log(e/(e+K-1)) = {bound:.6f}")
print(f"对应的“最大概率” e/(e+K-1) = {math.e / (math.e + K - 1):.6f}")

# softmax 输出 p 被当成 logits 再做一次交叉熵
one_hot = torch.eye(K)  # 最理想的 softmax 输出：真实类别概率为 1
at_best = nn.CrossEntropyLoss()(one_hot, torch.arange(K))
print(f"p 恰为 one-hot 时的 loss = {at_best.item():.6f}")

torch.manual_seed(0)
many_probs = torch.softmax(5 * torch.randn(100_000, K), dim=1)  # 各式各样的 softmax 输出
many_labels = torch.randint(0, K, (100_000,))
per_sample = nn.CrossEntropyLoss(reduction="none")(many_probs, many_labels)
print(f"10 万个随机 softmax 输出：最小 loss = {per_sample.min().item():.6f}")
assert math.isclose(at_best.item(), bound, rel_tol=1e-6)
assert per_sample.min().item() >= bound - 1e-6
# --8<-- [end:loss_floor]

# --8<-- [start:toy_task]
# 三条旋臂的螺旋：3 类、2 维点、每类 100 个；固定种子
torch.manual_seed(0)
n_per_class = 100
radius = torch.linspace(0.0, 1.0, n_per_class)
points, labels = [], []
for k in range(K):
    angle = 4.0 * radius + 2 * math.pi * k / K + 0.2 * torch.randn(n_per_class)
    points.append(torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1))
    labels.append(torch.full((n_per_class,), k))
X, y = torch.cat(points), torch.cat(labels)
print(f"X: {tuple(X.shape)}，y: {tuple(y.shape)}，每类样本数 {torch.bincount(y).tolist()}")
assert X.shape == (K * n_per_class, 2)
# --8<-- [end:toy_task]

# --8<-- [start:training]
import copy

torch.set_num_threads(1)  # 网络很小：单线程反而更快，也少受机器上其他进程的干扰


def train(model, first_layer, optimizer, steps=200):
    """全批量训练；返回每步的 loss、第一层权重梯度的范数，以及最终准确率。"""
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
        final_loss = loss_fn(output, y).item()
        accuracy = (output.argmax(dim=1) == y).float().mean().item()
    return losses, grad_norms, final_loss, accuracy


runs = {}
for opt_name, make_optimizer in (
    ("SGD(lr=1.0)", lambda params: torch.optim.SGD(params, lr=1.0)),
    ("Adam(lr=0.05)", lambda params: torch.optim.Adam(params, lr=0.05)),
):
    torch.manual_seed(1)
    base = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, K))
    plain = copy.deepcopy(base)  # 正确：输出 logits 直接交给 CrossEntropyLoss
    extra = nn.Sequential(copy.deepcopy(base), nn.Softmax(dim=1))  # 多加了一层 softmax
    assert torch.equal(plain[0].weight, extra[0][0].weight)  # 两个模型初始权重完全相同
    runs[opt_name, "直接输出 logits"] = train(plain, plain[0], make_optimizer(plain.parameters()))
    runs[opt_name, "额外加 nn.Softmax"] = train(extra, extra[0][0], make_optimizer(extra.parameters()))

print("| 优化器 | 网络输出 | 最终 loss | 准确率 | 第一层梯度范数（200 步平均） |")
print("|:--|:--|--:|--:|--:|")
for (opt_name, variant), (_losses, grad_norms, final_loss, accuracy) in runs.items():
    print(f"| `{opt_name}` | {variant} | {final_loss:.4f} | {accuracy:.1%} | {sum(grad_norms) / len(grad_norms):.4f} |")
print(f"\n下界 `-log(e/(e+K-1))` = {bound:.4f}（K = {K}）")

for opt_name in ("SGD(lr=1.0)", "Adam(lr=0.05)"):
    good, bad = runs[opt_name, "直接输出 logits"], runs[opt_name, "额外加 nn.Softmax"]
    assert min(bad[0]) > bound and bad[2] > bound  # 加了 softmax：loss 永远在下界之上
    assert good[2] < bound  # 不加：loss 可以降到下界以下
    assert sum(bad[1]) < sum(good[1])  # 加了 softmax：第一层梯度整体更小
sgd_good, sgd_bad = runs["SGD(lr=1.0)", "直接输出 logits"], runs["SGD(lr=1.0)", "额外加 nn.Softmax"]
adam_good, adam_bad = runs["Adam(lr=0.05)", "直接输出 logits"], runs["Adam(lr=0.05)", "额外加 nn.Softmax"]
assert sgd_bad[3] < sgd_good[3] - 0.1  # 同样 200 步 SGD，加了 softmax 的准确率明显更低
assert abs(adam_bad[3] - adam_good[3]) <= 0.02  # Adam：这个任务上两者准确率相当

# 多出来的那层 softmax 在反向传播时乘上它的雅可比矩阵 J = diag(s) - s sᵀ
torch.manual_seed(0)
softmax_of_vector = lambda v: torch.softmax(v, dim=0)  # noqa: E731
jacobians = torch.stack([torch.autograd.functional.jacobian(softmax_of_vector, v) for v in 3 * torch.randn(200, K)])
print(f"\nsoftmax 雅可比矩阵元素的最大绝对值（200 个随机点）：{jacobians.abs().max().item():.4f}")
assert jacobians.abs().max().item() <= 0.25
# --8<-- [end:training]

# --8<-- [start:figure]
import matplotlib.pyplot as plt

fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(8, 3.4))
colors = {"直接输出 logits": "tab:blue", "额外加 nn.Softmax": "tab:red"}
styles = {"SGD(lr=1.0)": "-", "Adam(lr=0.05)": ":"}
for (opt_name, variant), (losses, grad_norms, _, _) in runs.items():
    label = f"{variant}，{opt_name.split('(')[0]}"
    ax_loss.plot(losses, styles[opt_name], color=colors[variant], label=label, linewidth=1.4)
    ax_grad.plot(grad_norms, styles[opt_name], color=colors[variant], label=label, linewidth=1.4)
ax_loss.axhline(bound, color="gray", linestyle="--", linewidth=1)
ax_loss.text(200, bound - 0.03, f"下界 {bound:.3f}", ha="right", va="top", color="gray", fontsize=9)
ax_loss.set(title="训练 loss", xlabel="训练步数", ylabel="交叉熵", ylim=(0, 1.2))
ax_grad.set(title="第一层权重梯度的范数", xlabel="训练步数", yscale="log")
handles, legend_labels = ax_loss.get_legend_handles_labels()
fig.tight_layout()
fig.legend(handles, legend_labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=9, frameon=False)
show(fig, "两条曲线：多加一层 softmax 后，训练 loss 停在下界之上，第一层梯度更小")
# --8<-- [end:figure]
