"""What a document's tables say about its input, for the operator.

Doubted cells go to review one by one; when the doubts come from what the conversion to text
lost (blank cells dropped, characters recognised from an image), the fix is a better input,
not more review. One line per document, shown with its result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from structurer.tables.cells import Slot
from structurer.tables.checks import OCR_READ
from structurer.tables.spec import RowSpec

MIN_SHORT_ROWS = 2  # rows printing fewer numbers than columns before blanks count as lost


@dataclass(frozen=True)
class TableDoubts:
    """One table as read: its cells, how many were doubted, and its rows that print fewer
    numbers than the table has columns."""

    name: str
    cells: int
    doubted: int
    short_rows: int


def table_doubts(
    name: str, read_rows: Sequence[tuple[RowSpec, Sequence[Slot]]], doubted: set[str]
) -> TableDoubts:
    paths = {f"{row.path}.{c.key}" for row, _ in read_rows for c in row.columns}
    short = sum(1 for row, slots in read_rows if 0 < len(slots) < len(row.columns))
    return TableDoubts(name, len(paths), len(paths & doubted), short)


def input_note(tables: Sequence[TableDoubts], ocr: str | None) -> str | None:
    """Why the tables' doubts are the input's, with what would read them better; None when
    nothing was doubted or the doubts are not about the conversion."""
    if ocr:
        hit = [t for t in tables if t.doubted]
        cause = (
            (
                "the tables were read by OCR from page images, so cells no table identity "
                "confirms are doubted (a digit may be misread): a file with a text layer, if "
                "there is one, reads them without that doubt"
            )
            if ocr == OCR_READ
            else (
                f"the text looks like OCR output ({ocr}), so digits may be misread: the "
                "original file or its text layer reads them without that loss; a scan given "
                "as it is (the PDF or the page images) is read cell by cell by structurer's "
                "own OCR"
            )
        )
    else:
        hit = [t for t in tables if t.doubted and t.short_rows >= MIN_SHORT_ROWS]
        rows = sum(t.short_rows for t in hit)
        cause = (
            f"{rows} rows print fewer numbers than their table has columns (the conversion to "
            "text dropped blank cells, so a number's column is a guess): the original PDF, "
            "DOCX or HTML, or a layout-keeping conversion, reads them without that loss"
        )
    if not hit:
        return None
    doubted, cells = sum(t.doubted for t in hit), sum(t.cells for t in hit)
    names = ", ".join(t.name for t in hit)
    return f"tables ({names}): {doubted} of {cells} cells doubted; {cause}"
