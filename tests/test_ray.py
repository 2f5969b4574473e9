"""The batch through Ray on a real local Ray instance (num_cpus=2), against the FAKE
OpenAI-compatible server: the same rows as the threads engine, written by the driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from structurer.batch.run import run_extraction
from structurer.llm.fake_server import FakeOpenAIServer
from structurer.settings import Settings
from structurer.store.models import Extraction, FieldValue, LLMCall
from structurer.store.session import session_scope
from tests import test_batch
from tests.pg_fixture import missing_service
from tests.test_batch import assert_complete_run, make_corpus

# the batch tests' fixtures (SQLite and PostgreSQL come from tests/pg_fixture.py), the FAKE server
batch_settings = test_batch.batch_settings
responder = test_batch.responder
server = test_batch.server

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    try:
        import ray
    except ImportError:
        missing_service("ray is not installed (pip install -e '.[dev]')")
        return
    from structurer.batch.ray import init_ray

    init_ray()
    yield
    ray.shutdown()


def _rows(settings: Settings, run_id: str) -> dict[str, tuple[str, dict[str, object]]]:
    with session_scope(settings) as session:
        out = {}
        for e in session.exec(select(Extraction).where(Extraction.run_id == run_id)):
            fields = session.exec(select(FieldValue).where(FieldValue.extraction_id == e.id)).all()
            out[str(e.document_id)] = (e.status, {f.path: f.value for f in fields})
        return out


def test_ray_engine_writes_what_the_threads_engine_writes(
    batch_settings: Settings, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    make_corpus(tmp_path / "docs", 5, failing=1)
    threads = run_extraction([str(tmp_path / "docs")], batch_settings, reuse=False, use_cache=False)
    asked = server.requests
    on_ray = run_extraction(
        [str(tmp_path / "docs")], batch_settings, reuse=False, use_cache=False, engine="ray"
    )
    assert server.requests > asked  # the workers asked the model themselves
    assert sorted((r.name, r.status) for r in on_ray.results) == sorted(
        (r.name, r.status) for r in threads.results
    )
    (failure,) = on_ray.failed
    assert failure.name == "report_00000.txt" and "HTTP 500" in (failure.error or "")
    assert _rows(batch_settings, on_ray.run_id) == _rows(batch_settings, threads.run_id)
    with session_scope(batch_settings) as session:
        calls = session.exec(select(LLMCall).where(LLMCall.run_id == on_ray.run_id)).all()
        assert calls and all(c.document_id is not None for c in calls)


def test_ray_engine_uses_the_cache_and_reuse(
    batch_settings: Settings, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    paths = make_corpus(tmp_path / "docs", 3, start=50)
    first = run_extraction([str(tmp_path / "docs")], batch_settings, engine="ray")
    assert [r.status for r in first.results] == ["ok"] * 3
    asked = server.requests
    again = run_extraction([str(tmp_path / "docs")], batch_settings, engine="ray", reuse=False)
    assert server.requests == asked  # workers answered from the response cache
    assert again.tokens_in == 0
    skipped = run_extraction([str(tmp_path / "docs")], batch_settings, engine="ray")
    assert [r.status for r in skipped.results] == ["skipped"] * 3
    assert_complete_run(batch_settings, skipped.run_id, paths)
