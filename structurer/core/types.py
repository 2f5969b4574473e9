"""Plain typed data shared by every stage. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

BLANK_NOTE = "blank cell read as 0"  # a deterministic reader's note on a cell it read as 0


class AlignmentStatus(StrEnum):
    """How a quote was found in the document text (google/langextract style)."""

    exact = "exact"
    fuzzy = "fuzzy"
    not_found = "not_found"


class FieldStatus(StrEnum):
    auto = "auto"
    needs_review = "needs_review"
    corrected = "corrected"


class DocStatus(StrEnum):
    """What became of one document in a run."""

    ok = "ok"
    failed = "failed"
    skipped = "skipped"
    interrupted = "interrupted"


class RunStatus(StrEnum):
    running = "running"
    done = "done"
    interrupted = "interrupted"


@dataclass(frozen=True)
class Evidence:
    """Where a value came from: offsets into the text as read, the quote, how it aligned."""

    start: int | None
    end: int | None
    quote: str | None
    status: AlignmentStatus

    def export(self) -> dict[str, Any] | None:
        if self.start is None or self.end is None:
            return None
        return {"start": self.start, "end": self.end, "quote": self.quote}


@dataclass(frozen=True)
class Section:
    """A part of a report found by its heading. Offsets are into the text as read."""

    name: str
    start: int
    end: int
    heading: str


@dataclass(frozen=True)
class LoadedDocument:
    """A document as read from disk.

    `text` is exactly what was decoded (evidence offsets point here). `source_format` is
    txt/html/pdf; `encoding` is the detected byte encoding (None for pdf).
    """

    name: str
    path: str
    sha256: str
    text: str
    source_format: str
    encoding: str | None


@dataclass(frozen=True)
class CellReading:
    """One value read by a deterministic reader (e.g. the table reader)."""

    path: str
    value: int | float | str | None  # str: rule readings (names, ISO dates)
    evidence: Evidence
    note: str | None = None  # e.g. "blank cell read as 0", "remark stripped"


@dataclass
class Candidate:
    """One reader's proposal for one field, before reconciliation."""

    value: Any
    reader: str
    quote: str | None = None
    evidence: Evidence | None = None
    signals: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallRecord:
    part: str
    model: str
    prompt_version: str
    request_hash: str
    request: dict[str, Any]
    response: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: int
    retries: int
    error: str | None
    cached: bool = False


@dataclass
class FieldRow:
    path: str
    value: Any
    reader: str | None
    evidence: Evidence | None
    confidence: float | None = None
    status: FieldStatus = FieldStatus.auto
    signals: dict[str, Any] = field(default_factory=dict)


@dataclass
class DocumentOutcome:
    document: LoadedDocument
    status: DocStatus
    error: str | None
    record: dict[str, Any] | None
    fields: list[FieldRow]
    identity_breaks: list[dict[str, Any]]
    detected_format: str | None
    calls: list[CallRecord]
    seconds: float

    @property
    def tokens_in(self) -> int:
        return sum(c.tokens_in for c in self.calls if not c.cached)

    @property
    def tokens_out(self) -> int:
        return sum(c.tokens_out for c in self.calls if not c.cached)
