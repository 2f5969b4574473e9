"""Grounding: is each value the model proposes read from the document?

Checked with the same pure function on a part's reply (the pipeline then re-asks the failing
fields once, with the reasons, as the next turn of the conversation) and again on the answers
that are kept.

Two tiers, per field:
- *rejected* (the value is not in the report): a number, date or string the text does not
  contain anywhere (digits, full-width or Chinese numerals, a float in any of the report
  type's `float_scales`, printed
  dates; strings up to whitespace and punctuation), a list item the text does not contain
  (nearly: a partial-ratio of `value_check.STRING_MIN_SCORE`, items are trimmed sentences), or
  a 0 whose quote does not state zero (a 0, a zero word; 一百零五 is no zero) and for which no
  sentence of the part's windows names the field and states zero (`zero_sentence`: the model
  often paraphrases "未发生行政复议" into a quote the text lacks). The model is re-asked about
  these; what still fails becomes null, its proposal and reason kept as signals.
  A number the text prints, but that no quote states and that is printed nowhere near the
  field's label words (`locate.search_near_label`), is rejected too: nothing ties it to the
  field (`no_evidence`).
- *weak* (the value is in the report, its citation is not): no quote, a quote not found in
  the text (exact, or fuzzy with a score of at least `align.FUZZY_MIN_SCORE`), or a quote whose
  aligned text does not state the value, for a value printed near the field's label. Kept,
  with the reason as a signal for the reviewer.
Enums are judgements (a level, a format), not printed values: not checked.

Reasons are written in the report's language: the report type's `grounding_reasons` (keyed
like REASONS), with {value} and {label} filled in; English when it has none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from structurer.core.evidence.align import align_quote
from structurer.core.evidence.locate import (
    LABEL_CONTEXT_CHARS,
    label_terms,
    occurrences,
    search_near_label,
)
from structurer.core.evidence.value_check import (
    ZERO_WORDS,
    numbers_in,
    string_in_text,
    value_in_text,
)
from structurer.core.kinds import normalize_text
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
    "no_evidence": "{value} is in the text, but neither its quote nor the words around it "
    "state {label}; quote the sentence that states {label}, or answer null",
}
CHECKED_KINDS = ("int", "float", "date", "str", "list")


@dataclass(frozen=True)
class Rejection:
    """A proposal that failed grounding: the field, what was proposed, why, and whether it
    is rejected (nulled) or only weakly cited (kept, noted)."""

    path: str
    key: str
    value: Any
    reason: str
    rejected: bool = True


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
    scales: Sequence[float] = (1.0,),
    label: str = "",
) -> tuple[str, bool] | None:
    """Why `value` is not grounded in `text`: (a key of REASONS, whether it is rejected), or
    None when it is grounded or not checkable. `label`: the field's description, to find a
    sentence that states a zero for it when the quote does not."""
    if value is None or value == [] or kind not in CHECKED_KINDS:
        return None
    if kind == "list":
        return None if all(string_in_text(str(v), text) for v in value) else ("not_in_text", True)
    zero = kind in ("int", "float") and value == 0
    if zero:
        found = _quote_problem(value, quote, kind, text, windows, scales, zero=True)
        if found is not None and zero_sentence(text, windows, label) is not None:
            return None
        return found
    return _quote_problem(value, quote, kind, text, windows, scales, zero=False, label=label)


def _quote_problem(
    value: Any,
    quote: str | None,
    kind: str,
    text: str,
    windows: Sequence[tuple[int, int]],
    scales: Sequence[float],
    *,
    zero: bool,
    label: str = "",
) -> tuple[str, bool] | None:
    if not zero and not _in_text(value, kind, text, scales):
        return "not_in_text", True
    if not quote or not quote.strip():
        return _unattached(value, kind, text, windows, label) or ("no_quote", zero)
    found = align_quote(quote, text, windows)
    if found.status is AlignmentStatus.not_found or found.start is None or found.end is None:
        return _unattached(value, kind, text, windows, label) or ("quote_not_found", zero)
    # read the value from what the text says there, not from the model's copy: a quote with
    # its number changed still aligns (fuzzily) with the sentence it was made from
    span = text[found.start : found.end]
    if zero:
        return None if states_zero(span) else ("value_not_in_quote", True)
    if kind != "str" and value_in_text(value, span, kind, scales=scales) == 0.0:
        return _unattached(value, kind, text, windows, label) or ("value_not_in_quote", False)
    return None


def _unattached(
    value: Any, kind: str, text: str, windows: Sequence[tuple[int, int]], label: str
) -> tuple[str, bool] | None:
    """A number printed somewhere, cited by no quote that states it, and printed nowhere near
    the field's label words: nothing ties it to the field (a "22" the model also gave to two
    other fields). Rejected. None when it may be the field's, or there is no label to check."""
    if kind not in ("int", "float") or value == 0 or not windows or not label_terms(label):
        return None
    if search_near_label(value, kind, label, text, windows) is not None:
        return None
    # looser: one word pair of the label's own (not the genre's) just before the number
    # ("微信公众号发布73条" for the items published via 政务微博、微信)
    wanted = _label_bigrams(label)
    for start, _ in occurrences(value, kind, text, windows):
        if wanted & _bigrams(text[max(0, start - LABEL_CONTEXT_CHARS) : start]):
            return None
    return "no_evidence", True


def _in_text(value: Any, kind: str, text: str, scales: Sequence[float]) -> bool:
    if kind == "str":  # verbatim up to whitespace and punctuation, as the eval counts it
        norm = normalize_text(str(value))
        return bool(norm) and norm in normalize_text(text)
    return value_in_text(value, text, kind, scales=scales) != 0.0


_NUMERAL = "一二三四五六七八九十百千万亿"
_LONE_ZERO = re.compile(rf"(?<![{_NUMERAL}])零(?![{_NUMERAL}])")


def states_zero(span: str) -> bool:
    """Does `span` state a zero: a 0, a zero word, or a 零 that is not inside a numeral
    (一百零五 states 105)?"""
    if 0.0 in numbers_in(span):
        return True
    return any(w in span for w in ZERO_WORDS if w != "零") or bool(_LONE_ZERO.search(span))


# a sentence, and the number a point opens with ("（二）", "3."): language support for the
# report types
SENTENCE = re.compile(r"[^。；;！!？?\n]+")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
ENUMERATOR = re.compile(
    r"^\s*(?:[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十\d]{1,3}[、.．])"
)


# Characters that name no item: zero words, particles, units, table scaffolding, and the
# words every sentence of this genre carries. Language support, like ZERO_WORDS.
_GENERIC = frozenset("未没无零不有的和及或与为是在了对年度报告表式旧件条次个元数总计情况其中")
_GENERIC_BIGRAMS = frozenset(
    {
        "政府",
        "信息",
        "公开",
        "申请",
        "请公",
        "工作",
        "府信",
        "息公",
        "行政",
        "依申",
        "本年",
        "发生",
        "收到",
        "开政",
        "主动",
        "动公",
    }
)
_CJK = re.compile(r"[\u4e00-\u9fff]+")


def _bigrams(text: str) -> set[str]:
    return {
        run[i : i + 2]
        for run in _CJK.findall(text)
        for i in range(len(run) - 1)
        if not (set(run[i : i + 2]) & _GENERIC) and run[i : i + 2] not in _GENERIC_BIGRAMS
    }


@lru_cache(maxsize=1024)
def _label_bigrams(label: str) -> frozenset[str]:
    return frozenset(_bigrams(label))


def zero_sentence(
    text: str, windows: Sequence[tuple[int, int]], label: str
) -> tuple[int, int] | None:
    """The sentence of the windows that names the field best (most of its label's word pairs)
    and states zero, with no other number than a year in it ("收到申请5件，未发生行政复议"
    backs no zero for 收到申请). None without windows: a zero is only read back inside the part."""
    wanted = _label_bigrams(label)
    best: tuple[int, int, int] | None = None
    for ws, we in windows:
        for m in SENTENCE.finditer(text, ws, we):
            sentence = m.group()
            # a table row ("行政许可\t0") is cells, not a sentence about the field
            if len(sentence) > 200 or "\t" in sentence or "|" in sentence:
                continue
            if not states_zero(sentence):
                continue
            bare = _YEAR.sub(" ", ENUMERATOR.sub(" ", sentence))
            if any(n != 0 for n in numbers_in(bare)):
                continue
            hits = len(wanted & _bigrams(sentence))
            if hits and (best is None or hits > best[0]):
                best = (hits, m.start(), m.end())
    return (best[1], best[2]) if best else None


def zero_quote(
    quote: str | None, text: str, windows: Sequence[tuple[int, int]], label: str
) -> str | None:
    """The quote to keep for a grounded zero: the model's when it states zero where it is
    found, else the sentence `zero_sentence` finds (None when neither)."""
    if _quote_problem(0, quote, "int", text, windows, (1.0,), zero=True) is None:
        return quote
    found = zero_sentence(text, windows, label)
    return text[found[0] : found[1]].strip() if found else None


@dataclass(frozen=True)
class GroundedField:
    path: str
    key: str
    kind: str
    label: str
    description: str = ""


def check_part(
    values: Mapping[str, tuple[Any, str | None]],
    fields: Sequence[GroundedField],
    text: str,
    windows: Sequence[tuple[int, int]] = (),
    messages: Mapping[str, str] | None = None,
    scales: Sequence[float] = (1.0,),
) -> list[Rejection]:
    """Every field of one reply that is not grounded. `values`: path -> (value, quote)."""
    out: list[Rejection] = []
    for f in fields:
        value, quote = values.get(f.path, (None, None))
        found = problem(value, quote, f.kind, text, windows, scales, f.description or f.label)
        if found is None:
            continue
        why, rejected = found
        if f.kind == "list":
            value = [v for v in value if not string_in_text(str(v), text)]
        template = (messages or {}).get(why, REASONS[why])
        shown = "、".join(map(str, value)) if isinstance(value, list) else value
        reason = template.format(value=shown, label=f.label)
        out.append(Rejection(f.path, f.key, value, reason, rejected))
    return out


def reask_message(rejections: Sequence[Rejection]) -> str:
    """What the model is told when instructor re-asks: one line per failing key."""
    return "\n".join(f"{r.key}: {r.reason}" for r in rejections)
