"""PyCharm 调试技巧: np.array(t) 对常见的张量给出什么；
日常写法 t.detach().cpu().numpy()。

The sections the reader sees come first; the checks that keep the page honest
come last (the page shows them collapsed, under 本页如何自证).
"""

import runpy
from pathlib import Path

import numpy as np
import torch

torch.manual_seed(0)
np.random.seed(0)
_shared = Path(__file__).resolve().parents[1] / "_shared"
table = runpy.run_path(str(_shared / "tables.py"))["table"]
_versions = runpy.run_path(str(_shared / "versions.py"))
since, numpy_label = _versions["since"], _versions["numpy_label"]

# --8<-- [start:everyday]
import numpy as np
import torch

layer = torch.nn.Linear(3, 2)
t = layer.weight * 2  # 断点处常见的张量: 前向计算的中间结果，需要梯度

print(np.array(torch.rand(2, 3)).shape)  # 普通张量: 笔记的写法可以
try:
    np.array(t)
except RuntimeError as error:
    print(f"RuntimeError: {error}".replace(". ", ".\n  "))  # 一句一行
print(t.detach().cpu().numpy())  # 日常写法: 断开梯度、搬到 CPU，再转 numpy
# --8<-- [end:everyday]

# --8<-- [start:cases]
import warnings

z = torch.tensor([1 + 2j, 3 - 4j])
cases = {
    "普通张量": torch.rand(2, 3),
    "网络参数 layer.weight": layer.weight,
    "中间结果 layer.weight * 2": t,
    "转置 .T（非连续）": torch.rand(2, 3).T,
    "bfloat16": torch.tensor([0.1, 0.2, 0.3], dtype=torch.bfloat16),
    "复数的共轭 z.conj()": z.conj(),
}
ways = {
    "np.array(t)": lambda t: np.array(t),
    "t.detach().cpu().numpy()": lambda t: t.detach().cpu().numpy(),
    "t.numpy(force=True)": lambda t: t.numpy(force=True),
}


def attempt(way, t):
    """求值一次: 成功时是数组的 dtype，失败时是异常的类型。"""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 见后文
            return f"✓ {way(t).dtype}"
    except (RuntimeError, TypeError) as error:
        return f"✗ {type(error).__name__}"


outcomes = {}
for case, x in cases.items():
    for name, way in ways.items():
        outcomes[case, name] = attempt(way, x)
rows = [(case, *(outcomes[case, name] for name in ways)) for case in cases]
table(["张量", *ways], rows)
# --8<-- [end:cases]

# --8<-- [start:bfloat16]
b = cases["bfloat16"]
print(b.float().numpy())  # NumPy 没有 bfloat16: 先无损转成 float32
# --8<-- [end:bfloat16]

# --8<-- [start:copy_or_share]
plain = cases["普通张量"]
copied, shared = np.array(plain), np.asarray(plain)
plain[0, 0] = 100.0  # 之后再改张量
print(f"np.array(t)[0, 0] = {copied[0, 0]:g}  # 副本: 不跟着变")
print(f"np.asarray(t)[0, 0] = {shared[0, 0]:g}  # 共享内存: 跟着变")
# --8<-- [end:copy_or_share]

# --8<-- [start:numpy2_warning]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    np.array(torch.rand(2))
print(numpy_label())
for warning in caught:
    first_sentence = str(warning.message).split(". ")[0]
    print(f"{warning.category.__name__}: {first_sentence}.")
print(f"警告 {len(caught)} 条")
# --8<-- [end:numpy2_warning]

# --8<-- [start:checks]
# 笔记的写法: 普通张量可以；需要梯度的张量（参数、中间结果）np.array 直接报错
assert outcomes["普通张量", "np.array(t)"] == "✓ float32"
assert outcomes["转置 .T（非连续）", "np.array(t)"] == "✓ float32"
for case in ["网络参数 layer.weight", "中间结果 layer.weight * 2"]:
    assert outcomes[case, "np.array(t)"] == "✗ RuntimeError", case
    assert outcomes[case, "t.detach().cpu().numpy()"] == "✓ float32", case
    assert outcomes[case, "t.numpy(force=True)"] == "✓ float32", case
# 错误信息本身给出了修法
try:
    np.array(t)
except RuntimeError as error:
    assert "detach().numpy()" in str(error)
# 日常写法的数值与张量相同；张量已在 CPU 上时 .cpu() 什么也不做
assert np.array_equal(
    t.detach().cpu().numpy(), np.array(t.tolist(), dtype=np.float32)
)
assert t.detach().cpu() is not None and plain.cpu() is plain
# bfloat16: 三种写法都失败（NumPy 没有这个类型）；先 .float() 无损
assert all(outcomes["bfloat16", name] == "✗ TypeError" for name in ways)
assert b.float().numpy().tolist() == b.tolist()
# 共轭视图: np.array 与 detach().cpu().numpy() 报错，
# numpy(force=True) 先把共轭算出来
conj = "复数的共轭 z.conj()"
assert outcomes[conj, "np.array(t)"] == "✗ RuntimeError"
assert outcomes[conj, "t.detach().cpu().numpy()"] == "✗ RuntimeError"
assert cases[conj].numpy(force=True).tolist() == [1 - 2j, 3 + 4j]
# np.array 复制一份，np.asarray 共享内存
assert copied[0, 0] != 100.0 and shared[0, 0] == 100.0
# NumPy 2 起 np.array(t) 发出 DeprecationWarning（NumPy 1.26 没有）
expected = since(
    "2.0", before=[], after=["DeprecationWarning"], package="numpy"
)
assert [w.category.__name__ for w in caught] == expected
print("本页的断言全部成立")
# --8<-- [end:checks]
