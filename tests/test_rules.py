"""The deterministic rule readers (gov_disclosure.rules) on invented texts, and their wiring
into the pipeline as a second reader reconciled with the LLM (FAKE model)."""

from __future__ import annotations

import copy
import json

import pytest

from gov_disclosure import REPORT_TYPE
from gov_disclosure.gazetteer import body_kind, body_level
from gov_disclosure.rules import contact_form_problem, read_rules
from structurer.core.pipeline import extract_document
from structurer.core.prompts import PromptSet
from structurer.core.types import LoadedDocument
from structurer.llm.client import LLMClient
from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo, load


def readings(text: str) -> dict[str, object]:
    out = read_rules(text)
    for r in out:  # every reading points at what it read
        assert text[r.evidence.start : r.evidence.end] == r.evidence.quote, r
    return {r.path: r.value for r in out}


INVENTED = """\
重庆市云岭协作发展委员会
2022年政府信息公开工作年度报告

本报告中所列数据的统计期限自2022年1月1日起至2022年12月31日止。本报告通过本委门户网站（https://www.yunling.example/xxgk/ndbg/）向社会公开。如对本报告有疑问，请与本委办公室联系（地址：云岭路一段9号，邮编：990001，联系电话：023-60000000，邮箱：office@yunling.example）。

一、总体情况
……

重庆市云岭协作发展委员会
2023年1月20日

主办：某某网站  地址：别处路1号  电话：023-69999999  ICP备00000000号
"""


def test_reads_meta_and_contact_of_a_report() -> None:
    got = readings(INVENTED)
    assert got == {
        "meta.title": "重庆市云岭协作发展委员会2022年政府信息公开工作年度报告",
        "meta.report_year": 2022,
        "meta.publish_date": "2023-01-20",
        "meta.body_kind": "department",
        "meta.admin_level": "provincial",
        "meta.issuing_body": "重庆市云岭协作发展委员会",
        "contact.address": "云岭路一段9号",
        "contact.postcode": "990001",
        "contact.phone": "023-60000000",
        "contact.email": "office@yunling.example",
        "contact.website": "https://www.yunling.example/xxgk/ndbg/",
    }


def test_the_end_of_the_statistics_period_is_no_publish_date() -> None:
    text = (
        "澜屿市人民政府2021年政府信息公开工作年度报告\n\n"
        "本报告所列数据统计期限自2021年1月1日起至2021年12月31日止。\n"
        "一、总体情况\n各区县政府……\n"
    )
    got = readings(text)
    assert "meta.publish_date" not in got
    assert got["meta.admin_level"] == "municipal"  # an unlisted 市 that speaks of its 区县
    assert got["meta.body_kind"] == "government"


def test_dates_labelled_under_the_title_or_in_chinese_numerals() -> None:
    head = "某某县统计局2021年政府信息公开工作年度报告\n"
    assert readings(head + "发布时间：\n2022-01-27\n正文。")["meta.publish_date"] == "2022-01-27"
    assert readings(head + "（2022年1月9日）\n正文。")["meta.publish_date"] == "2022-01-09"
    signed = head + "正文。\n\n某某县统计局\n    二〇二二年一月三十一日\n"
    assert readings(signed)["meta.publish_date"] == "2022-01-31"


def test_web_page_furniture_is_skipped() -> None:
    text = (
        "当前位置：首页 > 政府信息公开 > 年度报告\n"
        "某某县统计局2021年政府信息公开工作年度报告\n"
        "发布时间：2022-01-20 09:30  来源：某某县统计局\n"
        "本报告数据统计截止日期：2021年12月31日。\n"
    )
    got = readings(text)
    assert got["meta.title"] == "某某县统计局2021年政府信息公开工作年度报告"
    assert got["meta.publish_date"] == "2022-01-20"
    assert "meta.publish_date" not in readings(text.replace("发布时间：2022-01-20 09:30", ""))


def test_a_title_printed_over_lines_is_joined() -> None:
    text = "松溪县柳塘镇2021年度政府信息\n\n公开工作年度报告\n\n总体情况\n我镇……"
    got = readings(text)
    assert got["meta.title"] == "松溪县柳塘镇2021年度政府信息公开工作年度报告"
    assert got["meta.report_year"] == 2021
    assert got["meta.admin_level"] == "township"
    assert got["meta.body_kind"] == "government"


def test_a_report_titled_by_its_parent_government_speaks_as_a_township() -> None:
    text = "松溪县人民政府2021年\n政府信息公开工作年度报告\n根据……，我乡编制了本报告。"
    got = readings(text)
    assert got["meta.admin_level"] == "township"


@pytest.mark.parametrize(
    ("name", "level", "kind"),
    [
        ("北京市海淀区教育委员会", "county", "department"),
        ("上海市人民政府办公厅", "provincial", "department"),
        ("江苏省人民政府", "provincial", "government"),
        ("苏州市人民政府", "municipal", "government"),
        ("延边朝鲜族自治州人民政府", "municipal", "government"),
        ("苏州市吴中区财政局", "county", "department"),
        ("青禾县自然资源局", "county", "department"),  # unlisted (invented) county
        ("澜屿市澄江区人民政府", "county", "government"),  # unlisted city + district
        ("澜屿市人民政府", None, "government"),  # a bare unlisted 市: undecided
        ("鹤屿县桐岭镇人民政府", "township", "government"),
        ("松溪县城南街道办事处", "township", "government"),
        ("重庆市城乡建设委员会", "provincial", "department"),  # 城乡 is no township
        ("重庆市云岭区域协作委员会", "provincial", "department"),  # 云岭区域 is no district
        ("梧川县市场监督管理局", "county", "department"),
    ],
)
def test_body_level_and_kind(name: str, level: str | None, kind: str) -> None:
    assert body_level(name) == level
    assert body_kind(name) == kind


def test_footer_contacts_and_unlabelled_numbers_are_not_read() -> None:
    text = (
        "某某乡2019年政府信息公开工作年度报告\n正文。联系人手机13800000000。\n"
        "地址：某某路1号 联系方式：0000-1111111 标识码：0000000000\n"
        "主办：某某县人民政府 版权所有 ICP备00000000号\n"
    )
    got = readings(text)
    assert not any(p.startswith("contact.") for p in got), got


# --- wired into the pipeline ----------------------------------------------------------------


def _extract(settings: Settings, record: dict[str, object], name: str):  # type: ignore[no-untyped-def]
    fake = FakeChatModel(gold_echo(record), logprob=-0.01)
    llm = LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)
    text = (SAMPLES / name).read_text(encoding="utf-8")
    doc = LoadedDocument(name, str(SAMPLES / name), "0" * 64, text, "txt", "utf-8")
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", settings.prompt_version)
    return extract_document(doc, REPORT_TYPE, llm, prompts, settings)


SAMPLE_GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"


def test_rule_and_llm_readings_are_reconciled(settings: Settings) -> None:
    gold = load(SAMPLE_GOLD)["record"]
    told = copy.deepcopy(gold)
    told["meta"]["title"] = "鹤屿县2023年政府信息公开工作年度报告"  # the model cuts the title
    told["meta"]["publish_date"] = "2023-12-31"  # and gives the end of the period
    # reconciliation alone (grounding would reject the cut title before it: tests/test_grounding.py)
    outcome = _extract(
        settings.model_copy(update={"grounding": "off"}), told, "sample_2021_short.txt"
    )
    assert outcome.status == "ok", outcome.error
    rows = {r.path: r for r in outcome.fields}
    # disagreement: the rule's reading stands, the model's is kept for the reviewer
    for path in ("meta.title", "meta.publish_date"):
        assert rows[path].value == gold["meta"][path.split(".")[1]]
        assert rows[path].reader == "rule"
        assert rows[path].signals["readers_agree"] == 0.0
        assert rows[path].signals["other_value"] == told["meta"][path.split(".")[1]]
    # agreement is noted and both readers named
    year = rows["meta.report_year"]
    assert year.reader == "rule+llm" and year.signals["readers_agree"] == 1.0
    assert year.evidence is not None and year.evidence.quote == "2023"


def test_rule_reader_can_be_turned_off(settings: Settings) -> None:
    gold = load(SAMPLE_GOLD)["record"]
    outcome = _extract(
        settings.model_copy(update={"rule_reader": False}), gold, "sample_2021_short.txt"
    )
    assert not any("rule" in (r.reader or "") for r in outcome.fields)
    assert json.dumps(outcome.record, ensure_ascii=False)  # still a whole record


def test_the_issuing_body_is_the_one_that_compiled_the_report() -> None:
    # the title names the parent government; the preamble says who compiled the report
    text = (
        "松岩县人民政府2022年\n政府信息公开工作年度报告\n\n"
        "根据《条例》的规定，我镇编制了松岩县青石镇人民政府2022年政府信息公开工作年度报告。\n"
    )
    assert readings(text)["meta.issuing_body"] == "松岩县青石镇人民政府"
    assert readings(text.split("\n\n")[0] + "\n")["meta.issuing_body"] == "松岩县人民政府"


@pytest.mark.parametrize(
    ("path", "value", "ok"),
    [
        ("contact.postcode", "990001", True),
        ("contact.postcode", "023-60000000", False),  # a phone number given as the postcode
        ("contact.email", "office@yunling.example", True),
        ("contact.email", "13900000000", False),
        ("contact.phone", "023-60000000", True),
        ("contact.phone", "（023）60000000、60000001", True),
        ("contact.phone", "请与本委办公室联系", False),
        ("contact.website", "https://www.yunling.example/xxgk/", True),
        ("contact.website", "www.yunling.example", True),
        ("contact.website", "本报告通过https://www.yunling.example/向社会公开", False),
        ("contact.address", "云岭路一段9号", True),
        ("contact.address", "松岩县青石镇人民政府", True),
        ("contact.address", "青石镇", False),  # a place name is no address
    ],
)
def test_a_contact_value_must_have_its_form(path: str, value: str, ok: bool) -> None:
    problem = contact_form_problem(path, value)
    assert (problem is None) is ok
    if not ok:
        assert problem is not None and problem.startswith(value) and "或填 null" in problem
    # and the report type rejects it through its value check (re-asked, then nulled)
    assert (REPORT_TYPE.check_value is not None) and (
        (REPORT_TYPE.check_value(path, value, "") is None) is ok
    )


def test_a_persons_number_from_a_staff_table_is_no_contact_phone() -> None:
    from gov_disclosure.rules import personal_phone_problem

    text = (
        "政务公开工作人员登记表\n姓名 | 职务 | 联系方式 | 备注 |\n"
        "张三 | 镇长 | 13900000001 | |\n李四 | 秘书 | 13900000002 |\n"
        "联系电话：0999-1234567\n"
    )
    problem = personal_phone_problem("13900000001", text)
    assert problem is not None and problem.startswith("13900000001 是人员登记表中个人的电话")
    assert personal_phone_problem("0999-1234567", text) is None
    assert REPORT_TYPE.check_value is not None
    assert REPORT_TYPE.check_value("contact.phone", "13900000002", text) is not None
    assert REPORT_TYPE.check_value("contact.phone", "0999-1234567", text) is None


def test_a_sentence_stating_zero_for_request_items_is_read_for_each() -> None:
    from gov_disclosure.request_items import read_request_items

    text = (
        "2031年，本镇没有收到网上、信件和当面提出的政府信息公开申请。\n"
        "应该公开的未能做到全部公开。\n"  # not about requests
        "本年收到申请5件，没有传真申请。\n"  # prints another count: not read
        "在0件申请中，按时办结0件，延期办结0件。\n"
        "（二）未收到行政诉讼案件和举报投诉案件。\n"  # its number is no count
    )
    read = {c.path: c for c in read_request_items(text)}
    assert set(read) == {
        "legacy.requests_online",
        "legacy.requests_by_letter",
        "legacy.requests_in_person",
        "legacy.requests_on_time",
        "legacy.requests_extended",
        "legacy.complaints",
    }
    assert all(c.value == 0 for c in read.values())
    online = read["legacy.requests_online"].evidence
    assert (
        text[online.start : online.end]
        == "2031年，本镇没有收到网上、信件和当面提出的政府信息公开申请"
    )


def test_a_channel_printed_with_its_count_is_read_by_rule() -> None:
    """Reports with the standard tables say how requests came in only in words; the model
    shifts such counts between channels, the rule reads each after its own words."""
    from gov_disclosure.request_items import read_request_items

    text = (
        "全年新收政府信息公开申请31件，其中网上申请20件、信函申请7件、当面申请4件。"
        "已按时办结29件，延期办结2件。\n"
        "另有通过传真提交的申请1件，补充材料的传真申请2件。\n"  # two fax counts: not read
    )
    read = {c.path: c.value for c in read_request_items(text)}
    assert read == {
        "legacy.requests_online": 20,
        "legacy.requests_by_letter": 7,
        "legacy.requests_in_person": 4,
        "legacy.requests_on_time": 29,
        "legacy.requests_extended": 2,
    }
