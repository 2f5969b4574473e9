"""`structurer review pull`: read submitted annotations back, check them, store them.

Polling: one listing of the project's tasks with their annotations. Every new version of an
annotation (id + updated_at) is stored in ``review_corrections`` exactly as submitted, valid or
not, with annotator, time, verdict and the raw input; a valid one is applied to the field and
the record (structurer/review/corrections.py). Versions are applied oldest first, so the newest
valid annotation of a task wins; a task whose newest annotation is invalid is ``rejected`` and
its field keeps what it had. Skipped (cancelled) annotations are ignored. One pull at a time
per data dir (a file lock), so the listener and a manual pull do not race.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlmodel import Session, select

from structurer.core.report_type import ReportType, load_report_type
from structurer.review.corrections import apply_reading, read_annotation
from structurer.review.labeling import ReviewConfig, load_review_config, review_fields
from structurer.review.projects import find_project
from structurer.review.remote import Remote, open_remote
from structurer.review.server import ReviewServerError
from structurer.settings import Settings
from structurer.store.models import Document, Extraction, FieldValue, utcnow
from structurer.store.review_models import ReviewCorrection, ReviewProject, ReviewTask
from structurer.store.session import session_scope

Echo = Callable[[str], None]


@dataclass
class PulledCorrection:
    task_id: int
    document: str
    path: str
    verdict: str | None
    accepted: bool
    value: Any = None
    raw_input: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = f"task {self.task_id} ({self.document} {self.path})"
        if not self.accepted:
            return f"rejected {where}: {self.error}; kept as typed: {self.raw_input!r}"
        return f"{self.verdict} {where}: {self.value!r}"


@dataclass
class PullResult:
    project_id: int
    server: str
    corrections: list[PulledCorrection] = field(default_factory=list)
    tasks_seen: int = 0

    @property
    def accepted(self) -> list[PulledCorrection]:
        return [c for c in self.corrections if c.accepted]

    @property
    def rejected(self) -> list[PulledCorrection]:
        return [c for c in self.corrections if not c.accepted]


@contextlib.contextmanager
def _pull_lock(settings: Settings) -> Iterator[None]:
    root = Path(settings.data_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(root / ".review-pull.lock"):
        yield


def _when(raw: Any) -> dt.datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def _annotator(annotation: Mapping[str, Any], users: Callable[[], dict[int, str]]) -> str | None:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("username") or who.get("id"))
    if isinstance(who, int):
        return users().get(who, str(who))
    named = annotation.get("created_username")
    return str(named).strip() if named else None


@dataclass
class _Context:
    remote: Remote
    session: Session
    rtype: ReportType
    config: ReviewConfig
    users: Callable[[], dict[int, str]]


def _handle_version(
    ctx: _Context, task: ReviewTask, annotation: Mapping[str, Any]
) -> PulledCorrection:
    session = ctx.session
    result = annotation.get("result") or []
    row = session.get(FieldValue, task.field_value_id)
    extraction = session.get(Extraction, task.extraction_id)
    document = session.get(Document, extraction.document_id) if extraction else None
    text = document.text if document else ""
    fields = review_fields(ctx.rtype)
    reading = read_annotation(result, fields.get(task.path), task.proposed, ctx.config, text)
    annotator = _annotator(annotation, ctx.users)
    error = reading.error
    value: Any = None
    warnings = list(reading.warnings)
    if error is None and (row is None or extraction is None or extraction.record is None):
        error = "the field's extraction no longer exists (re-extracted?)"
    if error is None and row is not None and extraction is not None:
        try:
            value, warnings = apply_reading(
                ctx.rtype,
                extraction,
                row,
                reading,
                annotator=annotator,
                task_id=task.task_id,
                text=text,
            )
        except ValueError as exc:
            error = str(exc)
        else:
            session.add(extraction)
            session.add(row)
    accepted = error is None
    session.add(
        ReviewCorrection(
            review_task_id=task.id or 0,
            task_id=task.task_id,
            annotation_id=int(annotation.get("id") or 0),
            revision=str(annotation.get("updated_at") or annotation.get("created_at") or ""),
            annotator=annotator,
            annotated_at=_when(annotation.get("updated_at") or annotation.get("created_at")),
            verdict=reading.verdict.value if reading.verdict else None,
            raw_input=reading.raw_input,
            raw_result=list(result),
            value=value if accepted else None,
            accepted=accepted,
            error=error,
            warnings=warnings,
        )
    )
    task.state = "corrected" if accepted else "rejected"
    task.pulled_at = utcnow()
    session.add(task)
    session.commit()  # one annotation version at a time: a later failure loses nothing before it
    return PulledCorrection(
        task_id=task.task_id,
        document=document.name if document else "?",
        path=task.path,
        verdict=reading.verdict.value if reading.verdict else None,
        accepted=accepted,
        value=value,
        raw_input=reading.raw_input,
        error=error,
        warnings=warnings,
    )


def _known_versions(session: Session, task: ReviewTask) -> set[tuple[int, str]]:
    rows = session.exec(
        select(ReviewCorrection.annotation_id, ReviewCorrection.revision).where(
            ReviewCorrection.review_task_id == task.id
        )
    ).all()
    return {(a, r) for a, r in rows}


def _project(session: Session, remote: Remote, report_type: str) -> ReviewProject:
    project = find_project(session, remote.server, report_type)
    if project is None:
        raise ReviewServerError(
            f"nothing was pushed to {remote.server} for {report_type} yet; run `structurer review push`"
        )
    return project


def pull(settings: Settings, echo: Echo | None = None) -> PullResult:
    """Read every new annotation of the report type's project and apply the valid ones."""
    rtype = load_report_type(settings.report_type)
    config = load_review_config(rtype.name)
    remote = open_remote(settings)
    with _pull_lock(settings), session_scope(settings) as session:
        project = _project(session, remote, rtype.name)
        result = PullResult(project.project_id, remote.server)
        ours = {
            t.task_id: t
            for t in session.exec(
                select(ReviewTask).where(ReviewTask.review_project_id == project.id)
            ).all()
        }
        server_tasks = remote.tasks(project.project_id, with_annotations=True)
        cache: dict[int, str] = {}

        def users() -> dict[int, str]:
            if not cache:
                try:
                    cache.update(remote.annotators())
                except ReviewServerError:  # e.g. a key that may not list users: names by id
                    cache[-1] = ""
            return cache

        ctx = _Context(remote, session, rtype, config, users)
        for server_task in server_tasks:
            task = ours.get(int(server_task.id or 0))
            if task is None:
                continue
            result.tasks_seen += 1
            annotations = [
                a
                for a in (server_task.annotations or [])
                if isinstance(a, Mapping) and not a.get("was_cancelled")
            ]
            annotations.sort(key=lambda a: (str(a.get("updated_at") or ""), int(a.get("id") or 0)))
            known = _known_versions(session, task)
            for annotation in annotations:
                version = (
                    int(annotation.get("id") or 0),
                    str(annotation.get("updated_at") or annotation.get("created_at") or ""),
                )
                if version in known:
                    continue
                pulled = _handle_version(ctx, task, annotation)
                result.corrections.append(pulled)
                if echo:
                    echo(pulled.describe())
    return result


__all__ = ["PullResult", "PulledCorrection", "pull"]
