"""Is the value actually stated by its evidence text?

A real quote attached to a wrong value is the classic extraction failure, so the value is
checked against the quoted span: numbers in Arabic, full-width or Chinese numerals
("二0一八年十二月二十四日", "三次", "十二条"), dates in the usual printed forms, names and
other strings up to whitespace/width/punctuation. Pure functions of (value, text).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import cn2an
from rapidfuzz import fuzz

from structurer.core.kinds import normalize_text

STRING_MIN_SCORE = 90.0
# Words that state zero without a digit: "没有收到申请", "未发生行政复议", "无".
ZERO_WORDS = ("没有", "未", "无", "零", "不存在", "尚无", "均无")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
# a minus sign not after a digit (a date's "2023-12" states no -12): "-3" in an 增/减 column
_NEGATIVE = re.compile(r"(?<![\d.])[-−](?=\d)")
_DATE = re.compile(r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})")
_DATE_ALONE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


@lru_cache(maxsize=4096)
def to_arabic(text: str) -> str:
    """NFKC (full-width digits become ASCII), then Chinese numerals become Arabic via cn2an.

    "二0一八年十二月二十四日" -> "2018年12月24日"; "三次" -> "3次". Stray 〇/○ inside digit runs
    are read as 0 first. Text cn2an cannot transform is returned normalised only.
    """
    norm = unicodedata.normalize("NFKC", text)
    norm = re.sub(
        r"(?<=[0-9一二三四五六七八九〇○零])[〇○](?=[0-9一二三四五六七八九〇○零]|年)", "0", norm
    )
    norm = norm.replace("两", "二")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cn2an warns on every malformed numeral run
            converted = str(cn2an.transform(norm, "cn2an"))
    except (ValueError, KeyError, IndexError, TypeError):
        return norm
    return converted


def numbers_in(text: str) -> list[float]:
    """Every number stated in `text`, in any of the supported notations."""
    found: list[float] = []
    for variant in {unicodedata.normalize("NFKC", text), to_arabic(text)}:
        for m in _NUMBER.finditer(variant):
            try:
                number = float(m.group().replace(",", ""))
            except ValueError:
                continue
            found.append(number)
            if m.start() > 0 and _NEGATIVE.match(variant, m.start() - 1):
                found.append(-number)
    return found


def dates_in(text: str) -> list[dt.date]:
    out: list[dt.date] = []
    for m in _DATE.finditer(to_arabic(text)):
        try:
            out.append(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            continue
    return out


def date_parts(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a text that is one date in Arabic digits ("2022-01-05",
    "2022年1月5日"), not checked for being a real day; None when it is not one."""
    match = _DATE_ALONE.fullmatch(text.strip())
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def number_in_text(value: float, text: str, *, scales: Sequence[float] = (1.0,)) -> bool:
    """Is `value` stated in `text`, as printed or times one of `scales` (a unit the report
    type stores in, e.g. printed in 元, stored in 万元)? Zero also counts when stated in words
    ("没有", "未")."""
    factors = scales or (1.0,)
    for n in numbers_in(text):
        if any(math.isclose(n * f, value, rel_tol=1e-6, abs_tol=1e-9) for f in factors):
            return True
    return value == 0 and any(w in text for w in ZERO_WORDS)


def string_in_text(value: str, text: str) -> bool:
    """Is the string in the text, up to whitespace, width and punctuation (or nearly so)?"""
    v, t = normalize_text(value), normalize_text(text)
    if not v:
        return False
    if v in t:
        return True
    return len(v) >= 4 and fuzz.partial_ratio(v, t) >= STRING_MIN_SCORE


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def value_in_text(
    value: Any, text: str | None, kind: str, *, scales: Sequence[float] = (1.0,)
) -> float | None:
    """1.0 when `text` states `value`, 0.0 when it does not, None when not checkable.

    `kind` is the scoring kind of the field (int, float, date, str, enum, list). Enums are
    judgements (admin level, format), not printed values: not checkable. Lists score the share
    of their items found in the text. A float may be printed in another unit: `scales` are the
    report type's factors from printed to stored (`ReportType.float_scales`).
    """
    if value is None or value == [] or text is None:
        return None
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0.0
        factors = scales if kind == "float" else (1.0,)
        return float(number_in_text(float(value), text, scales=factors))
    if kind == "date":
        date = _as_date(value)
        if date is None:
            return 0.0
        return float(date in dates_in(text))
    if kind == "str":
        return float(string_in_text(str(value), text))
    if kind == "list":
        items = [str(v) for v in value if str(v).strip()]
        if not items:
            return None
        return sum(string_in_text(item, text) for item in items) / len(items)
    return None
