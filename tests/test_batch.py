"""Batch extraction at scale against a FAKE OpenAI-compatible HTTP server on 127.0.0.1:
bounded concurrency, the response cache, retries, failures kept apart, accounting, and real
`python -m structurer extract` processes killed (-9), interrupted (Ctrl-C) and run side by
side on one database. Every test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from structurer.batch.accounting import run_totals
from structurer.batch.run import run_extraction
from structurer.llm.fake_server import FakeOpenAIServer
from structurer.settings import Settings
from structurer.store.models import Document, Extraction, FieldValue, LLMCacheEntry, LLMCall, Run
from structurer.store.session import session_scope
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo, load
from tests.pg_fixture import pg_server, pg_url  # noqa: F401 - fixtures

GOLD = load(REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json")["record"]
SAMPLE = (SAMPLES / "sample_2021_short.txt").read_text(encoding="utf-8")
FAIL_MARK = "【测试：模型服务对本文件总是出错】"


class Responder:
    """gold_echo with failure injection; counts requests in flight (FAKE model)."""

    def __init__(self, *, flaky: bool = False) -> None:
        self.echo = gold_echo(GOLD)
        self.flaky = flaky
        self.seen: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> dict[str, Any] | int:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            text = json.dumps(body["messages"], ensure_ascii=False)
            if FAIL_MARK in text:
                return 500
            if self.flaky:  # the first attempt of every request: 503, then 429, then the answer
                key = hashlib.sha256(text.encode()).hexdigest()
                with self.lock:
                    tries = sum(1 for s in self.seen if s.startswith(key))
                    self.seen.add(f"{key}:{tries}")
                if tries == 0:
                    return 503
                if tries == 1:
                    return 429
            time.sleep(0.02)
            return self.echo(body)
        finally:
            with self.lock:
                self.in_flight -= 1


def make_corpus(directory: Path, n: int, *, failing: int = 0, start: int = 0) -> list[Path]:
    """n distinct copies of the short sample (a numbered line at the end changes the bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        text = SAMPLE + f"\n（测试副本 {i:05d}）\n"
        if i - start < failing:
            text = text.replace("一、总体情况", "一、总体情况\n" + FAIL_MARK, 1)
        path = directory / f"report_{i:05d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture
def responder() -> Responder:
    return Responder()


@pytest.fixture
def server(responder: Responder) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(responder, logprob=None) as srv:
        yield srv


@pytest.fixture
def batch_settings(
    tmp_path: Path, database_url: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        openai_base_url=server.url,
        model="fake-model",
        concurrency=4,
    )


def cli_env(settings: Settings) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "STRUCTURER_", "DATABASE_URL"))
    }
    env.update(
        OPENAI_BASE_URL=settings.openai_base_url or "",
        OPENAI_API_KEY="sk-fake-SECRET-never-logged",
        DATABASE_URL=settings.database_url,
        STRUCTURER_DATA_DIR=str(settings.data_dir),
        STRUCTURER_MODEL=settings.model_name,
        COLUMNS="200",
    )
    return env


def start_cli(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "structurer", "extract", *args],
        env=cli_env(settings),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def count_ok(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(
            session.exec(
                select(func.count()).select_from(Extraction).where(Extraction.status == "ok")
            ).one()
        )


def wait_for(predicate: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def assert_complete_run(settings: Settings, run_id: str, paths: list[Path]) -> None:
    """Every input is stored once, with one ok extraction in the run and its field rows."""
    shas = {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    with session_scope(settings) as session:
        docs = [d for d in session.exec(select(Document)).all() if d.sha256 in shas]
        assert (
            len(docs) == len(paths) and {d.sha256 for d in docs} == shas
        )  # nothing lost, no duplicates
        ids = {d.id for d in docs}
        extractions = [
            e
            for e in session.exec(select(Extraction).where(Extraction.run_id == run_id))
            if e.document_id in ids
        ]
        assert len(extractions) == len(paths)
        assert {e.document_id for e in extractions} == {d.id for d in docs}
        assert all(e.status == "ok" for e in extractions), [
            e.error for e in extractions if e.status != "ok"
        ]
        for e in extractions:
            n = session.exec(
                select(func.count()).select_from(FieldValue).where(FieldValue.extraction_id == e.id)
            ).one()
            assert n > 20


def test_parts_and_documents_in_flight_are_bounded(
    batch_settings: Settings, responder: Responder, tmp_path: Path
) -> None:
    one = make_corpus(tmp_path / "one", 1)
    summary = run_extraction([str(one[0])], batch_settings)
    assert [r.status for r in summary.results] == ["ok"]
    assert responder.max_in_flight >= 2  # the parts of one document were asked at once
    responder.max_in_flight = 0
    paths = make_corpus(tmp_path / "many", 8, start=100)
    summary = run_extraction(
        [str(tmp_path / "many")], batch_settings.model_copy(update={"concurrency": 3})
    )
    assert [r.status for r in summary.results] == ["ok"] * 8
    assert 2 <= responder.max_in_flight <= 3
    assert_complete_run(batch_settings, summary.run_id, paths)


def test_rerun_with_nothing_changed_costs_no_tokens(
    batch_settings: Settings, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    paths = make_corpus(tmp_path / "docs", 3)
    first = run_extraction([str(tmp_path / "docs")], batch_settings, reuse=False)
    asked = server.requests
    assert asked > 0 and first.tokens_in > 0
    second = run_extraction([str(tmp_path / "docs")], batch_settings, reuse=False)
    assert server.requests == asked  # every reply came from the cache
    assert [r.status for r in second.results] == ["ok"] * 3
    assert second.tokens_in == second.tokens_out == 0
    with session_scope(batch_settings) as session:
        calls = session.exec(select(LLMCall).where(LLMCall.run_id == second.run_id)).all()
        assert calls and all(c.cached for c in calls)
        first_records = {
            e.document_id: e.record
            for e in session.exec(select(Extraction).where(Extraction.run_id == first.run_id))
        }
        for e in session.exec(select(Extraction).where(Extraction.run_id == second.run_id)):
            assert e.record == first_records[e.document_id]
            assert e.tokens_in == 0
        assert session.exec(select(func.count()).select_from(LLMCacheEntry)).one() == asked
    assert_complete_run(batch_settings, second.run_id, paths)
    # another model is another key: asked again
    third = run_extraction(
        [str(paths[0])], batch_settings.model_copy(update={"model": "other-model"}), reuse=False
    )
    assert server.requests > asked and third.results[0].tokens_in > 0
    # the cache can be turned off
    before = server.requests
    run_extraction([str(paths[0])], batch_settings, reuse=False, use_cache=False)
    assert server.requests > before


def test_retries_and_one_failing_document_never_stops_the_batch(
    batch_settings: Settings, responder: Responder, tmp_path: Path
) -> None:
    responder.flaky = True
    make_corpus(tmp_path / "docs", 4, failing=1)
    from structurer.batch import document as runner

    original = runner.make_llm

    def fast_backoff(settings: Settings, http_client: Any = None) -> Any:
        llm = original(settings, http_client)
        llm.backoff = 0.01
        return llm

    runner.make_llm = fast_backoff  # type: ignore[assignment]
    try:
        summary = run_extraction([str(tmp_path / "docs")], batch_settings)
    finally:
        runner.make_llm = original  # type: ignore[assignment]
    status = {r.name: r.status for r in summary.results}
    assert status.pop("report_00000.txt") == "failed"
    assert set(status.values()) == {"ok"}  # 503 then 429 were retried
    (failure,) = summary.failed
    assert "model server error HTTP 500" in (failure.error or "")
    assert "SECRET" not in (failure.error or "")
    with session_scope(batch_settings) as session:
        run = session.get(Run, summary.run_id)
        assert run is not None and run.status == "done" and run.n_failed == 1 and run.n_docs == 4


def test_tokens_and_cost_per_document_and_per_run(batch_settings: Settings, tmp_path: Path) -> None:
    make_corpus(tmp_path / "docs", 2)
    priced = batch_settings.model_copy(
        update={"price_per_1k_input": 0.5, "price_per_1k_output": 2.0}
    )
    summary = run_extraction([str(tmp_path / "docs")], priced)
    for r in summary.results:
        assert r.tokens_in > 0 and r.calls > 0
        assert r.cost == pytest.approx(r.tokens_in / 1000 * 0.5 + r.tokens_out / 1000 * 2.0)
    with session_scope(priced) as session:
        totals = run_totals(session, summary.run_id, priced)
    assert (
        totals.ok == 2
        and totals.tokens_in == summary.tokens_in
        and totals.tokens_out == summary.tokens_out
    )
    assert totals.cost == pytest.approx(summary.cost)
    assert totals.calls == sum(r.calls for r in summary.results) and totals.cached_calls == 0


def test_kill_9_mid_batch_then_rerun_finishes_with_nothing_lost(
    batch_settings: Settings, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    paths = make_corpus(tmp_path / "docs", 8)
    server.hold_after = 24  # later calls wait: the batch is mid-flight when it is killed
    proc = start_cli(batch_settings, str(tmp_path / "docs"), "--concurrency", "2")
    try:
        wait_for(
            lambda: (server.held >= 1 and count_ok(batch_settings) >= 2) or proc.poll() is not None
        )
    finally:
        proc.kill()  # SIGKILL: no cleanup at all
        proc.wait()
        server.release()
    assert proc.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    asked_before = server.requests
    done_before = count_ok(batch_settings)
    assert 2 <= done_before < 8
    rerun = start_cli(batch_settings, str(tmp_path / "docs"), "--concurrency", "2")
    out, errors = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, errors[-3000:]
    with session_scope(batch_settings) as session:
        runs = session.exec(select(Run).order_by(col(Run.created_at))).all()
        assert [r.status for r in runs] == ["dead", "done"]  # the killed run was found dead
        final = runs[-1]
        new_calls = session.exec(
            select(LLMCall).where(LLMCall.run_id == final.id, col(LLMCall.cached).is_(False))
        ).all()
    assert_complete_run(batch_settings, final.id, paths)
    # the rerun asked the model only for documents not finished before the kill
    per_doc = asked_before / max(done_before, 1)
    assert server.requests - asked_before <= (8 - done_before) * per_doc + 1
    assert len(new_calls) == server.requests - asked_before
    assert "docs/min" in errors and "ETA" in errors and "SECRET" not in out + errors


def test_ctrl_c_marks_the_run_interrupted_and_resume_finishes_it(
    batch_settings: Settings, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    paths = make_corpus(tmp_path / "docs", 8)
    server.hold_after = 18  # later calls wait: the batch is mid-flight when Ctrl-C comes
    proc = start_cli(batch_settings, str(tmp_path / "docs"), "--concurrency", "2")
    try:
        wait_for(
            lambda: (server.held >= 1 and count_ok(batch_settings) >= 1) or proc.poll() is not None
        )
        proc.send_signal(signal.SIGINT)
        time.sleep(3)  # the runner sees the interrupt within 0.5 s and takes no new document
    finally:
        server.release()  # the documents in flight finish
    out, errors = proc.communicate(timeout=120)
    assert proc.returncode == 130, errors[-3000:]
    assert "interrupted" in errors
    with session_scope(batch_settings) as session:
        (run,) = session.exec(select(Run)).all()
        assert run.status == "interrupted"
        stored = session.exec(select(Extraction).where(Extraction.run_id == run.id)).all()
        assert 2 <= len(stored) < 8 and all(
            e.status == "ok" for e in stored
        )  # in-flight ones finished
    resumed = start_cli(batch_settings, str(tmp_path / "docs"), "--resume", "last")
    out, errors = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, errors[-3000:]
    with session_scope(batch_settings) as session:
        (again,) = session.exec(select(Run)).all()  # the same run, finished
        assert again.id == run.id and again.status == "done" and again.n_docs == 8
    assert_complete_run(batch_settings, run.id, paths)


def test_two_batches_writing_to_one_database_at_once(
    batch_settings: Settings, tmp_path: Path
) -> None:
    paths = make_corpus(tmp_path / "docs", 6)
    first = start_cli(batch_settings, str(tmp_path / "docs"), "--concurrency", "3", "--name", "a")
    second = start_cli(batch_settings, str(tmp_path / "docs"), "--concurrency", "3", "--name", "b")
    for proc in (first, second):
        _, errors = proc.communicate(timeout=300)
        assert proc.returncode == 0, errors[-3000:]
    with session_scope(batch_settings) as session:
        runs = session.exec(select(Run)).all()
        assert sorted(r.name or "" for r in runs) == ["a", "b"] and all(
            r.status == "done" for r in runs
        )
        keys = session.exec(select(LLMCacheEntry.key)).all()
        assert len(keys) == len(set(keys))
    for run in runs:
        assert_complete_run(batch_settings, run.id, paths)


def test_client_cache_hook_serves_validated_replies_only(tmp_path: Path) -> None:
    from pydantic import BaseModel

    from structurer.llm.cache import MemoryResponseCache, cacheable
    from structurer.llm.client import LLMClient
    from structurer.llm.fake import FakeChatModel

    class Year(BaseModel):
        year: int

    settings = Settings(
        data_dir=tmp_path,
        openai_base_url="http://fake-endpoint/v1",
        model="fake-model",
        max_retries=0,
    )
    fake = FakeChatModel(logprob=-0.1).queue("not json", {"year": 2021}, {"year": 1999})
    cache = MemoryResponseCache()
    llm = LLMClient(
        settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001
    ).with_cache(cache)
    messages = [{"role": "user", "content": "报告年度？"}]
    assert llm.complete(messages, Year).parsed is None  # a failure is not cached...
    first = llm.complete(messages, Year)  # ...so it is asked again
    again = llm.complete(messages, Year)
    assert first.parsed is not None and again.parsed is not None
    assert first.parsed.model_dump() == again.parsed.model_dump() == {"year": 2021}
    assert not first.cached and again.cached
    assert again.tokens_in == first.tokens_in and again.logprobs == first.logprobs
    assert len(fake.requests) == 2 and fake.pending == 1
    other = llm.with_cache(cache).complete([{"role": "user", "content": "另一个问题"}], Year)
    assert (
        other.parsed is not None
        and other.parsed.model_dump() == {"year": 1999}
        and not other.cached
    )
    # k independent samples at a temperature above zero must not be served from the cache
    assert cacheable(settings) and not cacheable(
        settings.model_copy(update={"samples": 3, "temperature": 0.7})
    )


def test_resume_refuses_a_run_with_other_settings(batch_settings: Settings, tmp_path: Path) -> None:
    from structurer.batch.run import ResumeError

    make_corpus(tmp_path / "docs", 1)
    first = run_extraction([str(tmp_path / "docs")], batch_settings)
    with pytest.raises(ResumeError):
        run_extraction(
            [str(tmp_path / "docs")],
            batch_settings.model_copy(update={"model": "other"}),
            resume=first.run_id,
        )
    with pytest.raises(ResumeError):
        run_extraction([str(tmp_path / "docs")], batch_settings, resume="no-such-run")
