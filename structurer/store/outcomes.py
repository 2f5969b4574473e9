"""Persisting documents, runs and extraction outcomes; reading them back."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from structurer.core.types import CallRecord, DocStatus, DocumentOutcome, LoadedDocument
from structurer.redact import redact
from structurer.store.models import (
    Document,
    DuplicateFile,
    Extraction,
    FieldValue,
    LLMCall,
    Run,
)


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
        t = c.timings
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
                prompt_processed=None if t is None else t.prompt_n,
                prompt_reused=None if t is None else t.cache_n,
                prefill_ms=None if t is None else round(t.prompt_ms, 1),
                decode_tokens=None if t is None else t.predicted_n,
                decode_ms=None if t is None else round(t.predicted_ms, 1),
                draft_tokens=None if t is None else t.draft_n,
                draft_accepted=None if t is None else t.draft_accepted,
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


def run_field_rows(session: Session, run_id: str | None) -> list[FieldValue]:
    """Every field row of a run's extractions (None: the newest extraction of each document)."""
    return [
        fv for _, ex in run_extractions(session, run_id) for fv in field_rows(session, ex.id or 0)
    ]


def save_field_rows(session: Session, rows: Sequence[FieldValue]) -> None:
    """Write changed field rows (confidence, status) back, in one commit."""
    for row in rows:
        session.add(row)
    session.commit()


def extraction_of(session: Session, run_id: str, document_id: int) -> Extraction | None:
    return session.exec(
        select(Extraction).where(Extraction.run_id == run_id, Extraction.document_id == document_id)
    ).first()


def store_unreadable(
    session: Session,
    *,
    name: str,
    path: str,
    sha256: str,
    run_id: str,
    settings_hash: str,
    error: str,
) -> int:
    """A document that could not be read: its bytes' hash and a failed extraction (idempotent
    across processes). Returns the document id."""
    doc_row = session.exec(select(Document).where(Document.sha256 == sha256)).first()
    if doc_row is None:
        doc_row = Document(
            name=name, source_path=path, sha256=sha256, text="", source_format="unreadable"
        )
        session.add(doc_row)
        try:
            session.commit()
        except IntegrityError:  # another process stored the same bytes first
            session.rollback()
            doc_row = session.exec(select(Document).where(Document.sha256 == sha256)).one()
    document_id = doc_row.id or 0
    if extraction_of(session, run_id, document_id) is None:
        session.add(
            Extraction(
                run_id=run_id,
                document_id=document_id,
                settings_hash=settings_hash,
                status=DocStatus.failed,
                error=redact(error),
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
    return document_id
