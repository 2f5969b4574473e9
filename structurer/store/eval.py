"""The queries of the eval harness: eval run rows, the extraction run an eval scores, the cost
of a document's extraction, and the reviewed extractions a gold candidate comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from structurer.store.eval_models import EvalRun
from structurer.store.models import Document, Extraction, LLMCall, Run, utcnow


def find_extract_run(session: Session, ref: str) -> Run | None:
    """An extraction run by id or by unique id prefix."""
    run = session.get(Run, ref)
    if run is None:
        matches = session.exec(
            select(Run).where(col(Run.id).startswith(ref), Run.kind == "extract")
        ).all()
        run = matches[0] if len(matches) == 1 else None
    return run if run is not None and run.kind == "extract" else None


def document_by_sha(session: Session, sha256: str) -> Document | None:
    return session.exec(select(Document).where(Document.sha256 == sha256)).first()


def origin_extraction(session: Session, extraction: Extraction) -> Extraction:
    """The extraction that made this record: itself, or (for a reused copy, which costs
    nothing) the newest earlier extraction of the same document and settings that ran."""
    if extraction.seconds > 0 or extraction.tokens_in > 0:
        return extraction
    stmt = (
        select(Extraction)
        .where(
            Extraction.document_id == extraction.document_id,
            Extraction.settings_hash == extraction.settings_hash,
            Extraction.status == extraction.status,
            col(Extraction.id) < (extraction.id or 0),
            col(Extraction.seconds) > 0,
        )
        .order_by(col(Extraction.id).desc())
    )
    return session.exec(stmt).first() or extraction


def document_calls(session: Session, run_id: str, document_id: int) -> list[LLMCall]:
    """The model calls a run made for one document."""
    return list(
        session.exec(
            select(LLMCall).where(LLMCall.run_id == run_id, LLMCall.document_id == document_id)
        ).all()
    )


def save_eval_run(
    session: Session,
    eval_id: str,
    name: str | None,
    extract_run_id: str,
    settings: dict[str, Any],
    results: dict[str, Any],
    *,
    n_docs: int,
    n_failed: int,
    git_commit: str | None,
    gold_dir: Path,
    corpus_dir: Path,
    out_dir: Path,
) -> None:
    """A ``runs`` row of kind ``eval`` (described like the extraction run it scored) and its
    ``eval_runs`` row, in one commit."""
    extract_run = session.get(Run, extract_run_id)
    assert extract_run is not None
    session.add(
        Run(
            id=eval_id,
            name=name,
            kind="eval",
            report_type=extract_run.report_type,
            prompt_version=extract_run.prompt_version,
            model=extract_run.model,
            settings=settings,
            settings_hash=extract_run.settings_hash,
            calibration_version=extract_run.calibration_version,
            status="done",
            n_docs=n_docs,
            n_failed=n_failed,
            finished_at=utcnow(),
        )
    )
    session.flush()
    session.add(
        EvalRun(
            id=eval_id,
            name=name,
            extract_run_id=extract_run_id,
            gold_dir=str(gold_dir),
            corpus_dir=str(corpus_dir),
            out_dir=str(out_dir),
            git_commit=git_commit,
            settings=settings,
            results=results,
        )
    )
    session.commit()


def find_eval(session: Session, ref: str) -> EvalRun | None:
    """An eval run by id, by name (the newest of that name) or by unique id prefix."""
    found = session.get(EvalRun, ref)
    if found is not None:
        return found
    named = session.exec(
        select(EvalRun).where(EvalRun.name == ref).order_by(col(EvalRun.created_at).desc())
    ).first()
    if named is not None:
        return named
    prefixed = session.exec(select(EvalRun).where(col(EvalRun.id).startswith(ref))).all()
    return prefixed[0] if len(prefixed) == 1 else None


def eval_runs(session: Session) -> list[EvalRun]:
    """Every stored eval run, newest first."""
    return list(session.exec(select(EvalRun).order_by(col(EvalRun.created_at).desc())).all())


def extractions_with_record(session: Session, document_id: int | None) -> list[Extraction]:
    """A document's extractions that hold a record, newest first."""
    return list(
        session.exec(
            select(Extraction)
            .where(Extraction.document_id == document_id, col(Extraction.record).is_not(None))
            .order_by(col(Extraction.id).desc())
        ).all()
    )


def get_document(session: Session, document_id: int | None) -> Document | None:
    return None if document_id is None else session.get(Document, document_id)
