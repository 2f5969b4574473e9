"""Evidence: quotes located by us, values checked against their span, numbers found near labels."""

from __future__ import annotations

import pytest

from gov_disclosure import REPORT_TYPE
from structurer.core.evidence.align import align_quote
from structurer.core.evidence.locate import (
    cell_signals,
    label_terms,
    locate_evidence,
    search_near_label,
)
from structurer.core.evidence.value_check import dates_in, numbers_in, to_arabic, value_in_text
from structurer.core.types import BLANK_NOTE, AlignmentStatus, Evidence

TEXT = (
    "蛟河市乌林乡2018年政府信息公开工作年度报告\n"
    "一、概述\n本年度主动公开政府信息48条，召开专题会议三次，制定制度十二条。\n"
    "二、依申请公开\n本年度受理当面申请3件，网络申请7件，信函申请0件。\n"
    "三、收费\n本年度没有收取任何费用。\n"
    "乌林朝鲜族乡人民政府\n二0一八年十二月二十四日\n"
)


# ---------------------------------------------------------------- numerals


def test_chinese_numerals_become_arabic() -> None:
    assert "2018年12月24日" in to_arabic("二0一八年十二月二十四日")
    assert to_arabic("三次") == "3次"
    assert to_arabic("十二条") == "12条"
    assert "2018年" in to_arabic("二〇一八年")


def test_numbers_in_every_notation() -> None:
    assert 48.0 in numbers_in("主动公开政府信息48条")
    assert 48.0 in numbers_in("主动公开政府信息４８条")  # full-width
    assert 3.0 in numbers_in("召开专题会议三次")
    assert 251000.0 in numbers_in("采购总金额251,000元")
    # a decrease printed with a minus sign (table 二's 增/减 column), but no date part
    assert -3.0 in numbers_in("行政许可\t40\t-3\t811") and -2.5 in numbers_in("减少−2.5万元")
    assert -12.0 not in numbers_in("2023-12-31") and -3.0 not in numbers_in("3-3")


def test_dates_in_printed_forms() -> None:
    assert [d.isoformat() for d in dates_in("二0一八年十二月二十四日")] == ["2018-12-24"]
    assert [d.isoformat() for d in dates_in("发布时间：2019年2月20日")] == ["2019-02-20"]
    assert [d.isoformat() for d in dates_in("2019.02.20")] == ["2019-02-20"]


# ---------------------------------------------------------------- value in span


@pytest.mark.parametrize(
    ("value", "text", "kind", "expected"),
    [
        (48, "本年度主动公开政府信息48条", "int", 1.0),
        (5, "本年度主动公开政府信息48条", "int", 0.0),  # a real quote with a wrong value
        (3, "召开专题会议三次", "int", 1.0),
        (12, "制定制度十二条", "int", 1.0),
        (0, "本年度没有收到政府信息公开申请", "int", 1.0),  # zero stated in words
        (25.1, "采购总金额251000元", "float", 0.0),  # another unit only with the type's scales
        (2018, "二0一八年十二月二十四日", "int", 1.0),
        ("2018-12-24", "二0一八年十二月二十四日", "date", 1.0),
        ("2018-12-25", "二0一八年十二月二十四日", "date", 0.0),
        ("乌林朝鲜族乡人民政府", "乌林朝鲜族乡人民政府办公室", "str", 1.0),
        ("乌林朝鲜族乡 人民政府", "乌林朝鲜族乡人民政府", "str", 1.0),  # whitespace
        ("天德乡人民政府", "乌林朝鲜族乡人民政府", "str", 0.0),
        ("township", "乌林朝鲜族乡人民政府", "enum", None),  # a judgement, not printed
        (None, "whatever", "int", None),
        (True, "1", "int", 0.0),
    ],
)
def test_value_in_text(value: object, text: str, kind: str, expected: float | None) -> None:
    assert value_in_text(value, text, kind) == expected


def test_value_in_text_in_the_report_types_units() -> None:
    scales = REPORT_TYPE.float_scales  # gov_disclosure: money printed in 元, stored in 万元
    assert value_in_text(25.1, "采购总金额251000元", "float", scales=scales) == 1.0
    assert value_in_text(25.1, "采购总金额251001元", "float", scales=scales) == 0.0
    assert value_in_text(25, "采购251000件", "int", scales=scales) == 0.0  # counts keep their unit


def test_value_in_text_list_is_the_share_of_items_found() -> None:
    got = value_in_text(
        ["信息公开意识有待加强", "完全编造的问题描述"], "一是信息公开意识有待加强。", "list"
    )
    assert got == 0.5


# ---------------------------------------------------------------- locating


def test_quote_located_by_us_and_value_checked() -> None:
    got = locate_evidence(48, "主动公开政府信息48条", TEXT, [(0, len(TEXT))], kind="int")
    ev = got.evidence
    assert ev is not None and ev.start is not None and ev.end is not None
    assert TEXT[ev.start : ev.end] == "主动公开政府信息48条"
    assert ev.status == AlignmentStatus.exact
    assert got.via == "quote" and got.value_in_span == 1.0
    assert got.signals() == {
        "evidence_via": "quote",
        "value_in_span": 1.0,
        "span_numbers": 1,
    }  # no label given


def test_real_quote_with_wrong_value_is_flagged() -> None:
    got = locate_evidence(
        47,
        "主动公开政府信息48条",
        TEXT,
        [(0, len(TEXT))],
        kind="int",
        label="本年主动公开政府信息总数（条）",
    )
    assert got.value_in_span == 0.0
    assert got.evidence is not None and got.evidence.quote == "主动公开政府信息48条"


def test_fuzzy_quote_whitespace_and_width() -> None:
    got = locate_evidence(3, "受理当面申请 ３件", TEXT, [(0, len(TEXT))], kind="int")
    assert got.evidence is not None and got.evidence.status == AlignmentStatus.fuzzy
    assert got.value_in_span == 1.0


def test_number_without_quote_is_found_near_its_label() -> None:
    windows = [(TEXT.index("二、"), TEXT.index("三、"))]
    got = locate_evidence(7, None, TEXT, windows, kind="int", label="网络申请（件）")
    assert got.via == "label"
    ev = got.evidence
    assert ev is not None and ev.start is not None
    assert TEXT[ev.start : ev.end] == "网络申请7"
    assert got.value_in_span is None  # no quote to check
    assert got.label_score is not None and got.label_score >= 75


def test_number_not_near_its_label_has_no_evidence() -> None:
    windows = [(TEXT.index("二、"), TEXT.index("三、"))]
    assert search_near_label(9, "int", "网络申请（件）", TEXT, windows) is None
    got = locate_evidence(9, "编造的引文", TEXT, windows, kind="int", label="网络申请（件）")
    assert (
        got.via == "none"
        and got.evidence is not None
        and got.evidence.status == AlignmentStatus.not_found
    )


def test_string_value_is_its_own_evidence() -> None:
    got = locate_evidence(
        "乌林朝鲜族乡人民政府", "落款：乌林乡政府", TEXT, [(0, len(TEXT))], kind="str"
    )
    assert got.via == "value" and got.value_in_span == 1.0
    ev = got.evidence
    assert (
        ev is not None
        and ev.start is not None
        and TEXT[ev.start : ev.end] == "乌林朝鲜族乡人民政府"
    )


def test_date_without_quote_found_near_label() -> None:
    got = locate_evidence(
        "2018-12-24", None, TEXT, [(0, len(TEXT))], kind="date", label="发布日期：报告印出的日期"
    )
    # the signature date has no label words before it: not found near a label
    assert got.via in ("none", "label")
    got2 = locate_evidence(
        "2018-12-24", "二0一八年十二月二十四日", TEXT, [(0, len(TEXT))], kind="date"
    )
    assert got2.value_in_span == 1.0 and got2.via == "quote"


def test_list_evidence_share() -> None:
    got = locate_evidence(
        ["主动公开政府信息48条", "没有的句子啊啊啊"], None, TEXT, [(0, len(TEXT))], kind="list"
    )
    assert got.value_in_span == 0.5
    assert got.evidence is not None and got.evidence.status == AlignmentStatus.fuzzy


def test_null_value_has_no_evidence() -> None:
    assert locate_evidence(None, "x", TEXT, [], kind="int").evidence is None


def test_label_terms() -> None:
    assert label_terms("当面申请（件）") == ["当面申请"]
    assert label_terms("举办培训、培训会议次数") == ["举办培训", "培训会议次数"]
    assert "没有收费" in label_terms("依申请公开收费/信息处理费金额（元）；“未收取”“没有收费”为0")


def test_cell_signals() -> None:
    row = Evidence(10, 20, "三（一）予以公开", AlignmentStatus.exact)
    assert cell_signals(0, row, BLANK_NOTE, "int") == {"blank_cell": 1.0}
    assert cell_signals(12, Evidence(0, 2, "12", AlignmentStatus.exact), None, "int") == {
        "value_in_span": 1.0
    }
    converted = Evidence(0, 7, "251000元", AlignmentStatus.exact)
    scales = REPORT_TYPE.float_scales
    assert cell_signals(25.1, converted, "元 converted to 万元", "float", scales) == {
        "value_in_span": 1.0
    }
    assert cell_signals(3, None, None, "int") == {}


def test_align_quote_never_trusts_the_model() -> None:
    ev = align_quote("网络申请7件", TEXT)
    assert ev.start is not None and TEXT[ev.start : ev.end] == "网络申请7件"


def test_span_with_several_numbers_is_marked() -> None:
    quote = "主动公开政府信息总数：2017年，主动公开政府信息48条"
    got = locate_evidence(48, quote, quote, [(0, len(quote))], kind="int")
    assert got.value_in_span == 1.0 and got.span_numbers == 2
    assert got.signals()["span_numbers"] == 2


def test_label_in_span() -> None:
    from structurer.core.evidence.locate import label_in_span

    assert label_in_span("当面申请（件）", "本年度受理当面申请3件") == 1.0
    assert label_in_span("当面申请（件）", "没有接到公民、法人和其他组织提出的申请") == 0.0
    assert label_in_span(None, "x") is None
    got = locate_evidence(
        0,
        "没有接到公民提出的申请",
        "没有接到公民提出的申请",
        [(0, 11)],
        kind="int",
        label="当面申请（件）",
    )
    assert got.value_in_span == 1.0 and got.label_in_span == 0.0
    assert got.signals()["label_in_span"] == 0.0
