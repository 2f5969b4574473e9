"""The LLM reply cache's rows: read one, insert-or-ignore one (several processes share it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from structurer.settings import Settings
from structurer.store.models import LLMCacheEntry, utcnow
from structurer.store.session import get_engine, session_scope


def cache_entry(settings: Settings, key: str) -> LLMCacheEntry | None:
    with session_scope(settings) as session:
        row = session.get(LLMCacheEntry, key)
        if row is not None:
            session.expunge(row)
        return row


def insert_cache_entry(settings: Settings, values: dict[str, Any]) -> None:
    """Insert unless the key is there already (another process answered the same request)."""
    engine = get_engine(settings)
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(LLMCacheEntry)
        .values(**values, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
    )
    with engine.begin() as conn:
        conn.execute(stmt)
