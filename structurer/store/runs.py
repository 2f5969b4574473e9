"""Run rows: create, resume, finish; and whether the process running one is still alive.

A run records its pid and host and renews `heartbeat_at` every HEARTBEAT_SECONDS (with the
leases of the documents it holds, store/claims.py). A `running` run whose process is gone
from this host, or whose heartbeat is older than STALE_SECONDS, is marked `dead` (kill -9
leaves no other trace) and its claims are freed.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from structurer.core.types import DocStatus, RunStatus
from structurer.store.models import DocumentClaim, Extraction, LLMCall, Run, utcnow

HOST = socket.gethostname()
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 90.0
LEASE_SECONDS = STALE_SECONDS  # a claim outlives a missed beat or two, not a dead run


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


def resumable_run(session: Session, settings_hash: str, resume: str) -> Run | None:
    """The run `resume` names ("last": the newest unfinished run with these settings hash).
    LookupError when a named run does not exist; ValueError when it ran with other settings."""
    if resume == "last":
        return session.exec(
            select(Run)
            .where(
                Run.settings_hash == settings_hash,
                col(Run.status).in_([RunStatus.interrupted, RunStatus.dead]),
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
    """Continue `run` in this process. ValueError when another live process runs it."""
    if run.status == RunStatus.running and run.pid != os.getpid() and not is_dead(run):
        raise ValueError(f"run {run.id} is running in another process (pid {run.pid})")
    run.status = RunStatus.running
    run.finished_at = None
    run.pid, run.host, run.heartbeat_at = os.getpid(), HOST, time.time()
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
    if run.status != RunStatus.running:
        return False
    now = time.time() if now is None else now
    mine = run.host == HOST and run.pid is not None and run.pid != os.getpid()
    if mine and run.pid is not None and _process_gone(run.pid):
        return True
    return run.heartbeat_at is None or now - run.heartbeat_at > STALE_SECONDS


def reap_dead_runs(session: Session) -> list[str]:
    """Mark dead the runs still `running` that nobody runs any more; free their claims."""
    dead = [
        r
        for r in session.exec(select(Run).where(Run.status == RunStatus.running)).all()
        if is_dead(r)
    ]
    for run in dead:
        # Only if nobody changed it meanwhile (another process may be reaping too).
        session.exec(
            update(Run)  # type: ignore[call-overload]
            .where(col(Run.id) == run.id, col(Run.status) == RunStatus.running)
            .values(status=RunStatus.dead)
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
