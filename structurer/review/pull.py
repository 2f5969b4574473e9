"""`structurer review pull`: read submitted annotations back, check them, store them.

Polling: one listing of the project's tasks with their annotations. A task holds the fields of
one report; every new version of an annotation (id + updated_at) is read field by field and
each field's answer is stored in ``review_corrections`` exactly as submitted, valid or not,
with annotator, time, verdict and the raw input; a valid one is applied to the field and the
record (structurer/review/corrections.py). Versions are read oldest first, so an annotator's
newest valid answer wins over their older ones. Two annotators whose answers for a field differ
are a *conflict*: the later answer is stored but not applied, the field's review is marked
``conflict`` and `review stats` lists it until the answers agree. A task whose newest
annotation is invalid for a field is ``rejected`` for that field, which keeps what it had.
Skipped (cancelled) annotations are ignored. One pull at a time per data dir (a file lock), so
the listener and a manual pull do not race.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlmodel import Session

from structurer.core.report_type import ReportType, load_report_type
from structurer.review.corrections import apply_answer, read_annotation
from structurer.review.labeling import (
    ReviewConfig,
    Verdict,
    load_review_config,
    review_fields,
    value_control,
    verdict_control,
)
from structurer.review.remote import Remote, open_remote
from structurer.review.server import ReviewServerError
from structurer.settings import Settings
from structurer.store.models import Document
from structurer.store.review import (
    PulledAnswer,
    document_of,
    extraction_row,
    field_row,
    find_project,
    known_versions,
    project_tasks,
    save_answers,
    task_corrections,
)
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
    conflict: bool = False

    def describe(self) -> str:
        where = f"task {self.task_id} ({self.document} {self.path})"
        if self.conflict:
            return f"conflict {where}: {self.error}; not applied: {self.value!r}"
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
        return [c for c in self.corrections if not c.accepted and not c.conflict]

    @property
    def conflicts(self) -> list[PulledCorrection]:
        return [c for c in self.corrections if c.conflict]


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


def _others(session: Session, task: ReviewTask, annotation_id: int) -> dict[int, ReviewCorrection]:
    """The newest valid answer of this field in every other annotation of its task."""
    newest: dict[int, ReviewCorrection] = {}
    for c in task_corrections(session, task.id):
        if c.annotation_id != annotation_id:
            newest[c.annotation_id] = c
    return {a: c for a, c in newest.items() if c.accepted or c.conflict}


def _outcome(correction: ReviewCorrection) -> tuple[bool, Any]:
    return (correction.verdict == Verdict.not_stated.value, correction.value)


def _handle_field(
    ctx: _Context,
    task: ReviewTask,
    annotation: Mapping[str, Any],
    annotator: str | None,
    document: Document | None,
) -> tuple[PulledCorrection, PulledAnswer]:
    """What one annotation version says about one field, and the rows to store for it."""
    session = ctx.session
    result = annotation.get("result") or []
    annotation_id = int(annotation.get("id") or 0)
    row = field_row(session, task.field_value_id)
    extraction = extraction_row(session, task.extraction_id)
    fields = review_fields(ctx.rtype)
    answer = read_annotation(result, task.slot, fields.get(task.path), task.proposed, ctx.config)
    error = answer.error
    value: Any = answer.value if error is None else None
    warnings = list(answer.warnings)
    conflict = False
    if error is None:
        disagree = [
            c
            for c in _others(session, task, annotation_id).values()
            if _outcome(c) != answer.outcome()
        ]
        if disagree:
            conflict = True
            error = "; ".join(
                f"{c.annotator or 'another annotator'} answered {c.verdict} {c.value!r}"
                for c in disagree
            )
    if error is None and (row is None or extraction is None or extraction.record is None):
        error = "the field's extraction no longer exists (re-extracted?)"
    applied = None
    if error is None and row is not None and extraction is not None:
        try:
            value, warnings = apply_answer(
                ctx.rtype, extraction, row, answer, annotator=annotator, task_id=task.task_id
            )
        except ValueError as exc:
            error, value = str(exc), None
        else:
            applied = (extraction, row)
    accepted = error is None
    correction = ReviewCorrection(
        review_task_id=task.id or 0,
        task_id=task.task_id,
        annotation_id=annotation_id,
        revision=_revision(annotation),
        annotator=annotator,
        annotated_at=_when(annotation.get("updated_at") or annotation.get("created_at")),
        verdict=answer.verdict.value if answer.verdict else None,
        raw_input=answer.raw_input,
        raw_result=[r for r in result if r.get("from_name") in _controls(task.slot)],
        value=value if (accepted or conflict) else None,
        accepted=accepted,
        error=error,
        warnings=warnings,
        conflict=conflict,
    )
    task.state = "corrected" if accepted else "conflict" if conflict else "rejected"
    task.pulled_at = correction.pulled_at
    pulled = PulledCorrection(
        task_id=task.task_id,
        document=document.name if document else "?",
        path=task.path,
        verdict=answer.verdict.value if answer.verdict else None,
        accepted=accepted,
        value=value,
        raw_input=answer.raw_input,
        error=error,
        warnings=warnings,
        conflict=conflict,
    )
    return pulled, (task, correction, applied)


def _controls(slot: int) -> tuple[str, str]:
    return (verdict_control(slot), value_control(slot))


def _revision(annotation: Mapping[str, Any]) -> str:
    return str(annotation.get("updated_at") or annotation.get("created_at") or "")


def _handle_version(
    ctx: _Context, fields: list[ReviewTask], annotation: Mapping[str, Any]
) -> list[PulledCorrection]:
    """Every field of one annotation version, committed together."""
    annotator = _annotator(annotation, ctx.users)
    document = document_of(ctx.session, fields[0].extraction_id)
    handled = [_handle_field(ctx, task, annotation, annotator, document) for task in fields]
    # one annotation version at a time: a later failure loses nothing
    save_answers(ctx.session, [rows for _, rows in handled])
    return [pulled for pulled, _ in handled]


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
    config = load_review_config(rtype)
    remote = open_remote(settings)
    with _pull_lock(settings), session_scope(settings) as session:
        project = _project(session, remote, rtype.name)
        result = PullResult(project.project_id, remote.server)
        ours: dict[int, list[ReviewTask]] = {}
        for t in project_tasks(session, project):
            ours.setdefault(t.task_id, []).append(t)
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
            fields = ours.get(int(server_task.id or 0))
            if not fields:
                continue
            result.tasks_seen += 1
            annotations = [
                a
                for a in (server_task.annotations or [])
                if isinstance(a, Mapping) and not a.get("was_cancelled")
            ]
            annotations.sort(key=lambda a: (str(a.get("updated_at") or ""), int(a.get("id") or 0)))
            known = known_versions(session, fields[0].task_id)
            for annotation in annotations:
                if (int(annotation.get("id") or 0), _revision(annotation)) in known:
                    continue
                for pulled in _handle_version(ctx, fields, annotation):
                    result.corrections.append(pulled)
                    if echo:
                        echo(pulled.describe())
    return result


__all__ = ["PullResult", "PulledCorrection", "pull"]
