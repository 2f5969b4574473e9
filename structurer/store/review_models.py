"""The review tables: Label Studio projects, every field sent to review (one Label Studio task
holds the fields of one report, or of some of its sections), the audit samples drawn from
auto-accepted fields, and every annotation read back per field (kept raw, valid or not:
nothing an annotator typed is lost).

No foreign keys to ``field_values``/``extractions``: re-extracting a document replaces its
rows, and the review history must outlive that.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from structurer.store.models import utcnow


class ReviewProject(SQLModel, table=True):
    """The project of one report type on one Label Studio server."""

    __tablename__ = "review_projects"
    __table_args__ = (
        UniqueConstraint("server", "report_type", name="uq_review_projects_server_type"),
    )

    id: int | None = Field(default=None, primary_key=True)
    server: str  # the URL, without credentials
    report_type: str
    project_id: int  # in Label Studio
    config_version: str = Field(max_length=32)  # also the project's model_version
    webhook_url: str | None = None  # set by `structurer review listen`
    webhook_secret: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ReviewAudit(SQLModel, table=True):
    """One random sample of auto-accepted fields added to review (`review push --audit`)."""

    __tablename__ = "review_audits"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = None  # None: the newest extraction of every document
    rate: float
    seed: int
    population: int  # auto-accepted fields the sample was drawn from
    sampled: int
    field_value_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    extraction_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))  # audited once
    created_at: dt.datetime = Field(default_factory=utcnow)


class ReviewTask(SQLModel, table=True):
    """One field sent to review, in slot ``slot`` of Label Studio task ``task_id`` (the
    fields of one report share a task)."""

    __tablename__ = "review_tasks"
    __table_args__ = (
        UniqueConstraint(
            "review_project_id", "field_value_id", name="uq_review_tasks_project_field"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_project_id: int = Field(foreign_key="review_projects.id", index=True)
    task_id: int = Field(index=True)  # in Label Studio
    field_value_id: int = Field(index=True)
    extraction_id: int = Field(index=True)
    path: str
    proposed: Any = Field(default=None, sa_column=Column(JSON))
    confidence: float | None = None
    # open | corrected | rejected (the newest annotation was invalid) | conflict (annotators disagree)
    state: str = "open"
    task_key: str | None = Field(default=None, max_length=64)  # the task's key in its data
    slot: int = 0  # position in the task's form: controls verdict_<slot>, value_<slot>
    section: str | None = None
    audit_id: int | None = Field(default=None, foreign_key="review_audits.id", index=True)
    # the field's calibration features when pushed: reviewed fields stay labelled examples
    # after the extraction they came from is replaced
    features: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    pushed_at: dt.datetime = Field(default_factory=utcnow)
    pulled_at: dt.datetime | None = None


class ReviewCorrection(SQLModel, table=True):
    """One version of one annotation, as read from Label Studio."""

    __tablename__ = "review_corrections"
    __table_args__ = (
        UniqueConstraint(
            "review_task_id", "annotation_id", "revision", name="uq_review_corrections_version"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_task_id: int = Field(foreign_key="review_tasks.id", index=True)
    task_id: int  # in Label Studio
    annotation_id: int
    revision: str = Field(max_length=64)  # the annotation's updated_at
    annotator: str | None = None
    annotated_at: dt.datetime | None = None
    pulled_at: dt.datetime = Field(default_factory=utcnow)
    verdict: str | None = None  # confirmed | corrected | not_stated; None when unreadable
    raw_input: str | None = Field(default=None, sa_column=Column(Text))  # what was typed/chosen
    raw_result: list[Any] = Field(default_factory=list, sa_column=Column(JSON))  # as submitted
    value: Any = Field(default=None, sa_column=Column(JSON))  # the typed value, when valid
    accepted: bool = False
    error: str | None = Field(default=None, sa_column=Column(Text))
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    conflict: bool = False  # valid, but another annotator's answer for this field differs


__all__ = ["ReviewAudit", "ReviewCorrection", "ReviewProject", "ReviewTask"]
