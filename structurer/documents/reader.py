"""Read a report from disk into a `LoadedDocument`: plain text, HTML or PDF.

`text` is exactly what was decoded (or rendered, for HTML and PDF): evidence offsets point
into it, so nothing here normalises characters. Every failure is a `DocumentError` with a
one-line message naming the file.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import textwrap
import unicodedata
from pathlib import Path

import lxml.html
import pdfplumber
import pypdfium2 as pdfium
from charset_normalizer import from_bytes
from lxml import etree
from pdfminer.pdfdocument import PDFPasswordIncorrect

from structurer.core.types import LoadedDocument

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml"})
PDF_SUFFIXES = frozenset({".pdf"})

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
# Share of characters that may be controls / unassigned / private-use in real text.
_MAX_BAD_SHARE = 0.002
_MAX_DAMAGED = 8  # damaged byte sequences tolerated in an otherwise clean UTF-8/GB18030 file


class DocumentError(ValueError):
    """A document cannot be read. The message is one line and names the file."""


def read_document(path: Path) -> LoadedDocument:
    """Read `path` (txt or unknown text extension, html/htm, pdf) into a LoadedDocument."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DocumentError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if not data.strip():
        raise DocumentError(f"{path}: file is empty")
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()

    if suffix in PDF_SUFFIXES or b"%PDF-" in data[:1024]:
        text = _pdf_text(data, path)
        fmt, encoding = "pdf", None
    elif suffix in HTML_SUFFIXES:
        source, encoding = decode_bytes(data, path, declared=_declared_charset(data))
        text = _html_text(source, path)
        fmt = "html"
    else:
        text, encoding = decode_bytes(data, path)
        fmt = "txt"
    if not text.strip():
        raise DocumentError(f"{path}: file is empty (no text in it)")
    return LoadedDocument(
        name=path.name,
        path=str(path),
        sha256=digest,
        text=text,
        source_format=fmt,
        encoding=encoding,
    )


def decode_bytes(data: bytes, path: Path, declared: str | None = None) -> tuple[str, str]:
    """Decode text bytes: BOM, UTF-16 without BOM, strict UTF-8, declared, GB18030, detection."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data[len(bom) :], encoding.removesuffix("-sig"))
            if text is None:
                raise DocumentError(f"{path}: undecodable bytes after a {encoding} BOM")
            return text, encoding
    if b"\x00" in data:
        utf16 = _sniff_utf16(data)
        if utf16 is None:
            raise DocumentError(f"{path}: binary file (contains NUL bytes), not text")
        return utf16
    candidates = ["utf-8"]
    if declared:
        candidates.append(declared)
    candidates.append("gb18030")
    for encoding in candidates:
        text = _strict(data, encoding)
        if text is not None and _plausible(text):
            if encoding == "gb18030" and _strict(data, "gbk") is not None:
                return text, "gbk"
            return text, encoding
    nearly = _nearly_clean(data)
    if nearly is not None:
        return nearly
    best = from_bytes(data).best()
    if best is not None and best.encoding:
        text = _strict(data, best.encoding)
        if text is not None and _plausible(text):
            return text, best.encoding
    raise DocumentError(
        f"{path}: undecodable bytes (not UTF-8, UTF-16, GB18030 or a detected encoding)"
    )


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _nearly_clean(data: bytes) -> tuple[str, str] | None:
    """UTF-8 or GB18030 text with a few damaged bytes: decoded with U+FFFD in their place."""
    decodings = [(data.decode(enc, errors="replace"), enc) for enc in ("utf-8", "gb18030")]
    text, encoding = min(decodings, key=lambda pair: pair[0].count("\ufffd"))
    damaged = text.count("\ufffd")
    if damaged <= min(_MAX_DAMAGED, len(text) * _MAX_BAD_SHARE) and _plausible(text):
        return text, encoding
    return None


def _plausible(text: str) -> bool:
    """True when a decoding looks like text: almost no controls, unassigned or private chars."""
    if not text:
        return False
    bad = 0
    for ch in text:
        if ch in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs"):
            bad += 1
    return bad <= max(1, int(len(text) * _MAX_BAD_SHARE))


def _sniff_utf16(data: bytes) -> tuple[str, str] | None:
    """UTF-16 without BOM: ASCII (line breaks, digits) leaves NULs mostly on one byte parity."""
    if len(data) % 2:
        return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    order = ["utf-16-le", "utf-16-be"] if odd >= even else ["utf-16-be", "utf-16-le"]
    if max(even, odd) < 2 * min(even, odd):
        return None
    for encoding in order:
        text = _strict(data, encoding)
        if text is not None and "\x00" not in text and _plausible(text):
            return text, encoding
    return None


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    if match is None:
        return None
    name = match.group(1).decode("ascii", "replace").lower()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# --- HTML -----------------------------------------------------------------------------------

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
_MAX_CELL_CHARS = 300
_CID = re.compile(r"\(cid:\d+\)")
_MAX_UNMAPPED = 0.3  # share of unmapped glyphs above which a PDF page's text is unusable  # a cell holding more text than this is page layout, not data
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


def _html_text(source: str, path: Path) -> str:
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


# --- PDF ------------------------------------------------------------------------------------


def _pdf_text(data: bytes, path: Path) -> str:
    """The PDF's text layer with layout kept (columns as runs of spaces), pages split by \f.

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
                    raw = _pdfium_page(data, index)
                pages.append(textwrap.dedent(_tidy_layout(raw)))
    except Exception as exc:  # pdfminer raises many unrelated types for broken files
        cause = _root_cause(exc)
        if isinstance(cause, PDFPasswordIncorrect):
            raise DocumentError(f"{path}: PDF is password-protected") from None
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise DocumentError(f"{path}: not a readable PDF ({reason})") from None
    text = "\f".join(pages)
    if not text.strip():
        if images:
            raise DocumentError(f"{path}: PDF has no text layer (scanned images; needs OCR)")
        raise DocumentError(f"{path}: PDF has no text")
    if _unmapped_share(text) > _MAX_UNMAPPED:
        raise DocumentError(f"{path}: PDF text layer is unreadable (fonts without Unicode map)")
    return text


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
