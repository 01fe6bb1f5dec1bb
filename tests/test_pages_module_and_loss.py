"""Page nn-module/call-and-forward: the built HTML holds what torch really does.

Every expected value below is computed here, by running torch in the test, and then looked up in the
outputs that the build executed; nothing is copied from the Markdown source. (The cross-entropy page has
its own file, tests/test_pages_losses.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import ROOT, outputs, page

CALL = "nn-module/call-and-forward"
SNIPPET = ROOT / "snippets" / f"{CALL}.py"


def result_blocks(soup) -> list[str]:
    """Text of each executed result block, in page order."""
    return [node.get_text() for node in soup.select("article .result")]


def result_tables(soup) -> list[list[list[str]]]:
    """Body rows (cell texts) of every table printed by the code (tables inside result blocks)."""
    tables = []
    for table in soup.select("article .result table"):
        tables.append([[cell.get_text(strip=True) for cell in row.find_all("td")] for row in table.select("tbody tr")])
    return tables


def test_three_lines_show_the_chain(site):
    """The first screen: model(x) uses nn.Module.__call__, WtfNet defines only forward, conv(x) == F.conv2d."""

    class Probe(nn.Module):
        def forward(self, x):
            return x

    conv, x = nn.Conv2d(1, 4, 3), torch.randn(2, 1, 6, 6)
    expected = [
        str(type(Probe()).__call__ is nn.Module.__call__),
        f"{'__call__' in vars(Probe)} {'forward' in vars(Probe)}",
        str(torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias))),
    ]
    blocks = result_blocks(page(site, CALL))
    assert blocks[1].split() == " ".join(expected).split(), blocks[1]
    assert "output.shape = (2, 4, 4, 4)" in blocks[0]


def test_hooks_run_only_through_call(site):
    calls = []
    net = nn.Linear(2, 2)
    net.register_forward_hook(lambda *args: calls.append(1))
    net(torch.zeros(1, 2))
    after_call = len(calls)
    net.forward(torch.zeros(1, 2))
    text = outputs(page(site, CALL))
    assert f"钩子运行了 {after_call} 次" in text and f"仍是 {len(calls)} 次" in text
    assert after_call == len(calls) == 1


def test_four_ways_table(site):
    table = next(rows for rows in result_tables(page(site, CALL)) if len(rows) == 4 and len(rows[0]) == 4)
    n_params = sum(p.numel() for p in nn.Conv2d(1, 4, 3).parameters())
    assert [int(row[1]) for row in table] == [n_params, n_params, 0, 0]
    assert [row[2] for row in table] == ["是", "是", "否", "否"]
    for row in table[:2]:  # the two nets whose weights are parameters learn
        before, after = (float(v) for v in row[3].split("→"))
        assert after < 0.1 * before
    with pytest.raises(ValueError) as empty:
        torch.optim.Adam(nn.Module().parameters(), lr=0.05)
    for row in table[2:]:  # the nets that build weights inside forward have nothing to optimise
        assert str(empty.value) in row[3]


COUNT = textwrap.dedent(
    """
    import json, sys
    import torch
    import torch.nn.functional as F
    from torch import nn

    def python_calls(fn):
        names = []
        def record(frame, event, arg):
            if event == "call":
                names.append(frame.f_code.co_qualname)
        sys.setprofile(record)
        try:
            fn()
        finally:
            sys.setprofile(None)
        return names[1:]

    layer = nn.Conv2d(1, 4, 3)
    w, b = layer.weight, layer.bias
    with torch.no_grad():
        found = []
        for size in (8, 256):
            data = torch.randn(1, 1, size, size)
            found.append([python_calls(lambda: layer(data)), python_calls(lambda: F.conv2d(data, w, b))])
    print(json.dumps(found))
    """
)


def test_python_calls_match_a_fresh_count(site):
    """The functions the page lists for layer(x) and F.conv2d(x, w, b) are the ones this test records itself,
    in a fresh interpreter (as the build's page process is), for a small and a large input."""
    run = subprocess.run([sys.executable, "-c", COUNT], capture_output=True, text=True, check=True)
    fresh = json.loads(run.stdout)
    assert fresh[0] == fresh[1]  # the same functions for a 256×256 input as for an 8×8 one
    by_layer, by_function = fresh[0]
    assert by_layer[:2] == [nn.Module.__call__.__qualname__, nn.Module._call_impl.__qualname__]
    text = outputs(page(site, CALL))
    assert " → ".join(by_layer) in " ".join(text.split())
    assert f"layer(x)：{len(by_layer)} 个 Python 函数" in text
    assert f"F.conv2d(x, w, b)：{len(by_function)} 个" in text
    # the prose names the counts the page measured, and the page publishes no timing
    markdown = (ROOT / "docs" / f"{CALL}.md").read_text(encoding="utf-8")
    assert f"多出的 {len(by_layer) - len(by_function)} 个 Python 函数中，属于 `__call__` 的只有 2 个" in markdown
    assert "timeit" not in SNIPPET.read_text(encoding="utf-8")


def test_what_x_equals(site):
    text = outputs(page(site, CALL))
    assert repr(nn.Conv2d(1, 4, 3)) in text
    assert f"形状 {tuple(nn.Conv2d(1, 4, 3)(torch.randn(16, 1, 8, 8)).shape)}" in text


def test_supplements_not_corrections(site):
    """The note's statements on this page hold: the page adds supplements and blames the note for nothing."""
    soup = page(site, CALL)
    titles = [node.get_text() for node in soup.select("article .admonition-title, article details > summary")]
    assert not [t for t in titles if "勘误" in t], titles
    assert sum(t.startswith("补充") for t in titles) == 2
    checks = soup.select_one("article details.note")
    assert "本页如何自证" in checks.select_one("summary").get_text()
    assert "本页的断言全部成立" in checks.select_one(".result").get_text()
    assert "0x7f" not in outputs(soup)  # no memory addresses printed
