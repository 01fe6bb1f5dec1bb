"""Page images/plotting: PIL pixel values, what ToTensor() does, what
plt.imshow expects.

The photo is matplotlib's sample image (grace_hopper.jpg, inside the package):
no download. The sections the reader sees come first; the checks that keep the
page honest come last (the page shows them collapsed, under 本页如何自证).
"""

import random
import runpy
from pathlib import Path

import numpy as np
import torch

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
_shared = Path(__file__).resolve().parents[1] / "_shared"
show = runpy.run_path(str(_shared / "figures.py"))["show"]
table = runpy.run_path(str(_shared / "tables.py"))["table"]


# --8<-- [start:recipe]
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import cbook
from PIL import Image
from torchvision import transforms

path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
photo = Image.open(path).convert("RGB")  # matplotlib 自带的照片
photo = photo.resize((128, 150))  # 缩小: 宽 128、高 150

mean = [0.485, 0.456, 0.406]  # ImageNet 的均值
std = [0.229, 0.224, 0.225]  # ImageNet 的标准差
normalize = transforms.Normalize(mean, std)
preprocess = transforms.Compose([transforms.ToTensor(), normalize])
x = preprocess(photo)  # 网络要的张量: [C, H, W]，标准化过
print(f"x: {x.dtype}, shape={tuple(x.shape)}")
print(f"范围 [{x.min():.2f}, {x.max():.2f}]")


def to_plottable(t, mean, std):
    """标准化过的 [C, H, W] 张量 -> imshow 能画的 (H, W, C)、[0, 1] 数组。"""
    t = t.detach().cpu()  # 需要梯度或在 GPU 上的张量先取下来
    mean = torch.tensor(mean).view(-1, 1, 1)
    std = torch.tensor(std).view(-1, 1, 1)
    t = t * std + mean  # 反标准化
    # 截掉浮点误差；调成 (H, W, C)
    return t.clamp(0, 1).permute(1, 2, 0).numpy()


restored = to_plottable(x, mean, std)
print(f"restored: {type(restored).__name__}, {restored.dtype}")
print(f"shape={restored.shape}")
print(f"范围 [{restored.min():.2f}, {restored.max():.2f}]")
# --8<-- [end:recipe]

# --8<-- [start:figure_recipe]
fig, axes = plt.subplots(1, 3, figsize=(5, 2.6))
axes[0].imshow(photo)
axes[0].set_title("原图（PIL）", fontsize=10.5)
axes[1].imshow(x.permute(1, 2, 0).numpy())  # 调了通道，没有反标准化
axes[1].set_title("没有反标准化", fontsize=10.5)
axes[2].imshow(restored)
axes[2].set_title("反标准化 + 调通道", fontsize=10.5)
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()
alt = "同一张照片画三次：原图；标准化后直接画，颜色失真；反标准化后与原图一致"
show(fig, alt)
# --8<-- [end:figure_recipe]

# --8<-- [start:pil_pixels]
pixels = np.array(photo)
print(f"photo.mode = {photo.mode!r}, photo.size = {photo.size}  # (宽, 高)")
print(f"np.array(photo): {pixels.dtype}, {pixels.shape}  # (高, 宽, 通道)")
print(f"最小 {pixels.min()}, 最大 {pixels.max()}")
# --8<-- [end:pil_pixels]

# --8<-- [start:pil_modes]
gray = np.array(photo.convert("L"))
modes = {
    "RGB 照片": photo,
    '.convert("L")': photo.convert("L"),
    '.convert("1")': photo.convert("1"),
    "16 位 PNG 那样": Image.fromarray(gray.astype(np.uint16) * 257),
    "32 位整数": Image.fromarray((gray.astype(np.int32) - 128) * 100),
    "32 位浮点": Image.fromarray(gray.astype(np.float32) / 127.5 - 1),
}
table(
    ["图像", "mode", "np.array 的 dtype", "getextrema()"],
    [
        (k, m.mode, np.array(m).dtype.name, m.getextrema())
        for k, m in modes.items()
    ],
    code=(1, 2),
)
# --8<-- [end:pil_modes]

# --8<-- [start:totensor_pil]
to_tensor = transforms.ToTensor()
t = to_tensor(photo)
print(f"ToTensor()(photo): {t.dtype}, shape={tuple(t.shape)}")
print(f"范围 [{t.min():.4f}, {t.max():.4f}]")
same = torch.equal(t, torch.from_numpy(pixels).permute(2, 0, 1).float() / 255)
print(f"等于 pixels 换成 [C, H, W] 再除以 255: {same}")
# --8<-- [end:totensor_pil]

# --8<-- [start:totensor_numpy]
arrays = {
    "uint8 (H, W, C)": pixels,
    "uint8 (H, W)": gray,
    "float32，[0, 255]": pixels.astype(np.float32),
    "float32，[0, 1]": pixels.astype(np.float32) / 255,
    "float64，[0, 1]": pixels / 255,
    "int64，[0, 255]": pixels.astype(np.int64),
    "uint8，已是 (C, H, W)": pixels.transpose(2, 0, 1).copy(),
}
outputs = {name: to_tensor(a) for name, a in arrays.items()}
table(
    ["numpy 数组", "输入形状", "输出形状", "输出 dtype", "输出最大值"],
    [
        (name, a.shape, tuple(out.shape), out.dtype, f"{out.max().item():g}")
        for (name, a), out in zip(arrays.items(), outputs.values())
    ],
    code=(1, 2, 3),
)
# --8<-- [end:totensor_numpy]

# --8<-- [start:imshow_inputs]
inputs = {
    "uint8，[0, 255]": pixels,
    "int64，[0, 255]": pixels.astype(np.int64),
    "float32，[0, 1]": pixels.astype(np.float32) / 255,
    "float32，[0, 255]": pixels.astype(np.float32),
    "uint8 单通道 (H, W)": gray,
}
rows = []
for name, a in inputs.items():
    fig, ax = plt.subplots()
    kept = ax.imshow(a).get_array()  # imshow 实际要画的数据
    kept_range = f"[{kept.min():g}, {kept.max():g}]"
    rows.append((name, a.shape, str(kept.dtype), kept_range))
    plt.close(fig)
table(["交给 imshow", "形状", "保存的 dtype", "保存的范围"], rows, code=(1, 2))
# --8<-- [end:imshow_inputs]

# --8<-- [start:figure_inputs]
fig, axes = plt.subplots(1, 4, figsize=(5, 2.5))
titles = ["uint8\n[0, 255]", "float32\n[0, 1]", "float32\n[0, 255]"]
titles.append("单通道\n(H, W)")
names = list(inputs)[:1] + list(inputs)[2:]  # 不画 int64，它和 uint8 一样
for ax, title, name in zip(axes, titles, names):
    ax.imshow(inputs[name])
    ax.set_title(title, fontsize=10.5)
    ax.set_xticks([])
    ax.set_yticks([])  # 留着边框: 全白的那张也看得出边界
fig.tight_layout()
alt = (
    "四种数组交给 imshow：uint8、[0, 1] 浮点正常；"
    "[0, 255] 浮点近乎全白；单通道伪彩"
)
show(fig, alt)
# --8<-- [end:figure_inputs]

# --8<-- [start:tensor_to_imshow]
for name, data in {
    "[C, H, W] 的张量 x": x,
    "需要梯度的 (H, W, C) 张量": x.permute(1, 2, 0).clone().requires_grad_(),
}.items():
    fig, ax = plt.subplots()
    try:
        ax.imshow(data)
    except (TypeError, RuntimeError) as error:
        print(f"{name}:\n  {type(error).__name__}: {error}")
    plt.close(fig)
# --8<-- [end:tensor_to_imshow]

# --8<-- [start:i16_wraps]
img16 = modes["16 位 PNG 那样"]  # 无符号 16 位，最亮处 65535
t16 = to_tensor(img16)
print(f"PIL 里的最大值 {np.array(img16).max()}，ToTensor 之后 {t16.dtype}")
# 超过 32767 的像素回绕成负数
print(f"ToTensor 之后的范围 [{t16.min()}, {t16.max()}]")
fixed = to_tensor(np.array(img16).astype(np.float32) / 65535)  # 先自己归一化
print(f"先除以 65535: {fixed.dtype}")
print(f"范围 [{fixed.min():.4f}, {fixed.max():.4f}]")
# --8<-- [end:i16_wraps]

# --8<-- [start:v2_equivalent]
import warnings

from torchvision.transforms import v2

to_dtype = v2.ToDtype(torch.float32, scale=True)
to_float_image = v2.Compose([v2.ToImage(), to_dtype])
sources = {
    "PIL 图像": photo,
    "float32 [0, 255] 数组": pixels.astype(np.float32),
}
for name, source in sources.items():
    new = to_float_image(source)
    close = torch.allclose(new, to_tensor(source))
    print(f"{name}: 与 ToTensor 在浮点误差内相同 {close}, 最大值 {new.max():g}")
# --8<-- [end:v2_equivalent]

# --8<-- [start:checks]
import logging


class Collect(logging.Handler):
    """imshow 的截断提示走 logging，不走 warnings：
    收集 matplotlib 记录的日志。"""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def clipping_logged(draw) -> list[str]:
    """运行 draw()，返回期间 matplotlib 记录的日志（不打到标准错误上）。"""
    logger, handler = logging.getLogger("matplotlib"), Collect()
    logger.addHandler(handler)
    logger.propagate = False
    try:
        draw()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return [record.getMessage() for record in handler.records]


# 主线: 反标准化 + 调通道后，与 ToTensor 的输出在浮点误差内相同，
# 乘回 255 就是原像素
assert restored.shape == (photo.height, photo.width, 3)
assert restored.dtype == np.float32
from_totensor = to_tensor(photo).permute(1, 2, 0).numpy()
assert np.allclose(restored, from_totensor, atol=1e-6)
assert np.array_equal((restored * 255).round().astype(np.uint8), pixels)
assert x.min() < 0 and x.max() > 1  # 标准化后的数值超出 [0, 1]
# 不反标准化就画: imshow 截断到 [0, 1]，
# 用 logging 记一条 Clipping 警告（不是 warnings）
fig, ax = plt.subplots()
logged = clipping_logged(lambda: ax.imshow(x.permute(1, 2, 0).numpy()))
assert len(logged) == 1
assert logged[0].startswith("Clipping input data to the valid")
drawn = ax.images[0].get_array()
assert drawn.min() == 0 and drawn.max() == 1
plt.close(fig)
# 需要梯度、(按 device) 在 GPU 上的张量也能转换
device = "cuda" if torch.cuda.is_available() else "cpu"
needs_grad = x.to(device).clone().requires_grad_()
assert np.allclose(to_plottable(needs_grad, mean, std), restored)

# 「PIL 图像像素值范围是整数 [0, 255]」: 8 位照片成立
assert photo.mode == "RGB" and pixels.dtype == np.uint8
assert pixels.min() >= 0 and pixels.max() <= 255
# 补充: 16 位、32 位整数与浮点模式不是 [0, 255]
# 二值模式 1 在 PIL 里是 0/255，np.array 给 bool
assert [im.mode for im in modes.values()] == ["RGB", "L", "1", "I;16", "I", "F"]
binary = modes['.convert("1")']
assert binary.getextrema() == (0, 255) and np.array(binary).dtype == bool
assert modes["16 位 PNG 那样"].getextrema()[1] == 65535
assert modes["32 位整数"].getextrema()[0] < 0
assert modes["32 位浮点"].getextrema()[0] < 0

# 「ToTensor 会将 PIL 图像映射为 [0.0, 1.0] 并调整通道顺序为 [C, H, W]」:
# 8 位图像成立
assert t.dtype == torch.float32 and same
assert t.shape == (3, photo.height, photo.width)
assert 0 <= t.min() and t.max() <= 1

# 勘误: numpy 数组同样调成 [C, H, W]
# 只有 uint8 除以 255 并变成浮点，其他 dtype 原样保留
for name, a in arrays.items():
    out = outputs[name]
    chw = a[:, :, None] if a.ndim == 2 else a
    height, width, channels = chw.shape  # 总是当作 (H, W, C)
    assert out.shape == (channels, height, width), name
    expected = torch.from_numpy(chw).permute(2, 0, 1).double()
    if a.dtype == np.uint8:
        assert out.dtype == torch.float32, name
        assert torch.allclose(out.double(), expected / 255), name
    else:
        assert out.dtype == torch.from_numpy(a).dtype, name
        assert torch.equal(out.double(), expected), name
wrong = outputs["uint8，已是 (C, H, W)"]
assert wrong.shape == (photo.width, 3, photo.height)  # 换错了

# 「plt 绘制 numpy 数组: 整数 [0, 255]，浮点 [0, 1]，(H, W, C)」: 成立，
# 超出范围被截断
kept_types = {name: dtype for name, _, dtype, _ in rows}
assert kept_types["int64，[0, 255]"] == "uint8"  # 任何整数 dtype 都转成 uint8
ranges = ["[0, 255]", "[0, 255]", "[0, 1]", "[0, 1]", f"[{gray.min()}, 255]"]
assert [r[3] for r in rows] == ranges
fig, ax = plt.subplots()
# 浮点被截断
assert clipping_logged(lambda: ax.imshow(inputs["float32，[0, 255]"]))
ax.imshow(gray)
assert ax.images[-1].get_cmap().name == "viridis"  # 单通道默认伪彩色
plt.close(fig)

# 张量直接交给 imshow: [C, H, W] 报 TypeError，需要梯度的张量报 RuntimeError
hwc_needs_grad = x.permute(1, 2, 0).clone().requires_grad_()
for data, error_type in ((x, TypeError), (hwc_needs_grad, RuntimeError)):
    fig, ax = plt.subplots()
    try:
        ax.imshow(data)
    except error_type:
        pass
    else:
        raise AssertionError(f"imshow accepted {tuple(data.shape)}")
    plt.close(fig)

# I;16: 无符号 16 位被读成有符号 int16，最亮的 65535 变成 -1
assert t16.dtype == torch.int16 and t16.min() < 0 and (t16 == -1).any()
assert fixed.dtype == torch.float32 and fixed.max() == 1

# v2: PIL 图像与 ToTensor 相同；[0, 255] 的浮点数组同样不缩放
assert torch.allclose(to_float_image(photo), to_tensor(photo))
assert to_float_image(pixels.astype(np.float32)).max() == 255
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    v2.ToTensor()
assert any("deprecated" in str(w.message) for w in caught)
print("本页的断言全部成立")
# --8<-- [end:checks]
