"""Text bytes to str: BOMs, UTF-16 without BOM, strict UTF-8, a declared charset, GB18030,
detection; a few stray NUL bytes in 8-bit text are removed (and noted), not taken for binary."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from charset_normalizer import from_bytes

from structurer.documents.errors import DocumentError

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
_MAX_STRAY_NULS = 16  # NUL bytes tolerated (and removed) in an otherwise valid text file


def strip_stray_nuls(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """A few NUL bytes in a file that is otherwise 8-bit text (not UTF-16/32: there NULs are
    everywhere) are damage, not a sign of a binary file: removed, and noted."""
    n = data.count(b"\x00")
    if not n or n > _MAX_STRAY_NULS or _sniff_utf16(data) is not None:
        return data, ()
    if any(data.startswith(bom) for bom, _ in _BOMS):
        return data, ()
    return data.replace(b"\x00", b""), (f"{n} NUL byte(s) removed",)


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


def declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    if match is None:
        return None
    name = match.group(1).decode("ascii", "replace").lower()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
