"""Re-score the stored fields of a run with the current calibration and a review policy.

Signals are stored with every field, so confidences can be recomputed without the model:
after `structurer calibrate`, or to apply a review budget over a whole batch (`review push
--review-budget 0.10` takes exactly the least confident 10% of the run's fields). Corrected
fields are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from structurer.confidence.calibrate import CalibrationArtifact, load_current
from structurer.confidence.policy import PolicyDecision, decide, select_for_review
from structurer.confidence.route import field_confidence
from structurer.core.types import FieldStatus
from structurer.settings import Settings
from structurer.store.outcomes import run_field_rows, save_field_rows


@dataclass(frozen=True)
class RescoreSummary:
    n_fields: int
    n_review: int
    calibration_version: str | None
    policy: str


def rescore_run(
    session: Session,
    settings: Settings,
    run_id: str | None,
    *,
    review_budget: float | None = None,
    artifact: CalibrationArtifact | None = None,
) -> RescoreSummary:
    """Recompute confidence and status of every field of the run (None: newest extractions).

    With `review_budget`, the least confident share of the *batch* goes to review; otherwise
    the settings' policy (threshold / target accuracy / per-document budget) decides.
    """
    artifact = artifact if artifact is not None else load_current(settings)
    rows = run_field_rows(session, run_id)
    open_rows = [r for r in rows if r.status != FieldStatus.corrected.value]
    for row in open_rows:
        row.confidence = field_confidence(
            row.reader, row.alignment, row.signals, row.value, artifact
        )
    if review_budget is not None:
        flags = select_for_review([r.confidence for r in open_rows], review_budget)
        policy = f"review budget {review_budget:g} over {len(open_rows)} fields"
    else:
        decision: PolicyDecision = decide(settings, artifact)
        flags = [r.confidence is None or r.confidence < decision.threshold for r in open_rows]
        policy = decision.describe()
    for row, low in zip(open_rows, flags, strict=True):
        row.status = (FieldStatus.needs_review if low else FieldStatus.auto).value
    save_field_rows(session, open_rows)
    return RescoreSummary(
        len(open_rows), sum(flags), artifact.version if artifact is not None else None, policy
    )
