"""Scoring rules of the spec on small hand-made cases, and the metrics' degenerate cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gov_disclosure.record import Report
from structurer.eval.gold import GoldRecord, load_gold_dir
from structurer.eval.metrics import REGISTRY, DocStats, compute_metrics, errors_caught
from structurer.eval.scoring import (
    FieldKind,
    FieldScore,
    field_kinds,
    group_of,
    item_similarity,
    match_lists,
    normalize_text,
    score_field,
    score_record,
)
from tests.conftest import GOLD, needs_shared, shared_files


def sf(kind: FieldKind, gold: Any, pred: Any, alternatives: list[Any] | None = None) -> FieldScore:
    return score_field(
        doc="d.txt", path="meta.x", kind=kind, gold=gold, pred=pred, alternatives=alternatives or []
    )


# ---------------------------------------------------------------- scalars


def test_int_equal_and_null_vs_zero() -> None:
    assert sf("int", 48, 48).correct
    assert sf("int", 48, 48.0).correct
    assert not sf("int", 48, 47).correct
    assert not sf("int", 0, None).correct
    assert not sf("int", None, 0).correct
    both = sf("int", None, None)
    assert both.correct and both.both_null and not both.scored


def test_gold_nonzero() -> None:
    assert sf("int", 3, 3).gold_nonzero
    assert not sf("int", 0, 0).gold_nonzero
    assert not sf("int", None, 0).gold_nonzero
    assert not sf("list", [], []).gold_nonzero
    assert sf("list", ["问题一二三四五六七"], []).gold_nonzero


def test_float_relative_tolerance() -> None:
    assert sf("float", 25.1, 25.1 + 1e-9).correct
    assert sf("float", 25.1, 25.100001).correct  # 4e-8 relative
    assert not sf("float", 25.1, 25.11).correct
    assert sf("float", 0.0, 0).correct
    assert not sf("float", 0.0, 1e-9).correct  # relative tolerance only


def test_enum_and_date() -> None:
    assert sf("enum", "2019", "2019").correct
    assert sf("enum", "2019", 2019).correct
    assert not sf("enum", "township", "county").correct
    assert sf("date", "2018-03-29", "2018-03-29").correct
    assert not sf("date", "2018-03-29", "2018-03-30").correct
    import datetime as dt

    assert sf("date", "2018-03-29", dt.date(2018, 3, 29)).correct


def test_str_normalisation_fullwidth_and_punctuation() -> None:
    # full-width digits/letters, full-width punctuation, curly quotes, spaces
    assert normalize_text("０４３２－６８３８３０１６") == "043268383016"
    assert normalize_text("“以公开为原则”，《条例》（试行）·说明。") == "以公开为原则条例试行说明"
    assert normalize_text(" 乌林 乡\n") == "乌林乡"
    assert sf("str", "0432-68383016", "０４３２ ６８３８３０１６").correct
    assert sf("str", "天德乡人民政府", "（天德乡人民政府）").correct
    assert not sf("str", "天德乡人民政府", "天德乡政府").correct
    assert sf("str", None, "  ").correct  # blank string is null


def test_alternatives_any_kind_including_null() -> None:
    assert sf("str", "天德乡人民政府", "天德乡政府", ["天德乡政府", "天德乡"]).correct
    assert sf("str", "天德乡人民政府", "天德乡政府", ["天德乡政府"]).matched_alternative
    assert sf("int", 3, 5, [5]).correct
    assert sf("int", 0, None, [None]).correct
    scored = sf("int", 0, None, [None])
    assert not scored.both_null  # gold is 0, so it stays in the headline set
    assert not sf("int", 0, None, [1]).correct


# ---------------------------------------------------------------- lists

PROBLEM_A = "个别单位重视程度还不够，主动公开的意识还不强。"
PROBLEM_B = "公开内容还不够全面，时效性仍需进一步提高。"
PROBLEM_C = "公开内容不规范，少数部门公开内容不具体，重点不突出。"


def test_item_similarity_containment_and_ratio() -> None:
    assert item_similarity(PROBLEM_A, "一、" + PROBLEM_A + "这是后话。") == 1.0
    # shorter text under 8 characters: no containment shortcut
    assert item_similarity("意识不强", "主动公开的意识不强") < 1.0
    assert 0.0 <= item_similarity("完全不同的一句话", PROBLEM_B) < 0.6
    assert item_similarity(PROBLEM_B, PROBLEM_B.replace("，", ",")) == 1.0


def test_list_one_to_one_matching() -> None:
    # two predictions both containing A: only one may match it
    m = match_lists([PROBLEM_A, PROBLEM_B], [PROBLEM_A, "（一）" + PROBLEM_A])
    assert m.n_matched == 1
    assert m.precision == 0.5 and m.recall == 0.5
    full = match_lists([PROBLEM_A, PROBLEM_B, PROBLEM_C], [PROBLEM_C, PROBLEM_A, PROBLEM_B])
    assert full.n_matched == 3 and full.f1 == 1.0


def test_list_field_scores() -> None:
    exact = sf("list", [PROBLEM_A, PROBLEM_B], [PROBLEM_B, PROBLEM_A])
    assert exact.correct and exact.f1 == 1.0
    missing = sf("list", [PROBLEM_A, PROBLEM_B], [PROBLEM_A])
    assert not missing.correct
    assert missing.precision == 1.0 and missing.recall == 0.5
    assert missing.f1 == pytest.approx(2 / 3)
    empty = sf("list", [], [])
    assert empty.correct and empty.both_null and empty.f1 is None
    extra = sf("list", [], [PROBLEM_A])
    assert not extra.correct and extra.f1 == 0.0 and extra.precision == 0.0 and extra.recall is None
    alt = sf("list", [PROBLEM_A, PROBLEM_B], [PROBLEM_C], [[PROBLEM_C]])
    assert alt.correct and alt.matched_alternative


# ---------------------------------------------------------------- records


def test_groups_and_kinds() -> None:
    assert group_of("requests.total.natural_person") == "requests.table"
    assert group_of("proactive.fees.change") == "proactive.table"
    assert group_of("proactive.total_items") == "proactive"
    assert group_of("meta.title") == "meta"
    kinds = field_kinds(Report)
    assert kinds["meta.publish_date"] == "date"
    assert kinds["meta.format"] == "enum"
    assert kinds["proactive.fees.amount_10k_yuan"] == "float"
    assert kinds["narrative.problems"] == "list"
    assert kinds["contact.phone"] == "str"
    assert kinds["requests.total.total"] == "int"


@pytest.mark.parametrize("gold_file", shared_files(GOLD, "*.json"), ids=lambda p: p.stem)
def test_gold_against_itself_is_perfect(gold_file: Path) -> None:
    kinds = field_kinds(Report)
    gold = GoldRecord.model_validate_json(gold_file.read_text(encoding="utf-8"))
    scores = score_record(gold.record, gold, kinds)
    assert len(scores) == len(kinds)
    assert all(s.correct for s in scores)
    metrics = compute_metrics(scores, names=["accuracy", "accuracy_nonzero", "abstention_accuracy"])
    assert metrics["accuracy"] == 1.0
    # the export-row form (record + fields) scores the same and carries confidences
    row = {
        "doc": gold.doc,
        "record": gold.record,
        "fields": {"meta.title": {"confidence": 0.9, "status": "auto"}},
    }
    scores_row = score_record(row, gold, kinds)
    assert all(s.correct for s in scores_row)
    title = next(s for s in scores_row if s.path == "meta.title")
    assert title.confidence == 0.9 and title.status == "auto"


@needs_shared()
def test_failed_document_scores_as_nulls() -> None:
    gold = load_gold_dir(GOLD)[0]
    scores = score_record(None, gold, field_kinds(Report))
    assert all(s.pred_null for s in scores)
    assert not any(s.correct for s in scores if not s.gold_null)


# ---------------------------------------------------------------- metrics


def _score(
    correct: bool, confidence: float | None, doc: str = "d", path: str = "meta.x"
) -> FieldScore:
    return FieldScore(
        doc=doc,
        path=path,
        section="meta",
        group="meta",
        kind="int",
        gold=1,
        pred=1 if correct else 2,
        correct=correct,
        both_null=False,
        gold_null=False,
        pred_null=False,
        gold_nonzero=True,
        confidence=confidence,
    )


def test_metrics_degenerate_cases_give_none() -> None:
    empty = compute_metrics([], [])
    assert empty["accuracy"] is None and empty["auroc"] is None and empty["ece"] is None
    assert empty["reliability"] is None and empty["errors_caught_at_10pct"] is None
    assert empty["seconds_per_doc"] is None and empty["list_f1_micro"] is None
    one_class = [_score(True, 0.9, path=f"meta.x{i}") for i in range(5)]
    m = compute_metrics(one_class, [DocStats(doc="d")])
    assert m["accuracy"] == 1.0
    assert m["auroc"] is None  # one class only
    assert m["errors_caught_at_10pct"] is None  # nothing wrong to catch
    assert m["brier"] == pytest.approx(0.01)
    no_conf = [_score(True, None), _score(False, None, path="meta.y")]
    m2 = compute_metrics(no_conf)
    assert (
        m2["accuracy"] == 0.5
        and m2["auroc"] is None
        and m2["ece"] is None
        and m2["risk_coverage"] is None
    )


def test_calibration_metrics_on_known_values() -> None:
    scores = [
        _score(True, 0.95, path="a"),
        _score(True, 0.85, path="b"),
        _score(False, 0.15, path="c"),
        _score(True, 0.75, path="d"),
        _score(False, 0.55, path="e"),
    ]
    m = compute_metrics(scores)
    assert m["auroc"] == 1.0
    bins = m["reliability"]
    assert sum(b["n"] for b in bins) == 5
    # ECE = sum_b n_b/N * |acc_b - conf_b|, 10 bins, each point alone in its bin
    expected = (0.05 + 0.15 + 0.15 + 0.25 + 0.55) / 5
    assert m["ece"] == pytest.approx(expected)
    # least-confident 20% = 1 field (0.15, wrong): catches 1 of 2 errors
    assert errors_caught(scores, 0.20) == 0.5
    assert m["errors_caught_at_5pct"] == 0.5  # ceil(0.05 * 5) = 1 field
    curve = m["risk_coverage"]
    assert curve[0]["coverage"] == 0.2 and curve[0]["risk"] == 0.0
    assert curve[-1]["coverage"] == 1.0 and curve[-1]["risk"] == pytest.approx(0.4)


def test_cost_metrics() -> None:
    docs = [
        DocStats(doc="a", tokens_in=100, tokens_out=10, seconds=2.0, retries=1),
        DocStats(doc="b", tokens_in=300, tokens_out=30, seconds=4.0, validation_failed=True),
        DocStats(doc="c", error="timeout"),
    ]
    m = compute_metrics([], docs)
    assert m["tokens_in_per_doc"] == 200 and m["seconds_per_doc"] == 3.0
    assert m["retries_per_doc"] == pytest.approx(1 / 3)
    assert m["validation_failures"] == 1 and m["doc_failures"] == 1


def test_registry_has_named_metrics() -> None:
    for name in [
        "accuracy",
        "accuracy_nonzero",
        "abstention_accuracy",
        "by_section",
        "by_group",
        "auroc",
        "ece",
    ]:
        assert name in REGISTRY
    with pytest.raises(KeyError):
        compute_metrics([], names=["no_such_metric"])
