"""The deterministic reader of the standard tables 二/三/四 (gov_disclosure.tables).

Real input: wulanhua-town_2020 (2019 format, one cell per line) against its gold.
Hand-made 2021-format tables in the layouts real reports arrive in: tab rows (HTML
tables), one cell per line, markdown, PDF layout text; with OCR'd labels, blank cells,
remarks and units in cells, a single （六） row, numbering variants, a blank 总计 column,
headers broken mid-word, and a page break inside a table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gov_disclosure.identities import REQUEST_COLUMNS
from gov_disclosure.tables import read_tables, read_tables_cells
from structurer.core.types import BLANK_NOTE
from structurer.tables import TableReadout

SHARED = Path(__file__).resolve().parents[2] / "shared"  # shared/ beside the repo
WULANHUA = SHARED / "corpus" / "wulanhua-town_2020.txt"
WULANHUA_GOLD = SHARED / "gold" / "wulanhua-town_2020.json"
LEGACY = ["dongsheng-township_2017.txt", "shuguang-town_2018.txt", "tiande-township_2016.txt"]

COLS = [*REQUEST_COLUMNS, "total"]

# One hand-made 2021 table, consistent with every identity. Row -> 7 cells.
REQUESTS: dict[str, list[int]] = {
    "new_received": [10, 2, 0, 0, 1, 0, 13],
    "carried_over": [1, 0, 0, 0, 0, 0, 1],
    "granted": [5, 1, 0, 0, 0, 0, 6],
    "partially_granted": [1, 0, 0, 0, 0, 0, 1],
    "withheld_state_secret": [0] * 7,
    "withheld_prohibited_by_law": [0] * 7,
    "withheld_security_stability": [0] * 7,
    "withheld_third_party": [1, 0, 0, 0, 0, 0, 1],
    "withheld_internal_affairs": [0] * 7,
    "withheld_process_info": [0] * 7,
    "withheld_enforcement_files": [0] * 7,
    "withheld_query_matters": [0] * 7,
    "unavailable_not_held": [2, 1, 0, 0, 0, 0, 3],
    "unavailable_needs_creation": [0] * 7,
    "unavailable_unclear": [0] * 7,
    "rejected_petition": [0] * 7,
    "rejected_duplicate": [1, 0, 0, 0, 0, 0, 1],
    "rejected_publication": [0] * 7,
    "rejected_excessive": [0] * 7,
    "rejected_confirmation": [0] * 7,
    "other_no_correction": [0] * 7,
    "other_no_fee": [0] * 7,
    "other_misc": [0, 0, 0, 0, 1, 0, 1],
    "total": [10, 2, 0, 0, 1, 0, 13],
    "carried_forward": [1, 0, 0, 0, 0, 0, 1],
}
PROACTIVE = {
    "proactive.regulations.issued": 1,
    "proactive.regulations.repealed": 0,
    "proactive.regulations.in_force": 12,
    "proactive.normative_documents.issued": 5,
    "proactive.normative_documents.repealed": 2,
    "proactive.normative_documents.in_force": 48,
    "proactive.licensing.decisions": 1320,
    "proactive.penalties.decisions": 87,
    "proactive.enforcement.decisions": 3,
    "proactive.fees.amount_10k_yuan": 2.5,
}
APPEALS = {
    "reconsideration": [1, 0, 0, 1, 2],
    "litigation_direct": [0, 0, 0, 0, 0],
    "litigation_after_reconsideration": [0, 1, 0, 0, 1],
}


def expected(single_six: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = dict(PROACTIVE)
    for row, values in REQUESTS.items():
        if single_six and row in ("other_no_correction", "other_no_fee"):
            continue
        out.update({f"requests.{row}.{c}": v for c, v in zip(COLS, values, strict=True)})
    for group, values in APPEALS.items():
        parts = ["upheld", "corrected", "other", "pending", "total"]
        out.update({f"appeals.{group}.{p}": v for p, v in zip(parts, values, strict=True)})
    return out


def values(readout: TableReadout) -> dict[str, Any]:
    return {c.path: c.value for c in readout.cells}


def assert_evidence_exact(text: str, readout: TableReadout) -> None:
    for cell in readout.cells:
        ev = cell.evidence
        assert ev.start is not None and ev.end is not None
        assert text[ev.start : ev.end] == ev.quote, cell.path
        assert ev.quote, cell.path


def diff(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    keys = set(got) | set(want)
    return sorted(
        f"{k}: got {got.get(k)!r}, want {want.get(k)!r}" for k in keys if got.get(k) != want.get(k)
    )


# ---- hand-made texts ------------------------------------------------------------------

TAB_2021 = """\
二、主动公开政府信息情况
第二十条第（一）项
信息内容\t本年制发件数\t本年废止件数\t现行有效件数
规章\t1\t0\t12
行政规范性文件\t5\t2\t48
第二十条第（五）项
信息内容\t本年处理决定数量
行政许可\t1320
第二十条第（六）项
信息内容\t本年处理决定数量
行政处罚\t87
行政强制\t3
第二十条第（八）项
信息内容\t本年收费金额（单位：万元）
行政事业性收费\t2.5
三、收到和处理政府信息公开申请情况
（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）\t申请人情况
\t自然人\t法人或其他组织\t\t\t\t\t总计
\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t
一、本年新收政府信息公开申请数量\t10\t2\t0\t0\t1\t0\t13
二、上年结转政府信息公开申请数量\t1\t0\t0\t0\t0\t0\t1
三、本年度办理结果\t（一）予以公开\t5\t1\t0\t0\t0\t0\t6
\t（二）部分公开（区分处理的，只计这一情形，不计其他情形）\t1\t0\t0\t0\t0\t0\t1
\t（三）不予公开\t1.属于国家秘密\t0\t0\t0\t0\t0\t0\t0
\t\t2.其他法律行政法规禁止公开\t0\t0\t0\t0\t0\t0\t0
\t\t3.危及“三安全一稳定”\t0\t0\t0\t0\t0\t0\t0
\t\t4.保护第三方合法权益\t1\t0\t0\t0\t0\t0\t1
\t\t5.属于三类内部事务信息\t0\t0\t0\t0\t0\t0\t0
\t\t6.属于四类过程性信息\t0\t0\t0\t0\t0\t0\t0
\t\t7.属于行政执法案卷\t0\t0\t0\t0\t0\t0\t0
\t\t8.属于行政查询事项\t0\t0\t0\t0\t0\t0\t0
\t（四）无法提供\t1.本机关不掌握相关政府信息\t2\t1\t0\t0\t0\t0\t3
\t\t2.没有现成信息需要另行制作\t0\t0\t0\t0\t0\t0\t0
\t\t3.补正后申请内容仍不明确\t0\t0\t0\t0\t0\t0\t0
\t（五）不予处理\t1.信访举报投诉类申请\t0\t0\t0\t0\t0\t0\t0
\t\t2.重复申请\t1\t0\t0\t0\t0\t0\t1
\t\t3.要求提供公开出版物\t0\t0\t0\t0\t0\t0\t0
\t\t4.无正当理由大量反复申请\t0\t0\t0\t0\t0\t0\t0
\t\t5.要求行政机关确认或重新出具已获取信息\t0\t0\t0\t0\t0\t0\t0
\t（六）其他处理\t1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请\t0\t0\t0\t0\t0\t0\t0
\t\t2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请\t0\t0\t0\t0\t0\t0\t0
\t\t3.其他\t0\t0\t0\t0\t1\t0\t1
\t（七）总计\t10\t2\t0\t0\t1\t0\t13
四、结转下年度继续办理\t1\t0\t0\t0\t0\t0\t1
四、政府信息公开行政复议、行政诉讼情况
行政复议\t行政诉讼
\t\t\t\t\t未经复议直接起诉\t复议后起诉
结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t结果维持\t结果纠正\t其他结果\t尚未审结\t总计
1\t0\t0\t1\t2\t0\t0\t0\t0\t0\t0\t1\t0\t0\t1
五、存在的主要问题及改进情况
（一）政务公开工作的主动性还不够强，公开的及时性有待提高。
"""

NARRATIVE = (
    "某某县市场监督管理局2021年政府信息公开工作年度报告\n\n一、总体情况\n"
    "2021年，我局主动公开政府信息48条，收到政府信息公开申请13件，行政许可、行政处罚信息均按时公开。\n\n"
)


def to_markdown(tab_text: str) -> str:
    """Every tab row as a markdown row (| a | b |), a rule after the first header."""
    out = []
    for line in tab_text.splitlines():
        if "\t" not in line:
            out.append(line)
            continue
        out.append("| " + " | ".join(line.split("\t")) + " |")
        if line.startswith("信息内容") or line.startswith("（本列"):
            out.append("|---|---|---|---|")
    return "\n".join(out) + "\n"


def to_cell_per_line(tab_text: str) -> str:
    """Every cell on its own tab-indented line, rows apart by an empty line (wulanhua)."""
    out = []
    for line in tab_text.splitlines():
        if "\t" not in line:
            out.append(line)
            continue
        out.extend("\t" + cell for cell in line.split("\t"))
        out.append("")
    return "\n".join(out) + "\n"


PDF_2021 = """\
二、主动公开政府信息情况
                         第二十条第（一）项
   信息内容        本年制发件数     本年废止件数      现行有效件数
     规章               1               0                12
 行政规范性文件         5               2                48
                         第二十条第（五）项
   信息内容                    本年处理决定数量
   行政许可                          1320
                         第二十条第（六）项
   信息内容                    本年处理决定数量
   行政处罚                           87
   行政强制                            3
                         第二十条第（八）项
   信息内容                本年收费金额（单位：万元）
 行政事业性收费                       2.5
三、收到和处理政府信息公开申请情况
 （本列数据的勾稽关系为：第一项加第二                 申请人情况
 项之和，等于第三项加第四项之和）                 法人或其他组织
                                       自然人  商业企  科研机  社会公益  法律服务   其他    总计
                                                 业      构      组织      机构
 一、本年新收政府信息公开申请数量        10       2       0        0         1        0      13
 二、上年结转政府信息公开申请数量         1       0       0        0         0        0       1
 三、本年度   （一）予以公开              5       1       0        0         0        0       6
 办理结果     （二）部分公开（区分处理    1       0       0        0         0        0       1
              的，只计这一情形，不计其
              他情形）
              （三）不予   1.属于国家秘密 0       0       0        0         0        0       0
              公开         2.其他法律行政 0       0       0        0         0        0       0
                           法规禁止公开
                           3.危及“三安全 0       0       0        0         0        0       0
                           一稳定”
                           4.保护第三方合 1       0       0        0         0        0       1
                           法权益
                           5.属于三类内部 0       0       0        0         0        0       0
                           事务信息
- 7 -
\f
                           6.属于四类过程 0       0       0        0         0        0       0
                           性信息
                           7.属于行政执法 0       0       0        0         0        0       0
                           案卷
                           8.属于行政查询 0       0       0        0         0        0       0
                           事项
              （四）无法   1.本机关不掌握 2       1       0        0         0        0       3
              提供         相关政府信息
                           2.没有现成信息 0       0       0        0         0        0       0
                           需要另行制作
                           3.补正后申请内 0       0       0        0         0        0       0
                           容仍不明确
              （五）不予   1.信访举报投诉 0       0       0        0         0        0       0
              处理         类申请
                           2.重复申请     1       0       0        0         0        0       1
                           3.要求提供公开 0       0       0        0         0        0       0
                           出版物
                           4.无正当理由大 0       0       0        0         0        0       0
                           量反复申请
                           5.要求行政机关 0       0       0        0         0        0       0
                           确认或重新出具
                           已获取信息
              （六）其他   1.申请人无正当 0       0       0        0         0        0       0
              处理         理由逾期不补正、
                           行政机关不再处
                           理其政府信息公
                           开申请
                           2.申请人逾期未 0       0       0        0         0        0       0
                           按收费通知要求
                           缴纳费用、行政
                           机关不再处理其
                           政府信息公开申
                           请
                           3.其他         0       0       0        0         1        0       1
              （七）总计                 10       2       0        0         1        0      13
 四、结转下年度继续办理                   1       0       0        0         0        0       1
四、政府信息公开行政复议、行政诉讼情况
           行政复议                                       行政诉讼
                                      未经复议直接起诉                  复议后起诉
 结果 结果 其他 尚未 总计     结果 结果 其他 尚未 总计      结果 结果 其他 尚未 总计
 维持 纠正 结果 审结          维持 纠正 结果 审结           维持 纠正 结果 审结
  1    0    0    1    2        0    0    0    0    0         0    1    0    0    1
五、存在的主要问题及改进情况
（一）政务公开工作的主动性还不够强，公开的及时性有待提高。
"""


# ---- real report ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wulanhua() -> tuple[str, dict[str, Any]]:
    if not WULANHUA.exists() or not WULANHUA_GOLD.exists():
        pytest.skip("shared corpus not present")
    return WULANHUA.read_text(encoding="utf-8"), json.loads(
        WULANHUA_GOLD.read_text(encoding="utf-8")
    )


def _gold_table_cells(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ("proactive", "requests", "appeals"):
        for row, cols in record[part].items():
            if isinstance(cols, dict):
                out.update({f"{part}.{row}.{c}": v for c, v in cols.items() if v is not None})
    return out


def test_wulanhua_every_table_cell_equals_gold(wulanhua: tuple[str, dict[str, Any]]) -> None:
    text, gold = wulanhua
    readout = read_tables(text)
    assert readout.format == gold["record"]["meta"]["format"] == "2019"
    assert diff(values(readout), _gold_table_cells(gold["record"])) == []
    assert readout.unread == []
    assert_evidence_exact(text, readout)
    assert not any(p.startswith("identity") for p in readout.problems)


def test_wulanhua_cells_hook_matches_readout(wulanhua: tuple[str, dict[str, Any]]) -> None:
    text, _ = wulanhua
    assert read_tables_cells(text) == read_tables(text).cells


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_reports_have_no_standard_tables(name: str) -> None:
    path = SHARED / "corpus" / name
    if not path.exists():
        pytest.skip("shared corpus not present")
    readout = read_tables(path.read_text(encoding="utf-8"))
    assert readout.format is None
    assert readout.cells == []


# ---- 2021 layouts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(TAB_2021, id="tab-rows"),
        pytest.param(to_markdown(TAB_2021), id="markdown"),
        pytest.param(to_cell_per_line(TAB_2021), id="cell-per-line"),
        pytest.param(PDF_2021, id="pdf-layout-split-headers-page-break"),
    ],
)
def test_2021_layouts(layout: str) -> None:
    text = NARRATIVE + layout
    readout = read_tables(text)
    assert readout.format == "2021"
    assert diff(values(readout), expected()) == []
    assert readout.unread == []
    assert_evidence_exact(text, readout)


def test_page_number_inside_table_is_not_a_cell() -> None:
    readout = read_tables(NARRATIVE + PDF_2021)
    assert all(c.evidence.quote != "7" for c in readout.cells)


def test_ocr_substitutions_in_labels() -> None:
    damaged = (
        TAB_2021.replace("属于国家秘密", "厲于国家秘蜜")
        .replace("本机关不掌握相关政府信息", "本机关不拿渥相关致府倍息")
        .replace("行政许可", "行政汻可")
        .replace("重复申请", "重夏申清")
        .replace("结转下年度继续办理", "给转下乍度继续办埋")
        .replace("未经复议直接起诉", "未经夏议直接起拆")
    )
    readout = read_tables(NARRATIVE + damaged)
    assert diff(values(readout), expected()) == []


@pytest.mark.parametrize("sep", ["、", "．", ". "])
def test_numbering_variants(sep: str) -> None:
    text = NARRATIVE + "".join(
        line.replace(".", sep, 1) if line.lstrip("\t")[:1].isdigit() else line
        for line in TAB_2021.splitlines(keepends=True)
    )
    assert diff(values(read_tables(text)), expected()) == []


def test_blank_cells_are_zero_with_evidence_at_their_row() -> None:
    blanked = "\n".join(
        "\t".join("" if cell == "0" else cell for cell in line.split("\t"))
        for line in TAB_2021.splitlines()
    )
    text = NARRATIVE + blanked
    readout = read_tables(text)
    assert diff(values(readout), expected()) == []
    cell = next(c for c in readout.cells if c.path == "requests.withheld_state_secret.commercial")
    assert cell.value == 0 and cell.note is not None and cell.note.startswith(BLANK_NOTE)
    assert cell.evidence.quote is not None and "国家秘密" in cell.evidence.quote
    assert_evidence_exact(text, readout)


def test_blank_cells_in_pdf_layout_placed_by_columns_and_identities() -> None:
    lines = []
    for line in PDF_2021.splitlines():
        if any(k in line for k in ("结果", "维持", "第二十条")):
            lines.append(line)
            continue
        # a printed zero left blank: replace " 0" cells by spaces (the label's own digits stay)
        lines.append(line.replace("       0", "        ").replace("    0", "     "))
    readout = read_tables(NARRATIVE + "\n".join(lines))
    got = values(readout)
    want = expected()
    wrong = [k for k in want if k.startswith("requests.") and got.get(k) != want[k]]
    assert wrong == []


def test_remarks_and_units_inside_cells() -> None:
    text = NARRATIVE + (
        TAB_2021.replace("（一）予以公开\t5\t", "（一）予以公开\t5（含转办1件）\t")
        .replace("重复申请\t1\t", "重复申请\t1件\t")
        .replace("行政事业性收费\t2.5", "行政事业性收费\t25000元")
        .replace("行政许可\t1320", "行政许可\t1320件")
    )
    readout = read_tables(text)
    assert diff(values(readout), expected()) == []
    granted = next(c for c in readout.cells if c.path == "requests.granted.natural_person")
    assert granted.evidence.quote == "5（含转办1件）"
    assert granted.note is not None and "remark" in granted.note
    fee = next(c for c in readout.cells if c.path == "proactive.fees.amount_10k_yuan")
    assert fee.value == pytest.approx(2.5) and fee.note is not None and "万元" in fee.note


def test_fee_in_10k_yuan_with_unit() -> None:
    readout = read_tables(
        NARRATIVE + TAB_2021.replace("行政事业性收费\t2.5", "行政事业性收费\t2.5万元")
    )
    assert values(readout)["proactive.fees.amount_10k_yuan"] == pytest.approx(2.5)


def test_single_other_processing_row_in_2021_table() -> None:
    lines = TAB_2021.splitlines(keepends=True)
    single = []
    for line in lines:
        if "逾期不补正" in line or "逾期未按收费通知" in line:
            continue
        if "\t3.其他\t" in line:
            line = line.replace("\t\t3.其他\t", "\t（六）其他处理\t")
        single.append(line)
    readout = read_tables(NARRATIVE + "".join(single))
    assert readout.format == "2021"
    assert diff(values(readout), expected(single_six=True)) == []
    assert readout.unread == []


def test_whole_total_column_blank() -> None:
    table_3 = TAB_2021[TAB_2021.index("一、本年新收") : TAB_2021.index("四、政府信息公开行政复议")]
    blanked = "\n".join(line.rsplit("\t", 1)[0] + "\t" for line in table_3.splitlines())
    readout = read_tables(NARRATIVE + TAB_2021.replace(table_3, blanked + "\n"))
    want = expected()
    for key in want:
        if key.startswith("requests.") and key.endswith(".total"):
            want[key] = 0
    assert diff(values(readout), want) == []


def test_whole_total_column_blank_without_delimiters() -> None:
    """PDF layout: the blank 总计 column leaves no trace but the row sums."""
    table_3 = PDF_2021[PDF_2021.index(" 一、本年新收") : PDF_2021.index("四、政府信息公开行政复议")]
    blanked = "\n".join(
        line[: line.rstrip().rfind(" ")].rstrip() if line.rstrip()[-1:].isdigit() else line
        for line in table_3.splitlines()
    )
    readout = read_tables(NARRATIVE + PDF_2021.replace(table_3, blanked + "\n"))
    got = values(readout)
    for row, cells in REQUESTS.items():
        assert [got[f"requests.{row}.{c}"] for c in COLS] == [*cells[:6], 0], row


def test_2019_format_from_headers() -> None:
    text = TAB_2021.replace(
        "本年制发件数\t本年废止件数\t现行有效件数", "本年新制作数量\t本年新公开数量\t对外公开总数量"
    ).replace("行政规范性文件", "规范性文件")
    readout = read_tables(NARRATIVE + text)
    assert readout.format == "2019"
    got = values(readout)
    assert got["proactive.regulations.published"] == 0
    assert got["proactive.normative_documents.total_published"] == 48
    assert "proactive.regulations.repealed" not in got


def test_text_without_tables() -> None:
    readout = read_tables(
        "一、总体情况\n本年度未收到政府信息公开申请，未发生行政复议、行政诉讼。\n"
    )
    assert readout.format is None and readout.cells == []


def test_rows_whose_labels_are_lost_are_read_by_position() -> None:
    """A 2-character label misread beyond matching, and a row label mangled by OCR."""
    damaged = TAB_2021.replace("规章\t1", "规竟\t1").replace("（一）予以公开", "（一）子以工开")
    readout = read_tables(NARRATIVE + damaged)
    assert diff(values(readout), expected()) == []
    assert any("requests.granted: label not found" in p for p in readout.problems)
    granted = next(c for c in readout.cells if c.path == "requests.granted.natural_person")
    assert granted.evidence.quote == "5"
