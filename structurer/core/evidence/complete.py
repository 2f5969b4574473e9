"""List items the model only began, and quotes the schema clipped, completed from the text.

With `item_max_chars` the prompt (v5) asks for the first words of each list item and the
reply's schema caps each item (llama.cpp's grammar stops it there), so the model decodes the
start of each item, not the whole sentence: list items were most of what it decoded. Each item
is found in the text and completed to the end of its sentence there, so the record holds the
report's own words (an endpoint without grammars may give whole items: they keep their first
sentence, what the spec asks). Likewise `quote_max_chars` caps quotes, and a clipped quote is
completed to its clause's end (the value often follows the words the cap kept). An item the text does not
contain is left as given (grounding judges it). An item that starts inside an earlier item's
completed sentence (the model went on with the sentence it was cut off in) is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from structurer.core.evidence.align import align_quote
from structurer.core.types import AlignmentStatus

SENTENCE_ENDS = frozenset("。！？；：!?;")
CLAUSE_ENDS = SENTENCE_ENDS | frozenset("，,")
MAX_QUOTE_GROWTH = 60  # a clipped quote is completed to its clause's end, at most this far
MAX_ITEM_CHARS = 200  # an item with no sentence end this far is cut here
MIN_ITEM_CHARS = 8  # a sentence end this early in an item does not end it ("一、" …)
_PARAGRAPH = re.compile(r"\n[ \t\u3000]*\n")
_LINE_BREAK = re.compile(r"[ \t\u3000]*\n[ \t\u3000]*")


def complete_items(
    items: Sequence[str], text: str, windows: Sequence[tuple[int, int]] = ()
) -> list[str]:
    """`items` as the record should hold them: each completed to its sentence's end in `text`
    (an item of several sentences keeps its first), continuations of an earlier item dropped."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    for item in items:
        found = align_quote(item, text, windows)
        if found.status == AlignmentStatus.not_found or found.start is None or found.end is None:
            out.append(item)
            continue
        start, end = found.start, found.end
        if any(s <= start < e for s, e in spans):
            continue
        end = sentence_end(text, start, end)
        spans.append((start, end))
        out.append(_unwrap(text[start:end]))
    return out


def complete_quote(
    quote: str | None, cap: int, text: str, windows: Sequence[tuple[int, int]] = ()
) -> str | None:
    """A quote the schema's cap clipped (exactly `cap` characters) completed to the end of
    its clause in `text`, so it holds the value the model read further on; others as given."""
    if quote is None or len(quote) != cap:
        return quote
    found = align_quote(quote, text, windows)
    if found.status == AlignmentStatus.not_found or found.start is None or found.end is None:
        return quote
    limit = min(len(text), found.end + MAX_QUOTE_GROWTH)
    end = next((i for i in range(found.end, limit) if text[i] in CLAUSE_ENDS), limit)
    return _unwrap(text[found.start : end])


def sentence_end(text: str, start: int, end: int) -> int:
    """The end of the sentence that `text[start:end]` begins: just after the first sentence
    mark (or a "." before a space) at or after `start + MIN_ITEM_CHARS`, before a blank line, at most MAX_ITEM_CHARS
    on. Single line breaks don't end a sentence (PDF text wraps lines inside sentences)."""
    limit = min(len(text), start + MAX_ITEM_CHARS)
    paragraph = _PARAGRAPH.search(text, start, limit)
    if paragraph is not None:
        limit = max(end, paragraph.start())
    for i in range(min(start + MIN_ITEM_CHARS, limit), limit):
        if text[i] in SENTENCE_ENDS or (text[i] == "." and text[i + 1 : i + 2].isspace()):
            return i + 1
    return limit


def _unwrap(span: str) -> str:
    """A span's wrapped lines joined: nothing beside a CJK character, a space between words."""

    def join(m: re.Match[str]) -> str:
        before = span[m.start() - 1] if m.start() > 0 else ""
        after = span[m.end()] if m.end() < len(span) else ""
        return "" if _is_wide(before) or _is_wide(after) else " "

    return _LINE_BREAK.sub(join, span).strip()


def _is_wide(ch: str) -> bool:
    return bool(ch) and unicodedata.east_asian_width(ch) in ("W", "F")
