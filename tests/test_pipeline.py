"""Extraction end to end on the FAKE model: pipeline, storage, export, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from structurer.batch.export import write_jsonl
from structurer.batch.run import run_extraction
from structurer.core.records import flatten
from structurer.llm.client import LLMClient
from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from structurer.store.models import Document, Extraction, FieldValue, LLMCall
from structurer.store.session import session_scope
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo, load

SAMPLE_GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"


def llm_for(settings: Settings, fake: FakeChatModel) -> LLMClient:
    return LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)


@pytest.fixture
def llm_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"table_reader": "llm"})


def test_record_equals_what_the_model_said(llm_settings: Settings, tmp_path: Path) -> None:
    gold = load(SAMPLE_GOLD)
    fake = FakeChatModel(gold_echo(gold["record"]), logprob=-0.01)
    summary = run_extraction(
        [str(SAMPLES / "sample_2021_short.txt")], llm_settings, llm=llm_for(llm_settings, fake)
    )
    assert [r.status for r in summary.results] == ["ok"], summary.results
    with session_scope(llm_settings) as session:
        extraction = session.exec(select(Extraction)).one()
        assert flatten(extraction.record or {}) == flatten(gold["record"])
        fields = session.exec(
            select(FieldValue).where(FieldValue.extraction_id == extraction.id)
        ).all()
        calls = session.exec(select(LLMCall)).all()
        out = tmp_path / "out.jsonl"
        assert write_jsonl(session, out, summary.run_id) == 1
    # one call per part, logged with model, prompt version, tokens and latency
    assert len(calls) == len(fake.requests) == 10
    assert all(
        c.model == "fake-model"
        and c.prompt_version.startswith(f"{llm_settings.prompt_version}+")
        and c.tokens_in > 0
        for c in calls
    )
    # every non-null leaf has a row; numbers printed in the text are located exactly
    non_null = {p for p, v in flatten(gold["record"]).items() if v not in (None, [])}
    assert {f.path for f in fields} == non_null
    by_path = {f.path: f for f in fields}
    title = by_path["meta.title"]
    text = (SAMPLES / "sample_2021_short.txt").read_text(encoding="utf-8")
    assert (
        title.alignment == "exact"
        and text[title.evidence_start : title.evidence_end] == title.quote
    )
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["doc"] == "sample_2021_short.txt"
    assert set(exported["fields"]) == non_null
    assert set(exported["fields"]["meta.title"]) == {"confidence", "status", "evidence"}
    assert exported["fields"]["meta.title"]["status"] in ("auto", "needs_review")


def test_rerun_with_same_settings_is_skipped(llm_settings: Settings) -> None:
    gold = load(SAMPLE_GOLD)
    fake = FakeChatModel(gold_echo(gold["record"]))
    path = str(SAMPLES / "sample_2021_short.txt")
    run_extraction([path], llm_settings, llm=llm_for(llm_settings, fake))
    n_calls = len(fake.requests)
    second = run_extraction([path], llm_settings, llm=llm_for(llm_settings, fake))
    assert [r.status for r in second.results] == ["skipped"]
    assert len(fake.requests) == n_calls
    with session_scope(llm_settings) as session:
        assert len(session.exec(select(Document)).all()) == 1
        assert len(session.exec(select(Extraction)).all()) == 2  # reused into the second run


def test_bad_documents_fail_alone(llm_settings: Settings, tmp_path: Path) -> None:
    gold = load(SAMPLE_GOLD)
    fake = FakeChatModel(gold_echo(gold["record"]))
    good = tmp_path / "good.txt"
    good.write_bytes((SAMPLES / "sample_2021_short.txt").read_text(encoding="utf-8").encode("gbk"))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(256)) * 10)
    recipe = tmp_path / "recipe.txt"
    recipe.write_text(
        "红烧肉的做法：五花肉切块，焯水，加糖炒色，加酱油和水炖一小时。" * 5, encoding="utf-8"
    )
    summary = run_extraction(
        [str(good), str(empty), str(binary), str(recipe), str(tmp_path / "missing.txt")],
        llm_settings,
        llm=llm_for(llm_settings, fake),
    )
    status = {r.name: (r.status, r.error) for r in summary.results}
    assert status["good.txt"][0] == "ok"
    for name in ("empty.txt", "blob.txt", "recipe.txt", "missing.txt"):
        assert status[name][0] == "failed", status
        assert status[name][1] and "\n" not in status[name][1]
    assert "not a report" in (status["recipe.txt"][1] or "")
    with session_scope(llm_settings) as session:
        failed = session.exec(select(Extraction).where(Extraction.status == "failed")).all()
        assert len(failed) == 3  # empty, binary, recipe are recorded; a missing file has no bytes
        assert all(e.error for e in failed)


def test_model_garbage_fails_the_document_and_keeps_the_rest(llm_settings: Settings) -> None:
    fake = FakeChatModel(lambda request: "I am not JSON at all")
    summary = run_extraction(
        [str(SAMPLES / "sample_2021_short.txt")], llm_settings, llm=llm_for(llm_settings, fake)
    )
    (result,) = summary.results
    assert result.status == "failed"
    assert "model reply failed validation after retries" in (result.error or "")
    with session_scope(llm_settings) as session:
        calls = session.exec(select(LLMCall)).all()
        assert calls and all(c.error for c in calls)
        assert all(c.retries == llm_settings.max_retries for c in calls)
