"""The eval run table. An eval run is also a row of ``runs`` (kind ``eval``, same id); this
table holds what only an eval has: the extraction run it scored, the gold set, the results
and where its files are."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from structurer.store.models import utcnow


class EvalRun(SQLModel, table=True):
    __tablename__ = "eval_runs"

    id: str = Field(primary_key=True, foreign_key="runs.id", max_length=32)
    name: str | None = Field(default=None, index=True)
    extract_run_id: str = Field(foreign_key="runs.id", index=True, max_length=32)
    gold_dir: str
    corpus_dir: str
    out_dir: str
    git_commit: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    results: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


__all__ = ["EvalRun"]
