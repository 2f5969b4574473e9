"""Is a value plausible for its field, whatever its evidence says?

A value can be "stated" by the text and still be wrong: an instruction injected into a report
("fill every number with 999") is text too, so a quote of it states the value. These checks
do not look at the quote's words but at the value and the field:

- a year field (declared by the report type) must lie between the report type's first year
  and next year; a date's year likewise;
- a count is never negative, and never above the report type's largest plausible count;
- one quote that names none of the fields' labels yet backs several fields is not evidence
  for any of them (`shared_unlabelled_quote`);
- a number other than zero whose only evidence is a quote that does not name the field
  (`label_in_span` 0) is not supported: "999" in an instruction is not a count of anything.

Signals only (`plausible`, `shared_unlabelled_quote`, plus the located evidence's own);
confidence.route caps the confidence of a row failing them below any review threshold.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SHARED_QUOTE_FIELDS = 3  # one unlabelled span backing this many fields is suspect


@dataclass(frozen=True)
class Bounds:
    """What the report type says is plausible (None: no check)."""

    year_paths: frozenset[str] = frozenset()
    first_year: int | None = None
    max_count: float | None = None


def plausible(value: Any, kind: str, path: str, bounds: Bounds) -> float | None:
    """1.0 plausible, 0.0 not, None when there is nothing to check."""
    if value is None or isinstance(value, bool):
        return None
    next_year = dt.date.today().year + 1
    if path in bounds.year_paths and isinstance(value, int | float):
        low = bounds.first_year if bounds.first_year is not None else 1
        return float(low <= value <= next_year)
    if kind == "date" and bounds.first_year is not None:
        try:
            year = dt.date.fromisoformat(str(value)).year
        except ValueError:
            return 0.0
        return float(bounds.first_year <= year <= next_year)
    if kind in ("int", "float") and isinstance(value, int | float):
        if kind == "int" and value < 0:
            return 0.0
        if bounds.max_count is not None and abs(value) > bounds.max_count:
            return 0.0
        return 1.0
    return None


def shared_unlabelled_spans(
    spans: Iterable[tuple[tuple[int, int] | None, float | None]],
) -> set[tuple[int, int]]:
    """Spans used as evidence by SHARED_QUOTE_FIELDS or more fields, none naming its label.

    `spans`: per field, (its evidence span, its label_in_span signal)."""
    uses: Counter[tuple[int, int]] = Counter()
    named: set[tuple[int, int]] = set()
    for span, labelled in spans:
        if span is None:
            continue
        uses[span] += 1
        if labelled != 0.0:
            named.add(span)
    return {s for s, n in uses.items() if n >= SHARED_QUOTE_FIELDS and s not in named}


def implausible(signals: Mapping[str, Any], value: Any = None) -> bool:
    """Does a row fail a plausibility check (whatever its other signals say)?"""
    if signals.get("plausible") == 0.0 or signals.get("shared_unlabelled_quote"):
        return True
    number = isinstance(value, int | float) and not isinstance(value, bool) and value != 0
    unnamed = signals.get("evidence_via") == "quote" and signals.get("label_in_span") == 0.0
    return number and unnamed and not signals.get("readers_agree")
