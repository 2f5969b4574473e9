"""Grounding (issue 10, item 2): every value the LLM proposes is checked against the text
inside the instructor call (re-asked with the reason in Chinese); what still fails becomes
null alone, its proposal and reason kept for the reviewer. FAKE model over real instructor."""

from __future__ import annotations

from typing import Any

import pytest

from gov_disclosure import REPORT_TYPE
from structurer.confidence.route import route_rows
from structurer.core.evidence.grounding import (
    GroundedField,
    check_part,
    problem,
    zero_quote,
    zero_sentence,
)
from structurer.core.pipeline import extract_document
from structurer.core.prompts import PromptSet
from structurer.core.types import FieldStatus, LoadedDocument
from structurer.llm.client import LLMClient
from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo, load

TEXT = "全年主动公开政府信息一百零五条。本年度未收取信息处理费。收费12500元。发布日期：二〇二四年一月九日"


REJECT, WEAK = True, False


@pytest.mark.parametrize(
    ("value", "quote", "kind", "expected"),
    [
        (105, "全年主动公开政府信息一百零五条", "int", None),  # Chinese numerals
        # invented: the text nowhere says 48, whatever the quote (a made-up one included)
        (48, "全年主动公开政府信息48条", "int", ("not_in_text", REJECT)),
        (48, None, "int", ("not_in_text", REJECT)),
        # in the text, but badly cited: kept with a note
        (105, None, "int", ("no_quote", WEAK)),
        (105, "报告里没有的一句话", "int", ("quote_not_found", WEAK)),
        (105, "本年度未收取信息处理费", "int", ("value_not_in_quote", WEAK)),
        # a zero must be stated for the item its quote cites
        (0, "本年度未收取信息处理费", "int", None),  # zero stated in words
        (0, "全年主动公开政府信息一百零五条", "int", ("value_not_in_quote", REJECT)),  # 零 in 105
        (0, None, "int", ("no_quote", REJECT)),
        (1.25, "收费12500元", "float", None),  # 元 -> 万元
        ("2024-01-09", "二〇二四年一月九日", "date", None),
        ("2023-12-31", "二〇二四年一月九日", "date", ("not_in_text", REJECT)),
        ("某某人民政府", "发布日期", "str", ("not_in_text", REJECT)),
        (["本年度未收取信息处理费", "编造的一句"], None, "list", ("not_in_text", REJECT)),
        (["本年度未收取信息处理费"], None, "list", None),
        ("county", None, "enum", None),  # judgements are not checked
        (None, None, "int", None),
    ],
)
def test_problem(value: Any, quote: str | None, kind: str, expected: Any) -> None:
    assert problem(value, quote, kind, TEXT, (), REPORT_TYPE.float_scales) == expected


# Invented prose: a free-form report's zeros, stated in words the model paraphrases.
PROSE = (
    "三、依申请公开情况\n本年度共收到申请7件，均已按时答复。\n"
    "四、行政复议和诉讼情况\n（一）全年未收到因政府信息公开提出的行政复议。\n"
    "（二）未发生行政诉讼案件。\n五、收费情况\n本单位尚未发生有关收费的事项。\n"
    "六、附表\n行政许可\t0\n"
)
RECONSIDERATION = "表四 行政复议；旧式报告“未发生行政复议”→total=0：“总计”"
LITIGATION = "表四 行政诉讼·未经复议直接起诉；旧式报告称未发生行政诉讼→total=0：“总计”"
FEES = "依申请公开收费/信息处理费金额（元）；“未收取”“没有收费”为0"


def _sentence(label: str) -> str | None:
    found = zero_sentence(PROSE, [(0, len(PROSE))], label)
    return PROSE[found[0] : found[1]] if found else None


def test_a_zero_with_a_paraphrased_quote_is_read_back_from_the_sentence_naming_the_field() -> None:
    assert _sentence(RECONSIDERATION) == "（一）全年未收到因政府信息公开提出的行政复议"
    assert _sentence(LITIGATION) == "（二）未发生行政诉讼案件"  # the best-named sentence
    assert _sentence(FEES) == "本单位尚未发生有关收费的事项"
    window = [(0, len(PROSE))]
    paraphrase = "原文没有这句话，没有行政复议"
    assert problem(0, paraphrase, "int", PROSE, window, label=RECONSIDERATION) is None
    assert zero_quote(paraphrase, PROSE, window, RECONSIDERATION) == _sentence(RECONSIDERATION)
    # a quote that states the zero itself is kept as it is
    assert zero_quote("未发生行政诉讼案件", PROSE, window, LITIGATION) == "未发生行政诉讼案件"


def test_no_sentence_backs_a_zero_it_does_not_state() -> None:
    window = [(0, len(PROSE))]
    # "共收到申请7件" names 收到申请 but states 7, not zero: the zero stays rejected
    received = "表三：收到申请总数（件）"
    assert _sentence(received) is None
    assert problem(0, "没有收到申请", "int", PROSE, window, label=received) == (
        "quote_not_found",
        True,
    )
    # a table row is cells, not a sentence; and no window, no fallback
    assert _sentence("表二：行政许可") is None
    assert zero_sentence(PROSE, [], RECONSIDERATION) is None


def test_reasons_are_in_the_report_language() -> None:
    fields = [GroundedField("proactive.total_items", "total_items", "int", "主动公开总数")]
    values = {"proactive.total_items": (48, None)}
    (rejection,) = check_part(values, fields, TEXT, messages=REPORT_TYPE.grounding_reasons)
    assert rejection.value == 48 and rejection.rejected
    assert rejection.reason == "48 不在原文中；请引用原文中说明主动公开总数的句子，或填 null"


GOLD = load(REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021.json")["record"]
INVENTED = {"value": 48, "quote": "全年主动公开政府信息48条"}


def answering(key: str, first: dict[str, Any], reask: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """Echo gold, but answer `key` with `first`; on a re-ask, with `reask` (None: insist)."""
    echo = gold_echo(GOLD)

    def respond(request: dict[str, Any]) -> dict[str, Any]:
        answer = echo(request)
        if key in answer:
            again = len(request["messages"]) > 2
            answer[key] = reask if again and reask else first
        return answer

    return respond


def responder(reask_answer: dict[str, Any] | None):  # type: ignore[no-untyped-def]
    """Echo gold, but propose an invented total_items; on a re-ask, answer `reask_answer`
    (None: insist on the invented value)."""
    return answering("total_items", INVENTED, reask_answer)


def extract(settings: Settings, fake: FakeChatModel, text: str | None = None):  # type: ignore[no-untyped-def]
    llm = LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)
    path = SAMPLES / "sample_2021.txt"
    text = path.read_text("utf-8") if text is None else text
    doc = LoadedDocument(path.name, str(path), "0" * 64, text, "txt", "utf-8")
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", "v3")
    return extract_document(doc, REPORT_TYPE, llm, prompts, settings)


def _proactive_requests(fake: FakeChatModel) -> list[dict[str, Any]]:
    return [r for r in fake.requests if "total_items" in r["messages"][0]["content"]]


def test_a_reask_with_the_reason_fixes_the_field(settings: Settings) -> None:
    right = {"value": 286, "quote": "全年主动公开政府信息286条"}
    fake = FakeChatModel(responder(right), logprob=-0.01)
    outcome = extract(settings, fake)
    assert outcome.status == "ok", outcome.error
    first, second = _proactive_requests(fake)
    told = second["messages"][-1]["content"]
    # the reason, in Chinese
    reason = "48 不在原文中；请引用原文中说明本年主动公开政府信息总数的句子，或填 null"
    assert f"total_items: {reason}" in told
    rows = {r.path: r for r in outcome.fields}
    assert rows["proactive.total_items"].value == 286
    assert "rejected_reason" not in rows["proactive.total_items"].signals
    # only the failing field is asked again, as the next turn of the same conversation
    assert second["messages"][: len(first["messages"])] == first["messages"]
    assert second["messages"][-2]["role"] == "assistant"
    asked = second["response_format"]["json_schema"]["schema"]["properties"]
    assert set(asked) == {"total_items"}
    assert "只重新回答以上字段" in told
    # the other fields keep the first answer
    assert rows["legacy.published_on_website"].value == 213
    # the re-ask is logged like every call: its own row, marked, counted as one retry
    first_call, reask_call = [c for c in outcome.calls if c.part == "proactive"]
    assert "reask" not in first_call.request and first_call.retries == 0
    assert reask_call.request["reask"] is True and reask_call.retries == 1
    assert reask_call.tokens_in > first_call.tokens_in
    assert rows["proactive.total_items"].signals["retries"] == 1
    assert rows["legacy.published_on_website"].signals["retries"] == 0


def test_a_field_that_stays_ungrounded_alone_becomes_null(settings: Settings) -> None:
    fake = FakeChatModel(responder(None), logprob=-0.01)
    outcome = extract(settings, fake)
    assert outcome.status == "ok", outcome.error
    assert len(_proactive_requests(fake)) == 2  # one re-ask
    rows = {r.path: r for r in outcome.fields}
    total = rows["proactive.total_items"]
    assert total.value is None and outcome.record is not None
    assert outcome.record["proactive"]["total_items"] is None
    assert total.signals["rejected_value"] == 48
    assert total.signals["rejected_reason"].startswith("48 不在原文中；请引用原文中说明")
    # the other fields of the same part keep their values
    assert rows["legacy.published_on_website"].value == 213
    assert rows["legacy.published_on_weibo_wechat"].value == 73
    # and the rejected proposal goes to a person whatever its confidence
    total.confidence = 0.99
    route_rows([total], 0.5)
    assert total.status == FieldStatus.needs_review


def test_check_mode_nulls_without_reasking(settings: Settings) -> None:
    fake = FakeChatModel(responder(None), logprob=-0.01)
    outcome = extract(settings.model_copy(update={"grounding": "check"}), fake)
    assert len(_proactive_requests(fake)) == 1
    rows = {r.path: r for r in outcome.fields}
    assert rows["proactive.total_items"].value is None
    assert rows["proactive.total_items"].signals["rejected_value"] == 48


def test_grounding_off_keeps_the_invention(settings: Settings) -> None:
    fake = FakeChatModel(responder(None), logprob=-0.01)
    outcome = extract(settings.model_copy(update={"grounding": "off"}), fake)
    assert outcome.record is not None and outcome.record["proactive"]["total_items"] == 48


def test_a_value_in_the_text_with_a_bad_quote_is_kept_with_a_note(settings: Settings) -> None:
    respond = answering("total_items", {"value": 286, "quote": "报告里并没有这样的一句话"})
    fake = FakeChatModel(respond, logprob=-0.01)
    outcome = extract(settings, fake)
    assert len(_proactive_requests(fake)) == 1  # no re-ask for a citation problem
    total = {r.path: r for r in outcome.fields}["proactive.total_items"]
    assert total.value == 286 and "rejected_reason" not in total.signals
    assert total.signals["grounding_note"].startswith("286 所引的句子原文中没有")


@pytest.mark.parametrize(("mode", "invented"), [("reask", 0), ("check", 0), ("off", 1)])
def test_grounded_records_invent_nothing(settings: Settings, mode: str, invented: int) -> None:
    from gov_disclosure.record import Report
    from structurer.eval.gold import GoldRecord
    from structurer.eval.metrics import compute_metrics
    from structurer.eval.scoring import field_kinds, score_record

    fake = FakeChatModel(responder(None), logprob=-0.01)  # invents total_items, insists
    outcome = extract(settings.model_copy(update={"grounding": mode}), fake)
    text = (SAMPLES / "sample_2021.txt").read_text(encoding="utf-8")
    gold = GoldRecord(doc="sample_2021.txt", record=GOLD)
    scores = score_record({"record": outcome.record}, gold, field_kinds(Report), text)
    assert compute_metrics(scores, names=["invented_values_n"])["invented_values_n"] == invented


@pytest.mark.parametrize(("mode", "invented", "rejected"), [("reask", 0, 1), ("off", 1, 0)])
def test_the_batch_summary_counts_invented_and_rejected_values(
    settings: Settings, mode: str, invented: int, rejected: int
) -> None:
    from structurer.batch.run import run_extraction

    s = settings.model_copy(update={"grounding": mode})
    fake = FakeChatModel(responder(None), logprob=-0.01)
    llm = LLMClient(s, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)
    (result,) = run_extraction([str(SAMPLES / "sample_2021.txt")], s, llm=llm).results
    assert (result.n_invented, result.n_rejected) == (invented, rejected)


def test_the_end_of_the_statistics_period_is_rejected_as_publish_date(settings: Settings) -> None:
    from gov_disclosure.rules import period_end_as_publish_date

    text = (SAMPLES / "sample_2021.txt").read_text("utf-8").replace("2024年1月25日", "")
    assert period_end_as_publish_date("2023-12-31", text)  # printed, but as the period's end
    assert period_end_as_publish_date("2023-12-30", text) is None
    started = "统计期限自2023年1月1日起至2023年12月31日止。\n" + text
    assert period_end_as_publish_date("2023-01-01", started)  # nor is its start
    signed = (SAMPLES / "sample_2021.txt").read_text("utf-8")
    assert period_end_as_publish_date("2023-12-31", signed) is None  # a date is printed: rules

    echo = gold_echo({**GOLD, "meta": {**GOLD["meta"], "publish_date": "2023-12-31"}})
    fake = FakeChatModel(echo, logprob=-0.01)
    outcome = extract(settings, fake, text)
    row = {r.path: r for r in outcome.fields}["meta.publish_date"]
    assert outcome.record is not None and outcome.record["meta"]["publish_date"] is None
    assert row.signals["rejected_value"] == "2023-12-31"
    assert "统计期限的起止日期" in row.signals["rejected_reason"]
    meta_requests = [r for r in fake.requests if "publish_date" in r["messages"][0]["content"]]
    assert (
        len(meta_requests) == 2
        and "统计期限的起止日期" in meta_requests[1]["messages"][-1]["content"]
    )


RUNNING = "截至2023年底，累计主动公开政府信息3,512条，其中2023年新增286条。\n"


@pytest.mark.parametrize(
    ("value", "text", "flagged"),
    [
        (3512, RUNNING, True),
        (286, RUNNING, False),
        (
            1200,
            "历年累计公开信息一千二百条。其中本年度公开三百条。",
            True,
        ),  # numerals, next sentence
        (
            415,
            "2023年累计主动公开信息415条，其中网上公开300条。",
            False,
        ),  # the year's running total
        (415, "今年以来累计受理申请415件，本年办结400件。", False),
        (3512, "累计公开信息3512条。", False),  # no figure of the year beside it
        (300, "累计培训干部300人次，本年公开信息415条。", False),  # not the same unit
        (3512, RUNNING + "本年主动公开3512条。", False),  # also stated as the year's
        (12, "截至2023年12月31日，累计公开信息3512条，其中本年286条。", False),  # a date's part
    ],
)
def test_a_running_total_is_no_count_of_the_year(value: int, text: str, flagged: bool) -> None:
    from gov_disclosure.periods import running_total_problem

    problem = running_total_problem(value, text)
    assert (problem is not None) is flagged
    if flagged:
        assert problem is not None and problem.startswith(f"{value} 是截至某时的累计数")
        assert "或填 null" in problem
    assert REPORT_TYPE.check_value is not None
    assert (REPORT_TYPE.check_value("proactive.total_items", value, text) is not None) is flagged


def test_a_running_total_given_for_the_year_is_reasked_then_rejected(settings: Settings) -> None:
    text = (
        (SAMPLES / "sample_2021.txt")
        .read_text("utf-8")
        .replace("全年主动公开政府信息286条", RUNNING.strip() + "全年主动公开政府信息286条", 1)
    )
    running = {"value": 3512, "quote": "累计主动公开政府信息3,512条"}
    right = {"value": 286, "quote": "其中2023年新增286条"}
    for reask_answer, expected in ((right, 286), (running, None)):
        fake = FakeChatModel(answering("total_items", running, reask_answer), logprob=-0.01)
        outcome = extract(settings, fake, text)
        first, second = _proactive_requests(fake)
        assert "3512 是截至某时的累计数" in second["messages"][-1]["content"]
        assert "（286）" in second["messages"][-1]["content"]
        row = {r.path: r for r in outcome.fields}["proactive.total_items"]
        assert row.value == expected
        if expected is None:  # still the running total: not accepted, shown to a person
            assert row.signals["rejected_value"] == 3512
            row.confidence = 0.99
            route_rows([row], 0.5)
            assert row.status == FieldStatus.needs_review


NO_REQUESTS = "本年度没有收到公民、法人和其他组织提出的政府信息公开申请。"


@pytest.mark.parametrize(
    ("path", "text", "flagged"),
    [
        ("legacy.requests_in_person", NO_REQUESTS, True),  # says nothing of the channel
        ("requests.granted.total", NO_REQUESTS, True),
        ("requests.new_received.total", NO_REQUESTS, False),  # what the sentence does state
        ("legacy.requests_in_person", "共收到申请0件，其中当面申请0件，网络申请0件。", False),
        ("legacy.requests_online", "本年没有收到网上、信件和当面提出的申请。", False),
        ("legacy.requests_by_fax", "本年没有收到网上、信件和当面提出的申请。", True),
        ("legacy.requests_extended", "按时办结3件，延期办结2件。", True),  # not stated as zero
    ],
)
def test_a_zero_needs_words_that_state_it_for_its_item(path: str, text: str, flagged: bool) -> None:
    from gov_disclosure.request_items import unstated_zero_problem

    problem = unstated_zero_problem(path, 0, text)
    assert (problem is not None) is flagged
    assert REPORT_TYPE.check_value is not None
    assert (REPORT_TYPE.check_value(path, 0, text) is not None) is flagged
    assert unstated_zero_problem(path, 2, text) is None  # only zeros: a count is grounded apart


def test_a_number_nothing_ties_to_its_field_is_rejected(settings: Settings) -> None:
    """95 is printed (people trained), but neither the made-up quote nor the words before the
    number name the website: re-asked, then nulled, the proposal kept for the reviewer."""
    respond = answering("published_on_website", {"value": 95, "quote": "政府网站公开信息95条"})
    fake = FakeChatModel(respond, logprob=-0.01)
    outcome = extract(settings, fake)
    first, second = _proactive_requests(fake)
    assert (
        "published_on_website: 原文中有 95，但所引的句子和它前后的文字都没有说明"
        in (second["messages"][-1]["content"])
    )
    row = {r.path: r for r in outcome.fields}["legacy.published_on_website"]
    assert row.value is None and row.signals["rejected_value"] == 95
    # the same number cited badly but printed right after the field's words is kept (weak)
    assert problem(
        213,
        "全年主动公开政府信息286条",
        "int",
        TEXT_WEBSITE,
        [(0, len(TEXT_WEBSITE))],
        label="政府网站公开政府信息数（条）",
    ) == (
        "value_not_in_quote",
        False,
    )


TEXT_WEBSITE = "全年主动公开政府信息286条，其中通过政府网站公开政府信息213条。"


def test_a_number_after_one_of_its_labels_own_words_is_tied_to_it() -> None:
    """ "微信公众号发布73条" is not the label's wording, but 微信 is the label's own word (not
    the genre's, like 公开 or 信息): the value is kept, its made-up quote noted."""
    text = "全年主动公开政府信息286条，其中通过“某某发布”微信公众号发布73条。"
    label = "通过政务微博、微信公开政府信息数（条）"
    windows = [(0, len(text))]
    assert problem(73, "政务微信公开73条", "int", text, windows, label=label) == (
        "quote_not_found",
        False,
    )
    # a number after another item's words only is not
    assert problem(
        286, "政务微信公开286条", "int", "全年发布文件286件。", [(0, 9)], label=label
    ) == (
        "no_evidence",
        True,
    )


def test_show_lists_the_proposals_grounding_rejected(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from structurer.batch.run import run_extraction
    from structurer.cli.main import app

    fake = FakeChatModel(responder(None), logprob=-0.01)  # insists on an invented total
    llm = LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)
    (result,) = run_extraction([str(SAMPLES / "sample_2021.txt")], settings, llm=llm).results
    assert result.n_rejected == 1
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(settings.data_dir))
    shown = CliRunner().invoke(app, ["show", "sample_2021.txt"])
    assert shown.exit_code == 0, shown.output
    output = " ".join(shown.output.split())  # the console wraps long lines
    assert "1 model proposal(s) not in the report as stated" in output
    assert "proactive.total_items: 48 不在原文中" in output
