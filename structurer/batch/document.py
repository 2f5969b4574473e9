"""One document of a batch: read and store it, extract it, score, route and store the outcome.

Shared by the engines (threads, ray). Never raises for a bad document. Before the model is
asked, the document is claimed (store/claims.py): when another process holds it the result
is `held` and the engine asks again later (then usually reuses that process's result).
Byte-identical copies of a file of the batch are read once and listed as `duplicate`.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from structurer.batch.accounting import cost_of
from structurer.confidence.route import review_policy, route_rows, score_rows
from structurer.core.evidence.invented import is_invented
from structurer.core.model import Model
from structurer.core.pipeline import extract_document
from structurer.core.prompts import PromptSet
from structurer.core.report_type import ReportType
from structurer.core.types import DocStatus, DocumentOutcome, FieldRow, FieldStatus, LoadedDocument
from structurer.documents.reader import DocumentError, check_file, read_document
from structurer.llm.cache import DbResponseCache
from structurer.llm.client import LLMClient
from structurer.redact import redact
from structurer.settings import Settings
from structurer.store.claims import claim_document, record_duplicate, release_claim
from structurer.store.models import Document, Run
from structurer.store.outcomes import (
    copy_extraction,
    reusable_extraction,
    save_outcome,
    store_unreadable,
    upsert_document,
)
from structurer.store.session import session_scope

HELD_RETRY_SECONDS = 1.0  # a document another process holds is asked again after this


@dataclass
class DocResult:
    name: str
    path: str
    status: DocStatus
    error: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    n_fields: int = 0
    n_review: int = 0
    document_id: int | None = None
    calls: int = 0
    cached_calls: int = 0
    cost: float | None = None
    notes: tuple[str, ...] = ()
    duplicate_of: str | None = None  # status duplicate: the path whose bytes these are
    n_invented: int = 0  # values of the record the text does not contain (core.evidence.invented)
    n_rejected: int = 0  # LLM proposals grounding rejected (nulled, sent to review)

    def __post_init__(self) -> None:
        if self.error:
            self.error = redact(self.error)


def error_line(exc: BaseException) -> str:
    """An exception as one redacted line."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return redact(f"{type(exc).__name__}: {text}")[:300]


def make_llm(settings: Settings, http_client: Any = None) -> LLMClient:
    if settings.uses_embedded_model:
        from structurer.llm.embedded.server import ensure_running

        base_url = ensure_running(settings)
    else:
        base_url = settings.openai_base_url or ""
    return LLMClient(settings, base_url, http_client=http_client)


@dataclass
class BatchContext:
    """What every document of a run shares."""

    settings: Settings
    rtype: ReportType
    prompts: PromptSet
    run_id: str
    settings_hash: str
    reuse: bool = True
    stop: threading.Event = field(default_factory=threading.Event)
    # sha256 -> the first path read with those bytes in this batch (copies are duplicates)
    seen: dict[str, str] = field(default_factory=dict)
    seen_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def max_bytes(self) -> int:
        return int(self.settings.max_input_mb * 2**20)

    def first_path(self, sha256: str, path: str) -> str:
        """The first path of this batch with these bytes (this one, if it is the first)."""
        with self.seen_lock:
            return self.seen.setdefault(sha256, path)

    def forget(self, sha256: str) -> None:
        with self.seen_lock:
            self.seen.pop(sha256, None)


@dataclass
class StoredDocument:
    """A document read and stored, waiting for the model."""

    path: Path
    doc: LoadedDocument
    document_id: int


def read_and_store(path: Path, ctx: BatchContext) -> StoredDocument | DocResult:
    """Read, store and claim a document; a DocResult when nothing is left to do (unreadable,
    a copy of another file of the batch, reused) or when another run holds it (`held`)."""
    try:
        doc = read_document(path, ctx.max_bytes)
    except DocumentError as exc:
        return _store_unreadable(path, str(exc), ctx)
    first = ctx.first_path(doc.sha256, str(path))
    with session_scope(ctx.settings) as session:
        # the id, read now: a rollback below (a lost race) expires the row object
        document_id = upsert_document(session, doc).id or 0
        if first != str(path):
            record_duplicate(session, ctx.run_id, document_id, str(path), first)
            return DocResult(
                doc.name,
                str(path),
                DocStatus.duplicate,
                document_id=document_id,
                duplicate_of=first,
            )
        if ctx.reuse:
            previous = reusable_extraction(session, doc.sha256, ctx.settings_hash)
            if previous is not None:
                if previous.run_id != ctx.run_id:
                    run = session.get(Run, ctx.run_id)
                    assert run is not None
                    try:
                        copy_extraction(session, run, previous)
                    except IntegrityError:  # the same bytes under another name, copied already
                        session.rollback()
                return DocResult(
                    doc.name,
                    str(path),
                    DocStatus.skipped,
                    document_id=document_id,
                    notes=doc.notes,
                )
        holder = claim_document(session, document_id, ctx.settings_hash, ctx.run_id)
        if holder is not None:
            ctx.forget(doc.sha256)  # asked again later: it is still the first copy
            return DocResult(
                doc.name, str(path), DocStatus.held, f"being extracted by run {holder}"
            )
    return StoredDocument(path, doc, document_id)


def release(stored: StoredDocument, ctx: BatchContext) -> None:
    """Give up the claim on a document this run will not extract after all."""
    with session_scope(ctx.settings) as session:
        release_claim(session, stored.document_id, ctx.settings_hash, ctx.run_id)


def failed_outcome(doc: LoadedDocument, exc: BaseException) -> DocumentOutcome:
    return DocumentOutcome(doc, DocStatus.failed, error_line(exc), None, [], [], None, [], 0.0)


def count_invented(rows: Sequence[FieldRow], text: str, scales: Sequence[float] = (1.0,)) -> int:
    """Values of the record that the document's text does not contain (cheap: no model)."""
    kinds = [(r.value, r.signals.get("kind", "str")) for r in rows]
    return sum(1 for value, kind in kinds if is_invented(value, kind, text, scales) is True)


def store_outcome(
    prepared: StoredDocument, outcome: DocumentOutcome, ctx: BatchContext
) -> DocResult:
    """Score, route and store one outcome (one transaction)."""
    doc = outcome.document
    score_rows(outcome.fields, outcome.identity_breaks, ctx.settings)
    route_rows(outcome.fields, review_policy(ctx.settings))
    with session_scope(ctx.settings) as session:
        run = session.get(Run, ctx.run_id)
        doc_row = session.get(Document, prepared.document_id)
        assert run is not None and doc_row is not None
        try:
            save_outcome(session, run, doc_row, outcome)
            release_claim(session, prepared.document_id, ctx.settings_hash, ctx.run_id)
        except IntegrityError:  # another file with the same bytes was stored in this run meanwhile
            session.rollback()
            return DocResult(
                doc.name,
                str(prepared.path),
                DocStatus.skipped,
                "same content as another file of this batch",
                document_id=prepared.document_id,
            )
    return DocResult(
        doc.name,
        str(prepared.path),
        outcome.status,
        outcome.error,
        outcome.tokens_in,
        outcome.tokens_out,
        outcome.seconds,
        n_fields=len(outcome.fields),
        n_review=sum(1 for f in outcome.fields if f.status == FieldStatus.needs_review),
        document_id=prepared.document_id,
        calls=len(outcome.calls),
        cached_calls=sum(1 for c in outcome.calls if c.cached),
        cost=cost_of(outcome.tokens_in, outcome.tokens_out, ctx.settings),
        notes=(*doc.notes, *outcome.notes),
        n_invented=count_invented(outcome.fields, doc.text, ctx.rtype.float_scales),
        n_rejected=sum(1 for f in outcome.fields if "rejected_reason" in f.signals),
    )


def process_one(
    path: Path,
    settings: Settings,
    rtype: ReportType,
    prompts: PromptSet,
    get_llm: Callable[[], Model],
    run_id: str,
    settings_hash: str,
    *,
    reuse: bool = True,
    executor: Executor | None = None,
    stop: threading.Event | None = None,
) -> DocResult:
    """Read, extract and store one document. Never raises for a bad document."""
    ctx = BatchContext(
        settings, rtype, prompts, run_id, settings_hash, reuse, stop or threading.Event()
    )
    return process(path, ctx, get_llm, executor)


T = TypeVar("T")
DB_ATTEMPTS = 4


def with_db_retries(fn: Callable[[], T]) -> T:
    """Run a database step again after a transient failure (pool exhausted, lock timeout,
    connection dropped): each step is one transaction, so repeating it is safe."""
    for attempt in range(DB_ATTEMPTS):
        try:
            return fn()
        except (OperationalError, PoolTimeout):
            if attempt == DB_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * 2**attempt + random.random() * 0.5)
    raise AssertionError("unreachable")


def process(
    path: Path, ctx: BatchContext, get_llm: Callable[[], Model], executor: Executor | None
) -> DocResult:
    try:
        prepared = with_db_retries(lambda: read_and_store(path, ctx))
        if isinstance(prepared, DocResult):
            return prepared
        ready = prepared
        if ctx.stop.is_set():
            with_db_retries(lambda: release(ready, ctx))
            return DocResult(
                prepared.doc.name,
                str(path),
                DocStatus.interrupted,
                document_id=prepared.document_id,
            )
        try:
            outcome = extract_document(
                prepared.doc, ctx.rtype, get_llm(), ctx.prompts, ctx.settings, executor=executor
            )
        except Exception as exc:  # noqa: BLE001 - one bad document never stops the batch
            outcome = failed_outcome(prepared.doc, exc)
        return with_db_retries(lambda: store_outcome(ready, outcome, ctx))
    except Exception as exc:  # noqa: BLE001 - e.g. the database hiccupped on this one
        return DocResult(path.name, str(path), DocStatus.failed, error_line(exc))


def _file_sha256(path: Path) -> str | None:
    """The hash of a regular file's bytes, read in blocks; None for anything else (a FIFO
    would block the reader for ever)."""
    try:
        check_file(path, max_bytes=2**62)
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(2**20), b""):
                digest.update(block)
        return digest.hexdigest()
    except (DocumentError, OSError):
        return None


def _store_unreadable(path: Path, error: str, ctx: BatchContext) -> DocResult:
    """Record a document that could not be read: its bytes' hash and the error (nothing is
    stored for what is not a regular file: it has no bytes to hash)."""
    sha = _file_sha256(path)
    if sha is None:
        return DocResult(path.name, str(path), DocStatus.failed, error)
    with session_scope(ctx.settings) as session:
        document_id = store_unreadable(
            session,
            name=path.name,
            path=str(path),
            sha256=sha,
            run_id=ctx.run_id,
            settings_hash=ctx.settings_hash,
            error=error,
        )
    return DocResult(path.name, str(path), DocStatus.failed, error, document_id=document_id)


def cached_llm(settings: Settings, llm: Model | None, use_cache: bool) -> Callable[[], Model]:
    """A lazily made client (the embedded server starts only if a document needs it), with the cache."""
    client: list[Model] = []
    lock = threading.Lock()

    def get_llm() -> Model:
        with lock:
            if not client:
                base = llm if llm is not None else make_llm(settings)
                # The reply cache sits in the HTTP client; an in-process model has none.
                if use_cache and isinstance(base, LLMClient) and base.cache is None:
                    base = base.with_cache(DbResponseCache(settings))
                client.append(base)
            return client[0]

    return get_llm
