"""Confidence for every field row and the auto / needs_review decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from structurer.confidence.calibrate import CalibrationArtifact, load_current
from structurer.confidence.default import default_confidence
from structurer.confidence.policy import PolicyDecision, decide
from structurer.confidence.signals import features
from structurer.core.types import FieldRow, FieldStatus
from structurer.settings import Settings

DEFAULT_THRESHOLD = 0.8
# A field a check doubts (signals["doubt"]: a table self-check; signals["cross_report"]: a
# break with last year's report; both in words) is never auto-accepted, whatever the calibration says: its confidence is capped here and it
# goes to review at any threshold.
DOUBTED_CONFIDENCE = 0.25


def doubted(signals: Mapping[str, Any]) -> bool:
    """A check failed on this field: the table reader's self-checks, or a break between two
    years' reports of one body (confidence/cross_report.py)."""
    return bool(signals.get("doubt") or signals.get("cross_report"))


def mark_identity_breaks(
    rows: Sequence[FieldRow], identity_breaks: Sequence[dict[str, Any]]
) -> None:
    broken = {p for b in identity_breaks for p in b.get("paths", [])}
    for row in rows:
        if row.path in broken:
            row.signals["identity_break"] = 1.0


def field_confidence(
    reader: str | None,
    alignment: str | None,
    signals: Mapping[str, Any] | None,
    value: Any,
    artifact: CalibrationArtifact | None,
) -> float:
    """A field's confidence from its signals (as extracted, or as stored): the fitted
    calibration when there is one, else the default prior; rounded as stored."""
    signals = signals or {}
    if artifact is None:
        confidence = default_confidence(reader, alignment, signals, value)
    else:
        confidence = artifact.predict(features(reader, alignment, signals, value))
    if doubted(signals):
        confidence = min(confidence, DOUBTED_CONFIDENCE)
    return round(confidence, 4)


def score_rows(
    rows: Sequence[FieldRow],
    identity_breaks: Sequence[dict[str, Any]],
    settings: Settings | None = None,
    *,
    artifact: CalibrationArtifact | None = None,
) -> str | None:
    """Set every row's confidence: the fitted calibration of `settings` (or `artifact`) when
    there is one, else the default prior. Returns the calibration version used (None: prior)."""
    mark_identity_breaks(rows, identity_breaks)
    if artifact is None and settings is not None:
        artifact = load_current(settings)
    for row in rows:
        alignment = row.evidence.status.value if row.evidence is not None else None
        row.confidence = field_confidence(row.reader, alignment, row.signals, row.value, artifact)
    return artifact.version if artifact is not None else None


def review_policy(settings: Settings) -> PolicyDecision:
    return decide(settings, load_current(settings))


def route_rows(
    rows: Sequence[FieldRow], threshold: float | PolicyDecision = DEFAULT_THRESHOLD
) -> None:
    cut = threshold.threshold if isinstance(threshold, PolicyDecision) else threshold
    for row in rows:
        if row.status == FieldStatus.corrected:
            continue
        # a proposal grounding rejected is shown to a person whatever its confidence
        low = (
            row.confidence is None
            or row.confidence < cut
            or "rejected_reason" in row.signals
            or doubted(row.signals)
        )
        row.status = FieldStatus.needs_review if low else FieldStatus.auto
