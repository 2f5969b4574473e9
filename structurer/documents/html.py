"""HTML rendered as text: block elements on their own lines, one table row per line."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
from lxml import etree

from structurer.documents.errors import DocumentError

_DROP_TAGS = ("script", "style", "noscript", "template", "head", "iframe", "object", "svg")
_BLOCK_TAGS = frozenset(
    {
        *("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd"),
        *("section", "article", "header", "footer", "nav", "aside", "main", "blockquote"),
        *("pre", "hr", "form", "center", "address", "figure", "figcaption", "caption"),
        *("table", "tbody", "thead", "tfoot", "body", "html", "title", "fieldset", "legend"),
        *("details", "summary"),
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_MAX_CELL_CHARS = 300  # a cell holding more text than this is page layout, not data
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_WS = re.compile(r"[ \t\n\r\f\v]+")


class _Lines:
    """Collects rendered text: inline runs with HTML whitespace collapsing, explicit breaks."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []

    def text(self, value: str | None, pre: bool = False) -> None:
        if not value:
            return
        if pre:
            parts = value.replace("\r\n", "\n").split("\n")
            for k, part in enumerate(parts):
                if k:
                    self.newline()
                self.current.append(part)
            return
        value = _WS.sub(" ", value)
        if not self.current or self.current[-1].endswith(" "):
            value = value.lstrip(" ")
        if value:
            self.current.append(value)

    def newline(self) -> None:
        self.lines.append("".join(self.current).strip(" "))
        self.current = []

    def ensure_break(self) -> None:
        if self.current:
            self.newline()

    def result(self) -> str:
        self.ensure_break()
        out: list[str] = []
        for line in self.lines:
            if line or (out and out[-1]):
                out.append(line)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)


def html_text(source: str, path: Path) -> str:
    """Render HTML as text: block elements on their own lines, one table row per line."""
    source = _XML_DECLARATION.sub("", source, count=1)
    if not source.strip():
        raise DocumentError(f"{path}: HTML file has no content")
    try:
        root = lxml.html.document_fromstring(source)
    except (etree.ParserError, ValueError) as exc:
        raise DocumentError(f"{path}: cannot parse HTML ({exc})") from None
    etree.strip_elements(
        root, etree.Comment, etree.ProcessingInstruction, *_DROP_TAGS, with_tail=False
    )
    out = _Lines()
    _render(root, out, pre=False)
    return out.result()


def _render(el: etree._Element, out: _Lines, pre: bool) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    tag = tag.lower()
    if tag == "br":
        out.newline()
        out.text(el.tail, pre)
        return
    if tag == "table":
        out.ensure_break()
        _render_table(el, out)
        out.text(el.tail, pre)
        return
    block = tag in _BLOCK_TAGS or tag in _CELL_TAGS or tag == "tr"
    inner_pre = pre or tag in ("pre", "textarea")
    if block:
        out.ensure_break()
    out.text(el.text, inner_pre)
    for child in el:
        _render(child, out, inner_pre)
    if block:
        out.ensure_break()
    out.text(el.tail, pre)


def _render_table(table: etree._Element, out: _Lines) -> None:
    rows = [tr for tr in table.iter("tr") if _owner_table(tr) is table]
    cells_by_row = [
        [c for c in tr if isinstance(c.tag, str) and c.tag.lower() in _CELL_TAGS] for tr in rows
    ]
    if _is_layout(cells_by_row):
        # A layout table (one cell per row, or page text inside cells): cells are blocks.
        for cells in cells_by_row:
            for cell in cells:
                _render(cell, out, pre=False)
        return
    pending: dict[int, int] = {}  # column -> rows still covered by a rowspan from above
    for cells in cells_by_row:
        row: list[str] = []
        for cell in cells:
            _skip_spanned(row, pending)
            text = _cell_text(cell)
            rowspan = _span(cell.get("rowspan"))
            for k in range(_span(cell.get("colspan"))):
                if rowspan > 1:
                    pending[len(row)] = rowspan - 1
                row.append(text if k == 0 else "")
        _skip_spanned(row, pending)
        if any(row):
            out.text("\t".join(row), pre=True)
            out.newline()


def _is_layout(cells_by_row: list[list[etree._Element]]) -> bool:
    if all(len(cells) <= 1 for cells in cells_by_row):
        return True
    for cells in cells_by_row:
        for cell in cells:
            if cell.find(".//table") is not None:
                return True
            if len(cell.text_content()) > _MAX_CELL_CHARS:
                return True
    return False


def _skip_spanned(row: list[str], pending: dict[int, int]) -> None:
    """Append empty cells for the columns that a rowspan from an earlier row still covers."""
    while pending.get(len(row), 0) > 0:
        pending[len(row)] -= 1
        row.append("")


def _cell_text(cell: etree._Element) -> str:
    sub = _Lines()
    sub.text(cell.text)
    for child in cell:
        _render(child, sub, pre=False)
    return " ".join(line for line in sub.result().split("\n") if line)


def _owner_table(tr: etree._Element) -> etree._Element | None:
    for ancestor in tr.iterancestors():
        if isinstance(ancestor.tag, str) and ancestor.tag.lower() == "table":
            return ancestor
    return None


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(str(value).strip()), 1000))
    except (TypeError, ValueError):
        return 1
