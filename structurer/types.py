"""Plain typed data shared by every stage. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class AlignmentStatus(StrEnum):
    """How a quote was found in the document text (google/langextract style)."""

    exact = "exact"
    fuzzy = "fuzzy"
    not_found = "not_found"


class FieldStatus(StrEnum):
    auto = "auto"
    needs_review = "needs_review"
    corrected = "corrected"


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
