"""PyCharm 调试技巧：np.array(t) 对调试时常见的各种张量给出什么，以及一个总能用的写法。"""

import numpy as np
import torch

torch.manual_seed(0)
np.random.seed(0)

# --8<-- [start:cases]
import warnings

import numpy as np
import torch

layer = torch.nn.Linear(3, 2)
z = torch.tensor([1 + 2j, 3 - 4j])
CASES = {
    "普通张量": torch.rand(2, 3),
    "layer.weight": layer.weight,  # 网络参数：叶子，requires_grad=True
    "layer.weight * 2": layer.weight * 2,  # 前向计算的中间结果：非叶子
    "转置 .T": torch.rand(2, 3).T,  # 非连续
    "切片 [:, ::2]": torch.rand(4, 4)[:, ::2],  # 非连续
    "float16": torch.rand(3, dtype=torch.float16),
    "bfloat16": torch.rand(3, dtype=torch.bfloat16),
    "int64 大整数": torch.tensor([0, 2**24 + 1]),
    "z.conj()": z.conj(),  # 复数的共轭视图：只打了一个标记，数据没动
    "z.conj().imag": z.conj().imag,  # 共轭视图的虚部：打了「取负」标记
}
print("| 情形 | `dtype` | `requires_grad` | `is_leaf` | `is_contiguous()` | `is_conj()` | `is_neg()` |")
print("|:--|:--|:--|:--|:--|:--|:--|")
for name, t in CASES.items():
    print(
        f"| {name} | `{t.dtype}` | {t.requires_grad} | {t.is_leaf} | {t.is_contiguous()} | {t.is_conj()} | {t.is_neg()} |"
    )
assert CASES["layer.weight"].requires_grad and CASES["layer.weight"].is_leaf
assert CASES["layer.weight * 2"].requires_grad and not CASES["layer.weight * 2"].is_leaf
assert not CASES["转置 .T"].is_contiguous() and not CASES["切片 [:, ::2]"].is_contiguous()
assert CASES["z.conj()"].is_conj() and CASES["z.conj().imag"].is_neg()
# --8<-- [end:cases]


# --8<-- [start:overview]
def safe_numpy(t: torch.Tensor) -> np.ndarray:
    """调试时总能用的写法：bfloat16 先无损转成 float32，其余交给 numpy(force=True)。"""
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy(force=True)


CONVERSIONS = {
    "np.array(t)": lambda t: np.array(t),
    "t.numpy(force=True)": lambda t: t.numpy(force=True),
    "t.detach().cpu().float().numpy()": lambda t: t.detach().cpu().float().numpy(),
    "safe_numpy(t)": safe_numpy,
}


def convert(conversion, t):
    """执行一次转换，返回（结果或异常，期间发出的警告列表）。"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = conversion(t)
        except Exception as error:  # noqa: BLE001  失败也是要记录的结果
            result = error
    return result, [warning.category.__name__ for warning in caught]


def cell(result, warned: list[str]) -> str:
    if isinstance(result, Exception):
        text = f"✗ `{type(result).__name__}`"
    else:
        text = f"✓ `{result.dtype}` `{result.shape}`"
    return text + "".join(f"<br>⚠ `{name}`" for name in warned)


outcomes = {}
print("| 情形 | " + " | ".join(f"`{name}`" for name in CONVERSIONS) + " |")
print("|:--|" + ":--|" * len(CONVERSIONS))
for case, t in CASES.items():
    row = []
    for name, conversion in CONVERSIONS.items():
        outcomes[case, name] = convert(conversion, t)
        row.append(cell(*outcomes[case, name]))
    print(f"| {case} | " + " | ".join(row) + " |")
# --8<-- [end:overview]


# --8<-- [start:overview_checks]
def failed(case: str, name: str) -> str | None:
    result = outcomes[case, name][0]
    return type(result).__name__ if isinstance(result, Exception) else None


# np.array(t)：普通、非连续、float16、int64 都能用；需要梯度、bfloat16、共轭/负号视图都失败
for case in ["普通张量", "转置 .T", "切片 [:, ::2]", "float16", "int64 大整数"]:
    assert failed(case, "np.array(t)") is None, case
assert failed("layer.weight", "np.array(t)") == failed("layer.weight * 2", "np.array(t)") == "RuntimeError"
assert failed("bfloat16", "np.array(t)") == "TypeError"
assert failed("z.conj()", "np.array(t)") == failed("z.conj().imag", "np.array(t)") == "RuntimeError"
# numpy(force=True)：只差 bfloat16
assert [case for case in CASES if failed(case, "t.numpy(force=True)")] == ["bfloat16"]
# detach().cpu().float()：负号视图失败；复数被截成实数并发出警告
assert [case for case in CASES if failed(case, "t.detach().cpu().float().numpy()")] == ["z.conj().imag"]
truncated, warned = outcomes["z.conj()", "t.detach().cpu().float().numpy()"]
assert warned == ["UserWarning"] and truncated.dtype == np.float32
# safe_numpy：每一种情形都成功，且不发出任何警告
assert all(failed(case, "safe_numpy(t)") is None for case in CASES)
assert all(outcomes[case, "safe_numpy(t)"][1] == [] for case in CASES)
# np.array(t) 在每一种情形下都发出 DeprecationWarning（原因见下文）
assert all(outcomes[case, "np.array(t)"][1] == ["DeprecationWarning"] for case in CASES)
print(f"safe_numpy 在全部 {len(CASES)} 种情形下都成功，没有警告。")
# --8<-- [end:overview_checks]

# --8<-- [start:error_messages]
for case in CASES:
    result, _ = outcomes[case, "np.array(t)"]
    if isinstance(result, Exception):
        print(f"{case}\n  -> {type(result).__name__}: {result}")
# --8<-- [end:error_messages]

# --8<-- [start:values_preserved]
for case, t in CASES.items():
    expected = t.tolist()  # 另一条路径取出的数值，作为对照
    got = safe_numpy(t)
    assert got.tolist() == expected, case
    assert got.dtype == (np.float32 if t.dtype == torch.bfloat16 else torch.empty(0, dtype=t.dtype).numpy().dtype), case
print("safe_numpy(t) 的数值与 t.tolist() 逐个相等；dtype 除 bfloat16 → float32 外都保持不变。")

big = CASES["int64 大整数"]
print(f"int64 大整数：t.tolist() = {big.tolist()}")
print(f"  safe_numpy(t)                    = {safe_numpy(big).tolist()}")
print(
    f"  t.detach().cpu().float().numpy() = {big.detach().cpu().float().numpy().tolist()}   # float32 存不下 2**24 + 1"
)
conj = CASES["z.conj()"]
print(f"复数共轭视图：t.tolist() = {conj.tolist()}")
print(f"  safe_numpy(t)                    = {safe_numpy(conj).tolist()}")
print(f"  t.detach().cpu().float().numpy() = {truncated.tolist()}   # 虚部被丢掉")
assert big.detach().cpu().float().numpy().tolist() != big.tolist()
assert truncated.tolist() == [1.0, 3.0]
# --8<-- [end:values_preserved]

# --8<-- [start:array_protocol]
import inspect

print(f"torch.Tensor.__array__ 的签名：{inspect.signature(torch.Tensor.__array__)}")
plain = CASES["普通张量"]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    copied = np.array(plain)
    shared = np.asarray(plain)
print(f"np.array(t) 发出的警告：{caught[0].category.__name__}: {str(caught[0].message).split('. ')[0]}.")
print(f"np.array(t) 与 t 共享内存：{np.shares_memory(copied, plain.numpy())}（复制了一份）")
print(f"np.asarray(t) 与 t 共享内存：{np.shares_memory(shared, plain.numpy())}")
assert "copy" not in inspect.signature(torch.Tensor.__array__).parameters
assert issubclass(caught[0].category, DeprecationWarning) and "copy" in str(caught[0].message)
assert not np.shares_memory(copied, plain.numpy())
assert np.shares_memory(shared, plain.numpy())
# --8<-- [end:array_protocol]

# --8<-- [start:gpu_tensors]
print(f"torch.cuda.is_available() = {torch.cuda.is_available()}")
if torch.cuda.is_available():
    on_gpu = torch.rand(3, device="cuda")
    result, _ = convert(lambda t: np.array(t), on_gpu)
    print(f"np.array(GPU 张量) -> {type(result).__name__}: {result}")
    print(f"safe_numpy(GPU 张量) -> {safe_numpy(on_gpu)}")
    assert isinstance(result, TypeError)
else:
    print("本次构建没有 GPU，无法创建 CUDA 张量；下面用 meta 设备演示同一个「必须在 CPU 上」的检查：")
    result, _ = convert(lambda t: np.array(t), torch.empty(3, device="meta"))
    print(f"np.array(meta 张量) -> {type(result).__name__}: {result}")
    assert isinstance(result, TypeError) and "Tensor.cpu()" in str(result)
# --8<-- [end:gpu_tensors]
