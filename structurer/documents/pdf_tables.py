"""A PDF page's ruled tables as one line per row, cells separated by tabs (empty cells kept).

Layout text keeps columns only as runs of spaces, and a blank cell leaves no trace in it: a
row printing 4 numbers in 7 columns no longer says which columns. pdfplumber's table finder
reads the ruling lines, so every cell, blank or merged, has its place: the row is written as
an HTML table row would be (`documents/html.py`), and the text around the tables keeps its
layout and reading order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_MIN_ROWS, _MIN_COLS = 2, 2  # a ruled box smaller than this is a frame, not a table


def page_with_tables(page: Any, layout: Callable[[Any], str]) -> str | None:
    """The page's text with each ruled table as tab-separated rows, in reading order; None
    when the page has no ruled table. `layout(region)` renders a part of the page as text."""
    tables = [t for t in page.find_tables() if _is_table(t)]
    if not tables:
        return None
    tables.sort(key=lambda t: t.bbox[1])
    parts: list[str] = []
    top = 0.0
    for table in tables:
        x0, t_top, x1, t_bottom = table.bbox
        if t_top < top:  # overlapping finds: keep the first
            continue
        if t_top - top > 1:
            parts.append(layout(page.crop((0, top, page.width, t_top))))
        parts.append("\n".join(_row_line(row) for row in table.extract()))
        top = t_bottom
    if page.height - top > 1:
        parts.append(layout(page.crop((0, top, page.width, page.height))))
    return "\n".join(p for p in parts if p.strip())


def _is_table(table: Any) -> bool:
    rows = table.rows
    return len(rows) >= _MIN_ROWS and max(len(r.cells) for r in rows) >= _MIN_COLS


def _row_line(cells: list[str | None]) -> str:
    return "\t".join(_cell_text(c) for c in cells)


def _cell_text(cell: str | None) -> str:
    """A cell's text on one line: a label or a remark wrapped inside a narrow cell is joined
    back (without a space between CJK characters); tabs inside a cell become spaces."""
    if not cell:
        return ""
    lines = [line.strip() for line in cell.replace("\t", " ").split("\n")]
    out = ""
    for line in lines:
        if not line:
            continue
        if out and not (_CJK.match(out[-1]) or _CJK.match(line[0])):
            out += " "
        out += line
    return out
