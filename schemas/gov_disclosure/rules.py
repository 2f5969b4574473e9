"""Deterministic rule readers for the fields a rule reads better than a small model.

Pure functions of the text as read: `read_rules(text)` returns one `CellReading` per field it
could read (reader "rule" in the pipeline), each with its evidence (offsets into `text`, the
quote). A field it cannot read gets no reading, so the LLM's reading stands alone.

Fields: meta.title, meta.report_year, meta.publish_date, meta.body_kind, meta.admin_level,
contact.phone / postcode / email / website / address, and the request items a sentence states
zero for (`request_items`). (meta.format is the table reader's.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import cn2an

from gov_disclosure.gazetteer import body_kind, body_level
from gov_disclosure.request_items import read_request_items
from structurer.core.types import AlignmentStatus, CellReading, Evidence

HEAD_CHARS = 1500  # title, date line and preamble live here

# --- helpers -------------------------------------------------------------------------------


def _reading(
    path: str, value: str | int, text: str, start: int, end: int, note: str
) -> CellReading:
    while end > start and text[end - 1].isspace():
        end -= 1
    evidence = Evidence(start, end, text[start:end], AlignmentStatus.exact)
    return CellReading(path=path, value=value, evidence=evidence, note=note)


@dataclass(frozen=True)
class _Line:
    start: int
    end: int  # without the newline
    text: str

    @property
    def stripped(self) -> str:
        return self.text.strip()

    @property
    def content_span(self) -> tuple[int, int]:
        lead = len(self.text) - len(self.text.lstrip())
        return self.start + lead, self.start + len(self.text.rstrip())


def _lines(text: str, start: int = 0, end: int | None = None) -> Iterator[_Line]:
    pos = start
    for part in text[start:end].split("\n"):
        yield _Line(pos, pos + len(part), part)
        pos += len(part) + 1


def _nonblank(text: str, start: int = 0, end: int | None = None) -> list[_Line]:
    return [line for line in _lines(text, start, end) if line.stripped]


# --- dates ---------------------------------------------------------------------------------

_CN_DIGIT = "〇零一二三四五六七八九0○ＯO"
_DIGIT_DATE = r"((?:19|20)\d{2})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|[-/.])\s*(\d{1,2})\s*日?"
_CN_DATE = rf"([{_CN_DIGIT}]{{4}})\s*年\s*([一二三四五六七八九十]{{1,3}})\s*月\s*([一二三四五六七八九十]{{1,3}})\s*日"
DATE = re.compile(rf"{_DIGIT_DATE}|{_CN_DATE}")


def _cn_year(digits: str) -> int:
    table = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")}
    table.update({"零": "0", "0": "0", "○": "0", "Ｏ": "0", "O": "0"})
    return int("".join(table[c] for c in digits))


def parse_date(m: re.Match[str]) -> str | None:
    """ISO date of a DATE match, or None when it is no calendar date."""
    import datetime as dt

    try:
        if m.group(1):
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            y = _cn_year(m.group(4))
            mo, d = int(cn2an.cn2an(m.group(5), "smart")), int(cn2an.cn2an(m.group(6), "smart"))
        return dt.date(y, mo, d).isoformat()
    except (ValueError, KeyError):
        return None


_STANDALONE_DATE = re.compile(rf"^[（(]?\s*(?:{DATE.pattern})\s*[）)]?$")
_DATE_LABEL = re.compile(
    rf"(?:发布时间|发布日期|成文日期|印发日期|(?<![止计至])日期)\s*[:：]?\s*(?:{DATE.pattern})"
)


# --- title and year ------------------------------------------------------------------------

_TITLE_TAIL = re.compile(
    r"(?:(?:19|20)\d{2}\s*年度?)?\s*(?:政府)?(?:信息)?(?:政务)?(?:公开)?(?:工作)?(?:年度)?(?:工作)?报告$"
)
_YEAR_ONLY = re.compile(r"^(?:(?:19|20)\d{2}\s*年度?)?$")
_SENTENCE = re.compile(r"[，。；！？,;]")
# page furniture of web conversions above the title: breadcrumbs, "当前位置：首页 > ..."
_CRUMB = re.compile(r"[>＞»›]|当前位置|您的位置|首页")


def _title_lines(text: str) -> list[_Line] | None:
    """The lines of the first heading: the first line that ends in 报告 among the first few
    non-blank lines, with the lines above it that carry the rest of the title."""
    lines = [line for line in _nonblank(text, 0, HEAD_CHARS) if not _CRUMB.search(line.text)][:8]
    for i, line in enumerate(lines):
        s = line.stripped
        if not s.endswith("报告") or _SENTENCE.search(s) or len(s) > 80:
            continue
        picked = [line]
        rest = _TITLE_TAIL.sub("", re.sub(r"\s+", "", s))
        j = i - 1
        while _YEAR_ONLY.match(rest) and j >= 0 and len(picked) < 3:
            above = lines[j].stripped
            if _SENTENCE.search(above) or len(above) > 40 or DATE.search(above):
                break
            picked.insert(0, lines[j])
            rest = re.sub(r"\s+", "", above)
            rest = _TITLE_TAIL.sub("", rest) if rest.endswith("报告") else rest
            j -= 1
        return picked
    return None


def read_title(text: str) -> list[CellReading]:
    lines = _title_lines(text)
    if not lines:
        return []
    start, end = lines[0].content_span[0], lines[-1].content_span[1]
    value = re.sub(r"\s+", "", text[start:end])
    return [_reading("meta.title", value, text, start, end, "first heading, lines joined")]


_STAT_PERIOD = re.compile(
    r"统计期限[^。\n]{0,8}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日[^。\n]{0,6}?至\s*((?:19|20)\d{2})\s*年\s*12\s*月\s*31\s*日"
)


def read_report_year(text: str) -> list[CellReading]:
    lines = _title_lines(text)
    if lines:
        start, end = lines[0].content_span[0], lines[-1].content_span[1]
        m = re.search(r"((?:19|20)\d{2})\s*年", text[start:end])
        if m:
            s = start + m.start(1)
            return [_reading("meta.report_year", int(m.group(1)), text, s, s + 4, "year in title")]
    m = _STAT_PERIOD.search(text)
    if m and m.group(1) == m.group(2):
        return [_reading("meta.report_year", int(m.group(1)), text, m.start(), m.end(), "统计期限")]
    return []


def read_publish_date(text: str) -> list[CellReading]:
    """A labelled date (发布时间/日期), else a date alone on a line right under the title, else
    the date alone on a line under the signature at the end. Never a date after 至/止/截至
    (the end of the statistics period): those are never alone on a line or labelled."""
    path = "meta.publish_date"
    m = _DATE_LABEL.search(text)
    if m:
        inner = DATE.search(text, m.start(), m.end())
        iso = parse_date(inner) if inner else None
        if iso:
            return [_reading(path, iso, text, m.start(), m.end(), "labelled date")]
    title = _title_lines(text)
    if title:
        after = _nonblank(text, title[-1].end, min(len(text), title[-1].end + 200))[:2]
        for line in after:
            iso = _standalone_date(line)
            if iso:
                s, e = line.content_span
                return [_reading(path, iso, text, s, e, "date under the title")]
    tail = _nonblank(text, max(0, len(text) - 1500))
    for i in range(len(tail) - 1, 0, -1):
        iso = _standalone_date(tail[i])
        if iso and not _SENTENCE.search(tail[i - 1].stripped) and len(tail[i - 1].stripped) <= 40:
            s, e = tail[i].content_span
            return [_reading(path, iso, text, s, e, "date under the signature")]
    return []


_PERIOD_END = re.compile(rf"(?:至|止|截至|截止)\s*(?:{DATE.pattern})")
_PERIOD_START = re.compile(rf"(?:自|从)\s*(?:{DATE.pattern})|(?:{DATE.pattern})\s*(?:起|至)")


def period_end_as_publish_date(value: str, text: str) -> str | None:
    """Why `value` is no publish date: it is the start or the end of the statistics period
    ("自2023年1月1日起至2023年12月31日止") and the report prints no publish date of its own.
    None when it may be one."""
    bounds = {
        parse_date(DATE.search(m.group()) or m)
        for pattern in (_PERIOD_END, _PERIOD_START)
        for m in pattern.finditer(text)
    }
    if value not in bounds or read_publish_date(text):
        return None
    return f"{value} 是统计期限的起止日期，不是发布日期；原文没有印出发布日期时填 null"


def _standalone_date(line: _Line) -> str | None:
    m = _STANDALONE_DATE.match(line.stripped)
    if not m:
        return None
    inner = DATE.search(line.stripped)
    return parse_date(inner) if inner else None


# --- the issuing body: kind and level --------------------------------------------------------

_BODY_IN_TITLE = re.compile(r"^(.*?)(?:(?:19|20)\d{2}\s*年度?|政府信息公开|政务公开|信息公开)")
_SELF_TOWNSHIP = re.compile(r"[我本全](乡|镇|街道)(?![镇村])")


def _title_body(text: str) -> tuple[str, int, int] | None:
    lines = _title_lines(text)
    if not lines:
        return None
    start, end = lines[0].content_span[0], lines[-1].content_span[1]
    raw = text[start:end]
    compact = re.sub(r"\s+", "", raw)
    compact = re.sub(r"^(?:19|20)\d{2}\s*年度?", "", compact)
    m = _BODY_IN_TITLE.match(compact)
    body = m.group(1) if m else ""
    if len(body) < 2:
        return None
    first = raw.find(body[0])
    return body, start + max(first, 0), start + max(first, 0) + len(body)


_COMPILED_BY = re.compile(
    r"编制了?\s*([^\s，。、“”《》（）()]{2,30}?)\s*(?:19|20)\d{2}\s*年度?\s*(?:政府信息公开|政务公开|信息公开)"
)


def read_issuing_body(text: str) -> list[CellReading]:
    """meta.issuing_body: the body the preamble says compiled the report ("我乡编制了X2023年
    政府信息公开工作年度报告"; a title may name the parent government), else the body the
    title names."""
    m = _COMPILED_BY.search(text, 0, HEAD_CHARS)
    if m:
        s, e = m.span(1)
        return [_reading("meta.issuing_body", m.group(1), text, s, e, "the body that compiled it")]
    found = _title_body(text)
    if not found:
        return []
    body, start, end = found
    if re.sub(r"\s+", "", text[start:end]) != body:  # the name is broken across lines
        return []
    return [_reading("meta.issuing_body", body, text, start, end, "the body in the title")]


def read_body(text: str) -> list[CellReading]:
    """meta.body_kind and meta.admin_level from the body named in the title. A report whose
    title names the parent government but which speaks of itself as 我乡/我镇/本街道 is a
    township's."""
    found = _title_body(text)
    if not found:
        return []
    body, start, end = found
    out: list[CellReading] = []
    kind = body_kind(body)
    if kind:
        out.append(_reading("meta.body_kind", kind, text, start, end, f"suffix of {body}"))
    level = body_level(body, text)
    if level and level != "township" and kind == "government":
        own = _SELF_TOWNSHIP.search(text, 0, HEAD_CHARS)
        if own:
            return [
                *out,
                _reading(
                    "meta.admin_level",
                    "township",
                    text,
                    own.start(),
                    own.end(),
                    "the report speaks as a township",
                ),
            ]
    if level:
        out.append(_reading("meta.admin_level", level, text, start, end, f"gazetteer: {body}"))
    return out


# --- contact --------------------------------------------------------------------------------

_FOOTER = re.compile(r"主办|版权所有|ICP|备案号|标识码|技术支持|网站建设|承办|网站地图")
_PHONE = re.compile(
    r"(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}\s*[-－—]\s*)?\d{7,8}(?:\s*[-－转]\s*\d{1,5})?|1[3-9]\d{9}"
)
_PHONE_LABEL = re.compile(r"(?:联系|咨询|办公|监督|投诉)?电话(?:号码)?\s*[:：为是]?\s*")
_POSTCODE = re.compile(r"(?:邮编|邮政编码)\s*[:：为是]?\s*(\d{6})(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+", re.I)
_ADDRESS = re.compile(r"(?:通讯|联系|办公)?地址\s*[:：为是]\s*([^，,；;。\n]{4,60})")
_NEXT_LABEL = re.compile(r"\s*(?:邮编|邮政编码|电话|联系电话|传真|邮箱|电子邮箱|网址).*$")
_PUBLISHED_AT = re.compile(r"本年报|本报告|年度报告|向社会公开|公开|网")


def _clean_lines(text: str) -> list[_Line]:
    return [line for line in _nonblank(text) if not _FOOTER.search(line.text)]


def read_contact(text: str) -> list[CellReading]:
    lines = _clean_lines(text)
    out: list[CellReading] = []

    def first(path: str, pattern: re.Pattern[str], group: int, note: str) -> None:
        for line in lines:
            m = pattern.search(line.text)
            if m:
                s, e = line.start + m.start(group), line.start + m.end(group)
                value = m.group(group).strip()
                out.append(_reading(path, value, text, s, s + len(value) if value else e, note))
                return

    first("contact.postcode", _POSTCODE, 1, "labelled 邮编")
    for line in lines:
        for label in _PHONE_LABEL.finditer(line.text):
            m = _PHONE.match(line.text, label.end())
            if m:
                s = line.start + m.start()
                out.append(
                    _reading(
                        "contact.phone", m.group(), text, s, line.start + m.end(), "labelled 电话"
                    )
                )
                break
        else:
            continue
        break
    first("contact.email", _EMAIL, 0, "e-mail pattern")
    urls = [(line, m) for line in lines for m in _URL.finditer(line.text)]
    if urls:
        line, m = next(((ln, mm) for ln, mm in urls if _PUBLISHED_AT.search(ln.text)), urls[0])
        value = m.group().rstrip(".,;:)）")
        s = line.start + m.start()
        out.append(_reading("contact.website", value, text, s, s + len(value), "web address"))
    for line in lines:
        m = _ADDRESS.search(line.text)
        if m:
            value = _NEXT_LABEL.sub("", m.group(1)).strip()
            if len(value) >= 4:
                s = line.start + m.start(1)
                out.append(
                    _reading("contact.address", value, text, s, s + len(value), "labelled 地址")
                )
                break
    return out


_PHONES = rf"(?:{_PHONE.pattern})(?:\s*[、，,/或]\s*(?:{_PHONE.pattern}))*"
_HOST = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[/A-Za-z0-9._~%?=&#-]*"
# path -> (the form, its name, what it looks like)
_FORMS: dict[str, tuple[re.Pattern[str], str, str]] = {
    "contact.postcode": (re.compile(r"\d{6}"), "邮编", "六位数字"),
    "contact.email": (_EMAIL, "电子邮箱", "带 @ 的地址"),
    "contact.phone": (re.compile(_PHONES), "电话", "只有号码"),
    "contact.website": (re.compile(rf"{_URL.pattern}|{_HOST}"), "网址", "只有网址本身"),
    # a place name alone ("某某镇") is no address: an address names a street, a number, a building
    "contact.address": (
        re.compile(
            r".*(?:路|街|号|楼|室|巷|院|大厦|层|栋|弄|胡同|广场|大道|中心|社区|村|组|政府|机关).*"
        ),
        "地址",
        "含街道、门牌或楼宇的地址",
    ),
}


def contact_form_problem(path: str, value: str) -> str | None:
    """Why a proposed contact value is not one (a phone number given as the postcode, the
    sentence around a web address): the re-ask reason, or None."""
    if path not in _FORMS:
        return None
    pattern, name, looks = _FORMS[path]
    if pattern.fullmatch(value.strip()):
        return None
    return f"{value} 不是{name}（{name}应是{looks}）；请只填原文中的{name}，或填 null"


# a row of a table of people (姓名 | 职务 | 联系方式): their own numbers, not the report's contact
_TITLE = re.compile(
    r"姓名|职务|乡长|镇长|县长|市长|书记|主任|秘书|科长|股长|局长|处长|所长|站长|干事|委员"
)


def personal_phone_problem(value: str, text: str) -> str | None:
    """Why a proposed contact phone is a person's: every line printing it is a row of a table
    of people (cells and a job title). The re-ask reason, or None."""
    number = value.strip()
    rows = [line for line in text.split("\n") if number and number in line]
    if not rows or not all(_TITLE.search(r) and r.count("|") + r.count("\t") >= 2 for r in rows):
        return None
    return (
        f"{value} 是人员登记表中个人的电话，不是报告所列的联系电话；报告没有印出联系电话时填 null"
    )


def read_rules(text: str) -> list[CellReading]:
    """Every rule reading of one document."""
    return [
        *read_title(text),
        *read_report_year(text),
        *read_publish_date(text),
        *read_body(text),
        *read_issuing_body(text),
        *read_contact(text),
        *read_request_items(text),
    ]
