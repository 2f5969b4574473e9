"""`structurer review push`: every `needs_review` field becomes a Label Studio task.

Idempotent. A field is tasked once per project (``review_tasks``, unique per field row); a
corrected field is no longer `needs_review`, so it is never tasked again. Every task carries
its key (``fv-<field row id>``) in its data: before importing, the project's tasks are listed
and a task that exists on the server but not in the database (a push that died between the
import and the commit) is adopted instead of imported twice. Tasks are committed batch by
batch, so an interrupted push keeps what it did and the next push finishes the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from structurer.core.report_type import load_report_type
from structurer.review.labeling import ReviewConfig, ReviewField, load_review_config, review_fields
from structurer.review.projects import ensure_project, ensure_webhook
from structurer.review.remote import Remote, open_remote
from structurer.review.tasks import FieldToReview, task_key, task_payload
from structurer.settings import Settings
from structurer.store.models import Document, Extraction, FieldValue, Run
from structurer.store.outcomes import run_extractions
from structurer.store.review_models import ReviewProject, ReviewTask
from structurer.store.session import session_scope

BATCH = 50
Echo = Callable[[str], None]


@dataclass
class PushResult:
    project_id: int
    server: str
    created: int = 0
    already: int = 0  # tasked by an earlier push
    adopted: int = 0  # found on the server, missing in the database
    unknown_paths: int = 0  # rows whose path the schema no longer has
    webhook_registered: bool = False


@dataclass(frozen=True)
class Candidate:
    document: Document
    extraction: Extraction
    row: FieldValue


def needs_review(session: Session, report_type: str, run_id: str | None) -> list[Candidate]:
    """`needs_review` rows of the run's extractions (default: newest extraction per document)."""
    out: list[Candidate] = []
    for document, extraction in run_extractions(session, run_id):
        run = session.get(Run, extraction.run_id)
        if run is None or run.report_type != report_type or extraction.record is None:
            continue
        rows = session.exec(
            select(FieldValue)
            .where(FieldValue.extraction_id == extraction.id, FieldValue.status == "needs_review")
            .order_by(col(FieldValue.id))
        ).all()
        out.extend(Candidate(document, extraction, row) for row in rows)
    return out


def _item(candidate: Candidate, field: ReviewField) -> FieldToReview:
    row = candidate.row
    return FieldToReview(
        field_value_id=row.id or 0,
        extraction_id=candidate.extraction.id or 0,
        run_id=candidate.extraction.run_id,
        document=candidate.document.name,
        text=candidate.document.text,
        field=field,
        value=row.value,
        confidence=row.confidence,
        evidence_start=row.evidence_start,
        evidence_end=row.evidence_end,
    )


def _server_keys(remote: Remote, project_id: int) -> dict[str, int]:
    keys: dict[str, int] = {}
    for task in remote.tasks(project_id, with_annotations=False):
        meta = (task.data or {}).get("structurer") or {}
        if isinstance(meta, dict) and meta.get("key") and task.id is not None:
            keys.setdefault(str(meta["key"]), int(task.id))
    return keys


def _record(session: Session, project: ReviewProject, candidate: Candidate, task_id: int) -> None:
    row = candidate.row
    session.add(
        ReviewTask(
            review_project_id=project.id or 0,
            task_id=task_id,
            field_value_id=row.id or 0,
            extraction_id=candidate.extraction.id or 0,
            path=row.path,
            proposed=row.value,
            confidence=row.confidence,
        )
    )


def _import(
    remote: Remote,
    session: Session,
    project: ReviewProject,
    config: ReviewConfig,
    batch: Sequence[tuple[Candidate, FieldToReview]],
) -> None:
    payload: Any = [task_payload(item, config, project.config_version) for _, item in batch]
    with remote.calling(f"importing {len(payload)} task(s) into project {project.project_id}"):
        answer = remote.client.projects.import_tasks(
            project.project_id,
            request=payload,
            return_task_ids=True,
        )
    ids = list(getattr(answer, "task_ids", None) or [])
    if len(ids) != len(batch):  # cannot pair them by position: pair them by key
        keys = _server_keys(remote, project.project_id)
        ids = [keys[task_key(item.field_value_id)] for _, item in batch]
    for (candidate, _), task_id in zip(batch, ids, strict=True):
        _record(session, project, candidate, int(task_id))
    session.commit()


def push(settings: Settings, run_id: str | None = None, echo: Echo | None = None) -> PushResult:
    """Send every `needs_review` field not yet tasked to the report type's project."""
    rtype = load_report_type(settings.report_type)
    config = load_review_config(rtype.name)
    fields = review_fields(rtype)
    remote = open_remote(settings)  # a clear error before anything is written
    with session_scope(settings) as session:
        project = ensure_project(remote, session, rtype, config)
        result = PushResult(project.project_id, remote.server)
        result.webhook_registered = ensure_webhook(remote, project)
        tasked = set(
            session.exec(
                select(ReviewTask.field_value_id).where(ReviewTask.review_project_id == project.id)
            ).all()
        )
        todo: list[tuple[Candidate, FieldToReview]] = []
        for candidate in needs_review(session, rtype.name, run_id):
            if candidate.row.id in tasked:
                result.already += 1
                continue
            field = fields.get(candidate.row.path)
            if field is None:
                result.unknown_paths += 1
                continue
            todo.append((candidate, _item(candidate, field)))
        if not todo:
            return result
        on_server = _server_keys(remote, project.project_id)
        fresh: list[tuple[Candidate, FieldToReview]] = []
        for candidate, item in todo:
            known = on_server.get(task_key(item.field_value_id))
            if known is None:
                fresh.append((candidate, item))
            else:
                _record(session, project, candidate, known)
                result.adopted += 1
        session.commit()
        for start in range(0, len(fresh), BATCH):
            batch = fresh[start : start + BATCH]
            _import(remote, session, project, config, batch)
            result.created += len(batch)
            if echo:
                echo(f"pushed {result.created}/{len(fresh)} task(s)")
    return result


__all__ = ["Candidate", "PushResult", "needs_review", "push"]
