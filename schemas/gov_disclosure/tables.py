"""The standard tables 二/三/四 of 政府信息公开工作年度报告, as specs for the generic table
reader (structurer.tables), and `read_tables`, the deterministic reader of a report's text.

Formats: 国办公开办函〔2019〕60号 ("2019") and 〔2021〕30号 ("2021"); see
../shared/notes/format.md. Table 三 and 四 are the same in both (the 2019 table prints a
single （六）其他处理 row, read as `other_misc`); table 二 differs.
"""

from __future__ import annotations

from gov_disclosure.identities import APPEAL_GROUPS, APPEAL_PARTS, REQUEST_COLUMNS, RESULT_ROWS
from structurer.core.types import CellReading
from structurer.tables import (
    CellUnit,
    ColumnSpec,
    Identity,
    RowSpec,
    TableReadout,
    TableSpec,
    TableText,
    prepare_text,
    read_with_specs,
)

# ---- table 二 主动公开政府信息情况 -------------------------------------------------

_C = ColumnSpec
# money in the fee and procurement columns is in 万元; a cell may print 元 instead
_WAN_YUAN = (("万元", 1.0), ("元", 0.0001))
UNITS = tuple(unit for unit, _ in _WAN_YUAN)


def _money(key: str, prior: float) -> ColumnSpec:
    return _C(key, prior, CellUnit.amount, unit_factors=_WAN_YUAN)


_DOCS_2021 = (_C("issued", 0.4), _C("repealed", 0.2), _C("in_force", 0.6))
_DOCS_2019 = (_C("issued", 0.4), _C("published", 0.4), _C("total_published", 0.6))
_DECISIONS_2021 = (_C("decisions", 0.6),)
_DECISIONS_2019 = (
    _C("prev_year_items", 0.5),
    _C("change", 0.2, CellUnit.signed_integer),
    _C("decisions", 0.6),
)

_REGULATIONS = ("规章",)
_NORMATIVE = ("行政规范性文件", "规范性文件")

PROACTIVE_2021 = TableSpec(
    name="proactive",
    rows=(
        RowSpec("proactive.regulations", _REGULATIONS, _DOCS_2021),
        RowSpec("proactive.normative_documents", _NORMATIVE, _DOCS_2021),
        RowSpec("proactive.licensing", ("行政许可",), _DECISIONS_2021),
        RowSpec("proactive.penalties", ("行政处罚",), _DECISIONS_2021),
        RowSpec("proactive.enforcement", ("行政强制",), _DECISIONS_2021),
        RowSpec(
            "proactive.fees",
            ("行政事业性收费",),
            (_money("amount_10k_yuan", 0.4),),
        ),
    ),
)

PROACTIVE_2019 = TableSpec(
    name="proactive",
    rows=(
        RowSpec("proactive.regulations", _REGULATIONS, _DOCS_2019),
        RowSpec("proactive.normative_documents", _NORMATIVE, _DOCS_2019),
        RowSpec("proactive.licensing", ("行政许可",), _DECISIONS_2019),
        RowSpec("proactive.other_services", ("其他对外管理服务事项",), _DECISIONS_2019),
        RowSpec("proactive.penalties", ("行政处罚",), _DECISIONS_2019),
        RowSpec("proactive.enforcement", ("行政强制",), _DECISIONS_2019),
        RowSpec(
            "proactive.fees",
            ("行政事业性收费",),
            (_C("prev_year_items", 0.5), _C("change", 0.2, CellUnit.signed_integer)),
        ),
        RowSpec(
            "proactive.procurement",
            ("政府集中采购",),
            (_C("projects", 0.5), _money("amount_10k_yuan", 0.5)),
        ),
    ),
)

# ---- table 三 收到和处理政府信息公开申请情况 -------------------------------------------

_REQUEST_PRIORS = {
    "natural_person": 0.85,
    "commercial": 0.35,
    "research": 0.05,
    "nonprofit": 0.05,
    "legal_services": 0.1,
    "other_org": 0.15,
    "total": 0.9,
}
_REQUEST_HEADERS = {
    "natural_person": "自然人",
    "commercial": "商业企业",
    "research": "科研机构",
    "nonprofit": "社会公益组织",
    "legal_services": "法律服务机构",
    "other_org": "其他",
    "total": "总计",
}
_REQUEST_COLS = tuple(
    _C(c, _REQUEST_PRIORS[c], header=_REQUEST_HEADERS[c]) for c in [*REQUEST_COLUMNS, "total"]
)

# (row key, printed labels, optional)
_REQUEST_ROW_LABELS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("new_received", ("一、本年新收政府信息公开申请数量",), False),
    ("carried_over", ("二、上年结转政府信息公开申请数量",), False),
    ("granted", ("（一）予以公开",), False),
    (
        "partially_granted",
        ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "（二）部分公开"),
        False,
    ),
    ("withheld_state_secret", ("1.属于国家秘密",), False),
    ("withheld_prohibited_by_law", ("2.其他法律行政法规禁止公开",), False),
    ("withheld_security_stability", ("3.危及“三安全一稳定”",), False),
    ("withheld_third_party", ("4.保护第三方合法权益",), False),
    ("withheld_internal_affairs", ("5.属于三类内部事务信息",), False),
    ("withheld_process_info", ("6.属于四类过程性信息",), False),
    ("withheld_enforcement_files", ("7.属于行政执法案卷",), False),
    ("withheld_query_matters", ("8.属于行政查询事项",), False),
    ("unavailable_not_held", ("1.本机关不掌握相关政府信息",), False),
    ("unavailable_needs_creation", ("2.没有现成信息需要另行制作",), False),
    ("unavailable_unclear", ("3.补正后申请内容仍不明确",), False),
    ("rejected_petition", ("1.信访举报投诉类申请",), False),
    ("rejected_duplicate", ("2.重复申请",), False),
    ("rejected_publication", ("3.要求提供公开出版物",), False),
    ("rejected_excessive", ("4.无正当理由大量反复申请",), False),
    ("rejected_confirmation", ("5.要求行政机关确认或重新出具已获取信息",), False),
    (
        "other_no_correction",
        ("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",),
        True,
    ),
    (
        "other_no_fee",
        ("2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",),
        True,
    ),
    ("other_misc", ("3.其他", "（六）其他处理"), False),
    ("total", ("（七）总计", "总计"), False),
    ("carried_forward", ("四、结转下年度继续办理",), False),
)
REQUEST_ROW_KEYS = tuple(key for key, _, _ in _REQUEST_ROW_LABELS)


def _request_identities() -> tuple[Identity, ...]:
    ids: list[Identity] = []
    for row in REQUEST_ROW_KEYS:
        path = f"requests.{row}"
        ids.append(
            Identity(
                f"requests.row_sum.{row}",
                ((path, "total"),),
                tuple((path, c) for c in REQUEST_COLUMNS),
            )
        )
    for col in [*REQUEST_COLUMNS, "total"]:
        ids.append(
            Identity(
                f"requests.results_sum.{col}",
                (("requests.total", col),),
                tuple((f"requests.{r}", col) for r in RESULT_ROWS),
            )
        )
        ids.append(
            Identity(
                f"requests.balance.{col}",
                (("requests.new_received", col), ("requests.carried_over", col)),
                (("requests.total", col), ("requests.carried_forward", col)),
            )
        )
    return tuple(ids)


REQUESTS = TableSpec(
    name="requests",
    rows=tuple(
        RowSpec(f"requests.{key}", labels, _REQUEST_COLS, optional)
        for key, labels, optional in _REQUEST_ROW_LABELS
    ),
    identities=_request_identities(),
)

# ---- table 四 政府信息公开行政复议、行政诉讼情况 -------------------------------------------

_APPEAL_PRIORS = {"upheld": 0.3, "corrected": 0.15, "other": 0.15, "pending": 0.2, "total": 0.5}
_APPEAL_COLS = tuple(_C(p, _APPEAL_PRIORS[p]) for p in [*APPEAL_PARTS, "total"])
_APPEAL_LABELS = {
    "reconsideration": ("行政复议",),
    "litigation_direct": ("未经复议直接起诉",),
    "litigation_after_reconsideration": ("复议后起诉",),
}

APPEALS = TableSpec(
    name="appeals",
    rows=tuple(RowSpec(f"appeals.{g}", _APPEAL_LABELS[g], _APPEAL_COLS) for g in APPEAL_GROUPS),
    identities=tuple(
        Identity(
            f"appeals.sum.{g}",
            ((f"appeals.{g}", "total"),),
            tuple((f"appeals.{g}", p) for p in APPEAL_PARTS),
        )
        for g in APPEAL_GROUPS
    ),
    end_markers=(r"^[五六七]?(存在的主要问题|其他需要报告)",),
)

# ---- format and entry points ------------------------------------------------------------

_HEADERS_2021 = ("本年制发件数", "本年废止件数", "现行有效件数", "本年收费金额")
_HEADERS_2019 = (
    "本年新制作数量",
    "本年新公开数量",
    "对外公开总数量",
    "上一年项目数量",
    "采购项目数量",
)
_ROWS_2021 = ("申请人无正当理由逾期不补正", "逾期未按收费通知要求缴纳费用")
_ROWS_2019 = ("其他对外管理服务事项", "政府集中采购")
MIN_ROWS_FOR_TABLES = 4
FOUND = 0.8  # similarity at which a printed header or label counts as present


def detect_format(doc: TableText) -> str | None:
    """ "2021" / "2019" from table 二's column headers, else from the rows only one format
    prints; None when nothing decides it."""
    n2021 = sum(doc.best_similarity(h) >= FOUND for h in _HEADERS_2021)
    n2019 = sum(doc.best_similarity(h) >= FOUND for h in _HEADERS_2019)
    if n2021 != n2019:
        return "2021" if n2021 > n2019 else "2019"
    if max(doc.best_similarity(r) for r in _ROWS_2021) >= FOUND:
        return "2021"
    if max(doc.best_similarity(r) for r in _ROWS_2019) >= FOUND:
        return "2019"
    if doc.best_similarity("（六）其他处理") >= FOUND:
        return "2019"
    return None


def read_tables(text: str, *, ocr: bool = False) -> TableReadout:
    """Read tables 二, 三 and 四 of a report's text. Evidence offsets index `text` as given.
    `ocr`: the text was read by OCR from page images (digits may be misread)."""
    doc = prepare_text(text, UNITS, ocr=ocr)
    fmt = detect_format(doc)
    proactive = PROACTIVE_2019 if fmt == "2019" else PROACTIVE_2021
    readout = read_with_specs(doc, (proactive, REQUESTS, APPEALS))
    rows_read = {c.path.rsplit(".", 1)[0] for c in readout.cells}
    standard = {r for r in rows_read if r.startswith(("proactive.", "requests."))}
    if len(standard) < MIN_ROWS_FOR_TABLES:
        return TableReadout(problems=["no standard tables found"] if rows_read else [])
    if fmt is None:
        fmt = "2021"
        readout.problems.append("format not printed clearly; read as 2021")
    readout.format = fmt
    return readout


def read_tables_cells(text: str) -> list[CellReading]:
    """The ReportType hook: the cells `read_tables` could read."""
    return read_tables(text).cells
