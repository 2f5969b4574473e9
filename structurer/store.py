"""Persisting documents, runs and extraction outcomes; reading them back."""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from structurer.db.models import (
    Document,
    DocumentClaim,
    DuplicateFile,
    Extraction,
    FieldValue,
    LLMCall,
    Run,
    utcnow,
)
from structurer.extract.pipeline import CallRecord, DocumentOutcome
from structurer.redact import redact
from structurer.types import LoadedDocument

HOST = socket.gethostname()
# A run renews its heartbeat (and its claims) every HEARTBEAT_SECONDS; a run silent for
# STALE_SECONDS, or whose process is gone from this host, is dead.
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 90.0
LEASE_SECONDS = STALE_SECONDS


def upsert_document(session: Session, doc: LoadedDocument) -> Document:
    found = session.exec(select(Document).where(Document.sha256 == doc.sha256)).first()
    if found is not None:
        return found
    row = Document(
        name=doc.name,
        source_path=doc.path,
        sha256=doc.sha256,
        text=doc.text,
        source_format=doc.source_format,
        encoding=doc.encoding,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # another process stored the same bytes first
        session.rollback()
        return session.exec(select(Document).where(Document.sha256 == doc.sha256)).one()
    session.refresh(row)
    return row


def create_run(
    session: Session,
    settings_dict: dict[str, Any],
    settings_hash: str,
    *,
    name: str | None = None,
    kind: str = "extract",
) -> Run:
    run = Run(
        pid=os.getpid(),
        host=HOST,
        heartbeat_at=time.time(),
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
    session.exec(delete(DocumentClaim).where(col(DocumentClaim.run_id) == run.id))  # type: ignore[call-overload]
    session.commit()


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's live process
        return False
    return False


def is_dead(run: Run, now: float | None = None) -> bool:
    """A `running` run whose process is gone from this host or whose heartbeat is stale."""
    if run.status != "running":
        return False
    now = time.time() if now is None else now
    mine = run.host == HOST and run.pid is not None and run.pid != os.getpid()
    if mine and run.pid is not None and _process_gone(run.pid):
        return True
    return run.heartbeat_at is None or now - run.heartbeat_at > STALE_SECONDS


def reap_dead_runs(session: Session) -> list[str]:
    """Mark dead the runs still `running` that nobody runs any more; free their claims."""
    dead = [r for r in session.exec(select(Run).where(Run.status == "running")).all() if is_dead(r)]
    for run in dead:
        # Only if nobody changed it meanwhile (another process may be reaping too).
        session.exec(
            update(Run)  # type: ignore[call-overload]
            .where(col(Run.id) == run.id, col(Run.status) == "running")
            .values(status="dead")
        )
        session.exec(delete(DocumentClaim).where(col(DocumentClaim.run_id) == run.id))  # type: ignore[call-overload]
    session.commit()
    return [r.id for r in dead]


def heartbeat(session: Session, run_id: str) -> None:
    """The run is alive: its heartbeat and the leases of the documents it holds move on."""
    now = time.time()
    session.exec(update(Run).where(col(Run.id) == run_id).values(heartbeat_at=now))  # type: ignore[call-overload]
    session.exec(
        update(DocumentClaim)  # type: ignore[call-overload]
        .where(col(DocumentClaim.run_id) == run_id)
        .values(expires_at=now + LEASE_SECONDS)
    )
    session.commit()


def claim_document(
    session: Session, document_id: int, settings_hash: str, run_id: str
) -> str | None:
    """Claim a document for extraction with these settings. None: it is ours now; else the
    id of the run that holds it (alive, lease not expired)."""
    now = time.time()
    for _ in range(3):
        session.add(
            DocumentClaim(
                document_id=document_id,
                settings_hash=settings_hash,
                run_id=run_id,
                expires_at=now + LEASE_SECONDS,
            )
        )
        try:
            session.commit()
            return None
        except IntegrityError:
            session.rollback()
        holder = session.exec(
            select(DocumentClaim.run_id).where(
                DocumentClaim.document_id == document_id,
                DocumentClaim.settings_hash == settings_hash,
            )
        ).first()
        if holder is None:
            continue  # released meanwhile: try again
        not_running = select(Run.id).where(col(Run.status) != "running")
        taken = session.exec(
            update(DocumentClaim)  # type: ignore[call-overload]
            .where(
                col(DocumentClaim.document_id) == document_id,
                col(DocumentClaim.settings_hash) == settings_hash,
                col(DocumentClaim.run_id) == holder,
                or_(
                    col(DocumentClaim.run_id) == run_id,
                    col(DocumentClaim.expires_at) < now,
                    col(DocumentClaim.run_id).in_(not_running),
                ),
            )
            .values(run_id=run_id, expires_at=now + LEASE_SECONDS)
        )
        session.commit()
        return None if taken.rowcount == 1 else holder
    return None


def release_claim(session: Session, document_id: int, settings_hash: str, run_id: str) -> None:
    session.exec(
        delete(DocumentClaim).where(  # type: ignore[call-overload]
            col(DocumentClaim.document_id) == document_id,
            col(DocumentClaim.settings_hash) == settings_hash,
            col(DocumentClaim.run_id) == run_id,
        )
    )
    session.commit()


def record_duplicate(
    session: Session, run_id: str, document_id: int, path: str, duplicate_of: str
) -> None:
    session.add(
        DuplicateFile(run_id=run_id, document_id=document_id, path=path, duplicate_of=duplicate_of)
    )
    session.commit()


def duplicates_of(
    session: Session, document_id: int, run_id: str | None = None
) -> list[DuplicateFile]:
    """Files skipped as byte-identical copies of this document (in one run, or any)."""
    stmt = select(DuplicateFile).where(DuplicateFile.document_id == document_id)
    if run_id:
        stmt = stmt.where(DuplicateFile.run_id == run_id)
    return list(session.exec(stmt.order_by(col(DuplicateFile.id))).all())


def reusable_extraction(session: Session, sha256: str, settings_hash: str) -> Extraction | None:
    """A successful extraction of the same bytes with the same settings (any run)."""
    stmt = (
        select(Extraction)
        .join(Document, col(Document.id) == col(Extraction.document_id))
        .where(
            Document.sha256 == sha256,
            Extraction.settings_hash == settings_hash,
            Extraction.status == "ok",
        )
        .order_by(col(Extraction.id).desc())
    )
    return session.exec(stmt).first()


def save_calls(
    session: Session, run_id: str | None, document_id: int | None, calls: list[CallRecord]
) -> None:
    for c in calls:
        session.add(
            LLMCall(
                run_id=run_id,
                document_id=document_id,
                part=c.part,
                model=c.model,
                prompt_version=c.prompt_version,
                request_hash=c.request_hash,
                request=c.request,
                response=c.response,
                tokens_in=c.tokens_in,
                tokens_out=c.tokens_out,
                latency_ms=c.latency_ms,
                retries=c.retries,
                cached=c.cached,
                error=redact(c.error) if c.error else None,
            )
        )


def save_outcome(
    session: Session, run: Run, document: Document, outcome: DocumentOutcome
) -> Extraction:
    """Store one outcome atomically; replaces an earlier extraction of the document in this run."""
    old = session.exec(
        select(Extraction).where(Extraction.run_id == run.id, Extraction.document_id == document.id)
    ).first()
    if old is not None:
        for fv in session.exec(select(FieldValue).where(FieldValue.extraction_id == old.id)).all():
            session.delete(fv)
        session.delete(old)
        session.flush()
    extraction = Extraction(
        run_id=run.id,
        document_id=document.id or 0,
        settings_hash=run.settings_hash,
        status=outcome.status,
        error=redact(outcome.error) if outcome.error else None,
        record=outcome.record,
        identity_breaks=outcome.identity_breaks,
        detected_format=outcome.detected_format,
        tokens_in=outcome.tokens_in,
        tokens_out=outcome.tokens_out,
        seconds=round(outcome.seconds, 3),
    )
    session.add(extraction)
    session.flush()
    for row in outcome.fields:
        ev = row.evidence
        session.add(
            FieldValue(
                extraction_id=extraction.id or 0,
                path=row.path,
                value=row.value,
                reader=row.reader,
                evidence_start=ev.start if ev else None,
                evidence_end=ev.end if ev else None,
                quote=ev.quote if ev else None,
                alignment=ev.status.value if ev else None,
                confidence=row.confidence,
                status=row.status.value,
                signals=row.signals,
            )
        )
    save_calls(session, run.id, document.id, outcome.calls)
    session.commit()
    return extraction


def copy_extraction(session: Session, run: Run, source: Extraction) -> Extraction:
    """Reuse a stored extraction in another run (same bytes, same settings): no model calls."""
    copy = Extraction(
        run_id=run.id,
        document_id=source.document_id,
        settings_hash=source.settings_hash,
        status=source.status,
        error=source.error,
        record=source.record,
        identity_breaks=source.identity_breaks,
        detected_format=source.detected_format,
        tokens_in=0,
        tokens_out=0,
        seconds=0.0,
    )
    session.add(copy)
    session.flush()
    for fv in session.exec(select(FieldValue).where(FieldValue.extraction_id == source.id)).all():
        data = fv.model_dump(exclude={"id", "extraction_id"})
        session.add(FieldValue(extraction_id=copy.id or 0, **data))
    session.commit()
    return copy


def latest_extraction(
    session: Session, doc_ref: str, run_id: str | None = None
) -> tuple[Document, Extraction] | None:
    """Find a document by id, name, path or sha256 prefix, and its newest extraction."""
    stmt = select(Document)
    if doc_ref.isdigit():
        stmt = stmt.where(Document.id == int(doc_ref))
    else:
        stmt = stmt.where(
            or_(
                col(Document.name) == doc_ref,
                col(Document.source_path) == doc_ref,
                col(Document.sha256).startswith(doc_ref),
            )
        )
    doc = session.exec(stmt.order_by(col(Document.id).desc())).first()
    if doc is None:  # a file skipped as a copy of another: its document
        copy = session.exec(
            select(DuplicateFile)
            .where(col(DuplicateFile.path) == doc_ref)
            .order_by(col(DuplicateFile.id).desc())
        ).first()
        doc = session.get(Document, copy.document_id) if copy is not None else None
    if doc is None:
        return None
    q = select(Extraction).where(Extraction.document_id == doc.id)
    if run_id:
        q = q.where(Extraction.run_id == run_id)
    extraction = session.exec(q.order_by(col(Extraction.id).desc())).first()
    if extraction is None:
        return None
    return doc, extraction


def field_rows(session: Session, extraction_id: int) -> list[FieldValue]:
    return list(
        session.exec(
            select(FieldValue)
            .where(FieldValue.extraction_id == extraction_id)
            .order_by(col(FieldValue.id))
        ).all()
    )


def run_extractions(session: Session, run_id: str | None) -> list[tuple[Document, Extraction]]:
    """Extractions of a run, or the newest extraction of every document when run is None."""
    if run_id:
        rows = session.exec(
            select(Document, Extraction)
            .join(Extraction, col(Extraction.document_id) == col(Document.id))
            .where(Extraction.run_id == run_id)
            .order_by(col(Document.name))
        ).all()
        return [(d, e) for d, e in rows]
    latest: dict[int, tuple[Document, Extraction]] = {}
    for d, e in session.exec(
        select(Document, Extraction)
        .join(Extraction, col(Extraction.document_id) == col(Document.id))
        .order_by(col(Extraction.id))
    ).all():
        latest[d.id or 0] = (d, e)
    return sorted(latest.values(), key=lambda pair: pair[0].name)
