"""A PDF's text layer, layout kept, ruled tables as tab-separated rows (`pdf_tables`); pages
without a Unicode map read again with PDFium. A scan (images, no text) is NoTextLayer: the
reader sends it to OCR (`ocr`)."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
from pdfminer.pdfdocument import PDFPasswordIncorrect

from structurer.documents.errors import DocumentError, NoTextLayer
from structurer.documents.pdf_tables import page_with_tables

_CID = re.compile(r"\(cid:\d+\)")
_MAX_UNMAPPED = 0.3  # share of unmapped glyphs above which a PDF page's text is unusable


def pdf_text(data: bytes, path: Path) -> str:
    """The PDF's text layer with layout kept (columns as runs of spaces), pages split by \f;
    a ruled table's rows as tab-separated cells, blank cells kept.

    Pages whose fonts lack a Unicode map come out of pdfminer as "(cid:123)" tokens; those
    pages are read again with PDFium, which knows more fonts (plain text, layout lost).
    """
    pages: list[str] = []
    images = 0
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for index, page in enumerate(pdf.pages):
                if _has_doubled_glyphs(page.chars):
                    page = page.dedupe_chars()
                raw = page.extract_text(layout=True) or ""
                images += len(page.images)
                if _unmapped_share(raw) > _MAX_UNMAPPED:
                    pages.append(textwrap.dedent(_tidy_layout(_pdfium_page(data, index))))
                    continue
                tabled = page_with_tables(page, _layout)
                pages.append(tabled if tabled is not None else _layout(page))
    except Exception as exc:  # pdfminer raises many unrelated types for broken files
        cause = _root_cause(exc)
        if isinstance(cause, PDFPasswordIncorrect):
            raise DocumentError(f"{path}: PDF is password-protected") from None
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise DocumentError(f"{path}: not a readable PDF ({reason})") from None
    text = "\f".join(pages)
    if not text.strip():
        if images:
            raise NoTextLayer(f"{path}: PDF has no text layer (scanned images)")
        raise DocumentError(f"{path}: PDF has no text")
    if _unmapped_share(text) > _MAX_UNMAPPED:
        raise DocumentError(f"{path}: PDF text layer is unreadable (fonts without Unicode map)")
    return text


def _layout(region: Any) -> str:
    return textwrap.dedent(_tidy_layout(region.extract_text(layout=True) or ""))


def _has_doubled_glyphs(chars: list[dict[str, object]]) -> bool:
    """Fake bold prints a glyph twice, slightly offset: text would come out doubled."""
    seen: set[tuple[object, int, int]] = set()
    for char in chars:
        x0, top = char.get("x0"), char.get("top")
        if not isinstance(x0, int | float) or not isinstance(top, int | float):
            continue
        text, x, y = char.get("text"), round(x0), round(top)
        if any((text, x + dx, y) in seen for dx in (-1, 0, 1)):
            return True
        seen.add((text, x, y))
    return False


def _root_cause(exc: BaseException) -> BaseException:
    """pdfplumber wraps pdfminer's errors (as an argument or as the cause): unwrap them."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = next((a for a in exc.args if isinstance(a, BaseException)), None)
        inner = inner or exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _unmapped_share(text: str) -> float:
    """Share of the non-space text that is "(cid:N)" tokens or replacement characters."""
    body = "".join(text.split())
    if not body:
        return 0.0
    unmapped = sum(len(m) for m in _CID.findall(body)) + body.count("\ufffd")
    return unmapped / len(body)


def _pdfium_page(data: bytes, index: int) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[index]
        text = page.get_textpage().get_text_range()
    finally:
        pdf.close()
    return str(text).replace("\r\n", "\n").replace("\r", "\n")


def _tidy_layout(page: str) -> str:
    """Trim layout padding: trailing spaces, single blank lines from rounding, edge blanks."""
    lines = [line.rstrip() for line in page.split("\n")]
    out: list[str] = []
    blank_run = 0
    for line in lines:
        if not line:
            blank_run += 1
            continue
        if out and blank_run >= 2:
            out.append("")
        blank_run = 0
        out.append(line)
    return "\n".join(out)
