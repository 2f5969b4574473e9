"""Normalised view of a document text with a per-character map back to the original, and
its tokens (numbers, blank marks, label text).

Language support (not any report type): Chinese counting units after a number (件, 条 …),
Chinese numerals, full-width forms. Units of measure such as money are declared by the
report type's column specs (`ColumnSpec.unit_factors`) and passed to `tokenize`.

Every offset that leaves this module indexes the ORIGINAL text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import cn2an

_SPACE_LIKE = {"\u00a0", "\u3000", "\u2002", "\u2003", "\u200b", "\ufeff"}
COUNT_UNITS = ("件", "条", "个", "项", "次", "人", "宗", "家", "份", "起")


@lru_cache(maxsize=16)
def _number_re(units: tuple[str, ...]) -> re.Pattern[str]:
    """A whole cell holding a number, an optional unit (longest first) and a remark."""
    alternatives = "|".join(
        re.escape(u) for u in sorted({*units, *COUNT_UNITS}, key=len, reverse=True)
    )
    return re.compile(
        rf"(?P<num>[+\-]?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?)\s*(?P<unit>{alternatives})?\s*(?P<remark>\(.*\))?"
    )


_NUM_RE = _number_re(())
_BLANK_RE = re.compile(r"[-—–─~]{1,2}|/|\\|无|空|/")
_RULE_RE = re.compile(r":?[-—–─=:]{3,}:?")
_CN_NUMERAL_RE = re.compile(r"[零〇一二两三四五六七八九十百千]+")
_ITEM_NUMBER_RE = re.compile(r"\([一二三四五六七八九十]{1,3}\)")
_OCR_DIGITS = {"O": "0", "o": "0", "l": "1", "I": "1"}
# a token: a run of non-space chars, or a parenthesised group (which may hold spaces)
_TOKEN_RE = re.compile(r"(?:[^\s|(]|\([^()\n]{0,60}\)|\()+")
_PAGE_DECORATED_RE = re.compile(
    r"(?:[-—–]\s*\d{1,4}\s*[-—–]|第\s*\d{1,4}\s*页(?:\s*[,，]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4})"
)
_PAGE_BARE_RE = re.compile(r"\d{1,4}")
# "- 7 -" set apart by wide spaces inside a line: a converter put the page number on the
# line of the text next to it (a blank mark, a number and a blank mark in a row are
# printed with the row's own wider spacing)
_PAGE_INLINE_RE = re.compile(
    r"(?:(?<=\n)|^|(?<=   ))[-—–] \d{1,4} [-—–](?=   |[ \t]*$|[ \t]*\f)", re.MULTILINE
)
_PAGE_LINE_RE = re.compile(
    r"^[ \t\f]*(?:[-—–]\s*\d{1,4}\s*[-—–]|第\s*\d{1,4}\s*页(?:\s*[,，]?\s*共\s*\d{1,4}\s*页)?)[ \t\f]*$",
    re.MULTILINE,
)


class TokenKind(StrEnum):
    number = "number"
    blank = "blank"  # an explicit mark for an empty cell: "-", "—", "/", "无"
    text = "text"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # normalised text of the token
    start: int  # offsets into the ORIGINAL text
    end: int
    sep: str  # normalised separator text before this token
    norm_start: int  # offset of the token in the normalised text
    value: float | None = None
    unit: str | None = None
    remark: str | None = None


@dataclass(frozen=True)
class MappedText:
    """`norm` is NFKC text (page numbers masked); `origin[i]` is the original offset of norm[i]."""

    original: str
    norm: str
    origin: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of norm[start:end]."""
        if end <= start:
            pos = self.origin[start] if start < len(self.origin) else len(self.original)
            return pos, pos
        return self.origin[start], self.origin[end - 1] + 1


def normalise(text: str) -> MappedText:
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in _SPACE_LIKE:
            mapped = " "
        elif ch == "\r":
            mapped = "\n" if not text.startswith("\n", i + 1) else ""
        else:
            mapped = unicodedata.normalize("NFKC", ch)
        for out in mapped:
            chars.append(out)
            origin.append(i)
    norm = _mask_page_numbers("".join(chars))
    return MappedText(original=text, norm=norm, origin=origin)


def _mask_page_numbers(norm: str) -> str:
    """Blank out page-number lines: decorated ones ("- 7 -", "第7页") anywhere, bare
    numbers only as the footer before a form feed."""
    norm = _PAGE_LINE_RE.sub(lambda m: re.sub(r"[^\n\f]", " ", m.group()), norm)
    norm = _PAGE_INLINE_RE.sub(lambda m: " " * len(m.group()), norm)
    if "\f" not in norm:
        return norm
    lines: list[tuple[int, int]] = []
    pos = 0
    for line in norm.split("\n"):
        lines.append((pos, pos + len(line)))
        pos += len(line) + 1
    out = list(norm)

    def content(j: int) -> str:
        a, b = lines[j]
        return norm[a:b].replace("\f", " ").strip()

    def mask(j: int) -> None:
        a, b = lines[j]
        for p in range(a, b):
            if out[p] != "\f":
                out[p] = " "

    for j, (a, b) in enumerate(lines):
        if "\f" not in norm[a:b]:
            continue
        ff_at = norm.index("\f", a)
        before = [k for k in range(j, -1, -1) if content(k)][:1]
        if ff_at > a and content(j) and norm[a:ff_at].strip():
            before = [j]
        elif before and before[0] == j:
            before = [k for k in range(j - 1, -1, -1) if content(k)][:1]
        after = [k for k in range(j + 1, len(lines)) if content(k)][:1]
        if norm[ff_at + 1 : b].strip():
            after = [j]
        for k in before:
            c = content(k)
            if _PAGE_DECORATED_RE.fullmatch(c) or (_PAGE_BARE_RE.fullmatch(c) and int(c) > 0):
                mask(k)
        for k in after:
            if _PAGE_DECORATED_RE.fullmatch(content(k)):
                mask(k)
    return "".join(out)


def parse_number(
    text: str, units: tuple[str, ...] = ()
) -> tuple[float, str | None, str | None] | None:
    """(value, unit, remark) when `text` is a whole cell holding one number, else None.
    `units`: units of measure the report type declares, besides the counting units."""
    text = "".join(_OCR_DIGITS.get(c, c) for c in text) if len(text) <= 2 else text
    m = _number_re(units).fullmatch(text)
    if m is not None:
        return float(m.group("num").replace(",", "")), m.group("unit"), m.group("remark")
    if _CN_NUMERAL_RE.fullmatch(text) and (len(text) > 1 or text in "零〇"):
        try:
            return float(cn2an.cn2an(text, "strict")), None, None
        except ValueError:
            return None
    return None


def tokenize(mapped: MappedText, units: tuple[str, ...] = ()) -> list[Token]:
    norm = mapped.norm
    tokens: list[Token] = []
    prev_end = 0
    for m in _TOKEN_RE.finditer(norm):
        sep = norm[prev_end : m.start()]
        prev_end = m.end()
        raw = m.group()
        start, end = mapped.span(m.start(), m.end())
        if _RULE_RE.fullmatch(raw):
            continue
        parsed = parse_number(raw, units)
        if parsed is not None:
            value, unit, remark = parsed
            tokens.append(
                Token(TokenKind.number, raw, start, end, sep, m.start(), value, unit, remark)
            )
        elif _BLANK_RE.fullmatch(raw):
            tokens.append(Token(TokenKind.blank, raw, start, end, sep, m.start(), 0.0))
        elif (
            raw.startswith("(")
            and not _ITEM_NUMBER_RE.match(raw)  # "(二)部分公开…": the next row's label
            and tokens
            and tokens[-1].kind == TokenKind.number
            and tokens[-1].remark is None
            and "\n" not in sep
        ):
            last = tokens[-1]  # "3 (含转办1件)": a remark printed after the number
            tokens[-1] = Token(
                last.kind,
                last.text + sep + raw,
                last.start,
                end,
                last.sep,
                last.norm_start,
                last.value,
                last.unit,
                raw,
            )
        else:
            tokens.append(Token(TokenKind.text, raw, start, end, sep, m.start()))
    return tokens


def is_key_char(ch: str) -> bool:
    return (
        ("\u4e00" <= ch <= "\u9fff")
        or ("\u3400" <= ch <= "\u4dbf")
        or (ch.isascii() and ch.isalnum())
    )


def label_key(text: str) -> str:
    """The form labels are compared in: NFKC, only CJK letters and ASCII letters/digits."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if is_key_char(ch))


def display_width(text: str, wide: int = 2) -> int:
    """Display columns `text` takes from a line's start: a CJK character `wide`, tabs to 8."""
    col = 0
    for ch in text:
        if ch == "\t":
            col = (col // 8 + 1) * 8
        else:
            col += wide if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return col


class DisplayColumns:
    """Display column (CJK = `wide` columns, tabs to 8) of original offsets, for layout text
    whose columns line up. Text typed in a monospace editor lines up with CJK 2 wide; the
    layout text of PDF converters (pdftotext -layout, pdfplumber) puts one character in
    each grid column, CJK or not (`wide=1`)."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(original) if ch == "\n"]
        self.page_breaks = [i for i, ch in enumerate(original) if ch == "\f"]

    def at(self, offset: int, wide: int = 2) -> int:
        line_start = self.line_starts[bisect_right(self.line_starts, offset) - 1]
        return display_width(self.original[line_start:offset], wide)

    def page(self, offset: int) -> int:
        """How many page breaks (form feeds) come before `offset`."""
        return bisect_right(self.page_breaks, offset)

    def number_end(self, token: Token, wide: int = 2) -> int:
        """Column just after the digits of a number token (numbers are right-aligned)."""
        m = _NUM_RE.match(token.text)
        digits = len(m.group("num")) if m is not None else len(token.text)
        return self.at(token.start, wide) + digits
