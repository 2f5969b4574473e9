"""What an annotator typed -> a value of the field's kind, and back (the pre-filled input).

Parsing is forgiving about form (full-width digits, thousands separators, dates as the report
language prints them: core.evidence.value_check.date_parts) and strict about meaning: a
number in words or "12.5" is not an integer, 2022-02-30 is not a date.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from structurer.core.evidence.value_check import date_parts
from structurer.review.labeling import InputKind, ReviewField
from structurer.review.ui import DEFAULT_UI

_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class InvalidValue(ValueError):
    """The input is not a value of the field's kind. The message says what was expected."""


def _plain(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def _numeric(raw: str) -> str:
    return re.sub(r"[\s,，_']", "", _plain(raw))


def parse_value(
    field: ReviewField, raw: str, not_stated: str = DEFAULT_UI["verdicts.not_stated"]
) -> Any:
    """The typed value of ``raw`` for ``field``; InvalidValue when it is not one.
    ``not_stated``: the label of that verdict, named in the messages."""
    kind = field.kind
    if kind is InputKind.lines:
        items = [line.strip() for line in raw.splitlines()]
        items = [item for item in items if item]
        if not items:
            raise InvalidValue(f"an empty list: give one item per line (or choose {not_stated})")
        return items
    text = _plain(raw)
    if not text:
        raise InvalidValue(f"an empty value (choose {not_stated} if the report does not state it)")
    if kind is InputKind.integer:
        number = _numeric(raw)
        if not _INT.fullmatch(number):
            raise InvalidValue(f"{raw.strip()!r} is not an integer (write digits, e.g. 48)")
        return int(number)
    if kind is InputKind.number:
        number = _numeric(raw)
        if not _NUMBER.fullmatch(number):
            raise InvalidValue(f"{raw.strip()!r} is not a number (write digits, e.g. 25.1)")
        parsed = float(number)
        if not math.isfinite(parsed):
            raise InvalidValue(f"{raw.strip()!r} is not a finite number")
        return parsed
    if kind is InputKind.date:
        parts = date_parts(text)
        if parts is None:
            raise InvalidValue(f"{raw.strip()!r} is not a date (write YYYY-MM-DD)")
        try:
            return dt.date(*parts).isoformat()
        except ValueError:
            raise InvalidValue(f"{raw.strip()!r} is not a real date") from None
    if kind is InputKind.choice:
        for value, shown in field.options:
            if text in (value, shown):
                return True if value == "true" else False if value == "false" else value
        allowed = ", ".join(value for value, _ in field.options)
        raise InvalidValue(f"{raw.strip()!r} is not one of: {allowed}")
    return text


def input_text(field: ReviewField, value: Any) -> str:
    """A value as the annotator would type it (what pre-fills the input)."""
    if value is None:
        return ""
    if field.kind is InputKind.lines and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if field.kind is InputKind.integer else repr(value)
    return str(value)


def shown_value(field: ReviewField, value: Any, empty: str = DEFAULT_UI["value.empty"]) -> str:
    """A value for the task card: choices with their notes, lists as numbered lines."""
    if value is None or value == []:
        return empty
    if field.kind is InputKind.choice:
        for option, shown in field.options:
            if option == input_text(field, value):
                return shown
    if field.kind is InputKind.lines and isinstance(value, list):
        return "\n".join(f"{i}. {item}" for i, item in enumerate(value, 1))
    return input_text(field, value)


__all__ = ["InvalidValue", "input_text", "parse_value", "shown_value"]
