"""Locate a model's quote in the document text ourselves; never trust model offsets."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz

from structurer.core.types import AlignmentStatus, Evidence

FUZZY_MIN_SCORE = 85.0
_SPACE = re.compile(r"\s+")


def _squeeze(text: str) -> tuple[str, list[int]]:
    """NFKC, whitespace removed; with the index in `text` of every kept character."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        norm = unicodedata.normalize("NFKC", ch)
        for c in norm:
            if not c.isspace():
                chars.append(c)
                index.append(i)
    return "".join(chars), index


def align_quote(quote: str | None, text: str, windows: Sequence[tuple[int, int]] = ()) -> Evidence:
    """Find `quote` in `text`, preferring the given (start, end) windows (e.g. its section).

    exact: the quote appears verbatim; fuzzy: it appears up to whitespace/width differences or
    with a partial-ratio score >= FUZZY_MIN_SCORE; not_found otherwise.
    """
    if not quote or not quote.strip():
        return Evidence(None, None, quote, AlignmentStatus.not_found)
    quote = quote.strip()
    for start, end in [*windows, (0, len(text))]:
        pos = text.find(quote, start, end)
        if pos >= 0:
            return Evidence(pos, pos + len(quote), quote, AlignmentStatus.exact)
    squeezed_text, index = _squeeze(text)
    squeezed_quote, _ = _squeeze(quote)
    if not squeezed_quote:
        return Evidence(None, None, quote, AlignmentStatus.not_found)
    pos = squeezed_text.find(squeezed_quote)
    if pos >= 0:
        start, end = index[pos], index[pos + len(squeezed_quote) - 1] + 1
        return Evidence(start, end, text[start:end], AlignmentStatus.fuzzy)
    if len(squeezed_quote) >= 4:
        found = fuzz.partial_ratio_alignment(squeezed_quote, squeezed_text)
        if (
            found is not None
            and found.score >= FUZZY_MIN_SCORE
            and found.dest_end > found.dest_start
        ):
            start, end = index[found.dest_start], index[found.dest_end - 1] + 1
            return Evidence(start, end, text[start:end], AlignmentStatus.fuzzy)
    return Evidence(None, None, quote, AlignmentStatus.not_found)
