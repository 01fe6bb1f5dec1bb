"""Page images/plotting: PIL pixel values, what transforms.ToTensor() does, what plt.imshow expects.

The photo is matplotlib's own sample image (grace_hopper.jpg, shipped inside the package): nothing is downloaded.
"""

import random
import runpy
from pathlib import Path

import numpy as np
import torch

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
show = runpy.run_path(str(Path(__file__).resolve().parents[1] / "_shared" / "figures.py"))["show"]

# --8<-- [start:load_photo]
import numpy as np
from matplotlib import cbook
from PIL import Image

with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as original:
    print(f"原图: mode={original.mode}, size={original.size}")
    # 缩小到 128 像素宽，让页面轻一些
    photo = original.resize((128, round(128 * original.height / original.width)))

pixels = np.array(photo)  # np.array 复制一份（可写）；np.asarray 得到只读数组
print(f"photo: mode={photo.mode}, size={photo.size}  # PIL 的 size 是 (宽, 高)")
print(f"np.array(photo): dtype={pixels.dtype}, shape={pixels.shape}  # numpy 是 (高, 宽, 通道)")
print(f"photo.getextrema(), 每个通道的 (最小, 最大): {photo.getextrema()}")
print(f"全部像素: 最小 {pixels.min()}, 最大 {pixels.max()}")

assert photo.mode == "RGB" and pixels.dtype == np.uint8
assert pixels.shape == (photo.height, photo.width, 3) and photo.size == (photo.width, photo.height)
assert 0 <= pixels.min() and pixels.max() <= 255
# --8<-- [end:load_photo]

# --8<-- [start:pil_modes]
gray = photo.convert("L")
gray_pixels = np.array(gray)
modes = {  # 描述: 图像
    "照片本身": photo,
    '`photo.convert("L")`': gray,
    '`photo.convert("1")`': photo.convert("1"),
    "16 位灰度: `gray_pixels` 的 `uint16` × 257": Image.fromarray(gray_pixels.astype(np.uint16) * 257),
    "32 位整数: (`gray_pixels` − 128) × 100": Image.fromarray((gray_pixels.astype(np.int32) - 128) * 100),
    "32 位浮点: `gray_pixels` / 127.5 − 1": Image.fromarray(gray_pixels.astype(np.float32) / 127.5 - 1),
}


def pil_range(img):
    """PIL 自己报告的 (最小, 最大)，多通道时取所有通道的。"""
    extrema = img.getextrema()
    if isinstance(extrema[0], tuple):  # 多通道: 每个通道一对
        return min(lo for lo, _ in extrema), max(hi for _, hi in extrema)
    return extrema


def within_0_255(img):
    lo, hi = pil_range(img)
    integer = np.issubdtype(np.array(img).dtype, np.integer) or img.mode == "1"
    return integer and 0 <= lo and hi <= 255


print("| 图像 | `mode` | `np.array(img).dtype` | `getextrema()` 的最小, 最大 | 全是 [0, 255] 内的整数 |")
print("|:--|:--|:--|:--|:--|")
for label, img in modes.items():
    lo, hi = pil_range(img)
    print(
        f"| {label} | `{img.mode}` | `{np.array(img).dtype}` | {lo:.6g}, {hi:.6g} | {'是' if within_0_255(img) else '**否**'} |"
    )

assert [img.mode for img in modes.values()] == ["RGB", "L", "1", "I;16", "I", "F"]
assert [within_0_255(img) for img in modes.values()] == [True, True, True, False, False, False]
assert pil_range(modes['`photo.convert("1")`']) == (0, 255)  # 二值图: 只有 0 和 255
# --8<-- [end:pil_modes]

# --8<-- [start:totensor_pil]
import torch
from torchvision import transforms

to_tensor = transforms.ToTensor()
x = to_tensor(photo)
print(f"ToTensor()(photo): dtype={x.dtype}, shape={tuple(x.shape)}")
print(f"最小 {x.min().item():.4f}, 最大 {x.max().item():.4f}")

assert x.dtype == torch.float32 and x.shape == (3, photo.height, photo.width)  # [C, H, W]
assert 0.0 <= x.min() and x.max() <= 1.0
# 逐元素就是 “HWC 换成 CHW，再除以 255”
assert torch.equal(x, torch.from_numpy(pixels).permute(2, 0, 1).float() / 255)
print("与 torch.from_numpy(pixels).permute(2, 0, 1).float() / 255 逐元素相等")
# --8<-- [end:totensor_pil]

# --8<-- [start:totensor_pil_modes]
import math


def divided_by_255(out, img):
    lo, hi = pil_range(img)
    return (
        out.is_floating_point()
        and math.isclose(out.min(), lo / 255, rel_tol=1e-6)
        and math.isclose(out.max(), hi / 255, rel_tol=1e-6)
    )


print("| 图像 | `mode` | 输出形状 | 输出 dtype | 最小 | 最大 | 除以了 255 |")
print("|:--|:--|:--|:--|:--|:--|:--|")
converted = {}
for label, img in modes.items():
    out = converted[img.mode] = to_tensor(img)
    print(
        f"| {label} | `{img.mode}` | `{tuple(out.shape)}` | `{out.dtype}` | {out.min().item():.6g} | "
        f"{out.max().item():.6g} | {'是' if divided_by_255(out, img) else '**否**'} |"
    )

assert all(out.shape[1:] == (photo.height, photo.width) for out in converted.values())  # 都是 [C, H, W]
assert [divided_by_255(out, img) for out, img in zip(converted.values(), modes.values(), strict=True)] == [True] * 3 + [
    False
] * 3
assert converted["I;16"].dtype == torch.int16 and converted["I"].dtype == torch.int32
assert converted["F"].dtype == torch.float32 and converted["F"].min() < 0  # 浮点图原样保留，不缩放
# --8<-- [end:totensor_pil_modes]

# --8<-- [start:i16_wraps]
img16 = modes["16 位灰度: `gray_pixels` 的 `uint16` × 257"]
raw16 = np.array(img16)  # PIL 给出的无符号 16 位数值
brightest = np.unravel_index(raw16.argmax(), raw16.shape)
print(f"PIL 中最亮的像素 {tuple(map(int, brightest))}: {raw16[brightest]} ({raw16.dtype})")
print(f"ToTensor 之后同一位置: {converted['I;16'][(0, *brightest)].item()} ({converted['I;16'].dtype})")
wrapped = (converted["I;16"] < 0).float().mean().item()
print(f"变成负数的像素占比: {wrapped:.1%}")

assert raw16[brightest] == 65535 and converted["I;16"][(0, *brightest)].item() == -1
assert 0 < wrapped < 1

# 绕开: 先在 numpy 里按 16 位的满量程归一化成 float32，ToTensor 对浮点数组不再缩放
fixed = to_tensor(raw16.astype(np.float32) / 65535)
print(
    f"先除以 65535 再 ToTensor: dtype={fixed.dtype}, shape={tuple(fixed.shape)}, 范围 [{fixed.min():.4f}, {fixed.max():.4f}]"
)
assert fixed.dtype == torch.float32 and fixed.min() > 0 and fixed.max() == 1
# --8<-- [end:i16_wraps]

# --8<-- [start:totensor_numpy]
arrays = {  # 描述: numpy 数组
    "`uint8` (H, W, C)，[0, 255]": pixels,
    "`uint8` (H, W)，[0, 255]": gray_pixels,
    "`float32` (H, W, C)，[0, 255]": pixels.astype(np.float32),
    "`float32` (H, W, C)，[0, 1]": pixels.astype(np.float32) / 255,
    "`float64` (H, W, C)，[0, 1]": pixels / 255,
    "`int32` (H, W, C)，[0, 255]": pixels.astype(np.int32),
    "`int64` (H, W, C)，[0, 255]": pixels.astype(np.int64),
    "`bool` (H, W, C)": pixels > 127,
    "`uint8`，已经是 (C, H, W)": pixels.transpose(2, 0, 1).copy(),
}


def as_chw(arr):
    """数组自己的数值（float64），排成 [C, H, W]，用来与 ToTensor 的输出对比。"""
    arr = arr.astype(np.float64)
    return torch.from_numpy(arr if arr.ndim == 3 else arr[:, :, None]).permute(2, 0, 1)


print("| 输入 | 输入形状 | 输出形状 | 输出 dtype | 最小 | 最大 | 调换成 [C, H, W] | 除以了 255 |")
print("|:--|:--|:--|:--|:--|:--|:--|:--|")
facts = {}
for label, arr in arrays.items():
    out = to_tensor(arr)
    same = out.shape == as_chw(arr).shape and torch.allclose(out.double(), as_chw(arr))
    scaled = not same and torch.allclose(out.double(), as_chw(arr) / 255)
    chw = out.shape == as_chw(arr).shape
    facts[label] = (arr.dtype, out.dtype, chw, scaled)
    print(
        f"| {label} | `{arr.shape}` | `{tuple(out.shape)}` | `{out.dtype}` | {out.double().min().item():.6g} | "
        f"{out.double().max().item():.6g} | {'是' if chw else '否'} | {'是' if scaled else '**否**'} |"
    )

assert all(chw for _, _, chw, _ in facts.values())  # numpy 数组同样被调成 [C, H, W]
# 已经是 (C, H, W) 的数组也被当作 (H, W, C) 再换一次: 得到 (W, C, H)
assert to_tensor(arrays["`uint8`，已经是 (C, H, W)"]).shape == (photo.width, 3, photo.height)
for in_dtype, out_dtype, _, scaled in facts.values():
    assert scaled == (in_dtype == np.uint8)  # 只有 uint8 除以 255
    # uint8 变成默认浮点类型；其他 dtype 原样保留（float64 仍是 float64，int32 仍是 int32，bool 仍是 bool）
    expected = torch.get_default_dtype() if in_dtype == np.uint8 else torch.from_numpy(np.zeros(1, in_dtype)).dtype
    assert out_dtype == expected, (in_dtype, out_dtype)
# --8<-- [end:totensor_numpy]

# --8<-- [start:normalize]
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet 的均值和标准差
x_norm = transforms.Normalize(mean, std)(x)
for channel, name in enumerate("RGB"):
    print(f"通道 {name}: [{x_norm[channel].min().item():.4f}, {x_norm[channel].max().item():.4f}]")
outside = ((x_norm < 0) | (x_norm > 1)).float().mean().item()
print(f"整体: [{x_norm.min().item():.4f}, {x_norm.max().item():.4f}], 落在 [0, 1] 之外的数值占 {outside:.1%}")

assert x_norm.min() < 0 and x_norm.max() > 1
assert torch.allclose(x_norm, (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1))
# --8<-- [end:normalize]

# --8<-- [start:imshow_normalized]
import logging
import warnings
from contextlib import contextmanager

import matplotlib.pyplot as plt


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@contextmanager
def matplotlib_log():
    """收集 with 块里 matplotlib 记录的日志（也不让它们打到标准错误上）。"""
    logger, handler = logging.getLogger("matplotlib"), Collect()
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


with warnings.catch_warnings(record=True) as caught, matplotlib_log() as logged:
    warnings.simplefilter("always")
    fig, ax = plt.subplots()
    image = ax.imshow(x_norm.permute(1, 2, 0).numpy())  # 通道顺序对了，但数值没有反标准化
plt.close(fig)

print(f"warnings 模块收到的警告: {len(caught)} 条")
for record in logged:
    print(f"logging 收到: 记录器 {record.name!r}, 级别 {record.levelname}\n  {record.getMessage()}")
kept = image.get_array()
print(f"imshow 实际保存的数据: dtype={kept.dtype}, 范围 [{kept.min():.4g}, {kept.max():.4g}]")

assert not caught  # 不是 warnings.warn
assert [(r.name, r.levelname) for r in logged] == [("matplotlib.image", "WARNING")]
assert logged[0].getMessage().startswith("Clipping input data to the valid range for imshow")
assert kept.min() == 0 and kept.max() == 1  # 超出 [0, 1] 的部分被截断
# --8<-- [end:imshow_normalized]

# --8<-- [start:imshow_tensors]
attempts = {
    "`x_norm`，[C, H, W] 的张量": x_norm,
    "`x.permute(1, 2, 0)`，[H, W, C] 的张量": x.permute(1, 2, 0),
    "`requires_grad=True` 的 [H, W, C] 张量": x.permute(1, 2, 0).clone().requires_grad_(),
    "`torch.rand(3, 4, 4)`，[C, H, W] 的小张量": torch.rand(3, 4, 4),
}
errors, side_warnings = {}, {}
for label, data in attempts.items():
    fig, ax = plt.subplots()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            drawn = ax.imshow(data)
            outcome = f"能画: 被当作 (H, W, C) = {drawn.get_array().shape}"
        except (TypeError, RuntimeError) as error:
            errors[label] = error
            outcome = f"{type(error).__name__}: {error}"
        finally:
            plt.close(fig)
    side_warnings[label] = {(w.category.__name__, str(w.message)) for w in caught}
    also = ", ".join(sorted(name for name, _ in side_warnings[label])) or "无"
    print(f"{label}\n  -> {outcome}\n  -> 同时发出的警告: {also}")
for name, message in sorted(set().union(*side_warnings.values())):
    print(f"\n{name}: {message}")

chw_error = errors["`x_norm`，[C, H, W] 的张量"]
assert isinstance(chw_error, TypeError) and "Invalid shape" in str(chw_error)
assert isinstance(errors["`requires_grad=True` 的 [H, W, C] 张量"], RuntimeError)
assert set(errors) == {"`x_norm`，[C, H, W] 的张量", "`requires_grad=True` 的 [H, W, C] 张量"}
# 能画出来的张量走的是 numpy 已弃用的 __array__ 路径
assert "DeprecationWarning" in {name for name, _ in side_warnings["`x.permute(1, 2, 0)`，[H, W, C] 的张量"]}
# --8<-- [end:imshow_tensors]

# --8<-- [start:imshow_dtypes]
inputs = {  # 描述: 交给 imshow 的数组
    "`uint8`，[0, 255]": pixels,
    "`int64`，[0, 255]": pixels.astype(np.int64),
    "`float32`，[0, 1]": pixels.astype(np.float32) / 255,
    "`float32`，[0, 255]": pixels.astype(np.float32),
    "`int64`，[0, 510]": pixels.astype(np.int64) * 2,
    "`uint8` 单通道 (H, W)": gray_pixels,
}
print("| 输入 | 形状 | Clipping 日志 | imshow 保存的 dtype | 保存的范围 | 颜色映射 |")
print("|:--|:--|:--|:--|:--|:--|")
clipped = {}
for label, arr in inputs.items():
    with matplotlib_log() as logged:
        fig, ax = plt.subplots()
        kept = ax.imshow(arr).get_array()
        cmap = ax.images[0].get_cmap().name if arr.ndim == 2 else "不用（RGB 直接显示）"
        plt.close(fig)
    clipped[label] = bool(logged)
    print(
        f"| {label} | `{arr.shape}` | {'**有**' if logged else '无'} | `{kept.dtype}` | "
        f"[{kept.min():.4g}, {kept.max():.4g}] | {cmap} |"
    )

assert clipped == {label: label in ("`float32`，[0, 255]", "`int64`，[0, 510]") for label in inputs}
# --8<-- [end:imshow_dtypes]

# --8<-- [start:figure_inputs]
panels = {
    "uint8 [0, 255]\n正确": inputs["`uint8`，[0, 255]"],
    "float32 [0, 1]\n正确": inputs["`float32`，[0, 1]"],
    "float32 [0, 255]\n错误：被截断成近乎全白": inputs["`float32`，[0, 255]"],
    "单通道 (H, W)\n默认按 viridis 上色": inputs["`uint8` 单通道 (H, W)"],
}
with matplotlib_log():
    fig, axes = plt.subplots(1, 4, figsize=(6, 2.5))
    for ax, (title, arr) in zip(axes, panels.items(), strict=True):
        ax.imshow(arr)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])  # 不画刻度，保留边框: 全白的那张也看得出边界
    fig.tight_layout()
    show(
        fig, "同一张照片以四种数组交给 plt.imshow：uint8 与 [0, 1] 浮点正常，[0, 255] 浮点近乎全白，单通道被伪彩色上色"
    )
# --8<-- [end:figure_inputs]


# --8<-- [start:recipe]
def to_plottable(t, mean, std):
    """标准化过的 [C, H, W] 张量 -> plt.imshow 能正确画出的 (H, W, C)、[0, 1] 浮点数组。"""
    t = t.detach().cpu()  # 需要梯度或在 GPU 上的张量先取下来
    mean = torch.tensor(mean).view(-1, 1, 1)
    std = torch.tensor(std).view(-1, 1, 1)
    t = (t * std + mean).clamp(0, 1)  # 反标准化，并截断浮点误差
    return t.permute(1, 2, 0).numpy()  # [C, H, W] -> (H, W, C)


restored = to_plottable(x_norm, mean, std)
expected = x.permute(1, 2, 0).numpy()
print(f"restored: {type(restored).__name__}, dtype={restored.dtype}, shape={restored.shape}")
print(
    f"范围 [{restored.min():.4f}, {restored.max():.4f}], 与 ToTensor 输出的最大误差 {np.abs(restored - expected).max():.2e}"
)
assert restored.shape == (photo.height, photo.width, 3)
assert np.allclose(restored, expected, atol=1e-6)
# 乘回 255、四舍五入，恰好是原来的 uint8 像素
assert np.array_equal((restored * 255).round().astype(np.uint8), pixels)
print("(restored * 255).round().astype(np.uint8) 与原始像素完全相等")

# 等价写法一: 先转 numpy，再用 transpose 调通道
alt = x_norm.numpy() * np.array(std)[:, None, None] + np.array(mean)[:, None, None]
alt = np.clip(alt, 0, 1).transpose(1, 2, 0)
assert np.allclose(alt, restored, atol=1e-6)
# 等价写法二: 用 Normalize 本身做逆变换，mean' = -mean/std，std' = 1/std
unnormalize = transforms.Normalize([-m / s for m, s in zip(mean, std, strict=True)], [1 / s for s in std])
assert torch.allclose(unnormalize(x_norm), x, atol=1e-6)
print("两种等价写法与 to_plottable 一致")

device = "cuda" if torch.cuda.is_available() else "cpu"
on_device = to_plottable(x_norm.to(device).clone().requires_grad_(), mean, std)
print(f"设备 {device} 上、requires_grad=True 的张量: 转换后 shape={on_device.shape}")
assert np.allclose(on_device, restored)
# --8<-- [end:recipe]

# --8<-- [start:figure_pipeline]
import textwrap

with matplotlib_log():
    fig, axes = plt.subplots(1, 4, figsize=(6, 2.5))
    axes[0].imshow(photo)
    axes[0].set_title("原图 (PIL)\n正确", fontsize=9)
    axes[1].imshow(x_norm.permute(1, 2, 0).numpy())
    axes[1].set_title("Normalize 后直接画\n错误：颜色失真", fontsize=9)
    message = textwrap.fill(f"{type(chw_error).__name__}: {chw_error}", 18)
    axes[2].text(0.5, 0.5, message, ha="center", va="center", fontsize=7.5, family="monospace", wrap=True)
    axes[2].set_title("[C, H, W] 直接画\n错误：报错，画不出", fontsize=9)
    axes[3].imshow(restored)
    axes[3].set_title("反标准化 + 调通道\n正确", fontsize=9)
    axes[2].set_box_aspect(photo.height / photo.width)  # 与照片同样的高宽比
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    show(fig, "预处理后的张量：原图、标准化后直接画的失真图、CHW 张量的报错信息、反标准化后恢复的原图")
# --8<-- [end:figure_pipeline]

# --8<-- [start:v2_equivalent]
from torchvision.transforms import v2

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    v2.ToTensor()
print(f"v2.ToTensor(): {caught[0].category.__name__}\n  {caught[0].message}")

to_float_image = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
for label, source in (
    ("PIL 图像", photo),
    ("uint8 数组", pixels),
    ("float32 [0, 255] 数组", pixels.astype(np.float32)),
):
    new, old = to_float_image(source), to_tensor(source)
    print(
        f"{label}: 新写法 shape={tuple(new.shape)}, 范围 [{new.min().item():.4g}, {new.max().item():.4g}]; "
        f"与 ToTensor 一致: {torch.allclose(new, old)}"
    )
    if label != "float32 [0, 255] 数组":
        assert torch.allclose(new, old)

assert issubclass(caught[0].category, UserWarning) and "deprecated" in str(caught[0].message)
# float 输入: ToDtype(scale=True) 认为浮点已经在 [0, 1]，同样不缩放
assert to_float_image(pixels.astype(np.float32)).max() == 255
# --8<-- [end:v2_equivalent]
