"""images/plotting: the built page shows what PIL, ToTensor() and plt.imshow really do (values recomputed here)."""

from __future__ import annotations

import logging
import warnings

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import Image
from torchvision import transforms

from conftest import figure_bytes, outputs, page

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PAGE = "images/plotting"
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
to_tensor = transforms.ToTensor()


@pytest.fixture(scope="module")
def soup(site):
    return page(site, PAGE)


@pytest.fixture(scope="module")
def text(soup):
    return outputs(soup)


@pytest.fixture(scope="module")
def photo():
    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as original:
        return original.resize((128, round(128 * original.height / original.width)))


def rows(soup) -> list[list[str]]:
    """Every row of every table printed by the page's code (tables inside executed results only)."""
    return [
        [cell.get_text(strip=True) for cell in tr.find_all(["td", "th"])]
        for tr in soup.select("article .result table tr")
    ]


def row_with(soup, *cells: str) -> list[str]:
    found = [row for row in rows(soup) if all(cell in row for cell in cells)]
    assert len(found) == 1, (cells, found)
    return found[0]


def clipping_message(data) -> str:
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger, handler = logging.getLogger("matplotlib"), Collect()
    logger.addHandler(handler)
    try:
        fig, ax = plt.subplots()
        ax.imshow(data)
        plt.close(fig)
    finally:
        logger.removeHandler(handler)
    assert len(records) == 1, records
    return records[0]


def test_photo_facts(text, photo):
    pixels = np.array(photo)
    assert f"size={photo.size}" in text
    assert f"shape={pixels.shape}" in text and f"dtype={pixels.dtype}" in text
    x = to_tensor(photo)
    assert f"dtype={x.dtype}, shape={tuple(x.shape)}" in text


def test_pil_modes_table(soup, photo):
    gray = np.array(photo.convert("L"))
    img16 = Image.fromarray(gray.astype(np.uint16) * 257)
    lo, hi = img16.getextrema()
    assert hi > 255
    row = row_with(soup, img16.mode, str(np.array(img16).dtype))
    assert f"{lo}, {hi}" in row
    img_f = Image.fromarray(gray.astype(np.float32) / 127.5 - 1)
    assert f"{img_f.getextrema()[0]:.6g}" in " ".join(row_with(soup, "F", "float32"))


def test_totensor_keeps_integer_pil_modes(soup, photo):
    gray = np.array(photo.convert("L"))
    for img in (Image.fromarray(gray.astype(np.uint16) * 257), Image.fromarray((gray.astype(np.int32) - 128) * 100)):
        out = to_tensor(img)
        assert not out.is_floating_point()
        row = row_with(soup, img.mode, f"({', '.join(map(str, out.shape))})", str(out.dtype))
        assert f"{out.max().item():.6g}" in row


def test_i16_wraps_to_negative(text, photo):
    gray = np.array(photo.convert("L"))
    raw = gray.astype(np.uint16) * 257
    out = to_tensor(Image.fromarray(raw))
    brightest = np.unravel_index(raw.argmax(), raw.shape)
    value = out[(0, *brightest)].item()
    assert raw[brightest] == 65535 and value < 0
    assert f"{value} ({out.dtype})" in text
    share = (out < 0).float().mean().item()
    assert f"{share:.1%}" in text


def test_numpy_table(soup, photo):
    pixels = np.array(photo)
    cases = [
        pixels,
        pixels.astype(np.float32),
        pixels / 255,
        pixels.astype(np.int32),
        pixels.astype(np.int64),
        pixels > 127,
    ]
    for arr in cases:
        out = to_tensor(arr)
        assert out.shape == (3, *arr.shape[:2])  # ndarrays are reordered to CHW as well
        found = [
            row
            for row in rows(soup)
            if row[0].replace(" ", "").startswith(f"{arr.dtype}(H,W,C)")
            and row[1:4] == [str(arr.shape), str(tuple(out.shape)), str(out.dtype)]
            and row[5] == f"{out.double().max().item():.6g}"
        ]
        assert len(found) == 1, (arr.dtype, found)
        divided = ["是", "是"] if arr.dtype == np.uint8 else ["是", "否"]
        assert found[0][-2:] == divided, found[0]
    chw = pixels.transpose(2, 0, 1).copy()
    assert [str(chw.shape), str(tuple(to_tensor(chw).shape))] in [row[1:3] for row in rows(soup)]


def test_normalized_range_and_clipping_log(text, photo):
    x_norm = transforms.Normalize(MEAN, STD)(to_tensor(photo))
    assert f"[{x_norm.min().item():.4f}, {x_norm.max().item():.4f}]" in text
    message = clipping_message(x_norm.permute(1, 2, 0).numpy())
    assert message.startswith("Clipping input data")
    assert message in text
    assert "'matplotlib.image'" in text


def test_chw_tensor_error(text, photo):
    x_norm = transforms.Normalize(MEAN, STD)(to_tensor(photo))
    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError) as error:
            ax.imshow(x_norm)
    plt.close(fig)
    assert f"TypeError: {error.value}" in text


def test_recipe_round_trip(text, photo):
    x = to_tensor(photo)
    x_norm = transforms.Normalize(MEAN, STD)(x)
    restored = (x_norm * torch.tensor(STD).view(3, 1, 1) + torch.tensor(MEAN).view(3, 1, 1)).clamp(0, 1)
    restored = restored.permute(1, 2, 0).numpy()
    error = np.abs(restored - x.permute(1, 2, 0).numpy()).max()
    assert error < 1e-6
    assert f"{error:.2e}" in text
    assert f"shape={restored.shape}" in text
    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert f"设备 {device} 上" in text


def test_figures(soup):
    figures = soup.select("article img.figure")
    assert len(figures) == 2
    total = 0
    for img in figures:
        mime, raw = figure_bytes(img)
        total += len(raw)
        assert raw.startswith(b"\x89PNG\r\n\x1a\n") if mime == "png" else b"<svg" in raw[:500]
        assert 20_000 < len(raw) < 250_000, len(raw)
        assert img["alt"]
    assert total < 300_000


def test_corrections_follow_their_evidence(soup):
    warnings_ = [
        box
        for box in soup.select("article .admonition.warning")
        if "实测勘误" in box.select_one(".admonition-title").text
    ]
    assert len(warnings_) == 3
    # each correction comes right after the output that proves it: the 16-bit PIL image (numpy dtype uint16),
    # ToTensor keeping it an integer tensor, and ToTensor keeping a float64 array float64
    evidence = [
        str(np.array(Image.fromarray(np.zeros((2, 2), np.uint16))).dtype),
        str(to_tensor(Image.fromarray(np.zeros((2, 2), np.uint16))).dtype),
        str(to_tensor(np.zeros((2, 2, 3))).dtype),
    ]
    for box, value in zip(warnings_, evidence, strict=True):
        previous = box.find_previous(class_="result")
        assert value in previous.get_text(), (value, previous.get_text()[:200])
