"""The level and kind of a public body by its name, from a gazetteer of China's divisions.

`data/divisions.csv` lists every division down to county level (source and licence in
`data/README.md`). A body's level is that of the last division its name starts with
(某某省 + 某某市 + 某某区 …), or township when a 乡/镇/街道/苏木 follows; a 直辖市 is
provincial; a department takes its government's level. A division the gazetteer does not list
is read by its suffix.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@cache
def _divisions() -> dict[str, set[str]]:
    """Division name -> its codes (a few names recur in several provinces)."""
    out: dict[str, set[str]] = {}
    with (DATA / "divisions.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["name"], set()).add(row["code"])
    return out


def division_names() -> set[str]:
    return set(_divisions())


_MUNICIPALITIES = {"11", "12", "31", "50"}  # 直辖市: provincial level


def _code_level(code: str) -> str:
    if code.endswith("0000"):
        return "provincial"
    if code.endswith("00"):
        return "municipal"
    return "county"


_TOWNSHIP = re.compile(
    r"^([\u4e00-\u9fff]{1,10}?(?:乡|镇|街道|苏木))(?=人民政府|政府|办事处|街道办事处|党委|$|\d|（|\()"
)
_GOVERNMENT_END = re.compile(r"(?:人民政府|政府|街道办事处|办事处)$")


# A division the gazetteer does not list (renamed, newer, or invented in a test) is read by its
# suffix; a bare 市 can be a prefecture- or a county-level city, so it stays undecided (None).
_UNLISTED = re.compile(r"^[\u4e00-\u9fff]{2,6}?(自治区|省|自治州|盟|自治县|县|自治旗|旗|区|市)")
_SUFFIX_LEVEL = {
    "自治区": "provincial",
    "省": "provincial",
    "自治州": "municipal",
    "盟": "municipal",
    "自治县": "county",
    "县": "county",
    "自治旗": "county",
    "旗": "county",
    "区": "county",
}


def _division_chain(name: str) -> tuple[list[tuple[str, str | None]], int]:
    """Divisions printed at the start of `name`, one after another (e.g. 某某市 + 某某区):
    [(name, level)], and where the chain ends."""
    divisions = _divisions()
    longest = max(len(n) for n in divisions)
    chain: list[tuple[str, str | None]] = []
    pos = 0
    parent: str | None = None
    while pos < len(name):
        for size in range(min(longest, len(name) - pos), 1, -1):
            piece = name[pos : pos + size]
            codes = divisions.get(piece)
            if not codes:
                continue
            if parent is not None:
                under = {c for c in codes if c.startswith(parent[:2])}
                codes = under or codes
            levels = {_code_level(c) for c in codes}
            if len(levels) != 1:
                return chain, pos
            code = sorted(codes)[0]
            chain.append((piece, levels.pop()))
            parent = code
            pos += size
            break
        else:
            # under a listed division the gazetteer is complete: "某某市" + "某某区域…" is no district
            unlisted = None if parent is not None else _UNLISTED.match(name[pos:])
            if not unlisted or _TOWNSHIP.match(name[pos:]):
                break
            chain.append((unlisted.group(), _SUFFIX_LEVEL.get(unlisted.group(1))))
            pos += unlisted.end()
    # a city followed by its district or county is a prefecture-level city
    chain = [
        (n, "municipal" if lvl is None and i + 1 < len(chain) else lvl)
        for i, (n, lvl) in enumerate(chain)
    ]
    return chain, pos


def body_level(name: str, text: str = "") -> str | None:
    """The administrative level of a body by its name; a department takes its government's.
    `text` decides an unlisted bare 市: one that speaks of its 区县 is prefecture-level."""
    chain, pos = _division_chain(name)
    if _TOWNSHIP.match(name[pos:]):
        return "township"
    if not chain:
        return None
    last, level = chain[-1]
    if level is None:
        return "municipal" if _SUBCOUNTIES.search(text) else None
    if level == "provincial" or (level == "municipal" and last in _municipality_names()):
        return "provincial"
    return level


_SUBCOUNTIES = re.compile(r"各区县|各县区|区县政府|县（市、区）|县\(市、区\)|县市区|各区、县")


@cache
def _municipality_names() -> set[str]:
    return {
        n
        for n, codes in _divisions().items()
        if any(c[:2] in _MUNICIPALITIES and c.endswith("0000") for c in codes)
    }


def body_kind(name: str) -> str | None:
    if _GOVERNMENT_END.search(name):
        return "government"
    chain, pos = _division_chain(name)
    rest = name[pos:]
    if not rest and chain:
        return "government"  # the division itself (e.g. "某某镇")
    township = _TOWNSHIP.match(rest)
    if township and township.end() == len(rest):
        return "government"
    if re.search(
        r"(局|委员会|委|办公室|办公厅|办|厅|中心|院|所|署|站|队|处|会|社|馆|部|室)$", rest
    ):
        return "department"
    return None
