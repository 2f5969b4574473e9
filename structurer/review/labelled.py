"""Reviewed fields as labelled examples for calibration (`structurer calibrate --from-review`).

Every field a person settled (confirmed, corrected, not stated) says whether the model's value
was right: right when the settled answer is the model's value. Its features are those stored
when it was pushed (``review_tasks.features``), so the example survives a re-extraction of
its document; tasks pushed before features were stored fall back on the field row.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlmodel import Session

from structurer.confidence.calibrate import Sample
from structurer.confidence.signals import features
from structurer.review.stats import is_wrong, settled
from structurer.store.review import document_of, field_row, report_type_tasks
from structurer.store.review_models import ReviewTask


@dataclass
class ReviewedSet:
    samples: list[Sample] = field(default_factory=list)
    confidence: list[float | None] = field(default_factory=list)  # the model's, when pushed
    audited: list[bool] = field(default_factory=list)
    skipped_gold_docs: int = 0  # reviewed fields of documents the gold set labels already
    skipped_no_features: int = 0


def _features(session: Session, task: ReviewTask) -> dict[str, float] | None:
    if task.features:
        return dict(task.features)
    row = field_row(session, task.field_value_id)
    if row is None:
        return None
    return features(row.reader, row.alignment, row.signals or {}, task.proposed)


def reviewed_samples(
    session: Session, report_type: str, exclude_docs: Collection[str] = ()
) -> ReviewedSet:
    """One labelled sample per settled reviewed field (documents in ``exclude_docs`` skipped)."""
    tasks = report_type_tasks(session, report_type)
    answers = settled(session, tasks)
    out = ReviewedSet()
    names: dict[int, str] = {}
    for task in tasks:
        answer = answers.get(task.id or 0)
        if answer is None:
            continue
        if task.extraction_id not in names:
            document = document_of(session, task.extraction_id)
            names[task.extraction_id] = (
                document.name if document else f"extraction-{task.extraction_id}"
            )
        doc = names[task.extraction_id]
        if doc in exclude_docs:
            out.skipped_gold_docs += 1
            continue
        feats = _features(session, task)
        if feats is None:
            out.skipped_no_features += 1
            continue
        out.samples.append(Sample(doc, task.path, feats, not is_wrong(answer, task.proposed)))
        out.confidence.append(task.confidence)
        out.audited.append(task.audit_id is not None)
    return out


__all__ = ["ReviewedSet", "reviewed_samples"]
