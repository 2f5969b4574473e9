"""Read a report from disk into a `LoadedDocument`: plain text, HTML, PDF or a scanned page
image (dispatch).

`text` is exactly what was decoded (or rendered, for HTML and PDF): evidence offsets point
into it, so nothing here normalises characters. Every failure is a `DocumentError` with a
one-line message naming the file. Before anything is read the file is checked: a regular
file (a FIFO would block for ever) within the size limit (STRUCTURER_MAX_INPUT_MB).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from structurer.core.types import LoadedDocument
from structurer.documents.decode import declared_charset, decode_bytes, strip_stray_nuls
from structurer.documents.errors import DocumentError, NoTextLayer
from structurer.documents.html import html_text
from structurer.documents.ocr import ocr_image, ocr_pdf
from structurer.documents.pdf import pdf_text

__all__ = ["DEFAULT_MAX_BYTES", "DocumentError", "check_file", "decode_bytes", "read_document"]

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml"})
PDF_SUFFIXES = frozenset({".pdf"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def check_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """The size of `path` if it is a regular file within the limit, else a DocumentError.

    Checked before opening: opening a FIFO would wait for a writer for ever.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DocumentError(f"{path}: file not found") from None
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DocumentError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise DocumentError(f"{path}: not a regular file ({kind}); refused")
    if info.st_size > max_bytes:
        raise DocumentError(
            f"{path}: file is {info.st_size / 2**20:.1f} MB, over the limit of "
            f"{round(max_bytes / 2**20, 2):g} MB (raise STRUCTURER_MAX_INPUT_MB to read it)"
        )
    return info.st_size


def read_document(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedDocument:
    """Read `path` (txt or unknown text extension, html/htm, pdf, page image) into a LoadedDocument.

    Refused with a DocumentError: anything but a regular file, a file over `max_bytes`."""
    path = Path(path)
    check_file(path, max_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # it grew after the check
        limit = round(max_bytes / 2**20, 2)
        raise DocumentError(f"{path}: file is over the limit of {limit:g} MB")
    if not data.strip():
        raise DocumentError(f"{path}: file is empty")
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()

    notes: tuple[str, ...] = ()
    if suffix in PDF_SUFFIXES or b"%PDF-" in data[:1024]:
        try:
            text, fmt = pdf_text(data, path), "pdf"
        except NoTextLayer:
            text, fmt = ocr_pdf(data, path), "scan"
            notes = ("no text layer: read by OCR from the page images",)
        encoding = None
    elif suffix in IMAGE_SUFFIXES:
        text = ocr_image(data, path)
        fmt, encoding = "image", None
        notes = ("a page image: read by OCR",)
    elif suffix in HTML_SUFFIXES:
        data, notes = strip_stray_nuls(data)
        source, encoding = decode_bytes(data, path, declared=declared_charset(data))
        text = html_text(source, path)
        fmt = "html"
    else:
        data, notes = strip_stray_nuls(data)
        try:
            text, encoding = decode_bytes(data, path)
        except DocumentError:
            if notes:  # the NULs were not stray: the rest is not text either
                raise DocumentError(f"{path}: binary file (contains NUL bytes), not text") from None
            raise
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
        notes=notes,
    )
