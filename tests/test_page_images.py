"""images/plotting: the built page shows what PIL, ToTensor() and plt.imshow really do (values recomputed here)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import Image
from torchvision import transforms

from conftest import figure_bytes, outputs, page

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
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return Image.open(path).convert("RGB").resize((128, 150))


def rows(soup) -> list[list[str]]:
    """Every row of every table printed by the page's code (tables inside executed results only)."""
    return [
        [cell.get_text(strip=True) for cell in tr.find_all(["td", "th"])]
        for tr in soup.select("article .result table tr")
    ]


def row_with(soup, first: str, width: int) -> list[str]:
    """The one row of a `width`-column table that starts with `first`."""
    found = [row for row in rows(soup) if len(row) == width and row[0] == first]
    assert len(found) == 1, (first, found)
    return found[0]


def test_the_recipe_comes_first_and_round_trips(soup, text, photo):
    """The first executed block is the note's recipe; its printed ranges are the ones torch gives here."""
    x = transforms.Normalize(MEAN, STD)(to_tensor(photo))
    first = soup.select("article .result")[0].get_text()
    assert f"shape={tuple(x.shape)}" in first
    assert f"范围 [{x.min():.2f}, {x.max():.2f}]" in first
    restored = (x * torch.tensor(STD).view(3, 1, 1) + torch.tensor(MEAN).view(3, 1, 1)).clamp(0, 1)
    restored = restored.permute(1, 2, 0).numpy()
    assert f"shape={restored.shape}" in first
    assert np.array_equal((restored * 255).round().astype(np.uint8), np.array(photo))
    # the first heading comes after the recipe and its figure: the note's point is on the first screen
    heading = soup.select_one("article h2")
    assert heading.find_previous(class_="result") is not None
    assert heading.find_previous("img", class_="figure") is not None


def test_pil_modes_table(soup, photo):
    gray = np.array(photo.convert("L"))
    sixteen = Image.fromarray(gray.astype(np.uint16) * 257)
    assert row_with(soup, "16 位 PNG 那样", 4)[1:3] == [sixteen.mode, np.array(sixteen).dtype.name]
    binary = photo.convert("1")
    assert row_with(soup, '.convert("1")', 4)[1:4] == ["1", "bool", str(binary.getextrema())]


def test_numpy_table(soup, photo):
    pixels = np.array(photo)
    for label, array in [
        ("float32，[0, 255]", pixels.astype(np.float32)),
        ("float64，[0, 1]", pixels / 255),
        ("int64，[0, 255]", pixels.astype(np.int64)),
        ("uint8，已是 (C, H, W)", pixels.transpose(2, 0, 1).copy()),
    ]:
        out = to_tensor(array)
        assert row_with(soup, label, 5)[2:5] == [str(tuple(out.shape)), str(out.dtype), f"{out.max().item():g}"]


def test_i16_wraps_to_negative(text, photo):
    gray = np.array(photo.convert("L"))
    wrapped = to_tensor(Image.fromarray(gray.astype(np.uint16) * 257))
    assert f"ToTensor 之后的范围 [{wrapped.min()}, {wrapped.max()}]" in text
    assert wrapped.min() < 0


def test_tensor_errors_are_printed(text, photo):
    x = transforms.Normalize(MEAN, STD)(to_tensor(photo))
    with pytest.raises(RuntimeError) as needs_grad:
        x.permute(1, 2, 0).clone().requires_grad_().numpy()
    assert str(needs_grad.value) in text
    assert f"Invalid shape {tuple(x.shape)} for image data" in text


def test_figures_come_in_two_variants(soup):
    figures = soup.select("article img.figure")
    assert len(figures) == 4  # two figures, a light and a dark variant each
    for light, dark in zip(figures[::2], figures[1::2], strict=True):
        assert light["src"].endswith("#only-light") and dark["src"].endswith("#only-dark")
        assert light["alt"] == dark["alt"] and len(light["alt"]) >= 20
        kinds = {figure_bytes(img)[0] for img in (light, dark)}
        assert kinds == {"webp"}  # photos: WebP at 2x
        raw_light, raw_dark = figure_bytes(light)[1], figure_bytes(dark)[1]
        assert raw_light != raw_dark and raw_light[8:12] == b"WEBP"
        with Image.open(io.BytesIO(raw_light)) as image:
            assert image.width >= 2 * int(light["width"]) - 1  # 2 image pixels per CSS pixel


def test_corrections_and_supplements(soup):
    titles = [
        box.select_one(".admonition-title, summary").get_text()
        for box in soup.select("article .admonition, article details")
    ]
    corrections = [t for t in titles if "实测勘误" in t]
    assert len(corrections) == 1 and "torch 2.3" in corrections[0]
    assert sum("补充" in t for t in titles) >= 4
    assert any("本页如何自证" in t for t in titles)
    # the correction follows the table it rests on (float64 stays float64)
    box = next(b for b in soup.select("article .admonition.warning") if "实测勘误" in b.get_text())
    assert str(to_tensor(np.zeros((2, 2, 3))).dtype) in box.find_previous(class_="result").get_text()
