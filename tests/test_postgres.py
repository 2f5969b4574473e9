"""A real PostgreSQL server (started by the test from Debian's postgresql package):
migrations both ways, DATABASE_URL honoured, the response cache's insert-or-ignore, and the
store under concurrent writers. The batch tests (test_batch.py) also run on it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlmodel import select

from structurer.core.types import LoadedDocument
from structurer.llm.cache import CachedReply, DbResponseCache
from structurer.settings import Settings
from structurer.store.models import Document, LLMCacheEntry
from structurer.store.outcomes import upsert_document
from structurer.store.session import alembic_config, dispose_engines, session_scope
from tests import pg_fixture

pytestmark = pytest.mark.postgres
pg_server = pg_fixture.pg_server
pg_url = pg_fixture.pg_url


@pytest.fixture
def pg_settings(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    yield Settings(data_dir=tmp_path / "data")
    dispose_engines()


def test_database_url_selects_postgres_and_migrates(pg_settings: Settings) -> None:
    assert pg_settings.db_url.startswith("postgresql+psycopg://")
    with session_scope(pg_settings) as session:
        assert session.get_bind().dialect.name == "postgresql"
    tables = set(inspect(create_engine(pg_settings.db_url)).get_table_names())
    assert {
        "documents",
        "runs",
        "extractions",
        "field_values",
        "llm_calls",
        "llm_cache",
        "alembic_version",
    } <= tables


def test_migrations_go_down_and_up_again(pg_url: str) -> None:
    cfg = alembic_config(pg_url)
    command.upgrade(cfg, "heads")
    command.downgrade(cfg, "0001")
    engine = create_engine(pg_url)
    assert "llm_cache" not in inspect(engine).get_table_names()
    command.upgrade(cfg, "heads")
    engine.dispose()
    engine = create_engine(pg_url)
    assert "llm_cache" in inspect(engine).get_table_names()
    engine.dispose()


def test_cache_is_insert_or_ignore_across_writers(pg_settings: Settings) -> None:
    cache = DbResponseCache(pg_settings)
    reply = CachedReply(
        parsed={"year": 2021},
        raw='{"year": 2021}',
        tokens_in=10,
        tokens_out=3,
        retries=0,
        logprobs=[("20", -0.1), ("21", -0.2)],
    )
    threads = [
        threading.Thread(target=cache.put, args=("k" * 64, "h" * 64, "m", "Year", reply))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = cache.get("k" * 64)
    assert (
        got is not None
        and got.parsed == {"year": 2021}
        and got.logprobs == [("20", -0.1), ("21", -0.2)]
    )
    with session_scope(pg_settings) as session:
        assert len(session.exec(select(LLMCacheEntry)).all()) == 1


def test_same_document_from_many_writers_is_stored_once(pg_settings: Settings) -> None:
    doc = LoadedDocument(
        name="a.txt",
        path="/a.txt",
        sha256="0" * 64,
        text="正文",
        source_format="txt",
        encoding="utf-8",
    )
    ids: list[int | None] = []

    def store() -> None:
        with session_scope(pg_settings) as session:
            ids.append(upsert_document(session, doc).id)

    threads = [threading.Thread(target=store) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 8
    with session_scope(pg_settings) as session:
        assert len(session.exec(select(Document)).all()) == 1
