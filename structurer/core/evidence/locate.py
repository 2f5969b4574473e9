"""Evidence for a value proposed by the model, found by us, and whether it states the value.

Never trust model offsets: the model's quote is located in the text as read
(`align_quote`), then the value is checked against the located span (`value_in_text`).
When the quote is unusable (not found, or it does not state the value), a number or date
is searched for near the field's label words inside the part's windows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from structurer.core.evidence.align import align_quote
from structurer.core.evidence.value_check import dates_in, numbers_in, value_in_text
from structurer.core.types import BLANK_NOTE, AlignmentStatus, Evidence

LABEL_MIN_SCORE = 75.0
# A value (or list item) longer than this is not one printed value: not located, not found
# in its span. Keeps every check below linear in the document (a hostile reply may hold MBs).
MAX_VALUE_CHARS = 2000
MAX_LIST_ITEMS = 500
LABEL_CONTEXT_CHARS = 40
# A run of digits or Chinese numerals (what a printed count looks like).
_NUMERAL = re.compile(r"[0-9０-９零〇○一二三四五六七八九十百千万两]+(?:[.．][0-9０-９]+)?")
_DATE_LIKE = re.compile(
    r"[0-9０-９零〇○一二三四五六七八九]{4}\s*年\s*[0-9０-９一二三四五六七八九十]{1,3}\s*月\s*[0-9０-９一二三四五六七八九十]{1,3}\s*日"
)
_SEGMENT = re.compile(r"[\u4e00-\u9fff]{2,16}")
_QUOTED = re.compile(r"[“\"]([^”\"]{2,16})[”\"]")


@dataclass(frozen=True)
class Located:
    """Evidence for one value, how it was found, and whether its span states the value.

    `via`: quote (the model's quote, located), value (a string value found verbatim),
    label (a number/date found near the field's label words), none.
    `value_in_span`: 1.0/0.0 for the model's located quote (list: share of items found);
    None when not checkable (no quote found, enum judgements).
    """

    evidence: Evidence | None
    via: str
    value_in_span: float | None
    label_score: float | None = None
    span_numbers: int | None = None  # distinct numbers in the span (numbers and dates only)
    label_in_span: float | None = None  # do the field's label words appear in the quote's span

    def signals(self) -> dict[str, Any]:
        out: dict[str, Any] = {"evidence_via": self.via}
        if self.value_in_span is not None:
            out["value_in_span"] = self.value_in_span
        if self.span_numbers is not None:
            out["span_numbers"] = self.span_numbers
        if self.label_in_span is not None:
            out["label_in_span"] = self.label_in_span
        if self.label_score is not None:
            out["label_score"] = round(self.label_score, 1)
        return out


def label_terms(label: str | None) -> list[str]:
    """The words of a field's label worth looking for: quoted terms and Chinese segments.

    "当面申请（件）" -> ["当面申请"]; "举办培训、培训会议次数" -> ["举办培训", "培训会议次数"].
    """
    if not label:
        return []
    terms = [m.group(1) for m in _QUOTED.finditer(label)]
    terms += [m.group() for m in _SEGMENT.finditer(_QUOTED.sub(" ", label))]
    return list(dict.fromkeys(terms))[:8]


def occurrences(
    value: Any, kind: str, text: str, windows: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Spans inside the windows where the value is printed (any numeral notation)."""
    spans: list[tuple[int, int]] = []
    pattern = _DATE_LIKE if kind == "date" else _NUMERAL
    for ws, we in windows:
        for m in pattern.finditer(text, ws, we):
            token = m.group()
            if kind == "date":
                ok = str(value) in {d.isoformat() for d in dates_in(token)}
            else:
                ok = any(abs(n - float(value)) < 1e-9 for n in numbers_in(token))
            if ok:
                spans.append((m.start(), m.end()))
    return spans


def label_in_span(label: str | None, span: str | None) -> float | None:
    """1.0 when one of the label's words appears (nearly) in the span, 0.0 when none does,
    None when there is no label or span. A quote that never names the field ("没有接到申请"
    for 当面申请) supports its value only loosely."""
    terms = label_terms(label)
    if not terms or not span:
        return None
    best = max(fuzz.partial_ratio(t, span) if len(t) <= len(span) else 0.0 for t in terms)
    return float(best >= LABEL_MIN_SCORE)


def search_near_label(
    value: Any, kind: str, label: str | None, text: str, windows: Sequence[tuple[int, int]]
) -> tuple[Evidence, float] | None:
    """The printed occurrence of a number/date whose preceding text best matches the label.

    Returns (evidence from the matched label words to the number, label score 0-100), or None
    when the value is not printed in the windows or no occurrence is near the label.
    """
    terms = label_terms(label)
    if not terms or kind not in ("int", "float", "date") or isinstance(value, bool):
        return None
    best: tuple[float, int, int] | None = None
    for start, end in occurrences(value, kind, text, windows):
        lo = max(0, start - LABEL_CONTEXT_CHARS)
        context = text[lo:start]
        for term in terms:
            found = fuzz.partial_ratio_alignment(term, context)
            if found is None or found.score < LABEL_MIN_SCORE:
                continue
            if best is None or found.score > best[0]:
                best = (found.score, lo + found.dest_start, end)
    if best is None:
        return None
    score, s, e = best
    return Evidence(s, e, text[s:e], AlignmentStatus.fuzzy), score


def locate_evidence(
    value: Any,
    quote: str | None,
    text: str,
    windows: Sequence[tuple[int, int]],
    *,
    kind: str,
    label: str | None = None,
    scales: Sequence[float] = (1.0,),
) -> Located:
    """Evidence for an LLM value and whether it states the value (see `Located`); `scales` as
    in `value_in_text`."""
    if value is None or value == []:
        return Located(None, "none", None)
    too_long = (
        len(value) > MAX_LIST_ITEMS or any(len(str(v)) > MAX_VALUE_CHARS for v in value)
        if isinstance(value, list)
        else len(str(value)) > MAX_VALUE_CHARS
    )
    if too_long:
        return Located(Evidence(None, None, None, AlignmentStatus.not_found), "none", 0.0)
    if quote is not None and len(quote) > MAX_VALUE_CHARS:
        quote = None  # not a quote of one value; the value is looked for on its own
    if kind == "list":
        found = [align_quote(str(item), text, windows) for item in value]
        located = [e for e in found if e.start is not None]
        share = len(located) / len(found)
        if not located:
            return Located(Evidence(None, None, None, AlignmentStatus.not_found), "none", 0.0)
        exact = all(e.status == AlignmentStatus.exact for e in found)
        first = located[0]
        status = AlignmentStatus.exact if exact else AlignmentStatus.fuzzy
        return Located(Evidence(first.start, first.end, first.quote, status), "value", share)
    evidence = align_quote(quote, text, windows)
    in_span: float | None = None
    labelled: float | None = None
    if evidence.start is not None and evidence.end is not None:
        span = text[evidence.start : evidence.end]
        in_span = value_in_text(value, span, kind, scales=scales)
        labelled = label_in_span(label, span)
        if in_span != 0.0:
            count = len(set(numbers_in(span))) if kind in ("int", "float") else None
            return Located(evidence, "quote", in_span, span_numbers=count, label_in_span=labelled)
    if kind == "str":
        own = align_quote(str(value), text, windows)
        if own.start is not None:
            return Located(own, "value", 1.0 if in_span is None else in_span)
    near = search_near_label(value, kind, label, text, windows)
    if near is not None:
        return Located(near[0], "label", in_span, label_score=near[1])
    via = "quote" if evidence.start is not None else "none"
    return Located(evidence, via, in_span, label_in_span=labelled)


def cell_signals(
    value: Any,
    evidence: Evidence | None,
    note: str | None,
    kind: str,
    scales: Sequence[float] = (1.0,),
) -> dict[str, Any]:
    """Signals of a value read by a deterministic reader from a printed cell.

    A blank cell read as 0 points at its row: `blank_cell`, and nothing to check in its span.
    """
    if note == BLANK_NOTE:
        return {"blank_cell": 1.0}
    if evidence is None or evidence.quote is None:
        return {}
    in_span = value_in_text(value, evidence.quote, kind, scales=scales)
    return {} if in_span is None else {"value_in_span": in_span}
