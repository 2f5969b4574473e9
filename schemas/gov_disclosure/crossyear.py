"""Checks between two years' reports of one body (a regulator's first check):

- this year's 二、上年结转 equals last year's 四、结转下年度继续办理, column by column;
- table 二 (2021 format): this year's 现行有效件数 follows from last year's plus 本年制发
  minus 本年废止 (规章, 行政规范性文件).

The body is matched by a normalised name: the same body prints its name with and without
its city or province ("某某市某某区人民政府" / "某某区人民政府").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from gov_disclosure.identities import REQUEST_COLUMNS

# a leading 省/自治区/市/盟/州 segment, dropped while what is left still names a place
_PREFIX_RE = re.compile(r"^.{1,12}?(?:省|自治区|市|盟|自治州|州)")
_PLACE_CHARS = ("省", "市", "区", "县", "旗", "镇", "乡", "街道", "苏木", "盟", "州")
_DOCS_ROWS = ("regulations", "normative_documents")


def _get(record: Mapping[str, Any], path: str) -> Any:
    node: Any = record
    for key in path.split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def body_key(name: str | None) -> str | None:
    """The body's name without punctuation, spaces and leading city/province segments."""
    if not name:
        return None
    key = "".join(ch for ch in unicodedata.normalize("NFKC", name) if ch.isalnum())
    while True:
        m = _PREFIX_RE.match(key)
        rest = key[m.end() :] if m else ""
        if not m or not any(c in rest for c in _PLACE_CHARS):
            return key or None
        key = rest


def body_and_year(record: Mapping[str, Any]) -> tuple[str, int] | None:
    key = body_key(_get(record, "meta.issuing_body"))
    year = _get(record, "meta.report_year")
    if key is None or not isinstance(year, int):
        return None
    return key, year


def cross_year_breaks(
    previous: Mapping[str, Any], current: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Breaks between last year's record and this year's: name, the paths on each record,
    the value expected from last year and the value this year prints."""
    out: list[dict[str, Any]] = []
    for col in [*REQUEST_COLUMNS, "total"]:
        before = _get(previous, f"requests.carried_forward.{col}")
        now = _get(current, f"requests.carried_over.{col}")
        if before is not None and now is not None and int(before) != int(now):
            out.append(
                {
                    "name": f"cross_year.carried_over.{col}",
                    "previous_paths": [f"requests.carried_forward.{col}"],
                    "current_paths": [f"requests.carried_over.{col}"],
                    "expected": before,
                    "actual": now,
                    "reason": f"上年结转 {now} ≠ last year's 结转下年度 {before}",
                }
            )
    if _get(previous, "meta.format") == "2021" and _get(current, "meta.format") == "2021":
        for row in _DOCS_ROWS:
            base = f"proactive.{row}"
            last = _get(previous, f"{base}.in_force")
            now, issued, repealed = (
                _get(current, f"{base}.{k}") for k in ("in_force", "issued", "repealed")
            )
            if None in (last, now, issued, repealed):
                continue
            expected = int(last) + int(issued) - int(repealed)
            if expected != int(now):
                out.append(
                    {
                        "name": f"cross_year.in_force.{row}",
                        "previous_paths": [f"{base}.in_force"],
                        "current_paths": [f"{base}.in_force", f"{base}.issued", f"{base}.repealed"],
                        "expected": expected,
                        "actual": now,
                        "reason": (
                            f"现行有效 {now} ≠ last year's {last} + 制发 {issued} - 废止 {repealed}"
                        ),
                    }
                )
    return out
