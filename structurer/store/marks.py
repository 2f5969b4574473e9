"""Marks put on stored fields after extraction (e.g. a break between two years' reports of
one body): a reason in the field's signals, its confidence capped, sent to review."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from structurer.store.models import FieldValue


def mark_fields(
    session: Session,
    extraction_id: int,
    paths: Iterable[str],
    key: str,
    reason: str,
    cap: float,
) -> int:
    """Add `reason` under `signals[key]` of the fields `paths` of one extraction, cap their
    confidence at `cap` and send them to review (a person's correction stays). Returns how
    many fields were marked for the first time with this reason."""
    wanted = set(paths)
    rows = session.exec(
        select(FieldValue).where(
            FieldValue.extraction_id == extraction_id, col(FieldValue.path).in_(wanted)
        )
    ).all()
    marked = 0
    for row in rows:
        signals = dict(row.signals or {})
        reasons = [r for r in str(signals.get(key) or "").split("; ") if r]
        if reason not in reasons:
            reasons.append(reason)
            marked += 1
        signals[key] = "; ".join(reasons)
        row.signals = signals  # a new dict: the JSON column sees the change
        if row.status != "corrected":
            row.confidence = min(row.confidence if row.confidence is not None else cap, cap)
            row.status = "needs_review"
        session.add(row)
    return marked
