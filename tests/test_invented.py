"""The invented-values check and its metrics (issue 10, item 5) on hand-made cases."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from gov_disclosure import REPORT_TYPE
from gov_disclosure.record import Report
from structurer.core.evidence.invented import is_invented
from structurer.eval.gold import GoldRecord, load_gold_dir
from structurer.eval.metrics import compute_metrics
from structurer.eval.report_html import render_report
from structurer.eval.scoring import field_kinds, score_record
from structurer.eval.writer import evaluate
from tests.conftest import CORPUS, GOLD, REPO, SAMPLES, needs_shared

TEXT = (
    "某某县某某局2023年政府信息公开工作年度报告\n"
    "全年主动公开政府信息一百零五条，其中网站发布98条。\n"
    "收费金额：12500元。统计期限自2023年1月1日起至2023年12月31日止。\n"
    "地址：某某路 3 号\n二〇二四年一月九日\n"
)


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (105, "int", False),  # Chinese numerals
        (98, "int", False),
        (48, "int", True),  # not printed anywhere
        (0, "int", None),  # zeros are often stated in words: not checked
        (1.25, "float", False),  # 12500元 = 1.25万元
        (3.5, "float", True),
        ("2024-01-09", "date", False),  # printed in Chinese numerals
        ("2023-12-31", "date", False),  # printed (as the end of the period)
        ("2024-02-01", "date", True),
        ("某某路3号", "str", False),  # up to whitespace
        ("某某县某某局", "str", False),
        ("某某县人民政府", "str", True),
        (["全年主动公开政府信息一百零五条"], "list", False),
        (["全年主动公开政府信息一百零五条", "没有的句子"], "list", True),
        ("county", "enum", None),  # a judgement, not a printed value
        (None, "int", None),
    ],
)
def test_is_invented(value: object, kind: str, expected: bool | None) -> None:
    scales = REPORT_TYPE.float_scales  # 元 printed, 万元 stored
    assert is_invented(value, kind, TEXT, scales) is expected  # type: ignore[arg-type]


def _gold(name: str) -> GoldRecord:
    return next(
        g for g in load_gold_dir(REPO / "eval" / "gov_disclosure" / "gold") if g.doc == name
    )


def test_metrics_overall_and_among_auto_accepted() -> None:
    gold = _gold("sample_2021.json".replace(".json", ".txt"))
    text = (SAMPLES / gold.doc).read_text(encoding="utf-8")
    record = copy.deepcopy(gold.record)
    record["proactive"]["total_items"] = 48  # not in the text
    record["legacy"]["staff"] = 4  # printed ("4名"): not invented, though it may be wrong
    record["contact"]["website"] = "the sentence around the address"
    fields = {
        "proactive.total_items": {"status": "auto", "confidence": 0.9},
        "contact.website": {"status": "needs_review", "confidence": 0.2},
        "legacy.staff": {"status": "auto", "confidence": 0.9},
    }
    scores = score_record({"record": record, "fields": fields}, gold, field_kinds(Report), text)
    invented = {s.path for s in scores if s.invented}
    assert invented == {"proactive.total_items", "contact.website"}
    checked = [s for s in scores if s.invented is not None]
    metrics = compute_metrics(
        scores, names=["invented_values", "invented_values_auto", "invented_values_n"]
    )
    assert metrics["invented_values_n"] == 2
    assert metrics["invented_values"] == pytest.approx(2 / len(checked))
    assert metrics["invented_values_auto"] == pytest.approx(1 / 2)  # of the two auto fields
    # no texts given: not measured, rather than zero
    blind = score_record({"record": record}, gold, field_kinds(Report))
    assert compute_metrics(blind, names=["invented_values", "invented_values_n"]) == {
        "invented_values": None,
        "invented_values_n": None,
    }


def test_report_lists_invented_values(tmp_path: Path) -> None:
    gold = _gold("sample_2021_short.txt")
    text = (SAMPLES / gold.doc).read_text(encoding="utf-8")
    record = copy.deepcopy(gold.record)
    record["proactive"]["total_items"] = 4848
    results, scores = evaluate(
        {gold.doc: {"record": record}}, [gold], Report, run_name="t", texts={gold.doc: text}
    )
    assert results.metrics["invented_values_n"] == 1
    html = render_report(results, scores)
    assert "Invented values" in html and "4848" in html and "proactive.total_items" in html


def _gold_as_prediction_invents_nothing(gold_dir: Path, text_dir: Path) -> None:
    golds = load_gold_dir(gold_dir)
    assert golds
    for gold in golds:
        text = (text_dir / gold.doc).read_text(encoding="utf-8")
        scores = score_record({"record": gold.record}, gold, field_kinds(Report), text)
        assert [s.path for s in scores if s.invented] == [], gold.doc
        assert any(s.invented is False for s in scores), gold.doc


def test_gold_of_the_samples_invents_nothing() -> None:
    _gold_as_prediction_invents_nothing(REPO / "eval" / "gov_disclosure" / "gold", SAMPLES)


@needs_shared()
def test_gold_of_the_dev_set_invents_nothing() -> None:
    _gold_as_prediction_invents_nothing(GOLD, CORPUS)
