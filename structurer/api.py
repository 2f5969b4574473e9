"""The public Python API, for notebooks and scripts; the CLI calls the same functions.

    import structurer

    result = structurer.extract("samples/sample_2021.txt")
    result.status                      # "ok" | "failed"
    result.record["meta"]["title"]     # the validated record, as JSON types
    result.field("meta.report_year")   # value, confidence, status, evidence

Every call is a batch run stored in the database (`Settings.db_url`), so results, evidence and
LLM calls stay inspectable with `structurer show` and reusable by a rerun.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from structurer.batch.document import DocResult
from structurer.batch.run import Engine, RunSummary, run_extraction
from structurer.confidence.cross_report import CrossBreak, check_reports
from structurer.core.model import Model
from structurer.core.report_type import load_report_type
from structurer.core.types import AlignmentStatus, DocStatus, Evidence, FieldStatus
from structurer.settings import Settings
from structurer.store.outcomes import extraction_of, field_rows
from structurer.store.session import session_scope


@dataclass(frozen=True)
class FieldResult:
    """One non-empty leaf of a record, with where it came from and how sure we are."""

    path: str
    value: Any
    confidence: float | None
    status: FieldStatus
    reader: str | None
    evidence: Evidence | None
    signals: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """One document's extraction: its status, the record, and every field with evidence."""

    document: str
    path: str
    status: DocStatus
    error: str | None
    record: dict[str, Any] | None
    fields: list[FieldResult]
    run_id: str
    identity_breaks: list[dict[str, Any]] = field(default_factory=list)

    def field(self, path: str) -> FieldResult | None:
        return next((f for f in self.fields if f.path == path), None)

    @property
    def needs_review(self) -> list[FieldResult]:
        return [f for f in self.fields if f.status == FieldStatus.needs_review]


@dataclass
class BatchResult:
    """A run over many documents: its summary now, each document's Result on demand, and
    the breaks of its reports with their bodies' reports of other years (`structurer check`),
    whose fields were sent to review on both records."""

    summary: RunSummary
    settings: Settings
    cross_report: list[CrossBreak] = field(default_factory=list)

    def __iter__(self) -> Iterator[Result]:
        for doc in self.summary.results:
            yield load_result(doc, self.summary.run_id, self.settings)

    def results(self) -> list[Result]:
        return list(self)


def load_result(doc: DocResult, run_id: str, settings: Settings) -> Result:
    """The stored outcome of one document of a run (a document that was never stored, e.g. a
    missing file, has no record and no fields)."""
    status = DocStatus(doc.status)
    if doc.document_id is None:
        return Result(doc.name, doc.path, status, doc.error, None, [], run_id)
    with session_scope(settings) as session:
        extraction = extraction_of(session, run_id, doc.document_id)
        if extraction is None:
            return Result(doc.name, doc.path, status, doc.error, None, [], run_id)
        rows = field_rows(session, extraction.id or 0)
        fields = [
            FieldResult(
                path=r.path,
                value=r.value,
                confidence=r.confidence,
                status=FieldStatus(r.status),
                reader=r.reader,
                evidence=None
                if r.alignment is None
                else Evidence(
                    r.evidence_start, r.evidence_end, r.quote, AlignmentStatus(r.alignment)
                ),
                signals=dict(r.signals or {}),
            )
            for r in rows
        ]
        return Result(
            doc.name,
            doc.path,
            DocStatus(extraction.status) if status == DocStatus.skipped else status,
            extraction.error or doc.error,
            extraction.record,
            fields,
            run_id,
            list(extraction.identity_breaks or []),
        )


def extract_many(
    inputs: Iterable[str | Path],
    settings: Settings | None = None,
    *,
    name: str | None = None,
    llm: Model | None = None,
    reuse: bool = True,
    use_cache: bool = True,
    engine: Engine = "threads",
    resume: str | None = None,
    stop: threading.Event | None = None,
    on_result: Callable[[DocResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> BatchResult:
    """Structure files, directories and globs as one run. Never raises for a bad document: its
    Result says `failed` and why. `settings` defaults to the environment's (`Settings()`)."""
    settings = settings or Settings()
    summary = run_extraction(
        [str(i) for i in inputs],
        settings,
        name=name,
        llm=llm,
        reuse=reuse,
        use_cache=use_cache,
        engine=engine,
        resume=resume,
        stop=stop,
        on_result=on_result,
        on_start=on_start,
    )
    with session_scope(settings) as session:
        breaks = check_reports(session, load_report_type(settings.report_type), summary.run_id)
    return BatchResult(summary, settings, breaks)


def _is_path(value: str | Path) -> bool:
    if isinstance(value, Path):
        return True
    return "\n" not in value and len(value) < 4096 and Path(value).is_file()


def extract(
    text_or_path: str | Path,
    settings: Settings | None = None,
    *,
    llm: Model | None = None,
) -> Result:
    """Structure one report, given as a path or as its text. A text is kept under the data
    directory (`texts/<sha256>.txt`) so its evidence offsets stay checkable."""
    settings = settings or Settings()
    if _is_path(text_or_path):
        path = Path(text_or_path)
    else:
        data = str(text_or_path).encode("utf-8")
        path = settings.data_dir / "texts" / f"{hashlib.sha256(data).hexdigest()[:16]}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(data)
    batch = extract_many([path], settings, llm=llm)
    return next(iter(batch))
