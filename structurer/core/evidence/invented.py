"""Is a predicted value one the document does not contain? (an *invented* value)

A pure function of (value, kind, text) for the `invented_values` metrics: a value a
reader could not have copied from the text is invented, whatever gold says. Only values that
are printed are checked: non-zero numbers (as digits, full-width or Chinese numerals, and
a float in any of the report type's `float_scales`), dates (any printed form, Chinese numerals included), strings after the
scorer's normalisation, and list items (nearly contained: a partial ratio of at least
`value_check.STRING_MIN_SCORE`, the same test grounding applies). Zeros (often stated in words), enums
(judgements such as admin_level) and nulls are not checkable: None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from structurer.core.evidence.value_check import (
    _as_date,
    dates_in,
    number_in_text,
    string_in_text,
)
from structurer.core.kinds import FieldKind, normalize_text


def is_invented(
    value: Any, kind: FieldKind, text: str, scales: Sequence[float] = (1.0,)
) -> bool | None:
    """True when `text` does not contain `value`, False when it does, None when unchecked."""
    if value is None or isinstance(value, bool):
        return None
    if kind in ("int", "float"):
        if not isinstance(value, int | float) or value == 0 or math.isnan(value):
            return None
        return not number_in_text(float(value), text, scales=scales if kind == "float" else (1.0,))
    if kind == "date":
        date = _as_date(value)
        return None if date is None else date not in dates_in(text)
    if kind == "str":
        norm = normalize_text(str(value))
        return None if not norm else norm not in normalize_text(text)
    if kind == "list":  # items are trimmed sentences: contained nearly, as grounding checks them
        items = [str(v) for v in value or [] if normalize_text(str(v))]
        if not items:
            return None
        return not all(string_in_text(i, text) for i in items)
    return None
