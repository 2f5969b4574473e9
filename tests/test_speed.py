"""Issue 12 machinery: server timings per call, server settings, prefix-ordered prompts, and
parts skipped when a deterministic reader already read them. FAKE endpoint / MockModel only."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from sqlmodel import select

from structurer.batch.run import run_extraction
from structurer.llm.client import LLMClient
from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from structurer.store.models import LLMCall
from structurer.store.session import session_scope
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo, load

SAMPLE_GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"
MSG = [{"role": "user", "content": "报告年度？"}]


class Year(BaseModel):
    year: int


def llm_for(settings: Settings, fake: FakeChatModel) -> LLMClient:
    return LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)


# ------------------------------------------------------------------ timings


def test_timings_are_read_from_the_reply(settings: Settings) -> None:
    fake = FakeChatModel(timings=True, draft=(16, 8)).queue({"year": 2021}, {"year": 2022})
    llm = llm_for(settings, fake)
    first = llm.complete(MSG, Year)
    assert first.timings is not None
    assert first.timings.cache_n == 0 and first.timings.prompt_n > 0
    assert first.timings.draft_n == 16 and first.timings.draft_accepted == 8
    assert first.timings.acceptance == pytest.approx(0.5)
    assert first.timings.decode_tps == pytest.approx(10.0)
    # the same prompt again: the fake server reuses all of it but the last (partial) token
    second = llm.complete(MSG, Year)
    assert second.timings is not None
    assert second.timings.cache_n > 0
    assert second.timings.cache_n + second.timings.prompt_n == first.timings.prompt_n


def test_timings_sum_over_reasks_and_are_none_when_not_reported(settings: Settings) -> None:
    fake = FakeChatModel(timings=True).queue("not json", {"year": 2021})
    result = llm_for(settings, fake).complete(MSG, Year)
    assert result.retries == 1 and result.timings is not None
    assert result.timings.predicted_n == result.tokens_out  # the fake counts both alike
    plain = FakeChatModel().queue({"year": 2021})
    assert llm_for(settings, plain).complete(MSG, Year).timings is None


def test_timings_are_stored_per_call(settings: Settings) -> None:
    s = settings.model_copy(update={"table_reader": "llm"})
    fake = FakeChatModel(gold_echo(load(SAMPLE_GOLD)["record"]), timings=True)
    summary = run_extraction([str(SAMPLES / "sample_2021_short.txt")], s, llm=llm_for(s, fake))
    assert [r.status for r in summary.results] == ["ok"]
    with session_scope(s) as session:
        calls = session.exec(select(LLMCall)).all()
    assert len(calls) == len(fake.requests) > 1
    assert all(c.prompt_processed and c.decode_tokens and c.decode_ms for c in calls)
    assert all(c.prompt_reused is not None and c.draft_tokens == 0 for c in calls)
    # v1 starts every part's prompt with the same system text: later calls reuse some of it
    assert sum(c.prompt_reused or 0 for c in calls) > 0


def test_no_timings_columns_stay_null(settings: Settings) -> None:
    s = settings.model_copy(update={"table_reader": "llm"})
    fake = FakeChatModel(gold_echo(load(SAMPLE_GOLD)["record"]))
    run_extraction([str(SAMPLES / "sample_2021_short.txt")], s, llm=llm_for(s, fake))
    with session_scope(s) as session:
        calls = session.exec(select(LLMCall)).all()
    assert calls and all(c.prompt_processed is None and c.prompt_reused is None for c in calls)
