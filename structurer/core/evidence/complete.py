"""List items and clipped quotes, completed from the text.

A small model begins an item after its point's first words, stops inside it, numbers it,
or lists the line that introduces the points as one of them. Each item is found in the text
and made the report's own words: it begins where its point (numbered at its line's start) or
its sentence begins, ends where its sentence ends (a colon ends one only at its line's end),
loses its number, and a line ending with a colon is dropped (what the model wrote is never
shortened). An item the text does not contain is left as given (grounding judges it). With
`item_max_chars` the prompt (v5) asks only for the first words of each item and the reply's
schema caps them, so this completion is what makes them whole. Likewise `quote_max_chars`
caps quotes, and a clipped quote is completed to its clause's end (the value often follows
the words the cap kept). Both caps are off by default (settings.py says why).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from structurer.core.evidence.align import align_quote
from structurer.core.text import join_lines
from structurer.core.types import AlignmentStatus

SENTENCE_ENDS = frozenset("。！？；：!?;")
CLAUSE_ENDS = SENTENCE_ENDS | frozenset("，,")
MAX_QUOTE_GROWTH = 60  # a clipped quote is completed to its clause's end, at most this far
MAX_ITEM_CHARS = 200  # an item with no sentence end this far is cut here
MAX_BACK_CHARS = 30  # an item begun this close after its sentence's or point's start begins there
_PARAGRAPH = re.compile(r"\n[ \t\u3000]*\n")
_N = "一二三四五六七八九十"
# the start of a point: its number, or a word that opens one
_POINT = re.compile(
    rf"[ \t\u3000]*(?:[{_N}]+是|[（(]?[{_N}\d]+[)）、.．]|第[{_N}]+|首先|其次|再次|最后|此外|另外)"
)
# a point's start where one can begin: at a line's start or after a sentence's end
_POINT_OPENS = re.compile(rf"(?:^|(?<=[\n。；;！？!?]))(?:{_POINT.pattern})")
# a point's number, dropped from its item (the spec's items are the report's words, unnumbered)
_NUMBER = re.compile(rf"^(?:[{_N}]+是|[（(][{_N}\d]+[)）]、?|[{_N}\d]+[、.．]|第[{_N}]+[，、,])")
_LEADING_MARKS = CLAUSE_ENDS | frozenset("、.:")  # a fuzzy match may begin on one
_COLONS = ("：", ":")


def complete_items(
    items: Sequence[str], text: str, windows: Sequence[tuple[int, int]] = ()
) -> list[str]:
    """`items` as the record should hold them: each completed to the end of the sentence it
    stops in (what the model wrote is never shortened). An item that starts inside the
    previous one, or goes on from it on the same line without a point marker ("二是", "（三）",
    "4."), extends it (the model split one point); one inside an earlier item is dropped."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    last_is_span = False  # whether out[-1] is the text of spans[-1]
    for item in items:
        # items come in the text's order: look after the previous one first
        after = [(spans[-1][1], e) for _, e in windows or [(0, len(text))]] if spans else []
        found = align_quote(item, text, [*after, *windows])
        if found.status == AlignmentStatus.not_found or found.start is None or found.end is None:
            out.append(item)
            last_is_span = False
            continue
        start = sentence_start(text, _skip_marks(text, found.start, found.end))
        end = sentence_end(text, start, found.end)
        last = spans[-1] if last_is_span else None
        if last is not None and (last[0] <= start < last[1] or _goes_on(text, last[1], start)):
            # the model went on with the point it was cut off in: the point runs on
            start, end = last[0], max(end, last[1])
            spans.pop()
            out.pop()
        elif any(s <= start < e for s, e in spans):
            continue
        spans.append((start, end))
        out.append(join_lines(text[start:end]))
        last_is_span = True
    # a line ending with a colon ("存在以下几个问题：") introduces the points, it is none
    points = [item for item in out if not item.rstrip().endswith(_COLONS)]
    return [_NUMBER.sub("", item, count=1) or item for item in points]


def sentence_start(text: str, start: int) -> int:
    """Where the item found at `start` begins: the start of its point, numbered at its line's
    start ("（一）认识不到位。部分…" holds its heading), or else of its sentence, when that is at
    most MAX_BACK_CHARS before `start` on the same line (the model often begins a point after
    its first words)."""
    line = text.rfind("\n", 0, start) + 1
    floor = max(line, start - MAX_BACK_CHARS)
    opens = list(_POINT_OPENS.finditer(text, line, start + 1))
    # a point numbered at its line's start ("（一）"); "一是…；二是…" on one line are sentences
    head = opens[-1].end() if opens and opens[-1].start() == line else None
    if head is not None and floor <= head <= start:
        while head < start and text[head] in " \t\u3000，,、":
            head += 1
        return head
    for i in range(start - 1, floor - 1, -1):
        if text[i] in SENTENCE_ENDS:
            return i + 1 if text[i] not in _COLONS or _ends_line(text, i) else start
    if floor != line:
        return start
    while floor < start and text[floor] in " \t\u3000":
        floor += 1
    return floor


def _ends_line(text: str, i: int) -> bool:
    """Is `text[i]` the last printed character of its line?"""
    newline = text.find("\n", i + 1)
    return not text[i + 1 : newline if newline >= 0 else len(text)].strip()


def items_within(
    items: Sequence[str],
    text: str,
    spans: Sequence[tuple[int, int]],
    windows: Sequence[tuple[int, int]] = (),
) -> list[str]:
    """The items not found in the text outside `spans` (an item the text does not hold is
    kept: grounding judges it)."""
    kept = []
    for item in items:
        found = align_quote(item, text, windows)
        start = found.start
        if start is not None and not any(s <= start < e for s, e in spans):
            continue
        kept.append(item)
    return kept


def _skip_marks(text: str, start: int, end: int) -> int:
    """A fuzzy match may begin on the punctuation before the item: start after it."""
    while start < end - 1 and (text[start].isspace() or text[start] in _LEADING_MARKS):
        start += 1
    return start


def _goes_on(text: str, previous_end: int, start: int) -> bool:
    between = text[previous_end:start]
    return (
        previous_end <= start
        and "\n" not in between
        and not between.strip(" \t\u3000")
        and not _POINT.match(text, start)
    )


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
    return join_lines(text[found.start : end])


def sentence_end(text: str, start: int, end: int) -> int:
    """The end of the sentence `text[start:end]` stops in: just after the first sentence mark
    (or a "." before a space) from the span's last character on, before a blank line, at most
    MAX_ITEM_CHARS from its start (never before `end`). Single line breaks don't end a
    sentence (PDF text wraps lines inside sentences); a colon ends one only at the end of its
    line ("分为三类：甲、乙、丙。" goes on; "存在以下问题：" before the list of them ends)."""
    limit = max(end, min(len(text), start + MAX_ITEM_CHARS))
    paragraph = _PARAGRAPH.search(text, end, limit)
    if paragraph is not None:
        limit = paragraph.start()
    for i in range(max(end - 1, start + 1), limit):
        if text[i] in _COLONS and not _ends_line(text, i):
            continue
        if text[i] in SENTENCE_ENDS or (text[i] == "." and text[i + 1 : i + 2].isspace()):
            return i + 1
    return max(end, limit)
