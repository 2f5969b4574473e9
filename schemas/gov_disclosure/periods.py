"""A running total given for a count of the year.

Free-form reports state a running total beside the year's figure ("截至2018年底，累计主动
公开信息N条，其中2018年新增M条"), and a small model often takes the first, bigger number.
Every count of this report type is the year's, so a proposal that the text states only as a
running total, next to a figure of the year in the same unit, is the wrong one of the two: the
model is re-asked with both, and what it still proposes is not accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from structurer.core.evidence.value_check import to_arabic

_SENTENCE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")
_CLAUSE_END = re.compile(r"[，,：:]")
# before a number in its clause: it is a running total ...
_RUNNING = re.compile(r"累计|历年|以来|迄今|至今|总计共")
# ... unless the clause also names the year itself ("2018年累计", "今年以来累计", "全年累计");
# "截至2018年底" or "2018年12月" name a moment, not the year.
_OF_YEAR = re.compile(
    r"本年|今年|当年|全年|年内|本年度|发生数|新增|"
    r"(?<!\d)(?:19|20)\d{2}\s*年(?:度)?(?!\s*\d{1,2}\s*月|以来|底|末|前|止|至)"
)
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_UNIT = re.compile(r"\s*([^\s\d，,。；;：:、（）()])")


@dataclass(frozen=True)
class _Count:
    value: float
    unit: str
    running: bool
    of_year: bool


def _counts(sentence: str) -> list[_Count]:
    """The numbers of one sentence (Arabic digits after to_arabic), with their unit and what
    the words before them in their clause say; years and dates are no counts."""
    out: list[_Count] = []
    clause_start = 0
    for m in _NUMBER.finditer(sentence):
        for cut in _CLAUSE_END.finditer(sentence, clause_start, m.start()):
            clause_start = cut.end()
        unit_m = _UNIT.match(sentence, m.end())
        unit = unit_m.group(1) if unit_m else ""
        if unit in ("年", "月", "日", "%", "％", "号") or unit.startswith("."):
            continue
        before = sentence[clause_start : m.start()]
        of_year = bool(_OF_YEAR.search(before))
        running = bool(_RUNNING.search(before)) and not of_year
        out.append(_Count(float(m.group()), unit, running, of_year))
    return out


def running_total_problem(value: object, text: str) -> str | None:
    """Why `value` is not a count of the year: every place the text states it, it is a
    running total, and the same or the next sentence states a figure of the year in the same
    unit. The re-ask reason, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value == 0:
        return None
    sentences = [to_arabic(_THOUSANDS.sub("", m.group())) for m in _SENTENCE.finditer(text)]
    of_year: list[float] = []
    stated = False
    for i, sentence in enumerate(sentences):
        counts = _counts(sentence)
        mine = [c for c in counts if c.value == value]
        if not mine:
            continue
        stated = True
        if not all(c.running for c in mine):
            return None
        near = counts + (_counts(sentences[i + 1]) if i + 1 < len(sentences) else [])
        units = {c.unit for c in mine}
        others = [c.value for c in near if c.of_year and c.value != value and c.unit in units]
        if not others:
            return None
        of_year.extend(o for o in others if o not in of_year)
    if not stated or not of_year:
        return None
    shown = "、".join(f"{o:g}" for o in of_year)
    return (
        f"{value:g} 是截至某时的累计数，不是本年度的数；原文同处印有本年度的数（{shown}）。"
        "请填本年度的数，或填 null"
    )
