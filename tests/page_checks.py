"""Reading helpers shared by the page tests: executed tables, admonitions, and the checks that a page reads
as a lesson (shown code short and free of harness, the assertions in a collapsed 「本页如何自证」 block)."""

from __future__ import annotations

import re
import unicodedata


def result_tables(soup) -> list[list[list[str]]]:
    """Every table printed by executed code (inside markdown-exec result blocks), as rows of cell texts."""
    return [
        [[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])] for row in table.find_all("tr")]
        for table in soup.select("article .result table")
    ]


def admonitions(soup, kind: str, title: str) -> list:
    """The admonitions of one kind whose title starts with `title` (warning / 实测勘误, info / 补充)."""
    return [
        node
        for node in soup.select(f"article .admonition.{kind}")
        if node.select_one(".admonition-title").get_text(strip=True).startswith(title)
    ]


def corrections(soup) -> list:
    """The 实测勘误 admonitions of a page."""
    return admonitions(soup, "warning", "实测勘误")


def supplements(soup) -> list:
    """The 补充 admonitions of a page: what the note did not claim."""
    return admonitions(soup, "info", "补充")


def columns(line: str) -> int:
    """Display width of a line: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)


def self_check(soup):
    """The collapsed 「本页如何自证」 block."""
    blocks = [d for d in soup.select("article details.note") if d.summary.get_text(strip=True) == "本页如何自证"]
    assert len(blocks) == 1
    return blocks[0]


def assert_reads_as_a_lesson(soup) -> None:
    """Shown code is short and free of harness; the assertions ran, in the collapsed self-check."""
    checks = self_check(soup)
    assert "open" not in checks.attrs  # collapsed
    check_code = "\n".join(code.get_text() for code in checks.select("pre code"))
    assert check_code.count("assert ") >= 3
    assert checks.select_one(".result").get_text(strip=True)  # the assertions ran and printed
    shown = [code for code in soup.select("article pre code") if code.find_parent("details") is None]
    assert shown
    for code in shown:
        text = code.get_text()
        assert not re.search(r"^\s*assert\b", text, flags=re.M), text[:200]
        assert 'print("|' not in text and 'print(f"|' not in text, text[:200]
        for line in text.splitlines():
            assert columns(line) <= 88, line
    # a printed value never turns into Markdown emphasis (`__name__` in a table cell would)
    assert not soup.select("article .result table strong, article .result table em")
    results = soup.select("article .result pre")
    assert results
    for result in results:
        for line in result.get_text().splitlines():
            assert columns(line) <= 88, line
