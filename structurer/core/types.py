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
    skipped = "skipped"  # done before with these settings: reused
    duplicate = "duplicate"  # the same bytes as another file of the batch: read once
    interrupted = "interrupted"
    held = "held"  # another process is extracting it: asked again later (never stored)


class RunStatus(StrEnum):
    running = "running"
    done = "done"
    interrupted = "interrupted"
    dead = "dead"  # left running by a process that is gone (kill -9) or silent


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


OCR_FORMATS = frozenset({"scan", "image"})  # source formats whose text was read by OCR


@dataclass(frozen=True)
class LoadedDocument:
    """A document as read from disk.

    `text` is exactly what was decoded (evidence offsets point here). `source_format` is
    txt/html/pdf, or scan (a PDF of page images) / image (a page image), both read by OCR;
    `encoding` is the detected byte encoding (None for the rest). `notes`: what reading
    changed or tolerated (e.g. NUL bytes removed), shown to the user.
    """

    name: str
    path: str
    sha256: str
    text: str
    source_format: str
    encoding: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CellReading:
    """One value read by a deterministic reader (e.g. the table reader)."""

    path: str
    value: int | float | str | None  # str: rule readings (names, ISO dates)
    evidence: Evidence
    note: str | None = None  # e.g. "blank cell read as 0", "remark stripped"
    # why the reader doubts this cell (a self-check failed), in words for show and review;
    # a doubted cell's confidence is capped below any review threshold
    doubt: str | None = None
    # the doubt is about what the text itself prints (misread digits, a placement nothing
    # printed decides): a second reading of the same text agreeing does not settle it
    doubt_final: bool = False


@dataclass
class Candidate:
    """One reader's proposal for one field, before reconciliation."""

    value: Any
    reader: str
    quote: str | None = None
    evidence: Evidence | None = None
    signals: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerTimings:
    """What a llama.cpp server reports per completion (its `timings` block): prompt tokens it
    processed vs reused from its prompt cache, prefill and decode time, and speculative draft
    tokens proposed and accepted. Summed over a call's completions (re-asks included)."""

    prompt_n: int = 0  # prompt tokens processed (prefill)
    cache_n: int = 0  # prompt tokens reused from the slot's cache
    prompt_ms: float = 0.0
    predicted_n: int = 0  # tokens generated
    predicted_ms: float = 0.0
    draft_n: int = 0  # speculative draft tokens proposed (0: no speculation)
    draft_accepted: int = 0

    def __add__(self, other: ServerTimings) -> ServerTimings:
        return ServerTimings(
            self.prompt_n + other.prompt_n,
            self.cache_n + other.cache_n,
            self.prompt_ms + other.prompt_ms,
            self.predicted_n + other.predicted_n,
            self.predicted_ms + other.predicted_ms,
            self.draft_n + other.draft_n,
            self.draft_accepted + other.draft_accepted,
        )

    @property
    def decode_tps(self) -> float | None:
        """Generated tokens per second of decoding."""
        return self.predicted_n / self.predicted_ms * 1000 if self.predicted_ms > 0 else None

    @property
    def acceptance(self) -> float | None:
        """Share of the draft tokens the model accepted (None: no speculation)."""
        return self.draft_accepted / self.draft_n if self.draft_n else None


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
    timings: ServerTimings | None = None  # None: the endpoint reports none (or a cached reply)


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
    notes: list[str] = field(default_factory=list)  # for the operator, e.g. about the input

    @property
    def tokens_in(self) -> int:
        return sum(c.tokens_in for c in self.calls if not c.cached)

    @property
    def tokens_out(self) -> int:
        return sum(c.tokens_out for c in self.calls if not c.cached)
