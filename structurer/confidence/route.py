"""Confidence for every field row and the auto / needs_review decision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from structurer.confidence.default import default_confidence
from structurer.extract.pipeline import FieldRow
from structurer.types import FieldStatus

DEFAULT_THRESHOLD = 0.8


def score_rows(rows: Sequence[FieldRow], identity_breaks: Sequence[dict[str, Any]]) -> None:
    broken = {p for b in identity_breaks for p in b.get("paths", [])}
    for row in rows:
        if row.path in broken:
            row.signals["identity_break"] = 1.0
        alignment = row.evidence.status.value if row.evidence is not None else None
        if row.evidence is None and row.reader and row.reader.startswith("table"):
            alignment = "exact"
        row.confidence = round(default_confidence(row.reader, alignment, row.signals), 4)


def route_rows(rows: Sequence[FieldRow], threshold: float = DEFAULT_THRESHOLD) -> None:
    for row in rows:
        if row.status == FieldStatus.corrected:
            continue
        low = row.confidence is None or row.confidence < threshold
        row.status = FieldStatus.needs_review if low else FieldStatus.auto
