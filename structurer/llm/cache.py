"""A cache of validated model replies, stored in the database (table `llm_cache`).

The key is the request hash (model, rendered messages — hence the prompt version —, response
schema, instructor mode) plus the sampling settings that change a reply (temperature,
max_tokens, logprobs). Only replies that validated are stored, so a rerun with nothing changed
costs no tokens and a failure is always retried. With k > 1 samples at a temperature above
zero every sample must be a fresh draw, so such calls bypass the cache.

Several processes (or Ray workers) may share one cache: writes are insert-or-ignore.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from structurer.settings import Settings
from structurer.store.cache import cache_entry, insert_cache_entry

log = logging.getLogger(__name__)


@dataclass
class CachedReply:
    parsed: dict[str, Any]
    raw: str | None
    tokens_in: int
    tokens_out: int
    retries: int
    logprobs: list[tuple[str, float]] = field(default_factory=list)


class ResponseCache(Protocol):
    def get(self, key: str) -> CachedReply | None: ...

    def put(
        self, key: str, request_hash: str, model: str, response_model: str, reply: CachedReply
    ) -> None: ...


def cache_key(request_hash: str, settings: Settings) -> str:
    blob = json.dumps(
        {
            "request": request_hash,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "logprobs": settings.logprobs,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def cacheable(settings: Settings) -> bool:
    """Whether a reply can be reused: not when k samples must be independent draws."""
    return settings.samples == 1 or settings.temperature == 0


class MemoryResponseCache:
    """An in-process cache (tests, one-off scripts)."""

    def __init__(self) -> None:
        self._items: dict[str, CachedReply] = {}
        self.hits = 0

    def get(self, key: str) -> CachedReply | None:
        found = self._items.get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(
        self, key: str, request_hash: str, model: str, response_model: str, reply: CachedReply
    ) -> None:
        self._items.setdefault(key, reply)


class DbResponseCache:
    """The cache in the settings' database (SQLite or PostgreSQL). Errors never fail a call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, key: str) -> CachedReply | None:
        try:
            row = cache_entry(self.settings, key)
        except SQLAlchemyError as exc:
            log.warning("response cache read failed: %s", type(exc).__name__)
            return None
        if row is None:
            return None
        return CachedReply(
            parsed=dict(row.parsed),
            raw=row.raw,
            tokens_in=row.tokens_in,
            tokens_out=row.tokens_out,
            retries=row.retries,
            logprobs=[(str(t), float(lp)) for t, lp in (row.logprobs or [])],
        )

    def put(
        self, key: str, request_hash: str, model: str, response_model: str, reply: CachedReply
    ) -> None:
        values = {
            "key": key,
            "request_hash": request_hash,
            "model": model,
            "response_model": response_model,
            "parsed": reply.parsed,
            "raw": reply.raw,
            "logprobs": [[t, lp] for t, lp in reply.logprobs],
            "tokens_in": reply.tokens_in,
            "tokens_out": reply.tokens_out,
            "retries": reply.retries,
        }
        try:
            insert_cache_entry(self.settings, values)
        except SQLAlchemyError as exc:
            log.warning("response cache write failed: %s", type(exc).__name__)
