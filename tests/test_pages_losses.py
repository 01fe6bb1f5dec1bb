"""Page losses/cross-entropy: the built HTML holds what torch really does.

Every expected value below is computed here, by running torch in the test, and then looked up in the
outputs that the build executed; nothing is copied from the Markdown source.
"""

from __future__ import annotations

import math
import re
import struct

import torch
import torch.nn.functional as F
from page_checks import assert_reads_as_a_lesson, corrections, result_tables, self_check, supplements
from torch import nn

from conftest import figure_bytes, outputs, page

LOSS = "losses/cross-entropy"
BOUND = math.log(1 + 2 / math.e)  # K = 3


def value_after(text: str, label: str) -> str:
    """The value printed as `label = value` (the first one)."""
    match = re.search(re.escape(label) + r"\s*=\s*(\S+)", text)
    assert match, f"no '{label} = ...' in the outputs"
    return match[1]


def test_page_reads_as_a_lesson(site):
    soup = page(site, LOSS)
    assert_reads_as_a_lesson(soup)
    assert "本页的全部断言成立。" in self_check(soup).select_one(".result").get_text()
    assert len(corrections(soup)) == 1  # the class name
    assert len(supplements(soup)) == 1  # log_softmax


def test_cross_entropy_class_name(site):
    soup = page(site, LOSS)
    text = outputs(soup)
    assert value_after(text, 'hasattr(nn, "CrossEntropy")') == str(hasattr(nn, "CrossEntropy"))
    assert value_after(text, 'hasattr(nn, "CrossEntropyLoss")') == str(hasattr(nn, "CrossEntropyLoss"))
    try:
        nn.CrossEntropy()
    except AttributeError as error:
        message = f"AttributeError: {error}"
    assert message in text
    # the correction follows the output that proves it
    evidence = corrections(soup)[0].find_previous("div", class_="result").get_text()
    assert message in evidence


def test_cross_entropy_is_nll_of_log_softmax(site):
    text = outputs(page(site, LOSS))
    torch.manual_seed(0)
    logits = torch.randn(4, 3)
    target = torch.tensor([0, 2, 1, 2])
    ce = nn.CrossEntropyLoss()(logits, target)
    assert torch.allclose(ce, F.nll_loss(F.log_softmax(logits, dim=1), target))
    assert text.count(f"= {ce.item():.6f}") == 4  # the four ways to compute it print the same number


def test_log_softmax_is_stable(site):
    soup = page(site, LOSS)
    extreme, label = torch.tensor([[0.0, 200.0]]), torch.tensor([0])
    p0 = torch.softmax(extreme, dim=1)[0, 0]
    naive = -torch.log(p0).item()
    builtin = nn.CrossEntropyLoss()(extreme, label).item()
    evidence = " ".join(node.get_text() for node in supplements(soup)[0].select(".result"))
    assert f"p_0 = {p0.item()}" in evidence
    assert f"= {naive}" in evidence and f"= {builtin}" in evidence
    assert math.isinf(naive) and math.isfinite(builtin)


def test_loss_floor(site):
    text = outputs(page(site, LOSS))
    at_best = nn.CrossEntropyLoss()(torch.eye(3), torch.arange(3)).item()
    assert math.isclose(at_best, BOUND, rel_tol=1e-6)
    assert f"p 恰为 one-hot 时的 loss = {at_best:.6f}" in text
    assert f"下界 log(1 + (K-1)/e) = {BOUND:.6f}" in text
    assert float(value_after(text, "最小 loss")) >= round(BOUND, 6) - 1e-6


def test_training_table_respects_the_floor(site):
    soup = page(site, LOSS)
    header, *rows = result_tables(soup)[0]
    assert header == ["优化器", "网络输出", "最终 loss", "准确率", "平均梯度范数"]
    assert len(rows) == 4
    with_softmax = [row for row in rows if "Softmax" in row[1]]
    plain = [row for row in rows if "Softmax" not in row[1]]
    assert len(with_softmax) == len(plain) == 2
    assert all(float(row[2]) > BOUND for row in with_softmax)
    assert all(float(row[2]) < BOUND for row in plain)
    for extra, direct in zip(with_softmax, plain, strict=True):
        assert extra[0] == direct[0] and float(extra[4]) < float(direct[4])
    assert f"下界 -log(e/(e+K-1)) = {BOUND:.4f}" in outputs(soup).replace("`", "")


def test_softmax_jacobian_bound(site):
    text = outputs(page(site, LOSS))
    torch.manual_seed(0)
    points = 3 * torch.randn(200, 3)
    largest = max(
        torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), v).abs().max().item() for v in points
    )
    assert largest <= 0.25
    assert f"（200 个随机点）：{largest:.4f}" in text


def test_loss_figure_is_a_real_image(site):
    soup = page(site, LOSS)
    images = soup.select('article img.figure:not([data-gallery="dark"])')
    assert len(images) == 1
    mime, data = figure_bytes(images[0])
    assert len(data) > 10_000
    if mime == "png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert 400 <= width <= 2000 and 200 <= height <= 1200
    else:
        assert data.lstrip().startswith(b"<?xml") and b"<svg" in data[:2000]
    assert images[0].get("alt")
