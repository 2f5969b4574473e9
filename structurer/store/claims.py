"""Claims on documents in flight, and files skipped as byte-identical copies.

A run claims a document (with its settings hash) before it asks the model; another process
finds the claim and leaves the document alone until the claim is released, expires (its
lease is renewed by the holder's heartbeat, store/runs.py) or its run is no longer running.
Works on SQLite and PostgreSQL alike: a primary key insert, then a conditional update.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from structurer.core.types import RunStatus
from structurer.store.models import DocumentClaim, DuplicateFile, Run
from structurer.store.runs import LEASE_SECONDS


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
        not_running = select(Run.id).where(col(Run.status) != RunStatus.running)
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
