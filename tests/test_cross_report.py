"""Cross-report checks (issue 11, item 5): two reports of one body, one year apart, written
by the team (every number and name invented); the body prints its name with its city one
year and without it the next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlmodel import select
from typer.testing import CliRunner

from gov_disclosure.crossyear import body_key, cross_year_breaks
from structurer.api import extract_many
from structurer.cli.main import app
from structurer.llm.mock import MockModel, all_null
from structurer.settings import Settings
from structurer.store.models import FieldValue
from structurer.store.session import session_scope
from tests.test_tables import TAB_2021

BODIES = {2022: "某某市某某区人民政府", 2023: "某某区人民政府"}
# 2023's 上年结转 says 2 (自然人) where the 2022 report carried 1 forward; the 2023 table
# itself still satisfies every identity (一 + 二 = 三(七) + 四 per column)
TAB_2023 = (
    TAB_2021.replace("规章\t1\t0\t12", "规章\t1\t0\t13")  # 现行有效 follows from 2022
    .replace("行政规范性文件\t5\t2\t48", "行政规范性文件\t5\t2\t51")
    .replace(
        "一、本年新收政府信息公开申请数量\t10\t2\t0\t0\t1\t0\t13",
        "一、本年新收政府信息公开申请数量\t9\t2\t0\t0\t1\t0\t12",
    )
    .replace(
        "二、上年结转政府信息公开申请数量\t1\t0\t0\t0\t0\t0\t1",
        "二、上年结转政府信息公开申请数量\t2\t0\t0\t0\t0\t0\t2",
    )
)


def report(year: int, tables: str) -> str:
    return (
        f"{BODIES[year]}{year}年政府信息公开工作年度报告\n\n一、总体情况\n"
        f"{year}年，本机关主动公开政府信息48条，收到政府信息公开申请若干件。\n\n" + tables
    )


def meta_from_text(messages: list[dict[str, Any]], model: type[BaseModel]) -> Any:
    """FAKE model: nulls, except the body and year of the report in the prompt."""
    out = all_null(messages, model)
    text = " ".join(str(m.get("content", "")) for m in messages)
    year = 2023 if "2023年政府信息公开" in text else 2022
    if "issuing_body" in out:
        out["issuing_body"] = {"value": BODIES[year], "quote": BODIES[year]}
    if "report_year" in out:
        out["report_year"] = {"value": year, "quote": f"{year}年"}
    return out


def test_body_names_with_and_without_their_city_match() -> None:
    assert body_key("某某市某某区人民政府") == body_key("某某区人民政府") == "某某区人民政府"
    assert body_key("某某省某某市某某县 卫生健康局") == "某某县卫生健康局"
    assert body_key("某某市人民政府") == "某某市人民政府"  # nothing left would name a place
    assert body_key(None) is None


def test_breaks_between_two_records() -> None:
    last = {
        "meta": {"format": "2021"},
        "requests": {"carried_forward": {"total": 3}},
        "proactive": {"regulations": {"in_force": 10}},
    }
    now = {
        "meta": {"format": "2021"},
        "requests": {"carried_over": {"total": 2}},
        "proactive": {"regulations": {"in_force": 12, "issued": 1, "repealed": 0}},
    }
    names = {b["name"] for b in cross_year_breaks(last, now)}
    assert names == {"cross_year.carried_over.total", "cross_year.in_force.regulations"}
    now["requests"]["carried_over"]["total"] = 3
    now["proactive"]["regulations"]["in_force"] = 11
    assert cross_year_breaks(last, now) == []


def test_check_finds_a_carried_over_break_and_both_fields_go_to_review(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings.model_copy(update={"table_reader": "table"})
    docs = []
    for year, tables in ((2022, TAB_2021), (2023, TAB_2023)):
        path = tmp_path / f"report_{year}.txt"
        path.write_text(report(year, tables), encoding="utf-8")
        docs.append(str(path))
    batch = extract_many(docs, s, llm=MockModel(default=meta_from_text))
    summary = batch.summary
    assert [r.status for r in summary.results] == ["ok", "ok"], summary.results
    assert sorted(b.name for b in batch.cross_report) == [
        "cross_year.carried_over.natural_person",
        "cross_year.carried_over.total",
    ]  # the batch ran the checks (the CLI's `extract` and the API alike)
    with session_scope(s) as session:
        assert any(fv.signals.get("cross_report") for fv in session.exec(select(FieldValue)))
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(s.data_dir))
    runner = CliRunner()
    checked = runner.invoke(app, ["check"])
    assert checked.exit_code == 1, checked.output
    assert "cross_year.carried_over.natural_person" in checked.output
    assert "cross_year.carried_over.total" in checked.output
    assert "cross_year.carried_over.commercial" not in checked.output
    assert "in_force" not in checked.output
    with session_scope(s) as session:
        marked = {
            fv.path: fv
            for fv in session.exec(select(FieldValue)).all()
            if fv.signals.get("cross_report")
        }
    paths = sorted(marked)
    assert paths.count("requests.carried_over.natural_person") == 1
    assert paths.count("requests.carried_forward.natural_person") == 1
    for fv in marked.values():
        assert fv.confidence is not None and fv.confidence < s.review_threshold
        assert fv.status == "needs_review"
    shown = runner.invoke(app, ["show", "report_2023.txt"])
    assert shown.exit_code == 0, shown.output
    assert "breaking a check with the body's report of another year" in shown.output
    again = runner.invoke(app, ["check", summary.run_id])
    assert again.exit_code == 1 and "2 cross-report break(s)" in again.output


def test_the_review_card_says_why_in_words() -> None:
    from structurer.review.labeling import load_review_config
    from structurer.review.reasons import reason_keys, reason_words

    signals = {"cross_report": "上年结转 2 ≠ last year's 结转下年度 1 (report_2022.txt, 2022)"}
    keys = reason_keys("exact", signals, flagged=True)
    assert keys[0] == "cross_report"
    words = reason_words(keys, load_review_config("gov_disclosure").reasons, signals)
    assert words.startswith("与本机关另一年度的报告不一致：上年结转 2")
