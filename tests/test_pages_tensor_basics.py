"""The tensor-basics pages and the PyCharm page: every table and value on them matches what torch does now.

Each test recomputes, with torch in this process, what a page's executed output must show, then finds it
in the built HTML (the `site` fixture: a strict build of the whole site with an empty execution cache).
Nothing here is compared with text copied from the Markdown sources.
"""

from __future__ import annotations

import ast
import re
import struct
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import figure_bytes, outputs, page


# -- helpers -----------------------------------------------------------------------------------------
def result_tables(soup) -> list[list[list[str]]]:
    """Every table printed by executed code (inside markdown-exec result blocks), as rows of cell texts."""
    return [
        [[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])] for row in table.find_all("tr")]
        for table in soup.select("article .result table")
    ]


def corrections(soup) -> list:
    """The 实测勘误 admonitions of a page."""
    return [
        node
        for node in soup.select("article .admonition.warning")
        if node.select_one(".admonition-title").get_text(strip=True) == "实测勘误"
    ]


def shape_or_error(compute) -> str:
    """The same cell format the pages print: the result shape, or ✗ and the exception class."""
    try:
        return str(tuple(compute().shape))
    except Exception as error:  # noqa: BLE001
        return f"✗ {type(error).__name__}"


def figures(soup) -> list[bytes]:
    """Decoded images printed by the shared `show` helper."""
    images = soup.select("article img.figure")
    decoded = []
    for image in images:
        assert image.get("alt"), "a figure needs alternative text"
        decoded.append(figure_bytes(image)[1])
    return decoded


# -- tensor-basics/default-dtypes ----------------------------------------------------------------------
def test_default_dtypes_tables_match_torch(site):
    soup = page(site, "tensor-basics/default-dtypes")
    tables = result_tables(soup)
    assert len(tables) == 5, [t[0] for t in tables]
    namespace = {
        "torch": torch,
        "np": np,
        "ints": np.array([1, 2, 3]),
        "floats": np.array([1.0, 2.0, 3.0]),
        "floats32": np.array([1.0, 2.0], dtype=np.float32),
    }
    checked = 0
    for index, table in enumerate(tables):
        header, *rows = table
        assert len(header) == 2 and rows
        previous = torch.get_default_dtype()
        if index == len(tables) - 1:  # the last table is printed under set_default_dtype(torch.float64)
            torch.set_default_dtype(torch.float64)
        try:
            for expression, shown in rows:
                assert shown == str(eval(expression, namespace).dtype), (expression, shown)  # noqa: S307
                checked += 1
        finally:
            torch.set_default_dtype(previous)
    assert checked >= 40
    rows = {expression: shown for table in tables[:-1] for expression, shown in table[1:]}
    # the cells where "float32, int64" does not hold are on the page, with the dtype torch gives today
    assert rows["torch.tensor(floats)"] == str(torch.tensor(np.array([1.0, 2.0])).dtype) == "torch.float64"
    assert rows["torch.tensor(True)"] == str(torch.tensor(True).dtype)
    assert rows["torch.tensor(1 + 2j)"] == str(torch.tensor(1 + 2j).dtype)
    assert rows["torch.arange(5)"] == str(torch.arange(5).dtype)
    assert rows["torch.rand(2)"] == str(torch.rand(2).dtype)


def test_default_dtypes_outputs_and_corrections(site):
    soup = page(site, "tensor-basics/default-dtypes")
    text = outputs(soup)
    assert f"torch.get_default_dtype() = {torch.get_default_dtype()}" in text
    layer = torch.nn.Linear(3, 1)
    with pytest.raises(RuntimeError) as mismatch:
        layer(torch.from_numpy(np.array([[1.0, 2.0, 3.0]])))
    assert str(mismatch.value) in text
    with pytest.raises(TypeError) as integer_default:
        torch.set_default_dtype(torch.int32)
    assert str(integer_default.value) in text
    assert len(corrections(soup)) == 2  # bool/complex, and NumPy arrays keeping float64


# -- tensor-basics/multiplication ----------------------------------------------------------------------
OPERATIONS = {
    "r1 * r2": lambda a, b: a * b,
    "torch.mul(r1, r2)": torch.mul,
    "r1 @ r2": lambda a, b: a @ b,
    "torch.matmul(r1, r2)": torch.matmul,
    "torch.dot(r1, r2)": torch.dot,
}


def counting(*shape: int) -> torch.Tensor:
    return torch.arange(1.0, int(np.prod(shape)) + 1).reshape(shape)


def test_multiplication_shape_table_is_what_torch_does(site):
    tables = result_tables(page(site, "tensor-basics/multiplication"))
    header, *rows = tables[0]
    assert header[1:] == list(OPERATIONS)
    assert len(rows) >= 6
    dims = set()
    for label, *cells in rows:
        left, right = (ast.literal_eval(part.strip()) for part in label.split("×"))
        dims.add((len(left), len(right)))
        expected = [shape_or_error(lambda op=op: op(counting(*left), counting(*right))) for op in OPERATIONS.values()]
        assert cells == expected, label
    assert {(1, 1), (2, 2), (1, 2), (2, 1)} <= dims  # 1-D×1-D, 2-D×2-D and both mixed orders were run


def test_multiplication_derived_columns_and_comparison(site):
    tables = result_tables(page(site, "tensor-basics/multiplication"))
    derived = {row[0]: row[1:] for row in tables[1][1:]}
    assert list(derived) == list(OPERATIONS)
    a2, b2 = counting(2, 2), counting(2, 2) + 1
    a23, b32 = counting(2, 3), counting(3, 2)
    v, w = counting(3), counting(3) + 1
    for name, operation in OPERATIONS.items():

        def same(compute, expected):
            try:
                return np.array_equal(compute().numpy(), expected)
            except RuntimeError:
                return False

        expected = [
            same(lambda: operation(a2, b2), np.multiply(a2.numpy(), b2.numpy()))
            and same(lambda: operation(v, w), np.multiply(v.numpy(), w.numpy())),
            same(lambda: operation(a23, b32), np.matmul(a23.numpy(), b32.numpy()))
            and not same(lambda: operation(a2, b2), np.multiply(a2.numpy(), b2.numpy())),
            same(lambda: operation(v, w), np.array(np.dot(v.numpy(), w.numpy()))),
        ]
        assert derived[name] == ["√" if flag else "" for flag in expected], name
    comparison = [cell for row in tables[2][1:] for cell in row[1:]]
    assert len(comparison) == 15
    assert all(cell.endswith("一致") and "不一致" not in cell for cell in comparison)


def test_multiplication_values_and_errors(site):
    text = outputs(page(site, "tensor-basics/multiplication"))
    r = counting(2, 2)
    assert str(r * r) in text and str(r @ r) in text
    matrix, vector = counting(2, 3), torch.tensor([1.0, 10.0, 100.0])
    assert str(matrix * vector) in text
    assert f"matrix @ vector（每一行与 vector 做内积）= {matrix @ vector}" in text
    with pytest.raises(RuntimeError) as mixed:
        torch.dot(torch.arange(3), torch.ones(3))
    assert str(mixed.value) in text
    with pytest.raises(RuntimeError) as matrices:
        torch.dot(r, r)
    assert str(matrices.value) in text


# -- tensor-basics/rand-shapes -------------------------------------------------------------------------
RAND = {"torch.rand(n)": (3,), "torch.rand(1, n)": (1, 3), "torch.rand(n, 1)": (3, 1)}


def test_rand_shapes_pair_tables(site):
    tables = result_tables(page(site, "tensor-basics/rand-shapes"))
    assert len(tables) == 3
    for table, operation in zip(tables, [lambda a, b: a @ b, lambda a, b: a + b, lambda a, b: a * b], strict=True):
        header, *rows = table
        right_names = [cell.removeprefix("右 = ") for cell in header[1:]]
        assert right_names == list(RAND)
        assert len(rows) == 3
        for label, *cells in rows:
            left = label.removeprefix("左 = ")
            expected = [
                shape_or_error(lambda r=right: operation(torch.rand(RAND[left]), torch.rand(RAND[r]))) for right in RAND
            ]
            assert cells == expected, (header[0], left)
    # the pitfall of the page: rand(n) + rand(n, 1) is n × n
    assert tables[1][1][3] == str(tuple((torch.rand(3) + torch.rand(3, 1)).shape)) == "(3, 3)"


def test_rand_shapes_outputs_and_figure(site):
    soup = page(site, "tensor-basics/rand-shapes")
    text = outputs(soup)
    for name, shape in RAND.items():
        tensor = torch.rand(shape)
        assert f"{name} -> shape={tensor.shape}, ndim={tensor.ndim}" in text
    prediction, target = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([1.0, 2.0, 3.0])
    assert f"手写 MSE（形状不一致）= {((prediction - target) ** 2).mean().item():.4f}" in text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.mse_loss(prediction, target)
        transposed = torch.rand(3).T
    assert str(caught[0].message) in text
    assert str(caught[1].message).split(". ")[0] in text
    assert f"vector.T.shape            = {transposed.shape}" in text
    images = figures(soup)
    assert len(images) == 1
    data = images[0]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        width, height = struct.unpack(">II", data[16:24])
        assert 300 <= width <= 1600 and 150 <= height <= 1000, (width, height)
    else:
        assert data.lstrip().startswith((b"<?xml", b"<svg")) and b"</svg>" in data
    assert len(data) > 5_000


# -- tensor-basics/shape-vs-size -----------------------------------------------------------------------
def test_shape_vs_size_outputs(site):
    text = outputs(page(site, "tensor-basics/shape-vs-size"))
    x = torch.zeros(2, 3)
    assert f"x.shape        = {x.shape}" in text and f"x.size()       = {x.size()}" in text
    assert " -> ".join(cls.__name__ for cls in torch.Size.__mro__) in text
    assert f"x.shape == (2, 3)     : {x.shape == (2, 3)}" in text
    assert f"x.shape == [2, 3]     : {x.shape == [2, 3]}" in text
    assert f"x.size(-1) = {x.size(-1)}" in text
    assert f"type(x.size)     = {type(x.size).__name__}" in text
    assert f"x.size == (2, 3)  -> {x.size == (2, 3)}" in text
    for attempt in [
        lambda: x.size[0],
        lambda: len(x.size),
        lambda: torch.zeros(x.size),
        lambda: x.shape(0),
        lambda: x.size(2),
        lambda: x.shape[2],
    ]:
        with pytest.raises((TypeError, IndexError)) as error:
            attempt()
        assert f"{type(error.value).__name__}: {error.value}" in text
    assert not re.search(r"0x[0-9a-fA-F]{4,}", text), "a memory address was published"
    assert f"a.size  = {np.zeros((2, 3)).size}" in text


# -- tools/pycharm-np-array ----------------------------------------------------------------------------
def pycharm_cases() -> dict[str, torch.Tensor]:
    layer = torch.nn.Linear(3, 2)
    z = torch.tensor([1 + 2j, 3 - 4j])
    return {
        "普通张量": torch.rand(2, 3),
        "layer.weight": layer.weight,
        "layer.weight * 2": layer.weight * 2,
        "转置 .T": torch.rand(2, 3).T,
        "切片 [:, ::2]": torch.rand(4, 4)[:, ::2],
        "float16": torch.rand(3, dtype=torch.float16),
        "bfloat16": torch.rand(3, dtype=torch.bfloat16),
        "int64 大整数": torch.tensor([0, 2**24 + 1]),
        "z.conj()": z.conj(),
        "z.conj().imag": z.conj().imag,
    }


CONVERSIONS = {
    "np.array(t)": lambda t: np.array(t),
    "t.numpy(force=True)": lambda t: t.numpy(force=True),
    "t.detach().cpu().float().numpy()": lambda t: t.detach().cpu().float().numpy(),
    "safe_numpy(t)": lambda t: (t.float() if t.dtype == torch.bfloat16 else t).numpy(force=True),
}


def conversion_cell(conversion, t) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = conversion(t)
            text = f"✓ {result.dtype} {result.shape}"
        except Exception as error:  # noqa: BLE001
            text = f"✗ {type(error).__name__}"
    return text + "".join(f" ⚠ {warning.category.__name__}" for warning in caught)


def test_pycharm_overview_table_is_what_numpy_does(site):
    soup = page(site, "tools/pycharm-np-array")
    tables = result_tables(soup)
    assert len(tables) == 2
    cases = pycharm_cases()
    properties = {row[0]: row[1:] for row in tables[0][1:]}
    assert list(properties) == list(cases)
    for name, t in cases.items():
        assert properties[name] == [
            str(t.dtype),
            str(t.requires_grad),
            str(t.is_leaf),
            str(t.is_contiguous()),
            str(t.is_conj()),
            str(t.is_neg()),
        ], name
    header, *rows = tables[1]
    assert header[1:] == list(CONVERSIONS)
    assert [row[0] for row in rows] == list(cases)
    for name, *cells in rows:
        assert cells == [conversion_cell(conversion, cases[name]) for conversion in CONVERSIONS.values()], name
    # the page's claim: the last column never fails, and the plain np.array of the note fails somewhere
    assert all(row[-1].startswith("✓") and "⚠" not in row[-1] for row in rows)
    assert any(row[1].startswith("✗") for row in rows)


def test_pycharm_outputs_and_correction(site):
    soup = page(site, "tools/pycharm-np-array")
    text = outputs(soup)
    assert len(corrections(soup)) == 1
    cases = pycharm_cases()
    for name in ["layer.weight", "bfloat16", "z.conj()", "z.conj().imag"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises((RuntimeError, TypeError)) as error:
                np.array(cases[name])
        assert f"{name}\n  -> {type(error.value).__name__}: {error.value}" in text
    assert f"t.detach().cpu().float().numpy() = {torch.tensor([0, 2**24 + 1]).float().tolist()}" in text
    assert f"torch.cuda.is_available() = {torch.cuda.is_available()}" in text
    if not torch.cuda.is_available():
        with pytest.raises(TypeError) as meta:
            torch.empty(3, device="meta").numpy()
        assert str(meta.value) in text
    plain = torch.rand(2, 3)
    assert f"np.asarray(t) 与 t 共享内存：{np.shares_memory(np.asarray(plain), plain.numpy())}" in text
