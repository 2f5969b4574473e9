"""List items the model only began (the schema caps them) are completed from the text to the
end of their sentence; continuations of an earlier item are dropped (invented text)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from gov_disclosure import REPORT_TYPE
from structurer.core.evidence.complete import (
    MAX_ITEM_CHARS,
    complete_items,
    complete_quote,
    sentence_end,
)
from structurer.core.pipeline import extract_document
from structurer.core.prompts import PromptSet
from structurer.core.response_models import build_response_model, part_fields, values_of
from structurer.core.types import LoadedDocument
from structurer.llm.mock import MockModel, all_null
from structurer.settings import Settings
from tests.conftest import REPO

TEXT = (
    "三、存在的问题\n"
    "一是部分单位对公开范围把握不准，信息报送\n不够及时；二是政策解读形式单一，图解运用较少。\n"
    "四、下一步工作打算\n"
    "（一）细化公开目录。逐项明确公开主体和时限。\n"
    "（二）加强业务培训，每半年组织一次专题培训。\n"
)


COLONS = (
    "三、存在的主要问题\n"
    "受多种因素影响，本单位的公开工作仍存在以下几个问题：\n"
    "1、公开目录分类不清。信息可分为三类：主动公开、依申请公开和不予公开，界限不明。\n"
    "2、更新不够及时。\n"
)


def test_a_colon_ends_an_item_only_at_the_end_of_its_line() -> None:
    items = complete_items(
        ["受多种因素影响，本单位的公开工作仍存在以下几个问题", "1、公开目录分类不清", "2、更新"],
        COLONS,
    )
    # the line introducing the points is none of them; a colon inside a point goes on
    assert items == [
        "公开目录分类不清。",
        "更新不够及时。",
    ]
    # an item begun after its point's heading or its sentence's first words begins there
    assert complete_items(["信息可分为三类"], COLONS) == [
        "公开目录分类不清。信息可分为三类：主动公开、依申请公开和不予公开，界限不明。"
    ]
    assert complete_items(["本单位的公开工作仍存在以下几个问题"], COLONS) == []
    prose = "三是衔接不畅。四是内容不够丰富。我们将在今后的工作中继续加强人员配备，做到专人负责。\n"
    assert complete_items(["加强人员配备"], prose) == [
        "我们将在今后的工作中继续加强人员配备，做到专人负责。"
    ]
    assert complete_items(["加强人员配备"], "  　继续加强人员配备。") == ["继续加强人员配备。"]


def test_an_item_begun_is_completed_to_its_sentence_end_across_a_line_break() -> None:
    items = complete_items(["一是部分单位对公开范围把握不准", "二是政策解读"], TEXT)
    assert items == [
        "部分单位对公开范围把握不准，信息报送不够及时；",
        "政策解读形式单一，图解运用较少。",
    ]


def test_what_the_model_wrote_is_never_shortened_but_its_number_goes() -> None:
    whole = "（一）细化公开目录。逐项明确公开主体和时限。"  # an endpoint that ignored the cap
    assert complete_items([whole], TEXT) == [whole.removeprefix("（一）")]


def test_a_continuation_of_the_previous_item_is_dropped_or_joined() -> None:
    # clipped at 14 characters each; the model went on with the sentence it was cut off in
    first, going_on = "（一）细化公开目录。逐项明确", "（二）加强业务培训，每半年组"
    items = complete_items([first, going_on, "每半年组织一次专题培训"], TEXT)
    assert items == [
        "细化公开目录。逐项明确公开主体和时限。",
        "加强业务培训，每半年组织一次专题培训。",
    ]
    # one point split in two sentences on one line is joined; a marked point is not
    split = complete_items(["（一）细化公开目录。", "逐项明确公开主体"], TEXT)
    assert split == ["细化公开目录。逐项明确公开主体和时限。"]
    marked = complete_items(["一是部分单位对公开范围", "二是政策解读形式单一"], TEXT)
    assert marked == [
        "部分单位对公开范围把握不准，信息报送不够及时；",
        "政策解读形式单一，图解运用较少。",
    ]


def test_an_item_the_text_lacks_is_left_for_grounding() -> None:
    invented = "全面完成了上级交办的各项任务"
    assert complete_items([invented], TEXT) == [invented]


def test_no_sentence_end_stops_at_a_blank_line_or_the_limit() -> None:
    text = "甲" * 30 + "\n\n乙乙乙"
    assert sentence_end(text, 0, 10) == 30
    long_text = "丙" * (MAX_ITEM_CHARS + 50)
    assert sentence_end(long_text, 0, 10) == MAX_ITEM_CHARS


def test_the_cap_is_the_list_items_max_length_in_the_schema() -> None:
    part = next(p for p in REPORT_TYPE.parts if p.name == "narrative")
    schema = build_response_model(REPORT_TYPE, part, None, 20).model_json_schema()
    assert schema["properties"]["problems"]["items"] == {"type": "string", "maxLength": 20}
    plain = build_response_model(REPORT_TYPE, part).model_json_schema()
    assert plain["properties"]["problems"]["items"] == {"type": "string"}


def test_english_sentences_end_at_a_full_stop_and_keep_their_spaces() -> None:
    text = "3. Highlights\nWe won the county\nleague again. A new junior session started.\n"
    assert complete_items(["We won the county"], text) == ["We won the county league again."]


REPORT = (
    "某县示例局2031年政府信息公开工作年度报告\n"
    "一、总体情况\n本年度全面推进政务公开工作，" + "按照条例要求做好各项公开工作，" * 12 + "\n"
    "二、主动公开政府信息情况\n全年主动公开政府信息若干条。\n"
    "五、存在的主要问题及改进情况\n" + TEXT.split("\n", 1)[1]
)


def _narrative(messages: list[dict[str, Any]], model: type[BaseModel]) -> dict[str, Any]:
    """MOCK model: the narrative answered with items' first words (one going on with the
    sentence it was cut off in), every other field null."""
    out: dict[str, Any] = all_null(messages, model)
    if "problems" in model.model_fields:
        out["problems"] = ["一是部分单位对公开范围把握不准", "信息报送不够及时"]
        out["improvements"] = ["（二）加强业务培训"]
    return out


@pytest.mark.parametrize(("version", "capped"), [("v5", True), ("v4", False)])
def test_the_pipeline_caps_items_only_under_a_prompt_that_asks_for_starts(
    settings: Settings, version: str, capped: bool
) -> None:
    doc = LoadedDocument("r.txt", "r.txt", "0" * 64, REPORT, "txt", "utf-8")
    model = MockModel(default=_narrative)
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", version)
    capped_settings = settings.model_copy(update={"item_max_chars": 20})  # off by default
    outcome = extract_document(doc, REPORT_TYPE, model, prompts, capped_settings)
    asked = next((m, rm) for m, rm in model.calls if "problems" in rm.model_fields)
    items = asked[1].model_json_schema()["properties"]["problems"]["items"]
    assert items.get("maxLength") == (20 if capped else None)
    assert ("程序会按原文补全整句" in asked[0][-1]["content"]) is capped
    assert outcome.record is not None, outcome.error
    narrative = outcome.record["narrative"]
    # items are completed either way: a prompt may not ask for starts, a small model may
    # still stop inside a point or begin after its first words
    assert narrative["problems"] == ["部分单位对公开范围把握不准，信息报送不够及时；"]
    assert narrative["improvements"] == ["加强业务培训，每半年组织一次专题培训。"]


def test_a_clipped_quote_is_completed_to_its_clause_end() -> None:
    text = "本年度共收到政府信息公开申请，其中通过网络提交的申请\n7件，当面提交2件。"
    clipped = "其中通过网络提交的申请"  # 11 characters: the cap clipped it before the number
    assert complete_quote(clipped, 11, text) == "其中通过网络提交的申请7件"
    assert complete_quote("当面提交2件", 11, text) == "当面提交2件"  # shorter: as given
    assert (
        complete_quote("其中通过电话提交的申请", 11, text) == "其中通过电话提交的申请"
    )  # not in text
    assert complete_quote(None, 11, text) is None


@pytest.mark.parametrize("off", ["off", "none", "", "0", 0])
def test_the_caps_can_be_turned_off_from_the_environment(
    off: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRUCTURER_QUOTE_MAX_CHARS", str(off))
    monkeypatch.setenv("STRUCTURER_ITEM_MAX_CHARS", str(off))
    s = Settings()
    assert s.quote_max_chars is None and s.item_max_chars is None
    assert "quote_max_chars" not in s.extraction_settings()
    assert Settings(quote_max_chars=off).quote_max_chars is None  # type: ignore[arg-type]


def test_a_null_written_as_a_string_is_null() -> None:
    part = next(p for p in REPORT_TYPE.parts if p.name == "contact")
    fields = part_fields(REPORT_TYPE.record_model, part)
    model = build_response_model(REPORT_TYPE, part)
    reply = {f.key: {"quote": None, "value": None} for f in fields}
    reply["website"] = {"quote": "null", "value": "null"}
    reply["phone"] = {"quote": " None ", "value": "None"}
    reply["address"] = {"quote": "示例路1号 ", "value": " 示例路1号"}
    values = values_of(model.model_validate(reply), fields)
    assert values["contact.website"] == (None, None) and values["contact.phone"] == (None, None)
    assert values["contact.address"] == ("示例路1号", "示例路1号")


def test_a_list_with_an_invented_item_keeps_its_grounded_items_without_a_reask(
    settings: Settings,
) -> None:
    """An item the text lacks is dropped; the list is not re-asked (the answer about the
    failing item would replace the whole list)."""

    def answer(messages: list[dict[str, Any]], model: type[BaseModel]) -> dict[str, Any]:
        out: dict[str, Any] = all_null(messages, model)
        if "problems" in model.model_fields:
            out["problems"] = ["一是部分单位对公开范围把握不准", "全面完成了上级交办的各项任务"]
        return out

    doc = LoadedDocument("r.txt", "r.txt", "0" * 64, REPORT, "txt", "utf-8")
    model = MockModel(default=answer)
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", "v5")
    outcome = extract_document(doc, REPORT_TYPE, model, prompts, settings)
    assert outcome.record is not None, outcome.error
    assert outcome.record["narrative"]["problems"] == [
        "部分单位对公开范围把握不准，信息报送不够及时；"
    ]
    assert sum("problems" in rm.model_fields for _, rm in model.calls) == 1  # no re-ask
    row = next(r for r in outcome.fields if r.path == "narrative.problems")
    assert row.signals["rejected_value"] == ["全面完成了上级交办的各项任务"]


SPLIT = (
    "某县示例局2031年政府信息公开工作年度报告\n"
    "一、总体情况\n本年度全面推进政务公开工作，" + "按照条例要求做好各项公开工作，" * 30 + "\n"
    "五、存在的主要问题\n（一）认识不到位。部分股室对公开工作重视不够。\n"
    "六、下一步工作打算\n（一）加强培训。每季度组织一次业务培训。\n"
)


def _narrative_of(
    text: str, problems: list[str], improvements: list[str], settings: Settings
) -> Any:
    """The record's narrative when the MOCK model answers these lists, every other field null."""

    def answer(messages: list[dict[str, Any]], model: type[BaseModel]) -> dict[str, Any]:
        out: dict[str, Any] = all_null(messages, model)
        if "problems" in model.model_fields:
            out["problems"], out["improvements"] = problems, improvements
        return out

    doc = LoadedDocument("r.txt", "r.txt", "0" * 64, text, "txt", "utf-8")
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", "v5")
    outcome = extract_document(doc, REPORT_TYPE, MockModel(default=answer), prompts, settings)
    assert outcome.record is not None, outcome.error
    return outcome.record["narrative"]


def test_a_problem_the_text_holds_among_the_plans_is_none(settings: Settings) -> None:
    """The model lists a plan (printed under 下一步工作打算) as a problem: dropped from the
    problems, kept in the plans; the problem keeps its point's heading."""
    plan = "加强培训。每季度组织一次业务培训。"
    narrative = _narrative_of(SPLIT, ["部分股室对公开工作重视不够。", plan], [plan], settings)
    assert narrative["problems"] == ["认识不到位。部分股室对公开工作重视不够。"]
    assert narrative["improvements"] == ["加强培训。每季度组织一次业务培训。"]


def test_an_item_given_as_both_problem_and_plan_is_a_plan(settings: Settings) -> None:
    """Under one heading for both (存在的主要问题及改进情况) the model gives the plans twice."""
    plan = "（二）加强业务培训，每半年组织一次专题培训。"
    problem = "一是部分单位对公开范围把握不准，信息报送不够及时；"
    narrative = _narrative_of(REPORT, [problem, plan], [plan], settings)
    assert narrative["problems"] == ["部分单位对公开范围把握不准，信息报送不够及时；"]
    assert narrative["improvements"] == ["加强业务培训，每半年组织一次专题培训。"]
