"""Run extraction over many documents: read, skip what is already done, extract, store.

Engines: `threads` (default) keeps `concurrency` documents in flight and, inside them, runs
their parts on a shared pool of `concurrency` threads, so at most `concurrency` requests reach
the endpoint at once; `ray` maps the pure unit of work (`extract_document`) over a Ray cluster
while this process reads the documents and writes every result (structurer/batch/ray_engine.py).

Every finished document is committed on its own, so a killed batch loses only the documents
in flight; a rerun skips what is stored (same bytes, same settings) and the response cache
makes the parts already answered free. Ctrl-C stops taking new documents and finishes the ones
in flight (a second Ctrl-C abandons them); the run is marked `interrupted`.

Several processes may work on one database: a document in flight is claimed (a lease renewed
by the run's heartbeat), so another process defers it and later reuses the stored result;
a run whose process is gone (kill -9) or whose heartbeat is stale is marked `dead` and its
claims are freed. Byte-identical copies of a file in one batch are read once; the copies
are listed (and stored) with the path they duplicate.
"""

from __future__ import annotations

import glob
import hashlib
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import col, select

from structurer.batch.accounting import cost_of
from structurer.confidence.calibrate import current_version
from structurer.confidence.route import review_policy, route_rows, score_rows
from structurer.db.models import Document, Extraction, Run
from structurer.db.session import get_engine, session_scope
from structurer.documents.reader import DocumentError, check_file, read_document
from structurer.extract.pipeline import DocumentOutcome, extract_document
from structurer.prompts import PromptSet
from structurer.providers.llm import LLMClient
from structurer.redact import redact
from structurer.report_types import ReportType, load_report_type
from structurer.settings import Settings
from structurer.store import (
    HEARTBEAT_SECONDS,
    claim_document,
    copy_extraction,
    create_run,
    finish_run,
    heartbeat,
    reap_dead_runs,
    record_duplicate,
    release_claim,
    reusable_extraction,
    save_outcome,
    upsert_document,
)
from structurer.types import LoadedDocument

TEXT_SUFFIXES = {".txt", ".text", ".html", ".htm", ".pdf", ".md"}
Engine = Literal["threads", "ray"]


@dataclass
class DocResult:
    name: str
    path: str
    status: str  # ok | failed | skipped | duplicate | interrupted (held: claimed elsewhere)
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

    def __post_init__(self) -> None:
        if self.error:
            self.error = redact(self.error)


def _error_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return redact(f"{type(exc).__name__}: {text}")[:300]


@dataclass
class RunSummary:
    run_id: str
    results: list[DocResult] = field(default_factory=list)
    interrupted: bool = False
    abandoned: bool = False  # a second Ctrl-C: documents in flight were not waited for
    resumed: bool = False

    @property
    def failed(self) -> list[DocResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def duplicates(self) -> list[DocResult]:
        return [r for r in self.results if r.status == "duplicate"]

    @property
    def tokens_in(self) -> int:
        return sum(r.tokens_in for r in self.results)

    @property
    def tokens_out(self) -> int:
        return sum(r.tokens_out for r in self.results)

    @property
    def cost(self) -> float | None:
        costs = [r.cost for r in self.results if r.cost is not None]
        return sum(costs) if costs else None

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


class ResumeError(ValueError):
    """`resume` named a run that does not exist or ran with other settings."""


def resolve_paths(inputs: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Files, directories (recursively, known suffixes) and globs -> files; plus inputs that matched nothing."""
    found: list[Path] = []
    missing: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES
                )
            )
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


def make_llm(settings: Settings, http_client: Any = None) -> LLMClient:
    if settings.uses_embedded_model:
        from structurer.model.server import ensure_running

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


@dataclass
class Prepared:
    """A document read and stored, waiting for the model."""

    path: Path
    doc: LoadedDocument
    document_id: int


def prepare(path: Path, ctx: BatchContext) -> Prepared | DocResult:
    """Read, store and claim a document; a DocResult when nothing is left to do (unreadable,
    a copy of another file of the batch, reused) or when another run holds it (`held`)."""
    try:
        doc = read_document(path, ctx.max_bytes)
    except DocumentError as exc:
        return _store_unreadable(path, str(exc), ctx)
    first = ctx.first_path(doc.sha256, str(path))
    with session_scope(ctx.settings) as session:
        doc_row = upsert_document(session, doc)
        if first != str(path):
            record_duplicate(session, ctx.run_id, doc_row.id or 0, str(path), first)
            return DocResult(
                doc.name,
                str(path),
                "duplicate",
                document_id=doc_row.id,
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
                    doc.name, str(path), "skipped", document_id=doc_row.id, notes=doc.notes
                )
        holder = claim_document(session, doc_row.id or 0, ctx.settings_hash, ctx.run_id)
        if holder is not None:
            with ctx.seen_lock:  # asked again later: it is still the first copy
                ctx.seen.pop(doc.sha256, None)
            return DocResult(doc.name, str(path), "held", f"being extracted by run {holder}")
    return Prepared(path, doc, doc_row.id or 0)


def release(prepared: Prepared, ctx: BatchContext) -> None:
    with session_scope(ctx.settings) as session:
        release_claim(session, prepared.document_id, ctx.settings_hash, ctx.run_id)


def failed_outcome(doc: LoadedDocument, exc: BaseException) -> DocumentOutcome:
    return DocumentOutcome(doc, "failed", _error_line(exc), None, [], [], None, [], 0.0)


def store(prepared: Prepared, outcome: DocumentOutcome, ctx: BatchContext) -> DocResult:
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
                "skipped",
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
        n_review=sum(1 for f in outcome.fields if f.status.value == "needs_review"),
        document_id=prepared.document_id,
        calls=len(outcome.calls),
        cached_calls=sum(1 for c in outcome.calls if c.cached),
        cost=cost_of(outcome.tokens_in, outcome.tokens_out, ctx.settings),
        notes=doc.notes,
    )


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
    executor: Executor | None = None,
    stop: threading.Event | None = None,
) -> DocResult:
    """Read, extract and store one document. Never raises for a bad document."""
    ctx = BatchContext(
        settings, rtype, prompts, run_id, settings_hash, reuse, stop or threading.Event()
    )
    return _process(path, ctx, get_llm, executor)


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


def _process(
    path: Path, ctx: BatchContext, get_llm: Callable[[], LLMClient], executor: Executor | None
) -> DocResult:
    try:
        prepared = with_db_retries(lambda: prepare(path, ctx))
        if isinstance(prepared, DocResult):
            return prepared
        ready = prepared
        if ctx.stop.is_set():
            with_db_retries(lambda: release(ready, ctx))
            return DocResult(
                prepared.doc.name, str(path), "interrupted", document_id=prepared.document_id
            )
        try:
            outcome = extract_document(
                prepared.doc, ctx.rtype, get_llm(), ctx.prompts, ctx.settings, executor=executor
            )
        except Exception as exc:  # noqa: BLE001 - one bad document never stops the batch
            outcome = failed_outcome(prepared.doc, exc)
        return with_db_retries(lambda: store(ready, outcome, ctx))
    except Exception as exc:  # noqa: BLE001 - e.g. the database hiccupped on this one
        return DocResult(path.name, str(path), "failed", _error_line(exc))


def _file_sha256(path: Path, max_bytes: int) -> str | None:
    """The hash of a regular file's bytes, read in blocks; None for anything else."""
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
    settings, run_id, settings_hash = ctx.settings, ctx.run_id, ctx.settings_hash
    sha = _file_sha256(path, ctx.max_bytes)
    if sha is None:
        return DocResult(path.name, str(path), "failed", error)
    with session_scope(settings) as session:
        doc_row = session.exec(select(Document).where(Document.sha256 == sha)).first()
        if doc_row is None:
            doc_row = Document(
                name=path.name,
                source_path=str(path),
                sha256=sha,
                text="",
                source_format="unreadable",
            )
            session.add(doc_row)
            try:
                session.commit()
            except IntegrityError:  # another process stored the same bytes first
                session.rollback()
                doc_row = session.exec(select(Document).where(Document.sha256 == sha)).one()
        existing = session.exec(
            select(Extraction).where(
                Extraction.run_id == run_id, Extraction.document_id == doc_row.id
            )
        ).first()
        if existing is None:
            session.add(
                Extraction(
                    run_id=run_id,
                    document_id=doc_row.id or 0,
                    settings_hash=settings_hash,
                    status="failed",
                    error=error,
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
        return DocResult(path.name, str(path), "failed", error, document_id=doc_row.id)


def ensure_database(settings: Settings, attempts: int = 20) -> None:
    """Migrate the database once even when several batches start on it at the same moment.

    SQLite: an exclusive file lock beside the database file serialises the first migration.
    PostgreSQL (transactional DDL): the loser of a race rolls back; it waits and checks again.
    """
    url = settings.db_url
    if url.startswith("sqlite:///"):
        import fcntl

        db_path = Path(url.removeprefix("sqlite:///"))
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{db_path}.migrate-lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                get_engine(settings)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    for attempt in range(attempts):
        try:
            get_engine(settings)
            return
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25 + random.random() * 0.5)


def _open_run(
    settings: Settings,
    settings_dict: dict[str, Any],
    settings_hash: str,
    name: str | None,
    resume: str | None,
) -> tuple[str, bool]:
    """A new run, or the run to resume ("last": the newest unfinished run with these settings).
    Runs left `running` by a process that is gone are marked `dead` first."""
    import os

    from structurer.store import HOST

    with session_scope(settings) as session:
        reap_dead_runs(session)
        if resume:
            if resume == "last":
                run = session.exec(
                    select(Run)
                    .where(
                        Run.settings_hash == settings_hash,
                        col(Run.status).in_(["interrupted", "dead"]),
                    )
                    .order_by(col(Run.created_at).desc())
                ).first()
            else:
                run = session.get(Run, resume)
                if run is None:
                    raise ResumeError(f"no run {resume!r} to resume")
                if run.settings_hash != settings_hash:
                    raise ResumeError(
                        f"run {resume} ran with other settings (hash {run.settings_hash}, now {settings_hash})"
                    )
            if run is not None:
                if run.status == "running" and run.pid != os.getpid():
                    raise ResumeError(f"run {run.id} is running in another process (pid {run.pid})")
                run.status = "running"
                run.finished_at = None
                run.pid, run.host, run.heartbeat_at = os.getpid(), HOST, time.time()
                session.add(run)
                session.commit()
                return run.id, True
        run = create_run(session, settings_dict, settings_hash, name=name)
        # Recorded on the run, not in its settings: a new calibration must not stop reuse.
        run.calibration_version = current_version(settings)
        session.add(run)
        session.commit()
        return run.id, False


def run_extraction(
    inputs: Iterable[str],
    settings: Settings,
    *,
    name: str | None = None,
    llm: LLMClient | None = None,
    reuse: bool = True,
    on_result: Callable[[DocResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    engine: Engine = "threads",
    use_cache: bool = True,
    resume: str | None = None,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Extract every input document into one run; never raises for a bad document.

    `resume`: a run id (or "last") to continue instead of starting a new run. `stop`: set it to
    stop taking new documents (what Ctrl-C does). `use_cache`: look model replies up in the
    response cache first and store new ones.
    """
    rtype = load_report_type(settings.report_type)
    prompts = PromptSet(settings.prompts_dir, settings.report_type, settings.prompt_version)
    paths, missing = resolve_paths(inputs)
    settings_dict, settings_hash = run_settings(settings, prompts)
    ensure_database(settings)
    run_id, resumed = _open_run(settings, settings_dict, settings_hash, name, resume)
    ctx = BatchContext(
        settings, rtype, prompts, run_id, settings_hash, reuse, stop or threading.Event()
    )
    summary = RunSummary(run_id, resumed=resumed)

    def record(result: DocResult) -> None:
        summary.results.append(result)
        if on_result:
            on_result(result)

    if on_start:
        on_start(len(paths) + len(missing))
    for item in missing:
        record(DocResult(Path(item).name, item, "failed", f"{item}: no such file"))

    beating = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(settings, run_id, beating),
        name="structurer-heartbeat",
        daemon=True,
    )
    beat.start()
    try:
        if engine == "ray":
            from structurer.batch.ray_engine import run_on_ray

            run_on_ray(paths, ctx, record, use_cache=use_cache)
        else:
            _run_threads(paths, ctx, record, llm, use_cache, summary)
    except KeyboardInterrupt:
        ctx.stop.set()
        summary.abandoned = True
    finally:
        beating.set()
        summary.interrupted = ctx.stop.is_set()
        with session_scope(settings) as session:
            run_row = session.get(Run, run_id)
            if run_row is not None:
                n_docs, n_failed = len(summary.results), len(summary.failed)
                if resumed:  # count what the run holds, not only this invocation's share
                    stored = session.exec(
                        select(Extraction.status).where(Extraction.run_id == run_id)
                    ).all()
                    n_docs, n_failed = len(stored), sum(1 for s in stored if s == "failed")
                finish_run(
                    session,
                    run_row,
                    n_docs=n_docs,
                    n_failed=n_failed,
                    status="interrupted" if summary.interrupted else "done",
                )
    return summary


def _heartbeat(settings: Settings, run_id: str, done: threading.Event) -> None:
    """Tell other processes this run is alive and still holds its claims, until `done`."""
    while not done.wait(HEARTBEAT_SECONDS):
        try:
            with session_scope(settings) as session:
                heartbeat(session, run_id)
        except SQLAlchemyError:
            continue  # a missed beat is harmless; the next one renews the leases


HELD_RETRY_SECONDS = 1.0


def _cached_llm(
    settings: Settings, llm: LLMClient | None, use_cache: bool
) -> Callable[[], LLMClient]:
    """A lazily made client (the embedded server starts only if a document needs it), with the cache."""
    client: list[LLMClient] = []
    lock = threading.Lock()

    def get_llm() -> LLMClient:
        with lock:
            if not client:
                base = llm if llm is not None else make_llm(settings)
                if use_cache and base.cache is None:
                    from structurer.providers.cache import DbResponseCache

                    base = base.with_cache(DbResponseCache(settings))
                client.append(base)
            return client[0]

    return get_llm


def _run_threads(
    paths: list[Path],
    ctx: BatchContext,
    record: Callable[[DocResult], None],
    llm: LLMClient | None,
    use_cache: bool,
    summary: RunSummary,
) -> None:
    """Keep 2 x concurrency documents submitted; a document another run holds is asked again
    after HELD_RETRY_SECONDS (then usually reused from that run's result)."""
    n = ctx.settings.concurrency
    get_llm = _cached_llm(ctx.settings, llm, use_cache)
    queue: deque[Path] = deque(paths)
    held: deque[tuple[float, Path]] = deque()
    part_pool = (
        ThreadPoolExecutor(max_workers=n, thread_name_prefix="structurer-part") if n > 1 else None
    )
    doc_pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="structurer-doc")
    pending: dict[Future[DocResult], Path] = {}

    def collect() -> None:
        done, _ = wait(set(pending), timeout=0.5, return_when=FIRST_COMPLETED)
        for fut in done:
            path = pending.pop(fut)
            result = fut.result()
            if result.status == "held":
                held.append((time.monotonic() + HELD_RETRY_SECONDS, path))
            else:
                record(result)

    try:
        try:
            while queue or pending or held:
                while held and held[0][0] <= time.monotonic():
                    queue.append(held.popleft()[1])
                while queue and len(pending) < n * 2 and not ctx.stop.is_set():
                    path = queue.popleft()
                    pending[doc_pool.submit(_process, path, ctx, get_llm, part_pool)] = path
                if ctx.stop.is_set():
                    break
                if pending:
                    collect()
                elif held:
                    time.sleep(min(0.5, max(0.0, held[0][0] - time.monotonic())))
            while pending:
                collect()
        except KeyboardInterrupt:
            # First Ctrl-C: take no new documents, finish the ones in flight.
            ctx.stop.set()
            for fut in list(pending):
                if fut.cancel():
                    pending.pop(fut)
            try:
                while pending:
                    collect()
            except KeyboardInterrupt:
                summary.abandoned = True  # second Ctrl-C: in-flight documents are not stored
    finally:
        doc_pool.shutdown(wait=not summary.abandoned, cancel_futures=True)
        if part_pool is not None:
            part_pool.shutdown(wait=not summary.abandoned, cancel_futures=True)
