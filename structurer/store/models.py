"""Tables. Every schema change goes through an Alembic migration (structurer/migrations)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Document(SQLModel, table=True):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("sha256", name="uq_documents_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    source_path: str
    sha256: str = Field(index=True, max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    source_format: str
    encoding: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class Run(SQLModel, table=True):
    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=32)
    name: str | None = None
    kind: str = "extract"  # extract | eval
    report_type: str
    prompt_version: str
    model: str
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    settings_hash: str = Field(index=True, max_length=64)
    calibration_version: str | None = None
    status: str = "running"  # running | done | interrupted | dead (killed, found stale)
    n_docs: int = 0
    n_failed: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    # Who runs it and when it last said so (epoch seconds): a run killed with -9 is found dead.
    pid: int | None = None
    host: str | None = None
    heartbeat_at: float | None = None


class DocumentClaim(SQLModel, table=True):
    """A document in flight: the run extracting it with these settings, until `expires_at`
    (epoch seconds, renewed by the run's heartbeat). Another process leaves it alone."""

    __tablename__ = "document_claims"

    document_id: int = Field(foreign_key="documents.id", primary_key=True)
    settings_hash: str = Field(primary_key=True, max_length=64)
    run_id: str = Field(index=True, max_length=32)
    expires_at: float


class DuplicateFile(SQLModel, table=True):
    """A file of a run skipped because its bytes are those of a document read from another path."""

    __tablename__ = "duplicate_files"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=32)
    document_id: int = Field(foreign_key="documents.id", index=True)
    path: str = Field(sa_column=Column(Text, nullable=False))
    duplicate_of: str = Field(sa_column=Column(Text, nullable=False))


class Extraction(SQLModel, table=True):
    __tablename__ = "extractions"
    __table_args__ = (UniqueConstraint("run_id", "document_id", name="uq_extractions_run_doc"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=32)
    document_id: int = Field(foreign_key="documents.id", index=True)
    settings_hash: str = Field(index=True, max_length=64)
    status: str  # ok | failed
    error: str | None = Field(default=None, sa_column=Column(Text))
    record: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    identity_breaks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    detected_format: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    created_at: dt.datetime = Field(default_factory=utcnow)


class FieldValue(SQLModel, table=True):
    __tablename__ = "field_values"
    __table_args__ = (
        UniqueConstraint("extraction_id", "path", name="uq_field_values_extraction_path"),
    )

    id: int | None = Field(default=None, primary_key=True)
    extraction_id: int = Field(foreign_key="extractions.id", index=True)
    path: str = Field(index=True)
    value: Any = Field(default=None, sa_column=Column(JSON))
    reader: str | None = None  # llm | table | llm+table
    evidence_start: int | None = None
    evidence_end: int | None = None
    quote: str | None = Field(default=None, sa_column=Column(Text))
    alignment: str | None = None  # exact | fuzzy | not_found
    confidence: float | None = None
    status: str = "auto"  # auto | needs_review | corrected
    signals: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class LLMCall(SQLModel, table=True):
    __tablename__ = "llm_calls"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = Field(default=None, index=True, max_length=32)
    document_id: int | None = Field(default=None, index=True)
    part: str | None = None
    model: str
    prompt_version: str
    request_hash: str = Field(index=True, max_length=64)
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    response: str | None = Field(default=None, sa_column=Column(Text))
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    retries: int = 0
    cached: bool = False
    error: str | None = Field(default=None, sa_column=Column(Text))
    # What a llama.cpp server reported (its `timings`), summed over re-asks; NULL when the
    # endpoint reports none or the reply came from the cache.
    prompt_processed: int | None = None  # prompt tokens prefilled
    prompt_reused: int | None = None  # prompt tokens taken from the server's prompt cache
    prefill_ms: float | None = None
    decode_tokens: int | None = None
    decode_ms: float | None = None
    draft_tokens: int | None = None  # speculative draft tokens proposed
    draft_accepted: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class LLMCacheEntry(SQLModel, table=True):
    """A model reply that validated, reusable for the same request (structurer/llm/cache.py)."""

    __tablename__ = "llm_cache"

    key: str = Field(primary_key=True, max_length=64)  # request_hash + sampling settings
    request_hash: str = Field(index=True, max_length=64)  # model, messages, response schema, mode
    model: str
    response_model: str
    parsed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    raw: str | None = Field(default=None, sa_column=Column(Text))
    logprobs: list[Any] = Field(default_factory=list, sa_column=Column(JSON))
    tokens_in: int = 0
    tokens_out: int = 0
    retries: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow)
