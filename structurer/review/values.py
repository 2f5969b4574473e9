"""What an annotator typed -> a value of the field's kind, and back (the pre-filled input).

Parsing is forgiving about form (full-width digits, thousands separators, 2022年1月5日) and
strict about meaning: "十二点五" or "12.5" is not an integer, 2022-02-30 is not a date.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from structurer.review.labeling import FieldKind, ReviewField

_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


class InvalidValue(ValueError):
    """The input is not a value of the field's kind. The message says what was expected."""


def _plain(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def _numeric(raw: str) -> str:
    return re.sub(r"[\s,，_']", "", _plain(raw))


def parse_value(field: ReviewField, raw: str) -> Any:
    """The typed value of ``raw`` for ``field``; InvalidValue when it is not one."""
    kind = field.kind
    if kind is FieldKind.lines:
        items = [line.strip() for line in raw.splitlines()]
        items = [item for item in items if item]
        if not items:
            raise InvalidValue("an empty list: give one item per line (or choose 原文未提及)")
        return items
    text = _plain(raw)
    if not text:
        raise InvalidValue("an empty value (choose 原文未提及 if the report does not state it)")
    if kind is FieldKind.integer:
        number = _numeric(raw)
        if not _INT.fullmatch(number):
            raise InvalidValue(f"{raw.strip()!r} is not an integer (write digits, e.g. 48)")
        return int(number)
    if kind is FieldKind.number:
        number = _numeric(raw)
        if not _NUMBER.fullmatch(number):
            raise InvalidValue(f"{raw.strip()!r} is not a number (write digits, e.g. 25.1)")
        parsed = float(number)
        if not math.isfinite(parsed):
            raise InvalidValue(f"{raw.strip()!r} is not a finite number")
        return parsed
    if kind is FieldKind.date:
        match = _DATE.fullmatch(text)
        if match is None:
            raise InvalidValue(f"{raw.strip()!r} is not a date (write YYYY-MM-DD)")
        try:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        except ValueError:
            raise InvalidValue(f"{raw.strip()!r} is not a real date") from None
    if kind is FieldKind.choice:
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
    if field.kind is FieldKind.lines and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if field.kind is FieldKind.integer else repr(value)
    return str(value)


def shown_value(field: ReviewField, value: Any) -> str:
    """A value for the task card: choices with their notes, lists as numbered lines."""
    if value is None or value == []:
        return "（空）"
    if field.kind is FieldKind.choice:
        for option, shown in field.options:
            if option == input_text(field, value):
                return shown
    if field.kind is FieldKind.lines and isinstance(value, list):
        return "\n".join(f"{i}. {item}" for i, item in enumerate(value, 1))
    return input_text(field, value)


__all__ = ["InvalidValue", "input_text", "parse_value", "shown_value"]
