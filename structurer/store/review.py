"""The queries of the review loop: projects, tasks, audits and corrections, and the extraction
rows they point at. Functions that write commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from structurer.core.types import FieldStatus
from structurer.store.models import Document, Extraction, FieldValue, Run, utcnow
from structurer.store.outcomes import run_extractions
from structurer.store.review_models import (
    ReviewAudit,
    ReviewCorrection,
    ReviewProject,
    ReviewTask,
)

# --- projects -----------------------------------------------------------------------------


def find_project(session: Session, server: str, report_type: str) -> ReviewProject | None:
    return session.exec(
        select(ReviewProject).where(
            ReviewProject.server == server, ReviewProject.report_type == report_type
        )
    ).first()


def create_project(
    session: Session, server: str, report_type: str, project_id: int, config_version: str
) -> ReviewProject:
    row = ReviewProject(
        server=server,
        report_type=report_type,
        project_id=project_id,
        config_version=config_version,
    )
    session.add(row)
    session.commit()
    return row


def set_config_version(session: Session, project: ReviewProject, version: str) -> None:
    project.config_version = version
    project.updated_at = utcnow()
    session.add(project)
    session.commit()


def set_webhook(session: Session, project: ReviewProject, url: str, secret: str) -> None:
    project.webhook_url = url
    project.webhook_secret = secret
    project.updated_at = utcnow()
    session.add(project)
    session.commit()


# --- what to review -----------------------------------------------------------------------


def report_extractions(
    session: Session, report_type: str, run_id: str | None
) -> list[tuple[Document, Extraction]]:
    """The run's extractions of this report type that hold a record (default: the newest
    extraction of every document)."""
    out = []
    for document, extraction in run_extractions(session, run_id):
        run = session.get(Run, extraction.run_id)
        if run is None or run.report_type != report_type or extraction.record is None:
            continue
        out.append((document, extraction))
    return out


def rows_with_status(session: Session, extraction_id: int, status: FieldStatus) -> list[FieldValue]:
    return list(
        session.exec(
            select(FieldValue)
            .where(FieldValue.extraction_id == extraction_id, FieldValue.status == status)
            .order_by(col(FieldValue.id))
        ).all()
    )


def field_row(session: Session, field_value_id: int) -> FieldValue | None:
    return session.get(FieldValue, field_value_id)


def extraction_row(session: Session, extraction_id: int) -> Extraction | None:
    return session.get(Extraction, extraction_id)


def document_of(session: Session, extraction_id: int) -> Document | None:
    """The document an extraction read (None when the extraction is gone)."""
    extraction = session.get(Extraction, extraction_id)
    return session.get(Document, extraction.document_id) if extraction else None


def field_in_context(
    session: Session, field_value_id: int
) -> tuple[FieldValue, Extraction, Document] | None:
    """A field row with its extraction and document; None when any of them is gone."""
    row = session.get(FieldValue, field_value_id)
    extraction = session.get(Extraction, row.extraction_id) if row else None
    document = session.get(Document, extraction.document_id) if extraction else None
    if row is None or extraction is None or document is None:
        return None
    return row, extraction, document


# --- audits -------------------------------------------------------------------------------


def audits(session: Session) -> list[ReviewAudit]:
    return list(session.exec(select(ReviewAudit).order_by(col(ReviewAudit.id))).all())


def audited_extractions(session: Session) -> set[int]:
    return {e for a in audits(session) for e in (a.extraction_ids or [])}


def add_audit(session: Session, audit: ReviewAudit) -> ReviewAudit:
    session.add(audit)
    session.commit()
    return audit


# --- tasks --------------------------------------------------------------------------------


def tasked_field_ids(session: Session, project: ReviewProject) -> set[int]:
    """Field rows already in a task of this project."""
    return set(
        session.exec(
            select(ReviewTask.field_value_id).where(ReviewTask.review_project_id == project.id)
        ).all()
    )


def add_tasks(session: Session, tasks: Iterable[ReviewTask]) -> None:
    session.add_all(list(tasks))
    session.commit()


def project_tasks(session: Session, project: ReviewProject) -> list[ReviewTask]:
    """The review tasks of one project, in slot order."""
    return list(
        session.exec(
            select(ReviewTask)
            .where(ReviewTask.review_project_id == project.id)
            .order_by(col(ReviewTask.slot))
        ).all()
    )


def report_type_tasks(session: Session, report_type: str) -> list[ReviewTask]:
    """The review tasks of every project of a report type (any server), oldest first."""
    projects = [
        p.id
        for p in session.exec(
            select(ReviewProject).where(ReviewProject.report_type == report_type)
        ).all()
    ]
    return list(
        session.exec(
            select(ReviewTask)
            .where(col(ReviewTask.review_project_id).in_(projects))
            .order_by(col(ReviewTask.id))
        ).all()
    )


# --- corrections --------------------------------------------------------------------------


def task_corrections(session: Session, review_task_id: int | None) -> list[ReviewCorrection]:
    """Every stored answer for one field of a task, oldest first."""
    return list(
        session.exec(
            select(ReviewCorrection)
            .where(ReviewCorrection.review_task_id == review_task_id)
            .order_by(col(ReviewCorrection.id))
        ).all()
    )


def accepted_corrections(
    session: Session, review_task_ids: Sequence[int]
) -> list[ReviewCorrection]:
    """The applied answers of these review tasks, oldest first."""
    return list(
        session.exec(
            select(ReviewCorrection)
            .where(
                col(ReviewCorrection.review_task_id).in_(review_task_ids),
                col(ReviewCorrection.accepted),
            )
            .order_by(col(ReviewCorrection.id))
        ).all()
    )


def known_versions(session: Session, task_id: int) -> set[tuple[int, str]]:
    """(annotation id, revision) of every annotation version of a Label Studio task pulled."""
    rows = session.exec(
        select(ReviewCorrection.annotation_id, ReviewCorrection.revision).where(
            ReviewCorrection.task_id == task_id
        )
    ).all()
    return {(a, r) for a, r in rows}


PulledAnswer = tuple[ReviewTask, ReviewCorrection, tuple[Extraction, FieldValue] | None]


def save_answers(session: Session, answers: Iterable[PulledAnswer]) -> None:
    """Store the answers of one annotation version together: each field's correction row,
    its task's new state and, when the answer was applied, the changed record and field."""
    for task, correction, applied in answers:
        if applied is not None:
            session.add_all(applied)
        session.add(correction)
        session.add(task)
    session.commit()


__all__ = [
    "accepted_corrections",
    "add_audit",
    "add_tasks",
    "audited_extractions",
    "audits",
    "create_project",
    "document_of",
    "extraction_row",
    "field_in_context",
    "field_row",
    "find_project",
    "known_versions",
    "project_tasks",
    "report_extractions",
    "report_type_tasks",
    "rows_with_status",
    "save_answers",
    "set_config_version",
    "set_webhook",
    "task_corrections",
    "tasked_field_ids",
]
