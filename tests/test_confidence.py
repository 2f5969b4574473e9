"""Signals, reconciliation, the default prior, scoring rows and the review policy, on small
hand-made cases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from structurer.confidence.calibrate import CalibrationArtifact
from structurer.confidence.default import default_confidence
from structurer.confidence.policy import (
    REVIEW_ALL,
    PolicyDecision,
    PolicyError,
    clopper_pearson_lower,
    decide,
    select_for_review,
    threshold_for_accuracy,
    threshold_for_budget,
)
from structurer.confidence.route import route_rows, score_rows
from structurer.confidence.signals import FEATURES, features
from structurer.core.logprob import value_logprob
from structurer.core.reconcile import Candidate, reconcile, reconcile_record, same_value
from structurer.core.types import AlignmentStatus, Evidence, FieldRow, FieldStatus
from structurer.settings import Settings

# ---------------------------------------------------------------- token logprobs


@dataclass
class Tok:
    token: str
    logprob: float


def _tokens(pieces: list[tuple[str, float]]) -> list[Tok]:
    return [Tok(t, lp) for t, lp in pieces]


REPLY = _tokens(
    [
        ('{"', 0.0),
        ("total", 0.0),
        ('_items": {"', 0.0),
        ("value", 0.0),
        ('": ', 0.0),
        ("4", -0.5),
        ("8", -1.5),
        (', "', 0.0),
        ("quote", 0.0),
        ('": "', 0.0),
        ("主动", -3.0),
        ("公开", -3.0),
        ('"}, "', 0.0),
        ("staff", 0.0),
        ('": {"value": ', 0.0),
        ("2", -0.2),
        ("}}", 0.0),
    ]
)


def test_logprob_scores_only_the_value_tokens() -> None:
    got = value_logprob(REPLY, "total_items")
    assert got is not None
    assert got.mean == pytest.approx(-1.0) and got.min == pytest.approx(-1.5) and got.n_tokens == 2


def test_logprob_value_closed_by_brace() -> None:
    got = value_logprob(REPLY, "staff")
    assert got is not None and got.mean == pytest.approx(-0.2)


def test_logprob_robust_to_tokens_that_do_not_spell_the_text() -> None:
    # byte-fallback pieces of a Chinese string: they never concatenate to "乡政府"
    reply = _tokens(
        [
            ('{"issuing_body": {"value": "', 0.0),
            ("\ufffd", -0.1),
            ("\ufffd\ufffd", -0.3),
            ("政府", -0.2),
            ('", "quote": null}}', 0.0),
        ]
    )
    got = value_logprob(reply, "issuing_body")
    assert got is not None and got.n_tokens == 3 and got.min == pytest.approx(-0.3)


def test_logprob_list_field_and_missing_key() -> None:
    reply = _tokens(
        [('{"problems": [', 0.0), ('"', 0.0), ("意识", -0.4), ("不强", -0.6), ('"]}', 0.0)]
    )
    got = value_logprob(reply, "problems")
    assert got is not None and got.mean == pytest.approx(-0.5)
    assert value_logprob(reply, "improvements") is None
    assert value_logprob([], "problems") is None


# ---------------------------------------------------------------- reconciliation


def test_readers_agree() -> None:
    chosen = reconcile([Candidate(5, "llm", signals={"retries": 0}), Candidate(5, "table")])
    assert chosen is not None
    assert (
        chosen.reader == "table+llm"
        and chosen.signals["readers_agree"] == 1.0
        and chosen.signals["n_readers"] == 2
    )


def test_single_reader_has_no_agreement_signal() -> None:
    chosen = reconcile([Candidate(5, "llm")])
    assert chosen is not None and "readers_agree" not in chosen.signals


def test_null_reading_abstains() -> None:
    chosen = reconcile([Candidate(None, "table"), Candidate(4, "llm")])
    assert chosen is not None and chosen.value == 4 and "readers_agree" not in chosen.signals


def test_disagreement_without_identities_prefers_table_and_lowers_agreement() -> None:
    chosen = reconcile([Candidate(7, "llm"), Candidate(5, "table")])
    assert chosen is not None
    assert (
        chosen.value == 5
        and chosen.signals["readers_agree"] == 0.0
        and chosen.signals["other_value"] == 7
    )


def _sum_check(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A toy identity: t.total = t.a + t.b."""
    t = record.get("t", {})
    if None in (t.get("a"), t.get("b"), t.get("total")):
        return []
    if t["a"] + t["b"] == t["total"]:
        return []
    return [{"name": "t.sum", "paths": ["t.total", "t.a", "t.b"]}]


def test_disagreement_decided_by_identities() -> None:
    candidates = {
        "t.a": [Candidate(2, "table")],
        "t.b": [Candidate(3, "table"), Candidate(4, "llm")],  # table misread? identities say no
        "t.total": [Candidate(6, "table"), Candidate(6, "llm")],
    }
    chosen = reconcile_record(candidates, _sum_check)
    assert chosen["t.b"].value == 4 and chosen["t.b"].reader == "llm"
    assert chosen["t.b"].signals["identity_decided"] == 1.0
    assert chosen["t.b"].signals["readers_agree"] == 0.0
    assert chosen["t.total"].signals["readers_agree"] == 1.0


def test_disagreement_identities_undecided_keeps_trusted_reader() -> None:
    candidates = {"t.a": [Candidate(9, "table"), Candidate(8, "llm")]}
    chosen = reconcile_record(candidates, _sum_check)
    assert chosen["t.a"].value == 9 and "identity_decided" not in chosen["t.a"].signals


def test_same_value() -> None:
    assert same_value(25.1, 25.100000000001)
    assert same_value("乌林乡 人民政府", "乌林乡人民政府")
    assert not same_value(1, True) or isinstance(True, int)  # bools are never compared as numbers
    assert not same_value(3, 4)


# ---------------------------------------------------------------- features and the prior


def test_features_have_fixed_names() -> None:
    f = features("llm", "exact", {"value_in_span": 1.0, "retries": 5, "kind": "int"}, 3)
    assert set(f) == set(FEATURES)
    assert f["aligned_exact"] == 1.0 and f["value_in_span"] == 1.0 and f["value_not_in_span"] == 0.0
    assert f["retries"] == 3.0  # capped
    assert f["logprob_missing"] == 1.0


def test_features_table_cell() -> None:
    f = features("table", None, {"blank_cell": 1.0, "kind": "int"}, 0)
    assert f["aligned_exact"] == 1.0 and f["table_reader"] == 1.0 and f["blank_cell"] == 1.0
    assert f["value_zero"] == 1.0 and f["logprob_missing"] == 0.0


def test_features_logprob_and_samples() -> None:
    f = features(
        "llm",
        "fuzzy",
        {"value_logprob": -30.0, "value_logprob_min": -40.0, "sample_agreement": 0.5},
    )
    assert (
        f["value_logprob"] == -8.0
        and f["value_logprob_min"] == -8.0
        and f["sample_disagreement"] == 0.5
    )


def test_default_prior_orders_fields_sensibly() -> None:
    good = default_confidence("llm", "exact", {"value_in_span": 1.0})
    wrong_value = default_confidence("llm", "exact", {"value_in_span": 0.0})
    no_evidence = default_confidence("llm", "not_found", {})
    assert good > no_evidence > wrong_value
    agree = default_confidence("table+llm", None, {"readers_agree": 1.0})
    disagree = default_confidence("table", None, {"readers_agree": 0.0})
    broken = default_confidence("table+llm", None, {"readers_agree": 1.0, "identity_break": 1.0})
    assert agree > broken and agree > disagree
    assert default_confidence(
        "llm", "exact", {"value_in_span": 1.0, "value_logprob": -0.01}
    ) > default_confidence("llm", "exact", {"value_in_span": 1.0, "value_logprob": -4.0})


# ---------------------------------------------------------------- scoring and routing rows


def _rows() -> list[FieldRow]:
    ev = Evidence(0, 4, "四十八条", AlignmentStatus.exact)
    return [
        FieldRow(
            "proactive.total_items", 48, "llm", ev, signals={"value_in_span": 1.0, "kind": "int"}
        ),
        FieldRow("requests.total.total", 3, "table", None, signals={"kind": "int"}),
        FieldRow(
            "contact.phone",
            "123",
            "llm",
            None,
            signals={"kind": "str"},
            status=FieldStatus.corrected,
        ),
    ]


def test_score_rows_marks_identity_breaks_and_uses_prior() -> None:
    rows = _rows()
    version = score_rows(rows, [{"name": "x", "paths": ["requests.total.total"]}])
    assert version is None
    assert rows[1].signals["identity_break"] == 1.0
    assert all(r.confidence is not None and 0 < r.confidence < 1 for r in rows)


def test_score_rows_uses_a_fitted_artifact() -> None:
    art = CalibrationArtifact(
        features=list(FEATURES), coefficients=[0.0] * len(FEATURES), intercept=0.0, version="abc"
    )
    rows = _rows()
    assert score_rows(rows, [], artifact=art) == "abc"
    assert {r.confidence for r in rows} == {0.5}


def test_score_rows_reads_current_calibration_from_settings(tmp_path: Path) -> None:
    from structurer.confidence.calibrate import save

    settings = Settings(data_dir=tmp_path)
    art = CalibrationArtifact(
        features=list(FEATURES), coefficients=[0.0] * len(FEATURES), intercept=2.0
    )
    art.version = art.content_hash()
    save(art, settings)
    rows = _rows()
    assert score_rows(rows, [], settings) == art.version
    assert rows[0].confidence == pytest.approx(0.8808, abs=1e-4)


def test_route_rows_threshold_and_policy() -> None:
    rows = _rows()
    for r, c in zip(rows, (0.95, 0.5, 0.1), strict=True):
        r.confidence = c
    route_rows(rows, 0.8)
    assert [r.status for r in rows] == [
        FieldStatus.auto,
        FieldStatus.needs_review,
        FieldStatus.corrected,
    ]
    route_rows(rows, PolicyDecision("budget", 0.1, 0.4))
    assert rows[1].status == FieldStatus.auto


# ---------------------------------------------------------------- policy


def test_clopper_pearson_lower() -> None:
    assert clopper_pearson_lower(10, 10) == pytest.approx(0.05 ** (1 / 10))
    assert clopper_pearson_lower(0, 10) == 0.0
    assert clopper_pearson_lower(5, 0) == 0.0
    assert 0.3 < clopper_pearson_lower(8, 10) < 0.8


def test_threshold_for_budget() -> None:
    conf = [0.1 * i for i in range(1, 11)]
    assert threshold_for_budget(conf, 0.1) == pytest.approx(0.2)  # only 0.1 is below
    assert threshold_for_budget(conf, 0.25) == pytest.approx(0.4)  # ceil(2.5) = 3 below
    assert threshold_for_budget(conf, 1.0) == REVIEW_ALL
    with pytest.raises(PolicyError):
        threshold_for_budget(conf, 0.0)


def test_threshold_for_accuracy_meets_bound() -> None:
    pairs = [(0.9, 1)] * 100 + [(0.5, 1)] * 20 + [(0.5, 0)] * 20
    d = threshold_for_accuracy(pairs, 0.95)
    assert d.met and d.threshold == 0.9 and d.accepted_accuracy == 1.0
    assert d.accuracy_lower_bound is not None and d.accuracy_lower_bound >= 0.95
    assert d.accepted_share == pytest.approx(100 / 140)
    assert "95% lower bound" in d.describe()


def test_threshold_for_accuracy_not_demonstrable_reviews_everything() -> None:
    pairs = [(0.9, 1)] * 10 + [(0.5, 0)] * 3
    d = threshold_for_accuracy(pairs, 0.99)
    assert not d.met and d.threshold == REVIEW_ALL
    text = d.describe()
    assert "NOT demonstrable" in text and "every field goes to review" in text
    assert "auto-accepts" not in text  # nothing is auto-accepted; the best try is only reported
    assert "would auto-accept 77% of 13 gold fields" in text


def test_decide_from_settings(tmp_path: Path) -> None:
    art = CalibrationArtifact(
        features=list(FEATURES), oof=[(0.1 * i, int(i > 3)) for i in range(1, 11)], version="v1"
    )
    base = Settings(data_dir=tmp_path)
    assert decide(base, None).threshold == base.review_threshold
    budget = decide(base.model_copy(update={"review_budget": 0.2}), art)
    assert (
        budget.rule == "budget"
        and budget.threshold == pytest.approx(0.3)
        and budget.calibration_version == "v1"
    )
    target = decide(base.model_copy(update={"target_accuracy": 0.5}), art)
    assert target.rule == "target_accuracy" and target.met
    with pytest.raises(PolicyError):
        decide(base.model_copy(update={"target_accuracy": 0.9}), None)


def test_select_for_review_over_a_batch() -> None:
    conf: list[float | None] = [0.9, 0.2, None, 0.5, 0.2, 0.99, 0.7, 0.8, 0.6, 0.95]
    picked = select_for_review(conf, 0.2)
    assert picked.count(True) == 2 + 1  # two least confident + the one with no confidence
    assert picked[1] and picked[2] and not picked[5]
    assert select_for_review([], 0.1) == []


def test_artifact_json_roundtrip() -> None:
    art = CalibrationArtifact(
        features=list(FEATURES), coefficients=[0.1] * len(FEATURES), intercept=-0.2
    )
    again = CalibrationArtifact.model_validate(json.loads(art.model_dump_json()))
    assert again.content_hash() == art.content_hash()


def test_ambiguous_span_lowers_the_prior() -> None:
    one = default_confidence("llm", "exact", {"value_in_span": 1.0, "span_numbers": 1})
    two = default_confidence("llm", "exact", {"value_in_span": 1.0, "span_numbers": 3})
    assert features("llm", "exact", {"span_numbers": 3})["span_ambiguous"] == 1.0
    assert one > two


def test_quote_not_naming_the_field_lowers_the_prior() -> None:
    named = default_confidence("llm", "exact", {"value_in_span": 1.0, "label_in_span": 1.0})
    unnamed = default_confidence("llm", "exact", {"value_in_span": 1.0, "label_in_span": 0.0})
    assert features("llm", "exact", {"label_in_span": 0.0})["label_not_in_span"] == 1.0
    assert named > unnamed
