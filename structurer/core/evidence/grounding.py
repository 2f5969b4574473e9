"""Grounding: is each value the model proposes read from the document?

Checked twice with the same pure function: inside the instructor call (a response-model
validator reads the check from the validation context and raises, so instructor re-asks with
the reasons), and once more on the reply that is kept, where a field that still fails becomes
null and its proposal and reason are kept as signals for the reviewer.

Rules, per field:
- a number, date or string needs a quote found in the text (exact, or fuzzy with a score of
  at least `align.FUZZY_MIN_SCORE`);
- a number or a date must be readable from the text the quote aligns with (digits, full-width or Chinese numerals,
  元 <-> 万元 for money, printed dates); a 0 needs a quote that states zero (a 0 or a zero word);
- a string must occur in the text; list items too (an item not found is dropped);
- enums are judgements (a level, a format), not printed values: not checked.

Reasons are written in the report's language: the report type's `ui` strings
(`grounding.<reason>`), with {value} and {label} filled in; English when it has none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from structurer.core.evidence.align import align_quote
from structurer.core.evidence.value_check import (
    ZERO_WORDS,
    numbers_in,
    string_in_text,
    value_in_text,
)
from structurer.core.types import AlignmentStatus

REASONS: dict[str, str] = {
    "no_quote": "{value} has no quote; quote the sentence of the text that states {label}, "
    "or answer null",
    "quote_not_found": "the quote given for {value} is not in the text; quote the text "
    "verbatim, or answer null",
    "value_not_in_quote": "{value} is not stated by its quote; quote the sentence that states "
    "{label}, or answer null",
    "not_in_text": "{value} is not in the text; quote the sentence that states {label}, "
    "or answer null",
}
CHECKED_KINDS = ("int", "float", "date", "str", "list")


@dataclass(frozen=True)
class Rejection:
    """A proposal that failed grounding: the field, what was proposed, and why."""

    path: str
    key: str
    value: Any
    reason: str


def short_label(description: str) -> str:
    """The head of a field description, to name the field in a reason."""
    head = re.split(r"[，。；;（(]|如“", description, maxsplit=1)[0]
    return head[:30] or description[:30]


def problem(
    value: Any,
    quote: str | None,
    kind: str,
    text: str,
    windows: Sequence[tuple[int, int]] = (),
) -> str | None:
    """The reason (a key of REASONS) why `value` is not grounded in `text`, or None."""
    if value is None or value == [] or kind not in CHECKED_KINDS:
        return None
    if kind == "list":
        return None if all(string_in_text(str(v), text) for v in value) else "not_in_text"
    if kind == "str" and not string_in_text(str(value), text):
        return "not_in_text"
    if not quote or not quote.strip():
        return "no_quote"
    found = align_quote(quote, text, windows)
    if found.status is AlignmentStatus.not_found or found.start is None or found.end is None:
        return "quote_not_found"
    # read the value from what the text says there, not from the model's copy: a quote with
    # its number changed still aligns (fuzzily) with the sentence it was made from
    span = text[found.start : found.end]
    if kind in ("int", "float") and value == 0:
        return None if states_zero(span) else "value_not_in_quote"
    if kind != "str" and value_in_text(value, span, kind) == 0.0:
        return "value_not_in_quote"
    return None


_NUMERAL = "一二三四五六七八九十百千万亿"
_LONE_ZERO = re.compile(rf"(?<![{_NUMERAL}])零(?![{_NUMERAL}])")


def states_zero(span: str) -> bool:
    """Does `span` state a zero: a 0, a zero word, or a 零 that is not inside a numeral
    (一百零五 states 105)?"""
    if 0.0 in numbers_in(span):
        return True
    return any(w in span for w in ZERO_WORDS if w != "零") or bool(_LONE_ZERO.search(span))


@dataclass(frozen=True)
class GroundedField:
    path: str
    key: str
    kind: str
    label: str


def check_part(
    values: Mapping[str, tuple[Any, str | None]],
    fields: Sequence[GroundedField],
    text: str,
    windows: Sequence[tuple[int, int]] = (),
    messages: Mapping[str, str] | None = None,
) -> list[Rejection]:
    """Every field of one reply that is not grounded. `values`: path -> (value, quote)."""
    out: list[Rejection] = []
    for f in fields:
        value, quote = values.get(f.path, (None, None))
        why = problem(value, quote, f.kind, text, windows)
        if why is None:
            continue
        if f.kind == "list":
            value = [v for v in value if not string_in_text(str(v), text)]
        template = (messages or {}).get(f"grounding.{why}", REASONS[why])
        shown = "、".join(map(str, value)) if isinstance(value, list) else value
        out.append(Rejection(f.path, f.key, value, template.format(value=shown, label=f.label)))
    return out


def reask_message(rejections: Sequence[Rejection]) -> str:
    """What the model is told when instructor re-asks: one line per failing key."""
    return "\n".join(f"{r.key}: {r.reason}" for r in rejections)
