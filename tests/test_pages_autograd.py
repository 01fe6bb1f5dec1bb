"""The three autograd pages: every value checked here is recomputed by the test with torch, then looked up in the
built HTML (the executed outputs), so a page that stops executing, or a PyTorch whose behaviour changes, fails."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import ROOT, figure_bytes, outputs, page

PAGES = ("autograd/tensor-attributes", "autograd/custom-function", "autograd/abs-subgradient")


# -- helpers ---------------------------------------------------------------------------------------------
def result_tables(soup) -> list[list[list[str]]]:
    """Tables printed by the code (inside executed results), as rows of cell texts (header row first)."""
    tables = [
        [[cell.get_text(strip=True) for cell in row.select("th, td")] for row in table.select("tr")]
        for table in soup.select("article .result table")
    ]
    assert tables, "no executed table on the page"
    return tables


def rows_by_first_cell(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table[1:]}


def corrections(soup) -> list:
    return [
        a
        for a in soup.select("article .admonition.warning")
        if a.select_one(".admonition-title").get_text(strip=True) == "实测勘误"
    ]


def figures(soup) -> list[bytes]:
    """Decoded images printed by show(): each must be a real PNG or SVG of plausible size."""
    decoded = []
    for img in soup.select("article img.figure"):
        kind, data = figure_bytes(img)
        if kind == "png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
        else:
            assert b"<svg" in data[:500]
        assert 5_000 < len(data) < 400_000, len(data)
        assert img.get("alt"), "a figure needs alternative text"
        decoded.append(data)
    return decoded


def number(text: str) -> float:
    return float(text.strip("`*"))


@pytest.mark.parametrize(("name", "count"), [(PAGES[0], 4), (PAGES[1], 1), (PAGES[2], 1)])
def test_each_correction_sits_in_a_section_with_executed_evidence(site, name, count):
    found = corrections(page(site, name))
    assert len(found) == count
    for admonition in found:
        evidence = []
        for sibling in admonition.find_previous_siblings():
            if sibling.name == "h2":
                break
            evidence += (
                sibling.select(".result")
                if sibling.name != "div" or "result" not in sibling.get("class", [])
                else [sibling]
            )
        assert any(e.get_text(strip=True) for e in evidence), admonition.get_text()[:80]


# -- every snippet runs as a plain script, warning-free ----------------------------------------------------
@pytest.mark.parametrize("name", PAGES)
def test_snippet_runs_standalone_without_warnings(name):
    script = ROOT / "snippets" / f"{name}.py"
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    assert done.stdout.strip()


# -- page 1: tensor attributes ------------------------------------------------------------------------------
def test_requires_grad_defaults_and_propagation(site):
    soup = page(site, "autograd/tensor-attributes")
    text = outputs(soup)
    layer = nn.Linear(3, 2)
    assert f"torch.ones(2)            requires_grad = {torch.ones(2).requires_grad}" in text
    assert f"nn.Linear(3, 2).weight   requires_grad = {layer.weight.requires_grad}" in text
    with pytest.raises(RuntimeError) as error:
        torch.tensor([1, 2], requires_grad=True)
    assert str(error.value) in text

    table = rows_by_first_cell(result_tables(soup)[0])
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    with torch.no_grad():
        no_grad = w * x
    expected = {
        "x * 2": x * 2,
        "w * x": w * x,
        "w.detach() * x": w.detach() * x,
        "w * x（在 torch.no_grad() 中）": no_grad,
        "w > 0": w > 0,
        "w.argmax()": w.argmax(),
    }
    assert len(table) == 9
    for expr, t in expected.items():
        _, requires_grad, is_leaf, dtype = table[expr]
        assert (requires_grad, is_leaf, dtype) == (str(t.requires_grad), str(t.is_leaf), str(t.dtype)), expr


def test_is_leaf_rule_is_printed_from_execution(site):
    text = outputs(page(site, "autograd/tensor-attributes"))
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    assert f"用户直接创建 x: is_leaf = {x.is_leaf}, requires_grad = {x.requires_grad}" in text
    assert f"用户直接创建 w: is_leaf = {w.is_leaf}, requires_grad = {w.requires_grad}" in text
    assert re.search(r"对上面 \d+ 个张量：is_leaf == \(not requires_grad or grad_fn is None\) 全部成立：True", text)


def test_grad_table_matches_a_backward_run_by_the_test(site):
    soup = page(site, "autograd/tensor-attributes")
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    s = x * 2
    h = w * x
    r = w * x
    r.retain_grad()
    seen = []
    h.register_hook(seen.append)
    (h * s + r).sum().backward()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert h.grad is None
    category = record[0].category.__name__

    tables = result_tables(soup)
    grad_rows = [row for row in tables[1][1:]]
    assert len(grad_rows) == 5
    by_leaf_and_rg = {(row[1], row[2]): row for row in grad_rows}
    leaf_row = next(row for row in grad_rows if row[1:3] == ["True", "True"])
    assert leaf_row[3] == leaf_row[4] == str(w.grad.tolist())
    hidden, retained = (row for row in grad_rows if row[1:3] == ["True", "False"])
    assert hidden[3:] == [str(seen[0].tolist()), "None"]
    assert retained[3:] == [str(r.grad.tolist()), str(r.grad.tolist())]
    assert all(row[4] == "None" for row in grad_rows if row[1] == "False")
    assert ("False", "False") not in by_leaf_and_rg  # no tensor is non-leaf without requires_grad

    # the 2x2 comparison: three cells agree, the (False, False) cell does not exist
    compare = tables[2]
    verdicts = {(row[0], row[1]): row[4] for row in compare[1:]}
    assert len(verdicts) == 4
    agreeing = [cell for cell, verdict in verdicts.items() if verdict == "一致"]
    assert sorted(agreeing) == [("False", "True"), ("True", "False"), ("True", "True")]
    assert re.search(r"两者都为\s*False\s*的有\s*0\s*个", " ".join(row[3] for row in compare[1:]))

    text = outputs(soup)
    assert f"读取 h.grad 时捕获的警告：['{category}']" in text
    assert f"{category}: {str(record[0].message).split('. ')[0]}. ..." in text


def test_accumulation_doubles_the_gradient(site):
    text = outputs(page(site, "autograd/tensor-attributes"))
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    loss = (w * x).sum()
    loss.backward(retain_graph=True)
    first = w.grad.clone()
    loss.backward()
    assert f"第一次 backward 后 w.grad = {first}" in text
    assert f"第二次 backward 后 w.grad = {w.grad}" in text
    assert torch.equal(w.grad, 2 * first)


def test_grad_fn_names_and_graph(site):
    soup = page(site, "autograd/tensor-attributes")
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    names = {
        "w * x": w * x,
        "w.sum()": w.sum(),
        "w.sum(dim=0)": w.sum(dim=0),
        "w.max(dim=0).values": w.max(dim=0).values,
    }
    table = rows_by_first_cell(result_tables(soup)[3])
    for expr, t in names.items():
        assert table[expr][0] == type(t.grad_fn).__name__, expr
    assert table["w.sum(dim=0)"][0] != table["w.sum()"][0]

    b = torch.tensor(0.5, requires_grad=True)
    y = (w * x + b).relu().sum()
    chain = []

    def walk(fn):
        chain.append("None" if fn is None else type(fn).__name__)
        for child, _ in fn.next_functions if fn is not None else ():
            walk(child)

    walk(y.grad_fn)
    block = next(r.get_text() for r in soup.select("article .result") if r.get_text().lstrip().startswith(chain[0]))
    printed = [re.split(r"[ （]", line.strip())[0] for line in block.strip().splitlines()]
    assert printed == chain
    text = outputs(soup)
    assert f"isinstance(grad_fn, torch.autograd.Function)   = {isinstance(y.grad_fn, torch.autograd.Function)}" in text

    assert len(figures(soup)) == 1
    assert len(corrections(soup)) == 4


# -- page 2: custom Function ----------------------------------------------------------------------------------
class MyExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        result = input.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


def test_builtin_nodes_are_called_to_get_input_grads(site):
    soup = page(site, "autograd/custom-function")
    text = outputs(soup)
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    y = w * x
    with torch.no_grad():
        grads = y.grad_fn(torch.ones_like(y))
    assert f"y.grad_fn(ones) = ({grads[0]}, {grads[1]})" in text
    assert (
        f"callable(node) = {callable(y.grad_fn)}, hasattr(node, 'backward') = {hasattr(y.grad_fn, 'backward')}" in text
    )
    assert f"type(y.grad_fn).__name__ = {type(y.grad_fn).__name__}" in text
    assert len(corrections(soup)) == 1


def test_custom_function_page_outputs(site):
    text = outputs(page(site, "autograd/custom-function"))
    t = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
    out = MyExp.apply(t)
    assert f"type(out.grad_fn).__name__ = {type(out.grad_fn).__name__}" in text  # MyExpBackward
    assert f"out = {out}" in text

    generator = torch.Generator().manual_seed(0)  # the page's session starts seeded with 0
    v = torch.randn(5, generator=generator)
    a = torch.randn(5, generator=generator)
    assert f"torch.exp 的梯度: {torch.exp(a) * v}" in text

    x64 = torch.randn(6, dtype=torch.double, requires_grad=True)
    assert f"gradcheck(MyExp.apply) = {torch.autograd.gradcheck(MyExp.apply, (x64,))}" in text
    assert "gradcheck(WrongExp.apply) = False" in text

    p = torch.tensor([0.2, 0.7, 1.4, 2.6], requires_grad=True)
    torch.round(p).sum().backward()
    assert f"torch.round 的梯度: {p.grad}" in text

    z = torch.tensor([0.0, 1.0, 2.0])
    with pytest.raises(RuntimeError) as error:
        torch.func.grad(lambda s: MyExp.apply(s).sum())(z)
    assert str(error.value).split(". ")[0] in text
    assert f"torch.func.grad(MyExp2) = {z.exp()}" in text


# -- page 3: abs subgradient ------------------------------------------------------------------------------------
def grad_at(f, point: float) -> float:
    t = torch.tensor(point, requires_grad=True)
    f(t).backward()
    return t.grad.item()


def test_abs_gradient_at_and_around_zero(site):
    soup = page(site, "autograd/abs-subgradient")
    text = outputs(soup)
    printed = {float(a): float(g) for a, g in re.findall(r"x =\s*(\S+)\s+d\|x\|/dx = (\S+)", text)}
    assert len(printed) == 5  # -0.0 and 0.0 are the same key
    for point, grad in printed.items():
        assert grad == grad_at(torch.abs, point), point
    assert printed[0.0] == 0.0
    assert len(figures(soup)) == 1
    assert soup.select("article .arithmatex"), "the LaTeX formulas are not processed"


def test_non_differentiable_points_table(site):
    soup = page(site, "autograd/abs-subgradient")
    scalar, vector = result_tables(soup)
    lo, hi = torch.tensor(0.0), torch.tensor(1.0)
    functions = {
        "torch.abs(x)": torch.abs,
        "torch.relu(x)": torch.relu,
        "F.leaky_relu(x)（斜率 0.01）": F.leaky_relu,
        "x.clamp(0, 1)": lambda t: t.clamp(0, 1),
        "x.clamp(lo, hi)（边界是张量）": lambda t: t.clamp(lo, hi),
        "F.hardtanh(x)": F.hardtanh,
        "torch.sqrt(x)": torch.sqrt,
        "torch.sign(x)": torch.sign,
        "torch.round(x)": torch.round,
        "torch.floor(x)": torch.floor,
    }
    rows = scalar[1:]
    assert len(rows) == 12
    for name, point, left, at, right in rows:
        f, x0 = functions[name], number(point)
        for shown, where in ((left, x0 - 1e-3), (at, x0), (right, x0 + 1e-3)):
            expected = grad_at(f, where)
            value = number(shown)
            assert (math.isnan(value) and math.isnan(expected)) or value == pytest.approx(expected, rel=1e-4), (
                name,
                where,
            )
    sqrt_row = next(row for row in rows if row[0] == "torch.sqrt(x)")
    assert number(sqrt_row[3]) == grad_at(torch.sqrt, 0.0) == math.inf

    table = rows_by_first_cell(vector)
    zero = torch.zeros(2, requires_grad=True)
    torch.linalg.vector_norm(zero).backward()
    assert table["torch.linalg.vector_norm(v)"][1] == str(zero.grad.tolist())
    zero = torch.zeros(2, requires_grad=True)
    zero.pow(2).sum().sqrt().backward()
    assert table["v.pow(2).sum().sqrt()（手写范数）"][1:] == [str(zero.grad.tolist()), "否"]
    ties = torch.tensor([1.0, 3.0, 3.0], requires_grad=True)
    ties.max().backward()
    assert table["v.max()"][1] == str(ties.grad.tolist())

    assert "nan" in outputs(soup).split("一步 SGD 之后 w = ")[-1]
    assert len(corrections(soup)) == 1
