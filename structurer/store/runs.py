"""Run rows: create, resume, finish."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from structurer.core.types import DocStatus, RunStatus
from structurer.store.models import Extraction, LLMCall, Run, utcnow


def create_run(
    session: Session,
    settings_dict: dict[str, Any],
    settings_hash: str,
    *,
    name: str | None = None,
    kind: str = "extract",
) -> Run:
    run = Run(
        id=uuid.uuid4().hex[:12],
        name=name,
        kind=kind,
        report_type=settings_dict["report_type"],
        prompt_version=settings_dict["prompt"],
        model=settings_dict["model"],
        settings=settings_dict,
        settings_hash=settings_hash,
        calibration_version=settings_dict.get("calibration"),
    )
    session.add(run)
    session.commit()
    return run


def finish_run(
    session: Session, run: Run, *, n_docs: int, n_failed: int, status: str = "done"
) -> None:
    run.n_docs, run.n_failed, run.status, run.finished_at = n_docs, n_failed, status, utcnow()
    session.add(run)
    session.commit()


def resumable_run(session: Session, settings_hash: str, resume: str) -> Run | None:
    """The run `resume` names ("last": the newest unfinished run with these settings hash).
    LookupError when a named run does not exist; ValueError when it ran with other settings."""
    if resume == "last":
        return session.exec(
            select(Run)
            .where(
                Run.settings_hash == settings_hash,
                col(Run.status).in_([RunStatus.running, RunStatus.interrupted]),
            )
            .order_by(col(Run.created_at).desc())
        ).first()
    run = session.get(Run, resume)
    if run is None:
        raise LookupError(f"no run {resume!r} to resume")
    if run.settings_hash != settings_hash:
        raise ValueError(
            f"run {resume} ran with other settings (hash {run.settings_hash}, now {settings_hash})"
        )
    return run


def reopen_run(session: Session, run: Run) -> None:
    run.status = RunStatus.running
    run.finished_at = None
    session.add(run)
    session.commit()


def stored_counts(session: Session, run_id: str) -> tuple[int, int]:
    """(documents, failed documents) a run holds."""
    stored = session.exec(select(Extraction.status).where(Extraction.run_id == run_id)).all()
    return len(stored), sum(1 for s in stored if s == DocStatus.failed)


def extraction_totals(session: Session, run_id: str) -> dict[str, tuple[int, int, int]]:
    """status -> (extractions, tokens in, tokens out) of a run."""
    rows = session.exec(
        select(
            Extraction.status,
            func.count(),
            func.sum(Extraction.tokens_in),
            func.sum(Extraction.tokens_out),
        )
        .where(Extraction.run_id == run_id)
        .group_by(Extraction.status)
    ).all()
    return {status: (int(n), int(tin or 0), int(tout or 0)) for status, n, tin, tout in rows}


def call_counts(session: Session, run_id: str) -> tuple[int, int]:
    """(model calls, of them answered from the cache) of a run."""
    calls = session.exec(
        select(func.count()).select_from(LLMCall).where(LLMCall.run_id == run_id)
    ).one()
    cached = session.exec(
        select(func.count())
        .select_from(LLMCall)
        .where(LLMCall.run_id == run_id, col(LLMCall.cached).is_(True))
    ).one()
    return int(calls), int(cached)
