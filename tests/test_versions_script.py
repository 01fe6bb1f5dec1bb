"""scripts/versions.py (`make versions`): the section runner and the table, without installing any release."""

from __future__ import annotations

import base64
import importlib.util
import json
import struct
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "versions.py"
spec = importlib.util.spec_from_file_location("versions_script", SCRIPT)
versions = importlib.util.module_from_spec(spec)
spec.loader.exec_module(versions)

SNIPPET = '''"""A page."""

import sys

counter = 1

# --8<-- [start:first]
print("first", counter)
counter += 1
# --8<-- [end:first]

# --8<-- [start:broken]
print("before the error")
assert counter == 99, "counter is not 99"
# --8<-- [end:broken]

print("between", counter)

# --8<-- [start:after]
print("after", counter)
print("a warning", file=sys.stderr)
# --8<-- [end:after]
'''


def test_a_file_runs_section_by_section_in_one_namespace(tmp_path):
    snippet = tmp_path / "page.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    jsonl = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--run-file", str(snippet), "--jsonl", str(jsonl)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    chunks = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [c["name"] for c in chunks] == ["(top)", "first", "broken", "(after broken)", "after"]
    by_name = {c["name"]: c for c in chunks}
    assert by_name["first"]["stdout"] == "first 1\n"
    assert by_name["broken"]["status"] == "error"
    assert by_name["broken"]["stdout"] == "before the error\n"  # output up to the error is kept
    assert by_name["broken"]["error"] == {
        "type": "AssertionError",
        "message": "counter is not 99",
        "line": 14,
        "source": 'assert counter == 99, "counter is not 99"',
    }
    # The chunks after a failing one still run, in the same namespace.
    assert by_name["(after broken)"]["stdout"] == "between 2\n"
    assert by_name["after"]["stdout"] == "after 2\n" and by_name["after"]["stderr"] == "a warning\n"


def test_an_unpaired_marker_names_file_and_line(tmp_path):
    snippet = tmp_path / "bad.py"
    snippet.write_text("# --8<-- [start:a]\nx = 1\n# --8<-- [end:b]\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"bad\.py:3: end of section 'b'"):
        versions.split_chunks(snippet)


def png(width: int, height: int, body: bytes) -> str:
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height) + body
    return f'<img class="figure" alt="图" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def env(label: str, **sections: dict) -> dict:
    chunks = [{"name": name, "status": "ok", "stdout": "", "stderr": "", **s} for name, s in sections.items()]
    return {"key": label, "label": label, "versions": {"torch": label}, "pages": {"area/page": {"sections": chunks}}}


def test_the_table_shows_where_each_output_changes():
    results = {
        "environments": [
            env(
                "2.3.1",
                same={"stdout": "1\n"},
                value={"stdout": "grad 1\nend\n"},
                fig={"stdout": png(10, 20, b"a")},
                warn={"stderr": "UserWarning: old\n"},
                fails={"stdout": "ok\n"},
            ),
            env(
                "2.4.1",
                same={"stdout": "1\n"},
                value={"stdout": "grad 1\nend\n"},
                fig={"stdout": png(10, 20, b"b")},
                warn={"stderr": "UserWarning: new\n"},
                fails={
                    "status": "error",
                    "error": {"type": "AssertionError", "message": "", "line": 7, "source": "assert ok"},
                },
            ),
            env(
                "2.5.1",
                same={"stdout": "1\n"},
                value={"stdout": "grad 0\nend\n"},
                fig={"stdout": png(10, 21, b"b")},
                warn={"stderr": "UserWarning: new\n"},
                fails={"stdout": "ok\n"},
            ),
        ]
    }
    text = versions.table(results)
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| `area/page:")}
    assert set(rows) == {"| `area/page:value`", "| `area/page:fig`", "| `area/page:warn`", "| `area/page:fails`"}
    assert rows["| `area/page:value`"].endswith("| • | = | Δ |")
    assert rows["| `area/page:fig`"].endswith("| • | = | Δ |")  # same size, other bytes: "="; other size: Δ
    assert rows["| `area/page:warn`"].endswith("| • | w | = |")
    assert rows["| `area/page:fails`"].endswith("| • | ✗ | Δ |")
    assert "- `area/page:value` changes at **2.5.1** (from 2.4.1): `grad 1` → `grad 0`" in text
    assert (
        "- `area/page:fails` changes at **2.4.1** (from 2.3.1): ok → ✗ AssertionError:  (line 7: `assert ok`)" in text
    )
    assert '(from 2.4.1): `<img alt="图" png 10×20 px>` → `<img alt="图" png 10×21 px>`' in text
    assert "4 of 5 sections change across 3 environments." in text
