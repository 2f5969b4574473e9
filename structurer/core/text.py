"""A normalised view of a document's text that maps every offset back to the text as read.

The view is for matching (headings, labels, numbers); evidence offsets must point into the
raw text, so `NormalizedText.to_raw` / `span_to_raw` translate back. What changes:

- each character goes through NFKC (full-width digits/letters/punctuation to ASCII, Kangxi
  radicals from PDF fonts to the ordinary ideographs, U+3000 and NBSP to spaces);
- zero-width characters and the BOM are dropped;
- "\\r\\n" and "\\r" become "\\n", form feeds become line breaks;
- page-number lines ("- 3 -", "第 3 页", "第3页 共10页", "Page 3 of 10", and a bare number
  next to a page break) are removed;
- trailing spaces at line ends are removed (inner runs are kept: they separate PDF columns).
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from dataclasses import dataclass
from functools import cache

_DROP = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_PAGE_NUMBER = re.compile(
    r"""^\s*(?:
        [-–—_~]+\s*\d{1,4}\s*[-–—_~]+                       # - 3 -
      | 第\s*\d{1,4}\s*页(?:\s*[,/]?\s*共\s*\d{1,4}\s*页)?   # 第3页 / 第3页 共10页
      | 共\s*\d{1,4}\s*页\s*[,/]?\s*第\s*\d{1,4}\s*页         # 共10页 第3页
      | (?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?     # Page 3 of 10
      | \d{1,4}\s*/\s*\d{1,4}                                 # 3/10
    )\s*$""",
    re.I | re.X,
)
_BARE_NUMBER = re.compile(r"^\s*\d{1,4}\s*$")


@dataclass(frozen=True)
class NormalizedText:
    """Normalised text plus, for each of its characters, the raw span it came from."""

    text: str
    raw_length: int
    starts: array[int]  # raw start offset of each normalised char
    ends: array[int]  # raw end offset of each normalised char

    def to_raw(self, i: int) -> int:
        """Raw offset of normalised offset `i` (0 <= i <= len(text)); len(text) maps to the end."""
        if i < 0 or i > len(self.text):
            raise IndexError(f"offset {i} outside 0..{len(self.text)}")
        if i == len(self.text):
            return self.raw_length
        return int(self.starts[i])

    def span_to_raw(self, start: int, end: int) -> tuple[int, int]:
        """Raw half-open span covering the normalised span [start, end)."""
        if not 0 <= start <= end <= len(self.text):
            raise IndexError(f"span {start}..{end} outside 0..{len(self.text)}")
        if start == end:
            raw = self.to_raw(start)
            return raw, raw
        return int(self.starts[start]), int(self.ends[end - 1])


def normalize(text: str) -> NormalizedText:
    """Normalise `text` (see the module docstring), keeping a per-character offset map."""
    out: list[str] = []
    starts = array("l")
    ends = array("l")
    for line_start, line_end, newline_end in _raw_lines(text):
        line = text[line_start:line_end]
        if _is_page_number(text, line, line_start, newline_end):
            continue
        pieces = list(map(_fold, line))
        folded = "".join(pieces).rstrip(" \t")
        if all(len(piece) == 1 for piece in pieces):  # one char for one char: the common case
            out.append(folded)
            starts.extend(range(line_start, line_start + len(folded)))
            ends.extend(range(line_start + 1, line_start + len(folded) + 1))
        else:
            _append_mapped(out, starts, ends, pieces, line_start, len(folded))
        if newline_end > line_end:
            out.append("\n")
            starts.append(line_end)
            ends.append(newline_end)
    return NormalizedText(text="".join(out), raw_length=len(text), starts=starts, ends=ends)


@cache
def _fold(ch: str) -> str:
    """NFKC of one character; "" for the zero-width ones."""
    return "" if ch in _DROP else unicodedata.normalize("NFKC", ch)


def _append_mapped(
    out: list[str],
    starts: array[int],
    ends: array[int],
    pieces: list[str],
    line_start: int,
    keep: int,
) -> None:
    """Append the first `keep` folded characters of a line, each mapped to its raw character."""
    for offset, piece in enumerate(pieces, start=line_start):
        for ch in piece:
            if keep == 0:
                return
            out.append(ch)
            starts.append(offset)
            ends.append(offset + 1)
            keep -= 1


def _raw_lines(text: str) -> list[tuple[int, int, int]]:
    """(start, end of content, end after the break) for each line; breaks: \\r\\n \\n \\r \\f."""
    lines: list[tuple[int, int, int]] = []
    start = 0
    for match in re.finditer(r"\r\n|[\n\r\f\v\x1c\x1d\x1e\x85\u2028\u2029]", text):
        lines.append((start, match.start(), match.end()))
        start = match.end()
    if start < len(text):
        lines.append((start, len(text), len(text)))
    return lines


def _is_page_number(text: str, line: str, start: int, newline_end: int) -> bool:
    folded = unicodedata.normalize("NFKC", line)
    if _PAGE_NUMBER.match(folded):
        return True
    if not _BARE_NUMBER.match(folded):
        return False
    # A bare number counts as a page number only right before or after a page break.
    after_break = start > 0 and text[start - 1] == "\f"
    before_break = newline_end > 0 and text[newline_end - 1] == "\f"
    return after_break or before_break


def is_wide(ch: str) -> bool:
    """A wide or full-width character (CJK ideographs and punctuation)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def join_lines(text: str) -> str:
    """Lines wrapped inside one sentence or one table cell joined back: each line stripped,
    empty lines dropped, nothing between two lines where either side is a wide (CJK)
    character, a space between words."""
    out = ""
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if out and not (is_wide(out[-1]) or is_wide(line[0])):
            out += " "
        out += line
    return out
