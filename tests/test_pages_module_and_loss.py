"""Pages nn-module/call-and-forward and losses/cross-entropy: the built HTML holds what torch really does.

Every expected value below is computed here, by running torch in the test, and then looked up in the
outputs that the build executed; nothing is copied from the Markdown source.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import struct
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import ROOT, figure_bytes, outputs, page

CALL = "nn-module/call-and-forward"
LOSS = "losses/cross-entropy"
SNIPPETS = [ROOT / "snippets" / f"{path}.py" for path in (CALL, LOSS)]


# -- helpers ---------------------------------------------------------------------------------------


def result_blocks(soup) -> list[str]:
    """Text of each executed result block, in page order."""
    return [node.get_text() for node in soup.select("article .result")]


def result_tables(soup) -> list[list[list[str]]]:
    """Body rows (cell texts) of every table printed by the code (tables inside result blocks)."""
    tables = []
    for table in soup.select("article .result table"):
        tables.append([[cell.get_text(strip=True) for cell in row.find_all("td")] for row in table.select("tbody tr")])
    return tables


def corrections(soup):
    """The 实测勘误 admonitions, in page order."""
    found = []
    for node in soup.select("article .admonition.warning"):
        title = node.select_one(".admonition-title")
        if title is not None and "实测勘误" in title.get_text():
            found.append(node)
    return found


def previous_result(node) -> str:
    """The text of the executed result block that comes right before an element."""
    result = node.find_previous("div", class_="result")
    assert result is not None
    return result.get_text()


def value_after(text: str, label: str) -> str:
    """The value printed as `label = value` (the first one)."""
    match = re.search(re.escape(label) + r"\s*=\s*(\S+)", text)
    assert match, f"no '{label} = ...' in the outputs"
    return match[1]


# -- both snippet files run on their own --------------------------------------------------------------


def test_snippet_files_collected():
    assert len(SNIPPETS) == 2 and all(path.is_file() for path in SNIPPETS)


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.stem)
def test_snippet_runs_clean_as_a_script(path):
    """`python snippets/<page>.py` from the repository root: exit 0, no Python warning."""
    result = subprocess.run(
        [sys.executable, "-W", "error", str(path.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr[-3000:]
    assert "0x7f" not in result.stdout  # no memory addresses printed


# -- nn-module/call-and-forward ------------------------------------------------------------------------


def test_call_is_nn_module_call(site):
    text = outputs(page(site, CALL))

    class Probe(nn.Module):
        def forward(self, x):
            return x

    qualname = type(Probe()).__call__.__qualname__
    assert value_after(text, "type(model).__call__.__qualname__") == qualname
    assert value_after(text, "type(model).__call__ is nn.Module.__call__") == str(
        type(Probe()).__call__ is nn.Module.__call__
    )
    assert value_after(text, "'__call__' in WtfNet.__dict__") == str("__call__" in Probe.__dict__)
    # the installed source of nn.Module.__call__ is printed, as it is
    assert textwrap.dedent(inspect.getsource(nn.Module.__call__)).rstrip() in text


def test_call_trace_goes_through_call_impl_to_conv2d(site):
    """The traced call chain names the installed nn.Module functions, in the order model → forward → conv2d."""
    trace = next(block for block in result_blocks(page(site, CALL)) if nn.Module._call_impl.__qualname__ in block)
    names = [line.strip() for line in trace.splitlines() if line.strip()]
    chain = [
        nn.Module.__call__.__qualname__,
        nn.Module._call_impl.__qualname__,
        "WtfNet.forward",
        nn.Conv2d.forward.__qualname__,
        nn.Conv2d._conv_forward.__qualname__,
    ]
    positions = [names.index(name) for name in chain]
    assert positions == sorted(positions), names
    conv_op = next(i for i, name in enumerate(names) if name.startswith(F.conv2d.__name__ + " "))
    assert conv_op > positions[-1] and conv_op < names.index(nn.ReLU.forward.__qualname__)


def expected_hook_order(via_call: bool) -> list[str]:
    """Run a conv + relu net with hooks on every module and a recording F.conv2d; return the events."""
    events: list[str] = []

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 2, 3)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.conv1(x))

    net = Net()
    for name, module in net.named_modules():
        label = name or "model"
        module.register_forward_pre_hook(lambda m, a, label=label: events.append(f"进入 {label}"))
        module.register_forward_hook(lambda m, a, o, label=label: events.append(f"离开 {label}"))
    real_conv2d = F.conv2d

    def recording(*args, **kwargs):
        events.append("F.conv2d")
        return real_conv2d(*args, **kwargs)

    F.conv2d = recording
    try:
        x = torch.randn(1, 1, 5, 5)
        net(x) if via_call else net.forward(x)
    finally:
        F.conv2d = real_conv2d
    return events


def page_hook_orders(text: str) -> tuple[list[str], list[str]]:
    """The two recorded lists on the page, as (enter|leave) name / F.conv2d."""
    lists: list[list[str]] = []
    for line in text.splitlines():
        if re.match(r"^model(\.forward)?\(x\) ", line):
            lists.append([])
        elif lists and (match := re.match(r"^\s+\d+\.\s+(进入|离开) (\w+)", line)):
            lists[-1].append(f"{match[1]} {match[2]}")
        elif lists and re.match(r"^\s+\d+\.\s+F\.conv2d", line):
            lists[-1].append("F.conv2d")
    assert len(lists) == 2, lists
    return lists[0], lists[1]


def test_hooks_fire_only_through_call(site):
    via_call, via_forward = page_hook_orders(outputs(page(site, CALL)))
    assert via_call == expected_hook_order(via_call=True)
    assert via_forward == expected_hook_order(via_call=False)
    assert "进入 model" in via_call and "进入 model" not in via_forward


def test_conv2d_module_equals_functional(site):
    text = outputs(page(site, CALL))
    conv = nn.Conv2d(1, 4, 3)
    x = torch.randn(2, 1, 6, 6)
    same = torch.equal(
        conv(x), F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
    )
    assert value_after(text, "torch.equal(conv(x), F.conv2d(...))") == str(same)


def test_three_ways_table(site):
    soup = page(site, CALL)
    table = next(rows for rows in result_tables(soup) if len(rows) == 4 and len(rows[0]) == 4)
    n_params = sum(p.numel() for p in nn.Conv2d(1, 4, 3).parameters())
    assert [int(row[1]) for row in table] == [n_params, n_params, 0, 0]
    assert [row[2] for row in table] == ["是", "是", "否", "否"]
    for row in table[:2]:  # the two nets whose weights are parameters learn
        before, after = (float(v) for v in row[3].split("→"))
        assert after < 0.1 * before
    with pytest.raises(ValueError) as empty:
        torch.optim.Adam(nn.Module().parameters(), lr=0.05)
    for row in table[2:]:  # the inline nets have nothing to optimise
        assert str(empty.value) in row[3]


def test_call_overhead_counts_match_a_fresh_count(site):
    """The page's Python-call counts equal the ones this test counts itself (in a fresh interpreter, as the
    build's page process is); the timing verdict is published."""
    count = textwrap.dedent(
        """
        import sys
        import torch
        import torch.nn.functional as F
        from torch import nn

        def python_calls(fn):
            count = [0]
            def profiler(frame, event, arg):
                count[0] += event == "call"
            sys.setprofile(profiler)
            try:
                fn()
            finally:
                sys.setprofile(None)
            return count[0]

        with torch.no_grad():
            data, layer = torch.randn(1, 1, 8, 8), nn.Conv2d(1, 4, 3)
            w, b = layer.weight, layer.bias  # (reading layer.weight inside the call would count Module.__getattr__)
            calls = [lambda: layer(data), lambda: F.conv2d(data, w, b),
                     lambda: nn.Conv2d(1, 4, 3)(data)]
            for call in calls:
                call()
            print([python_calls(call) for call in calls])
        """
    )
    fresh = subprocess.run([sys.executable, "-c", count], capture_output=True, text=True, check=True)
    expected = json.loads(fresh.stdout)
    soup = page(site, CALL)
    table = next(rows for rows in result_tables(soup) if len(rows) == 3 and len(rows[0]) == 2)
    assert [int(row[1]) for row in table] == expected
    assert "超过模块调用的 2 倍：True" in outputs(soup)


def test_what_x_equals(site):
    text = outputs(page(site, CALL))
    assert repr(nn.Conv2d(1, 4, 3)) in text
    with pytest.raises(TypeError) as wrong:
        nn.Conv2d(torch.randn(16, 1, 8, 8))
    assert str(wrong.value) in text


def test_call_page_corrections_sit_after_their_evidence(site):
    soup = page(site, CALL)
    found = corrections(soup)
    assert len(found) == 3
    effect, speed, module_not_tensor = found
    # "效果一样": right after the gradients that land on throw-away weights
    grad_fn = type(F.conv2d(torch.randn(1, 1, 5, 5), torch.randn(2, 1, 3, 3, requires_grad=True)).grad_fn).__name__
    assert grad_fn in previous_result(effect)
    # "效率": right after the timing table
    assert len(speed.find_previous("div", class_="result").select("table tbody tr")) == 3
    # "x = nn.Conv2d(...)": right after the output that shows a module, not a tensor
    assert repr(nn.Conv2d(1, 4, 3)) in previous_result(module_not_tensor)


# -- losses/cross-entropy --------------------------------------------------------------------------


def test_cross_entropy_class_name(site):
    soup = page(site, LOSS)
    text = outputs(soup)
    assert value_after(text, 'hasattr(nn, "CrossEntropy")') == str(hasattr(nn, "CrossEntropy"))
    assert value_after(text, 'hasattr(nn, "CrossEntropyLoss")') == str(hasattr(nn, "CrossEntropyLoss"))
    name_fix = corrections(soup)[0]
    assert value_after(previous_result(name_fix), 'hasattr(nn, "CrossEntropy")') == str(hasattr(nn, "CrossEntropy"))


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
    naive = -torch.log(torch.softmax(extreme, dim=1)[0, 0]).item()
    builtin = nn.CrossEntropyLoss()(extreme, label).item()
    stable_fix = corrections(soup)[1]
    evidence = " ".join(node.get_text() for node in stable_fix.select(".result"))
    assert f"= {naive}" in evidence and f"= {builtin}" in evidence
    assert math.isinf(naive) and math.isfinite(builtin)


def test_loss_floor(site):
    text = outputs(page(site, LOSS))
    bound = -math.log(math.e / (math.e + 2))
    at_best = nn.CrossEntropyLoss()(torch.eye(3), torch.arange(3)).item()
    assert math.isclose(at_best, bound, rel_tol=1e-6)
    assert f"{bound:.6f}" in text
    smallest = float(value_after(text, "最小 loss"))
    assert smallest >= round(bound, 6) - 1e-6


def test_training_table_respects_the_floor(site):
    soup = page(site, LOSS)
    table = next(rows for rows in result_tables(soup) if len(rows) == 4 and len(rows[0]) == 5)
    bound = -math.log(math.e / (math.e + 2))
    with_softmax = [row for row in table if "Softmax" in row[1]]
    plain = [row for row in table if "Softmax" not in row[1]]
    assert len(with_softmax) == len(plain) == 2
    assert all(float(row[2]) > bound for row in with_softmax)
    assert all(float(row[2]) < bound for row in plain)
    # per optimiser, the extra softmax gives the first layer smaller gradients on average
    for extra, direct in zip(with_softmax, plain, strict=True):
        assert extra[0] == direct[0] and float(extra[4]) < float(direct[4])


def test_loss_figure_is_a_real_image(site):
    soup = page(site, LOSS)
    images = soup.select("article img.figure")
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


def test_loss_page_corrections(site):
    assert len(corrections(page(site, LOSS))) == 2
