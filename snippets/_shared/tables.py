"""Tables on a page: one helper prints a Markdown table whose cells are escaped.

A block that renders Markdown on purpose (no `result=`) prints a table through
`table()`; every value is escaped, so a printed exception message or an
identifier cannot inject HTML or break the table. Standalone
(`python snippets/<page>.py`) the same call prints the table as aligned text.

A page includes the section in a hidden block; its snippet file runs this file
first (`runpy`).
"""

# --8<-- [start:setup]
import html as _html
import os as _os
import sys as _sys
import unicodedata as _unicodedata


def _cell(value) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)):
        text = str(value)
    else:
        text = repr(value)
    return (
        _html.escape(text, quote=False)
        .replace("|", "&#124;")
        .replace("\n", " ")
        .replace("`", "&#96;")
    )


def _width(text: str) -> int:
    """Columns the text takes in a terminal: Chinese characters and full-width
    punctuation take two."""
    return sum(
        2 if _unicodedata.east_asian_width(char) in "WF" else 1 for char in text
    )


def table(header, rows, *, code=()) -> None:
    """Print a table; `code` lists the columns (by index) shown as code."""
    rows = [list(row) for row in rows]
    # On a page (the build's worker runs the block): Markdown.
    # Standalone: readable, aligned text.
    on_page = _os.environ.get("DOCS_EXEC_ENV") is not None
    if not on_page and "exec_worker" not in _sys.modules:
        cells = [[str(value) for value in row] for row in [list(header), *rows]]
        widths = [
            max(_width(row[i]) for row in cells) for i in range(len(header))
        ]
        for row in cells:
            padded = (v + " " * (w - _width(v)) for v, w in zip(row, widths))
            print("  ".join(padded).rstrip())
        return

    def fmt(index, value):
        cell = _cell(value)
        return f"<code>{cell}</code>" if index in code else cell

    print("| " + " | ".join(_cell(h) for h in header) + " |")
    print("|" + "|".join(":--" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(fmt(i, v) for i, v in enumerate(row)) + " |")


# --8<-- [end:setup]
