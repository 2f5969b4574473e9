"""A PDF page's ruled tables as one line per row, cells separated by tabs (empty cells kept).

Layout text keeps columns only as runs of spaces, and a blank cell leaves no trace in it: a
row printing 4 numbers in 7 columns no longer says which columns. pdfplumber's table finder
reads the ruling lines, so every cell, blank or merged, has its place: the row is written as
an HTML table row would be (`documents/html.py`), and the text around the tables keeps its
layout and reading order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from structurer.core.text import join_lines

_MIN_ROWS, _MIN_COLS = 2, 2  # a ruled box smaller than this is a frame, not a table


def page_with_tables(page: Any, layout: Callable[[Any], str]) -> str | None:
    """The page's text with each ruled table as tab-separated rows, in reading order; None
    when the page has no ruled table. `layout(region)` renders a part of the page as text."""
    tables = sorted((t for t in page.find_tables() if _is_table(t)), key=lambda t: t.bbox[1])
    if not tables or _beside(page, tables):
        return None
    left, top, right, bottom = page.bbox
    parts: list[str] = []
    for table in tables:
        t_top, t_bottom = table.bbox[1], table.bbox[3]
        if t_top - top > 1:
            parts.append(layout(page.crop((left, top, right, t_top))))
        parts.append("\n".join(_row_line(row) for row in table.extract()))
        top = t_bottom
    if bottom - top > 1:
        parts.append(layout(page.crop((left, top, right, bottom))))
    return "\n".join(p for p in parts if p.strip())


def _beside(page: Any, tables: list[Any]) -> bool:
    """Text printed beside a table, or tables overlapping in height: the page is not a
    column of text and tables, so it is read as layout text, nothing dropped."""
    for n, table in enumerate(tables):
        x0, top, x1, bottom = table.bbox
        if n and top < tables[n - 1].bbox[3]:
            return True
        for char in page.chars:
            inside_band = char["top"] >= top - 1 and char["bottom"] <= bottom + 1
            outside_table = char["x1"] < x0 - 1 or char["x0"] > x1 + 1
            if inside_band and outside_table and char["text"].strip():
                return True
    return False


def _is_table(table: Any) -> bool:
    rows = table.rows
    return len(rows) >= _MIN_ROWS and max(len(r.cells) for r in rows) >= _MIN_COLS


def _row_line(cells: list[str | None]) -> str:
    return "\t".join(_cell_text(c) for c in cells)


def _cell_text(cell: str | None) -> str:
    """A cell's text on one line: a label or a remark wrapped inside a narrow cell is joined
    back (without a space beside CJK characters); tabs inside a cell become spaces."""
    return join_lines(cell.replace("\t", " ")) if cell else ""
