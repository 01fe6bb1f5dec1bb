"""The tensor-basics pages and the PyCharm page: every table and value on them matches what torch does now.

Each test recomputes, with torch in this process, what a page's executed output must show, then finds it
in the built HTML (the `site` fixture: a strict build of the whole site with an empty execution cache).
Nothing here is compared with text copied from the Markdown sources.
"""

from __future__ import annotations

import re
import struct
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from page_checks import assert_reads_as_a_lesson, corrections, result_tables, supplements

from conftest import figure_bytes, outputs, page

TENSOR_BASICS = [
    "tensor-basics/default-dtypes",
    "tensor-basics/multiplication",
    "tensor-basics/rand-shapes",
    "tensor-basics/shape-vs-size",
]


# -- helpers -----------------------------------------------------------------------------------------
def shape_or_cross(compute) -> str:
    """The cell format of the shape tables: the result shape, or ✗ when torch raises RuntimeError."""
    try:
        return str(tuple(compute().shape))
    except RuntimeError:
        return "✗"


def figures(soup) -> list[bytes]:
    """Decoded images printed by the shared `show` helper."""
    images = soup.select('article img.figure:not([data-gallery="dark"])')
    decoded = []
    for image in images:
        assert image.get("alt"), "a figure needs alternative text"
        decoded.append(figure_bytes(image)[1])
    return decoded


@pytest.mark.parametrize("name", TENSOR_BASICS)
def test_page_reads_as_a_lesson(site, name):
    assert_reads_as_a_lesson(page(site, name))


# -- tensor-basics/default-dtypes ----------------------------------------------------------------------
NUMPY_NAMES = {
    "torch": torch,
    "np": np,
    "ints": np.array([1, 2, 3]),
    "floats": np.array([1.0, 2.0, 3.0]),
    "floats32": np.array([1.0, 2.0], dtype=np.float32),
}


def test_default_dtypes_tables_match_torch(site):
    soup = page(site, "tensor-basics/default-dtypes")
    tables = result_tables(soup)
    assert len(tables) == 5, [t[0] for t in tables]
    checked = 0
    for index, (header, *rows) in enumerate(tables):
        assert header == ["表达式", "dtype"] and rows
        previous = torch.get_default_dtype()
        if index == len(tables) - 1:  # the last table is printed under set_default_dtype(torch.float64)
            torch.set_default_dtype(torch.float64)
        try:
            for expression, shown in rows:
                assert shown == str(eval(expression, dict(NUMPY_NAMES)).dtype), (expression, shown)  # noqa: S307
                checked += 1
        finally:
            torch.set_default_dtype(previous)
    assert checked == 46
    rows = {expression: shown for table in tables[:-1] for expression, shown in table[1:]}
    # the rows the prose builds on, with the dtype torch gives in this process
    assert rows["torch.tensor(floats)"] == str(torch.tensor(np.array([1.0, 2.0])).dtype) == "torch.float64"
    assert rows["torch.tensor(True)"] == str(torch.tensor(True).dtype)
    assert rows["torch.tensor(1 + 2j)"] == str(torch.tensor(1 + 2j).dtype)
    # a 0-dim float64 tensor does not promote a float32 tensor; a 1-dim one does
    zero_dim = torch.ones(2) + torch.tensor(1.0, dtype=torch.float64)
    one_dim = torch.ones(2) + torch.ones(2, dtype=torch.float64)
    assert rows["torch.ones(2) + torch.tensor(1.0, dtype=torch.float64)"] == str(zero_dim.dtype) == "torch.float32"
    assert rows["torch.ones(2) + torch.ones(2, dtype=torch.float64)"] == str(one_dim.dtype) == "torch.float64"


def test_default_dtypes_outputs_and_supplements(site):
    soup = page(site, "tensor-basics/default-dtypes")
    text = outputs(soup)
    assert str(torch.get_default_dtype()) in text.split("\n")
    layer = torch.nn.Linear(3, 1)
    with pytest.raises(RuntimeError) as mismatch:
        layer(torch.from_numpy(np.array([[1.0, 2.0, 3.0]])))
    assert f"RuntimeError: {mismatch.value}" in text
    with pytest.raises(TypeError) as integer_default:
        torch.set_default_dtype(torch.int32)
    assert f"TypeError: {integer_default.value}" in text
    assert f"ints.dtype = {np.array([1]).dtype}" in text
    # bool/complex and NumPy arrays are things the note did not claim: supplements, not corrections
    assert len(corrections(soup)) == 0
    assert len(supplements(soup)) == 2


# -- tensor-basics/multiplication ----------------------------------------------------------------------
OPERATIONS = {
    "*": lambda a, b: a * b,
    "torch.mul": torch.mul,
    "@": lambda a, b: a @ b,
    "torch.matmul": torch.matmul,
    "torch.dot": torch.dot,
}
NOTE_TABLE = {  # the author's table of ticks, as the claim under test
    "*": ["√", "", ""],
    "torch.mul": ["√", "", ""],
    "@": ["", "√", "√"],
    "torch.matmul": ["", "√", "√"],
    "torch.dot": ["", "", "√"],
}


def counting(*shape: int) -> torch.Tensor:
    return torch.arange(1.0, int(np.prod(shape)) + 1).reshape(shape)


def test_multiplication_shape_table_is_what_torch_does(site):
    header, *rows = result_tables(page(site, "tensor-basics/multiplication"))[0]
    assert header[1:] == list(OPERATIONS)
    assert len(rows) == 8
    dims = set()
    for label, *cells in rows:
        left, right = (tuple(int(n) for n in re.findall(r"\d+", part)) for part in label.split("×"))
        dims.add((len(left), len(right)))
        expected = [shape_or_cross(lambda op=op: op(counting(*left), counting(*right))) for op in OPERATIONS.values()]
        assert cells == expected, label
    assert {(1, 1), (2, 2), (1, 2), (2, 1)} <= dims  # 1-D×1-D, 2-D×2-D and both mixed orders were run


def test_multiplication_derived_columns_equal_the_note(site):
    header, *rows = result_tables(page(site, "tensor-basics/multiplication"))[1]
    assert header[1:] == ["对位乘", "矩阵乘", "内积"]
    derived = {row[0]: row[1:] for row in rows}
    assert list(derived) == list(OPERATIONS)
    a2, b2 = counting(2, 2), counting(2, 2)
    a23, b32 = counting(2, 3), counting(3, 2)
    v = counting(3)

    def same(compute, expected):
        try:
            return np.array_equal(compute().numpy(), expected)
        except RuntimeError:
            return False

    for name, operation in OPERATIONS.items():
        expected = [
            same(lambda: operation(a23, a23), np.multiply(a23.numpy(), a23.numpy()))
            and same(lambda: operation(a2, b2), np.multiply(a2.numpy(), b2.numpy())),
            same(lambda: operation(a23, b32), np.matmul(a23.numpy(), b32.numpy()))
            and same(lambda: operation(a2, b2), np.matmul(a2.numpy(), b2.numpy())),
            same(lambda: operation(v, v), np.array(np.dot(v.numpy(), v.numpy()))),
        ]
        assert derived[name] == ["√" if flag else "" for flag in expected], name
        assert derived[name] == NOTE_TABLE[name], name  # the note's table holds, cell by cell


def test_multiplication_values_and_errors(site):
    text = outputs(page(site, "tensor-basics/multiplication"))
    r = counting(2, 2)
    assert f"r1 * r2 =\n{r * r}" in text and f"r1 @ r2 =\n{r @ r}" in text
    matrix, vector = counting(2, 3), torch.tensor([1.0, 10.0, 100.0])
    assert f"matrix * vector =\n{matrix * vector}" in text
    assert f"matrix @ vector = {matrix @ vector}" in text
    assert f"(ints * floats).dtype = {(torch.arange(3) * torch.ones(3)).dtype}" in text
    with pytest.raises(RuntimeError) as mixed:
        torch.dot(torch.arange(3), torch.ones(3))
    assert str(mixed.value) in text
    with pytest.raises(RuntimeError) as matrices:
        torch.dot(r, r)
    assert str(matrices.value) in text
    assert str(np.dot(r.numpy(), r.numpy())) in text


# -- tensor-basics/rand-shapes -------------------------------------------------------------------------
RAND = {"rand(n)": (3,), "rand(1, n)": (1, 3), "rand(n, 1)": (3, 1)}


def test_rand_shapes_pair_tables(site):
    tables = result_tables(page(site, "tensor-basics/rand-shapes"))
    assert len(tables) == 3
    for table, operation in zip(tables, [lambda a, b: a @ b, lambda a, b: a + b, lambda a, b: a * b], strict=True):
        header, *rows = table
        assert header[1:] == list(RAND)
        assert len(rows) == 3
        for left, *cells in rows:
            expected = [
                shape_or_cross(lambda r=right: operation(torch.rand(RAND[left]), torch.rand(RAND[r]))) for right in RAND
            ]
            assert cells == expected, (header[0], left)
    # the pitfall of the page: rand(n) + rand(n, 1) is n × n
    assert tables[1][1][3] == str(tuple((torch.rand(3) + torch.rand(3, 1)).shape)) == "(3, 3)"


def test_rand_shapes_outputs_and_figure(site):
    soup = page(site, "tensor-basics/rand-shapes")
    text = outputs(soup)
    flat = " ".join(text.split())  # warnings are wrapped to the column
    for name, shape in RAND.items():
        tensor = torch.rand(shape)
        assert f"torch.{name}: shape={tuple(tensor.shape)}, ndim={tensor.ndim}" in text
    prediction, target = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([1.0, 2.0, 3.0])
    assert f"手写 MSE：{((prediction - target) ** 2).mean().item():.4f}" in text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        library = F.mse_loss(prediction, target)
        transposed = torch.rand(3).T
    assert f"F.mse_loss：{library.item():.4f}" in text
    assert f"UserWarning: {' '.join(str(caught[0].message).split())}" in flat
    assert f"UserWarning: {' '.join(str(caught[1].message).split('. ')[0].split())}." in flat
    assert f"vector.T.shape = {tuple(transposed.shape)}" in text
    images = figures(soup)
    assert len(images) == 1
    data = images[0]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        width, height = struct.unpack(">II", data[16:24])
        assert 300 <= width <= 1600 and 150 <= height <= 1000, (width, height)
    else:
        assert (data.lstrip().startswith((b"<?xml", b"<svg")) and b"</svg>" in data) or (
            data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        )
    assert len(data) > 5_000


# -- tensor-basics/shape-vs-size -----------------------------------------------------------------------
FORGOTTEN = [
    "x.size == (2, 3)",
    "bool(x.size)",
    "x.size[0]",
    "len(x.size)",
    "rows, cols = x.size",
    "torch.zeros(x.size)",
    "x.shape(0)",
]


def forgotten_outcome(statement: str, x: torch.Tensor) -> str:
    scope = {"x": x, "torch": torch}
    try:
        exec(f"value = {statement}", scope)  # noqa: S102
    except TypeError as error:
        return f"TypeError: {error}"
    return repr(scope["value"])


def test_shape_vs_size_outputs(site):
    text = outputs(page(site, "tensor-basics/shape-vs-size"))
    x = torch.zeros(2, 3)
    assert f"x.shape  = {x.shape}" in text and f"x.size() = {x.size()}" in text
    assert f"torch.Size 的父类：{torch.Size.__mro__[1].__name__}" in text
    assert f"x.shape == (2, 3)   : {x.shape == (2, 3)}" in text
    assert f"x.shape == [2, 3]   : {x.shape == [2, 3]}" in text
    assert f"x.size(-1) = {x.size(-1)}" in text
    assert f"type(x.size) = {type(x.size).__name__}" in text
    for attempt in [lambda: x.size(2), lambda: x.shape[2]]:
        with pytest.raises(IndexError) as error:
            attempt()
        assert f"IndexError: {error.value}" in " ".join(text.split())  # wrapped to the column
    assert not re.search(r"0x[0-9a-fA-F]{4,}", text), "a memory address was published"
    assert f"a.size = {np.zeros((2, 3)).size}" in text


def test_shape_vs_size_forgotten_parentheses(site):
    soup = page(site, "tensor-basics/shape-vs-size")
    header, *rows = result_tables(soup)[0]
    assert header == ["写法", "结果"]
    x = torch.zeros(2, 3)
    expected = {statement: forgotten_outcome(statement, x) for statement in FORGOTTEN}
    assert dict(rows) == expected
    # the prose's count: how many raise at once, how many fail silently, as execution printed it
    raised = sum(outcome.startswith("TypeError") for outcome in expected.values())
    assert raised == 5
    text = outputs(soup)
    assert (
        f"{len(FORGOTTEN)} 种写法中，立刻报错的 {raised} 种，不报错、悄悄得到错误结果的 {len(FORGOTTEN) - raised} 种。"
        in text
    )


# -- tools/pycharm-np-array ----------------------------------------------------------------------------
def test_pycharm_table_is_what_numpy_does(site):
    """The page's one table (tensor kinds x conversions), recomputed here with torch and NumPy."""
    layer = torch.nn.Linear(3, 2)
    z = torch.tensor([1 + 2j, 3 - 4j])
    cases = {
        "普通张量": torch.rand(2, 3),
        "网络参数 layer.weight": layer.weight,
        "中间结果 layer.weight * 2": layer.weight * 2,
        "转置 .T（非连续）": torch.rand(2, 3).T,
        "bfloat16": torch.tensor([0.1, 0.2, 0.3], dtype=torch.bfloat16),
        "复数的共轭 z.conj()": z.conj(),
    }
    ways = {
        "np.array(t)": np.array,
        "t.detach().cpu().numpy()": lambda t: t.detach().cpu().numpy(),
        "t.numpy(force=True)": lambda t: t.numpy(force=True),
    }

    def attempt(way, t) -> str:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return f"✓ {way(t).dtype}"
        except (RuntimeError, TypeError) as error:
            return f"✗ {type(error).__name__}"

    tables = result_tables(page(site, "tools/pycharm-np-array"))
    assert len(tables) >= 1
    header, *rows = tables[0]
    assert header == ["张量", *ways]
    assert rows == [[name, *(attempt(way, t) for way in ways.values())] for name, t in cases.items()]
    # the page's point: the everyday conversion never fails where the note's np.array(t) does
    assert any(row[1].startswith("✗") and row[2].startswith("✓") for row in rows)
