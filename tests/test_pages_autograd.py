"""The three autograd pages: every value checked here is recomputed by the test with torch, then looked up in the
built HTML (the executed outputs), so a page that stops executing, or a PyTorch whose behaviour changes, fails."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
import torch.nn.functional as F
from page_checks import assert_reads_as_a_lesson, corrections, result_tables, supplements
from torch import nn

from conftest import figure_bytes, outputs, page

PAGES = ("autograd/tensor-attributes", "autograd/custom-function", "autograd/abs-subgradient")


# -- helpers ---------------------------------------------------------------------------------------------
def rows_by_first_cell(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table[1:]}


def figures(soup) -> list[bytes]:
    """Decoded images printed by show(): each must be a real PNG or SVG of plausible size."""
    decoded = []
    for img in soup.select('article img.figure:not([data-gallery="dark"])'):
        kind, data = figure_bytes(img)
        if kind == "png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
        else:
            assert b"<svg" in data[:500]
        assert 5_000 < len(data) < 400_000, len(data)
        assert img.get("alt"), "a figure needs alternative text"
        decoded.append(data)
    return decoded


def flat(text: str) -> str:
    """Outputs with wrapped lines joined: messages are wrapped to the column on the page."""
    return " ".join(text.split())


@pytest.mark.parametrize(("name", "fixes", "added"), [(PAGES[0], 1, 4), (PAGES[1], 0, 1), (PAGES[2], 0, 1)])
def test_page_reads_as_a_lesson(site, name, fixes, added):
    soup = page(site, name)
    assert_reads_as_a_lesson(soup)
    assert len(corrections(soup)) == fixes
    assert len(supplements(soup)) == added


# -- page 1: tensor attributes ------------------------------------------------------------------------------
def propagation_results() -> tuple[dict[str, torch.Tensor], nn.Linear]:
    layer = nn.Linear(3, 2)
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    results = {
        "x * 2": x * 2,
        "w * x": w * x,
        "((w * x).exp() + x).sum()": ((w * x).exp() + x).sum(),
        "layer(ones)": layer(torch.ones(3)),
        "w.detach() * x": w.detach() * x,
        "w > 0": w > 0,
        "w.argmax()": w.argmax(),
    }
    with torch.no_grad():
        results["w * x（no_grad 中）"] = w * x
        results["w[:1]（no_grad 中）"] = w[:1]
    with torch.inference_mode():
        results["w * x（inference_mode 中）"] = w * x
        results["w[:1]（inference_mode 中）"] = w[:1]
    return results, layer


def test_requires_grad_defaults_and_propagation(site):
    soup = page(site, "autograd/tensor-attributes")
    text = outputs(soup)
    results, layer = propagation_results()
    assert f"torch.ones(2).requires_grad = {torch.ones(2).requires_grad}" in text
    assert f"layer.weight.requires_grad = {layer.weight.requires_grad}" in text
    with pytest.raises(RuntimeError) as error:
        torch.tensor([1, 2], requires_grad=True)
    assert f"RuntimeError:\n  {error.value}" in text

    header, *rows = result_tables(soup)[0]
    assert header == ["结果", "requires_grad", "is_leaf", "dtype"]
    assert [row[0] for row in rows] == list(results)
    for name, requires_grad, is_leaf, dtype in rows:
        t = results[name]
        assert [requires_grad, is_leaf, dtype] == [str(t.requires_grad), str(t.is_leaf), str(t.dtype)[6:]], name
    # the supplement's claim: a view taken under no_grad keeps requires_grad=True, a computed result does not
    assert results["w[:1]（no_grad 中）"].requires_grad and not results["w * x（no_grad 中）"].requires_grad


def test_is_leaf_rule_is_printed_from_execution(site):
    text = outputs(page(site, "autograd/tensor-attributes"))
    results, layer = propagation_results()
    tensors = [torch.tensor([1.0], requires_grad=True), torch.tensor([1.0]), layer.weight, *results.values()]
    rule = all(t.is_leaf == (t.grad_fn is None) for t in tensors)
    assert f"以上 {len(tensors)} 个张量，is_leaf 都等于 grad_fn is None：{rule}" in text


def test_grad_table_matches_a_backward_run_by_the_test(site):
    soup = page(site, "autograd/tensor-attributes")
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    s = x * 2
    h = w * x
    r = w * x
    r.retain_grad()
    seen = {}
    for name, t in {"w": w, "h": h, "r": r}.items():
        t.register_hook(lambda grad, name=name: seen.setdefault(name, grad))
    (h * s + r).sum().backward()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        kept = {"w": w.grad, "h": h.grad, "r": r.grad, "x": x.grad, "s": s.grad}
    expected = {
        name: [
            str(t.requires_grad),
            str(t.is_leaf),
            str(seen[name].tolist()) if name in seen else "—",
            str(None if kept[name] is None else kept[name].tolist()),
        ]
        for name, t in {"w": w, "h": h, "r": r, "x": x, "s": s}.items()
    }
    assert rows_by_first_cell(result_tables(soup)[1]) == expected
    assert expected["h"][2:] == [str(s.tolist()), "None"]  # computed, not kept: the note's cell

    text = flat(outputs(soup))
    assert "h.grad = None" in text
    assert f"{record[0].category.__name__}: {str(record[0].message).split('. ')[0]}." in text


def test_accumulation_and_retain_graph(site):
    text = flat(outputs(page(site, "autograd/tensor-attributes")))
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    loss = (w * x).sum()
    loss.backward(retain_graph=True)
    assert f"第一次 backward 后 w.grad = {w.grad}" in text
    loss.backward()
    assert f"第二次 backward 后 w.grad = {w.grad}" in text
    with pytest.raises(RuntimeError) as third:
        loss.backward()
    assert f"第三次：RuntimeError: {str(third.value).split(' (or')[0]}" in text
    w.grad = None
    total = (w + x).sum()  # saves no tensors: a second backward needs no retain_graph
    total.backward()
    total.backward()
    assert f"(w + x).sum() 两次 backward 后 w.grad = {w.grad}" in text


def test_grad_fn_names_and_graph(site):
    soup = page(site, "autograd/tensor-attributes")
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    assert result_tables(soup)[2][0] == ["表达式", "grad_fn 的类名"]
    table = rows_by_first_cell(result_tables(soup)[2])
    assert len(table) == 9
    for expression, (shown,) in table.items():
        assert shown == type(eval(expression).grad_fn).__name__, expression  # noqa: S307
    assert table["w.sum(dim=0)"] != table["w.sum()"]  # the suffix is not always 0

    text = outputs(soup)
    node = (w * x).grad_fn
    assert f"(x * 2).grad_fn = {(x * 2).grad_fn}" in text
    assert f"type(node) = {type(node).__name__}" in text
    assert f"isinstance(node, Node) = {isinstance(node, torch.autograd.graph.Node)}" in text
    assert f"isinstance(node, Function) = {isinstance(node, torch.autograd.Function)}" in text

    b = torch.tensor(0.5, requires_grad=True)
    y = (w * x + b).relu().sum()
    lines = []

    def walk(fn, depth=0):
        name = "None" if fn is None else type(fn).__name__
        lines.append("    " * depth + name)
        for child, _ in fn.next_functions if fn is not None else ():
            walk(child, depth + 1)

    walk(y.grad_fn)
    block = next(r.get_text() for r in soup.select("article .result") if r.get_text().lstrip().startswith(lines[0]))
    printed = [line.split(" → ")[0].split("（")[0].rstrip() for line in block.strip("\n").splitlines()]
    assert printed == lines
    assert len(figures(soup)) == 1


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
    text = outputs(page(site, "autograd/custom-function"))
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    y = w * x
    e = w.exp()
    with torch.no_grad():
        grads = y.grad_fn(torch.ones_like(y))
        exp_grad = e.grad_fn(torch.ones(2))
    assert f"y.grad_fn(ones) = ({grads[0]}, {grads[1]})" in text
    assert f"e.grad_fn(ones) = {exp_grad}" in text
    assert f"type(y.grad_fn) = {type(y.grad_fn).__name__}" in text


def test_custom_function_page_outputs(site):
    text = outputs(page(site, "autograd/custom-function"))
    t = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
    out = MyExp.apply(t)
    assert f"type(out.grad_fn) = {type(out.grad_fn).__name__}" in text  # MyExpBackward
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
    assert textwrap.fill(f"RuntimeError: {str(error.value).split('. ')[0]}.", 72) in text
    assert f"torch.func.grad(MyExp2) = {z.exp()}" in text


FRESH = """
import torch

class Exp(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x.exp()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]

print(torch.func.grad(lambda s: Exp.apply(s).sum())(torch.zeros(2)))
"""


def test_first_torch_func_call_in_a_fresh_process(site):
    """What a new interpreter prints on the first torch.func call with a custom Function (torch 2.3 fails here)."""
    soup = page(site, "autograd/custom-function")
    run = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, timeout=300, check=False)
    expected = run.stdout.strip() or run.stderr.strip().splitlines()[-1]
    blocks = [r.get_text().strip() for r in soup.select("article .result") if r.find_parent("details") is None]
    assert expected in blocks


# -- page 3: abs subgradient ------------------------------------------------------------------------------------
def grad_at(f, point: float) -> float:
    t = torch.tensor(point, requires_grad=True)
    f(t).backward()
    return t.grad.item()


def test_abs_gradient_at_and_around_zero(site):
    soup = page(site, "autograd/abs-subgradient")
    text = outputs(soup)
    x = torch.tensor([-1.0, -0.5, -0.0, 0.0, 0.5, 1.0], requires_grad=True)
    torch.abs(x).sum().backward()
    for value, grad in zip(x.tolist(), x.grad.tolist(), strict=True):
        assert f"x = {value:5}   d|x|/dx = {grad}" in text
    assert len(figures(soup)) == 1
    assert soup.select("article .arithmatex"), "the LaTeX formulas are not processed"


def test_non_differentiable_points_table(site):
    soup = page(site, "autograd/abs-subgradient")
    scalar, vector = result_tables(soup)
    lo, hi = torch.tensor(0.0), torch.tensor(1.0)
    names = {"torch": torch, "F": F, "lo": lo, "hi": hi}
    rows = scalar[1:]
    assert len(rows) == 12
    for expression, point, *shown in rows:
        f = eval(f"lambda x: {expression}", dict(names))  # noqa: S307
        expected = [f"{grad_at(f, float(point) + d):g}" for d in (-1e-3, 0.0, 1e-3)]
        assert shown == expected, (expression, point)
    # clamp at its bounds: the value this torch gives is on the page (it differs between torch releases)
    clamp = [row for row in rows if row[0] == "x.clamp(0, 1)"]
    assert [row[3] for row in clamp] == [f"{grad_at(lambda t: t.clamp(0, 1), b):g}" for b in (0.0, 1.0)]
    assert next(row for row in rows if row[0] == "torch.sqrt(x)")[3] == f"{math.inf:g}"

    table = rows_by_first_cell(vector)
    assert len(table) == 10
    for expression, (values, shown) in table.items():
        t = torch.tensor(eval(values), requires_grad=True)  # noqa: S307
        eval(f"lambda v: {expression}", {"torch": torch})(t).backward()  # noqa: S307
        assert shown == str(t.grad.tolist()), expression
    assert table["v.pow(2).sum().sqrt()"][1] == "[nan, nan]"

    w = torch.zeros(2, requires_grad=True)
    (w.pow(2).sum().sqrt() + (w - 1).pow(2).sum()).backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
    assert f"一步 SGD 之后 w = {w}" in outputs(soup)
