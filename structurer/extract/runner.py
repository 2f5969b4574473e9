"""Run extraction over many documents: read, skip what is already done, extract, store."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from structurer.confidence.route import review_policy, route_rows, score_rows
from structurer.db.models import Document, Extraction
from structurer.db.session import session_scope
from structurer.documents.reader import DocumentError, read_document
from structurer.extract.pipeline import DocumentOutcome, extract_document
from structurer.prompts import PromptSet
from structurer.providers.llm import LLMClient
from structurer.report_types import ReportType, load_report_type
from structurer.settings import Settings
from structurer.store import copy_extraction, create_run, finish_run, reusable_extraction, save_outcome

TEXT_SUFFIXES = {".txt", ".text", ".html", ".htm", ".pdf", ".md"}


@dataclass
class DocResult:
    name: str
    path: str
    status: str  # ok | failed | skipped
    error: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    n_fields: int = 0
    n_review: int = 0
    document_id: int | None = None


@dataclass
class RunSummary:
    run_id: str
    results: list[DocResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[DocResult]:
        return [r for r in self.results if r.status == "failed"]


def resolve_paths(inputs: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Files, directories (recursively, known suffixes) and globs -> files; plus inputs that matched nothing."""
    found: list[Path] = []
    missing: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if matches:
                found.extend(matches)
            else:
                missing.append(item)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, missing


def run_settings(settings: Settings, prompts: PromptSet) -> tuple[dict[str, Any], str]:
    data = settings.extraction_settings()
    data["prompt"] = prompts.fingerprint
    blob = repr(sorted(data.items()))
    return data, hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_llm(settings: Settings, http_client: httpx.Client | None = None) -> LLMClient:
    if settings.uses_embedded_model:
        from structurer.model.server import ensure_running

        base_url = ensure_running(settings)
    else:
        base_url = settings.openai_base_url or ""
    return LLMClient(settings, base_url, http_client=http_client)


def process_one(
    path: Path,
    settings: Settings,
    rtype: ReportType,
    prompts: PromptSet,
    get_llm: Callable[[], LLMClient],
    run_id: str,
    settings_hash: str,
    *,
    reuse: bool = True,
) -> DocResult:
    """Read, extract and store one document. Never raises for a bad document."""
    try:
        doc = read_document(path)
    except DocumentError as exc:
        return _store_unreadable(path, str(exc), settings, run_id, settings_hash)
    from structurer.store import upsert_document

    with session_scope(settings) as session:
        doc_row = upsert_document(session, doc)
        if reuse:
            previous = reusable_extraction(session, doc.sha256, settings_hash)
            if previous is not None:
                from structurer.db.models import Run

                run = session.get(Run, run_id)
                assert run is not None
                if previous.run_id != run_id:
                    copy_extraction(session, run, previous)
                return DocResult(doc.name, str(path), "skipped", document_id=doc_row.id)
    try:
        outcome = extract_document(doc, rtype, get_llm(), prompts, settings)
    except Exception as exc:  # noqa: BLE001 - one bad document never stops the batch
        outcome = DocumentOutcome(doc, "failed", f"{type(exc).__name__}: {exc}"[:300], None, [], [], None, [], 0.0)
    score_rows(outcome.fields, outcome.identity_breaks, settings)
    route_rows(outcome.fields, review_policy(settings))
    with session_scope(settings) as session:
        from structurer.db.models import Run

        run = session.get(Run, run_id)
        assert run is not None
        save_outcome(session, run, doc_row, outcome)
    return DocResult(
        doc.name,
        str(path),
        outcome.status,
        outcome.error,
        outcome.tokens_in,
        outcome.tokens_out,
        outcome.seconds,
        n_fields=len(outcome.fields),
        n_review=sum(1 for f in outcome.fields if f.status.value == "needs_review"),
        document_id=doc_row.id,
    )


def _store_unreadable(path: Path, error: str, settings: Settings, run_id: str, settings_hash: str) -> DocResult:
    """Record a document that could not be read: its bytes' hash and the error."""
    try:
        data = path.read_bytes()
    except OSError:
        return DocResult(path.name, str(path), "failed", error)
    sha = hashlib.sha256(data).hexdigest()
    with session_scope(settings) as session:
        from sqlmodel import select

        doc_row = session.exec(select(Document).where(Document.sha256 == sha)).first()
        if doc_row is None:
            doc_row = Document(name=path.name, source_path=str(path), sha256=sha, text="", source_format="unreadable")
            session.add(doc_row)
            session.flush()
        existing = session.exec(
            select(Extraction).where(Extraction.run_id == run_id, Extraction.document_id == doc_row.id)
        ).first()
        if existing is None:
            session.add(
                Extraction(run_id=run_id, document_id=doc_row.id or 0, settings_hash=settings_hash, status="failed", error=error)
            )
        session.commit()
        return DocResult(path.name, str(path), "failed", error, document_id=doc_row.id)


def run_extraction(
    inputs: Iterable[str],
    settings: Settings,
    *,
    name: str | None = None,
    llm: LLMClient | None = None,
    reuse: bool = True,
    on_result: Callable[[DocResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RunSummary:
    rtype = load_report_type(settings.report_type)
    prompts = PromptSet(settings.prompts_dir, settings.report_type, settings.prompt_version)
    paths, missing = resolve_paths(inputs)
    settings_dict, settings_hash = run_settings(settings, prompts)
    with session_scope(settings) as session:
        run = create_run(session, settings_dict, settings_hash, name=name)
        run_id = run.id
    summary = RunSummary(run_id)
    for item in missing:
        summary.results.append(DocResult(Path(item).name, item, "failed", f"{item}: no such file"))
    if on_start:
        on_start(len(paths))

    client: list[LLMClient] = [llm] if llm is not None else []

    def get_llm() -> LLMClient:
        if not client:
            client.append(make_llm(settings))
        return client[0]

    def record(result: DocResult) -> None:
        summary.results.append(result)
        if on_result:
            on_result(result)

    try:
        with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
            pending: set[Future[DocResult]] = set()
            queue = list(paths)
            while queue or pending:
                while queue and len(pending) < settings.concurrency * 2:
                    p = queue.pop(0)
                    pending.add(pool.submit(process_one, p, settings, rtype, prompts, get_llm, run_id, settings_hash, reuse=reuse))
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    record(fut.result())
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        with session_scope(settings) as session:
            from structurer.db.models import Run

            run_row = session.get(Run, run_id)
            if run_row is not None:
                finish_run(
                    session,
                    run_row,
                    n_docs=len(summary.results),
                    n_failed=len(summary.failed),
                    status="interrupted" if summary.interrupted else "done",
                )
    return summary
