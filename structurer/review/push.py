"""`structurer review push`: the fields of every report that need a person become one Label
Studio task per report (split per section past a screenful of fields).

A field needs a person when it is `needs_review`, or when it is drawn into the audit sample
(`--audit 0.02`: a seeded, recorded random share of the auto-accepted fields, pushed into the
same tasks and shown the same way, so the error rate of what is auto-accepted can be
estimated: `review stats`). Each extraction is audited once.

Idempotent. A field is tasked once per project (``review_tasks``, unique per field row); a
reviewed field is no longer `needs_review`, so it is never tasked again. Every task carries
its key (``ex-<extraction>-fv-<first field>``) in its data: before importing, the project's
tasks are listed and a task that exists on the server but not in the database (a push that
died between the import and the commit) is adopted instead of imported twice. Tasks are
committed batch by batch, so an interrupted push keeps what it did.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from structurer.confidence.signals import features
from structurer.core.records import flatten
from structurer.core.report_type import load_report_type
from structurer.core.types import FieldStatus
from structurer.review.labeling import ReviewConfig, ReviewField, load_review_config, review_fields
from structurer.review.projects import ensure_project, ensure_task_list, ensure_webhook
from structurer.review.reasons import reason_keys, reason_words
from structurer.review.remote import Remote, open_remote
from structurer.review.tasks import FieldToReview, ReportTask, task_payload
from structurer.settings import Settings
from structurer.store.models import Document, Extraction, FieldValue
from structurer.store.review import (
    add_audit,
    add_tasks,
    audited_extractions,
    audits,
    field_in_context,
    report_extractions,
    rows_with_status,
    tasked_field_ids,
)
from structurer.store.review_models import ReviewAudit, ReviewProject, ReviewTask
from structurer.store.session import session_scope

BATCH = 20  # tasks per import call
Echo = Callable[[str], None]


@dataclass
class CreatedTask:
    task_id: int
    document: str
    n_fields: int
    n_audit: int
    lowest_confidence: float | None

    def describe(self) -> str:
        low = "—" if self.lowest_confidence is None else f"{self.lowest_confidence:.2f}"
        audit = f", {self.n_audit} audited" if self.n_audit else ""
        return (
            f"task {self.task_id}: {self.document}: {self.n_fields} field(s){audit}, "
            f"lowest confidence {low}"
        )


@dataclass
class PushResult:
    project_id: int
    server: str
    created: int = 0  # tasks
    fields: int = 0  # fields in the tasks created
    already: int = 0  # fields tasked by an earlier push
    adopted: int = 0  # tasks found on the server, missing in the database
    unknown_paths: int = 0  # rows whose path the schema no longer has
    webhook_registered: bool = False
    audit: ReviewAudit | None = None
    tasks: list[CreatedTask] = field(default_factory=list)


@dataclass(frozen=True)
class PickedField:
    """A field row picked for review (flagged, or drawn into the audit), with its report."""

    document: Document
    extraction: Extraction
    row: FieldValue
    audit: bool = False


def needs_review(session: Session, report_type: str, run_id: str | None) -> list[PickedField]:
    """`needs_review` rows of the run's extractions (default: newest extraction per document)."""
    return [
        PickedField(document, extraction, row)
        for document, extraction in report_extractions(session, report_type, run_id)
        for row in rows_with_status(session, extraction.id or 0, FieldStatus.needs_review)
    ]


def draw_audit(
    session: Session,
    report_type: str,
    run_id: str | None,
    rate: float,
    seed: int | None,
    tasked: set[int],
) -> tuple[ReviewAudit | None, list[PickedField]]:
    """A random ``rate`` share of the auto-accepted fields of extractions not audited before."""
    if not 0 < rate <= 1:
        raise ValueError(f"the audit rate must be in (0, 1], got {rate}")
    audited = audited_extractions(session)
    population: list[PickedField] = []
    extraction_ids: list[int] = []
    for document, extraction in report_extractions(session, report_type, run_id):
        if extraction.id in audited:
            continue
        extraction_ids.append(extraction.id or 0)
        population.extend(
            PickedField(document, extraction, row, audit=True)
            for row in rows_with_status(session, extraction.id or 0, FieldStatus.auto)
            if row.id not in tasked
        )
    if not extraction_ids:
        return None, []
    seed = secrets.randbelow(2**31) if seed is None else seed
    k = min(len(population), max(1, round(rate * len(population)))) if population else 0
    chosen = random.Random(seed).sample(population, k)
    chosen.sort(key=lambda c: c.row.id or 0)
    audit = add_audit(
        session,
        ReviewAudit(
            run_id=run_id,
            rate=rate,
            seed=seed,
            population=len(population),
            sampled=k,
            field_value_ids=[c.row.id or 0 for c in chosen],
            extraction_ids=extraction_ids,
        ),
    )
    return audit, chosen


def _pending_audits(session: Session, tasked: set[int]) -> dict[int, tuple[int, PickedField]]:
    """Field row id -> (audit id, candidate) of every audited field not tasked yet whose row
    is still auto-accepted."""
    out: dict[int, tuple[int, PickedField]] = {}
    for audit in audits(session):
        for fv_id in audit.field_value_ids or []:
            if fv_id in tasked or fv_id in out:
                continue
            found = field_in_context(session, fv_id)
            if found is None or found[0].status != FieldStatus.auto:
                continue
            row, extraction, document = found
            out[fv_id] = (audit.id or 0, PickedField(document, extraction, row, audit=True))
    return out


def _item(candidate: PickedField, field_: ReviewField, config: ReviewConfig) -> FieldToReview:
    row = candidate.row
    signals = row.signals or {}
    keys = reason_keys(row.alignment, signals, flagged=not candidate.audit)
    return FieldToReview(
        field_value_id=row.id or 0,
        field=field_,
        value=row.value,
        confidence=row.confidence,
        evidence_start=row.evidence_start,
        evidence_end=row.evidence_end,
        section=config.section_of(row.path),
        why=reason_words(keys, config.reasons, signals, config.word("card.reasons_separator")),
        reasons=tuple(keys),
        audit=candidate.audit,
        features=features(row.reader, row.alignment, signals, row.value),
    )


def _chunks(items: list[FieldToReview], limit: int) -> list[list[FieldToReview]]:
    """One chunk when the items fit a screenful; else whole sections packed up to ``limit``
    (a section longer than that alone, in pieces of ``limit``)."""
    if len(items) <= limit:
        return [items]
    sections: list[list[FieldToReview]] = []
    for item in items:
        if sections and sections[-1][0].section == item.section:
            sections[-1].append(item)
        else:
            sections.append([item])
    out: list[list[FieldToReview]] = []
    for section in sections:
        pieces = [section[i : i + limit] for i in range(0, len(section), limit)]
        for piece in pieces:
            if out and len(out[-1]) + len(piece) <= limit and len(pieces) == 1:
                out[-1].extend(piece)
            else:
                out.append(list(piece))
    return out


def report_tasks(
    candidates: Sequence[PickedField], fields: dict[str, ReviewField], config: ReviewConfig
) -> tuple[list[ReportTask], int]:
    """The tasks of these fields, one per report (or per group of its sections), and the
    number of fields whose path the schema no longer has."""
    order = {path: i for i, path in enumerate(fields)}
    by_extraction: dict[int, list[PickedField]] = {}
    unknown = 0
    for c in candidates:
        if c.row.path not in fields:
            unknown += 1
            continue
        by_extraction.setdefault(c.extraction.id or 0, []).append(c)
    tasks: list[ReportTask] = []
    for group in by_extraction.values():
        document, extraction = group[0].document, group[0].extraction
        items = [_item(c, fields[c.row.path], config) for c in group]
        items.sort(key=lambda i: (config.section_rank(i.section), order[i.field.path]))
        flat = flatten(extraction.record or {})
        for chunk in _chunks(items, config.max_fields_per_task):
            tasks.append(
                ReportTask(
                    extraction_id=extraction.id or 0,
                    run_id=extraction.run_id,
                    document=document.name,
                    text=document.text,
                    items=chunk,
                    body=flat.get(config.body_path) if config.body_path else None,
                    year=flat.get(config.year_path) if config.year_path else None,
                )
            )
    tasks.sort(key=lambda t: (t.document, t.key))
    return tasks, unknown


def _server_tasks(remote: Remote, project_id: int) -> dict[str, tuple[int, list[int]]]:
    """key -> (task id, field row ids in slot order) of the project's tasks."""
    found: dict[str, tuple[int, list[int]]] = {}
    for task in remote.tasks(project_id, with_annotations=False):
        meta = (task.data or {}).get("structurer") or {}
        if isinstance(meta, dict) and meta.get("key") and task.id is not None:
            ids = [int(i) for i in meta.get("field_value_ids") or []]
            found.setdefault(str(meta["key"]), (int(task.id), ids))
    return found


def _record(
    session: Session,
    project: ReviewProject,
    task: ReportTask,
    task_id: int,
    slots: Sequence[int],
    audit_ids: dict[int, int],
) -> None:
    """The task's fields, each in its slot (``slots``: the field row ids in slot order)."""
    where = {fv: slot for slot, fv in enumerate(slots)}
    add_tasks(
        session,
        (
            ReviewTask(
                review_project_id=project.id or 0,
                task_id=task_id,
                field_value_id=item.field_value_id,
                extraction_id=task.extraction_id,
                path=item.field.path,
                proposed=item.value,
                confidence=item.confidence,
                task_key=task.key,
                slot=where[item.field_value_id],
                section=item.section,
                audit_id=audit_ids.get(item.field_value_id) if item.audit else None,
                features=item.features,
                reasons=list(item.reasons),
            )
            for item in task.items
            # a field not in the task found on the server was tasked by a later push
            if item.field_value_id in where
        ),
    )


def _import(
    remote: Remote,
    session: Session,
    project: ReviewProject,
    config: ReviewConfig,
    batch: Sequence[ReportTask],
    audit_ids: dict[int, int],
) -> list[int]:
    payload: Any = [task_payload(t, config, project.config_version) for t in batch]
    with remote.calling(f"importing {len(payload)} task(s) into project {project.project_id}"):
        answer = remote.client.projects.import_tasks(
            project.project_id,
            request=payload,
            return_task_ids=True,
        )
    ids = [int(i) for i in (getattr(answer, "task_ids", None) or [])]
    if len(ids) != len(batch):  # cannot pair them by position: pair them by key
        on_server = _server_tasks(remote, project.project_id)
        ids = [on_server[t.key][0] for t in batch]
    for task, task_id in zip(batch, ids, strict=True):
        _record(session, project, task, task_id, [i.field_value_id for i in task.items], audit_ids)
    return ids


def push(
    settings: Settings,
    run_id: str | None = None,
    echo: Echo | None = None,
    *,
    audit: float | None = None,
    seed: int | None = None,
) -> PushResult:
    """Send every `needs_review` field not yet tasked (and, with ``audit``, a random share of
    the auto-accepted ones) to the report type's project, one task per report."""
    rtype = load_report_type(settings.report_type)
    config = load_review_config(rtype)
    fields = review_fields(rtype)
    remote = open_remote(settings)  # a clear error before anything is written
    with session_scope(settings) as session:
        project = ensure_project(remote, session, rtype, config)
        ensure_task_list(remote, project, config.word("task_list.title"))
        result = PushResult(project.project_id, remote.server)
        result.webhook_registered = ensure_webhook(remote, project)
        tasked = tasked_field_ids(session, project)
        candidates = []
        for candidate in needs_review(session, rtype.name, run_id):
            if candidate.row.id in tasked:
                result.already += 1
            else:
                candidates.append(candidate)
        if audit:
            result.audit, _ = draw_audit(session, rtype.name, run_id, audit, seed, tasked)
        pending = _pending_audits(session, tasked)  # also those of a push that died
        candidates.extend(c for _, c in pending.values())
        tasks, result.unknown_paths = report_tasks(candidates, fields, config)
        if not tasks:
            return result
        audit_ids = {fv: a for fv, (a, _) in pending.items()}
        on_server = _server_tasks(remote, project.project_id)
        fresh: list[ReportTask] = []
        for task in tasks:
            known = on_server.get(task.key)
            if known is None:
                fresh.append(task)
            else:
                _record(session, project, task, known[0], known[1], audit_ids)
                result.adopted += 1
        for start in range(0, len(fresh), BATCH):
            batch = fresh[start : start + BATCH]
            ids = _import(remote, session, project, config, batch, audit_ids)
            for task, task_id in zip(batch, ids, strict=True):
                created = CreatedTask(
                    task_id, task.document, len(task.items), task.n_audit, task.lowest_confidence
                )
                result.tasks.append(created)
                result.created += 1
                result.fields += len(task.items)
                if echo:
                    echo(created.describe())
    return result


__all__ = ["PickedField", "CreatedTask", "PushResult", "draw_audit", "needs_review", "push"]
