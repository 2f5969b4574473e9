"""The review policy the user states, turned into a confidence threshold.

Three ways to say it:

- a threshold (`review_threshold`, default): fields below it go to review;
- a review budget (`--review-budget 0.10`): the least confident 10% of fields go to review.
  Per document the threshold is the 10% quantile of the confidences seen on gold data
  (out-of-fold); over a finished batch, `select_for_review` takes exactly the 10% least confident;
- a target accuracy for auto-accepted fields (`--target-accuracy 0.99`): the lowest threshold
  whose accepted gold fields (out-of-fold confidences) reach the target *at the lower end of a
  one-sided 95% Clopper-Pearson interval*; the point estimate and the bound are reported.
  When no threshold can show it, every field goes to review and the decision says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import beta

from structurer.confidence.calibrate import CalibrationArtifact
from structurer.settings import Settings

ALPHA = 0.05
REVIEW_ALL = 1.000001  # a threshold above every confidence


class PolicyError(ValueError):
    """The stated policy cannot be applied (e.g. no calibration fitted)."""


@dataclass(frozen=True)
class PolicyDecision:
    rule: str  # threshold | budget | target_accuracy
    requested: float
    threshold: float
    n: int | None = None  # gold fields the decision rests on
    accepted_share: float | None = None  # share of gold fields auto-accepted at the threshold
    accepted_accuracy: float | None = None  # their accuracy (point estimate)
    accuracy_lower_bound: float | None = None  # one-sided 95% Clopper-Pearson lower bound
    met: bool | None = None
    calibration_version: str | None = None

    def describe(self) -> str:
        if self.rule == "threshold":
            return f"fields below confidence {self.threshold:.3f} go to review"
        head = f"{self.rule} {self.requested:g}"
        # When the target is not met nothing is auto-accepted: the stats are the best try's.
        accepts = "would auto-accept" if self.met is False else "auto-accepts"
        stats = []
        if self.accepted_share is not None:
            stats.append(f"{accepts} {self.accepted_share:.0%} of {self.n} gold fields")
        if self.accepted_accuracy is not None:
            stats.append(f"accuracy {self.accepted_accuracy:.3f}")
        if self.accuracy_lower_bound is not None:
            stats.append(f"95% lower bound {self.accuracy_lower_bound:.3f}")
        if self.met is False:
            tail = f"; the best threshold on gold {', '.join(stats)}" if stats else ""
            return f"{head} NOT demonstrable on the gold data: every field goes to review{tail}"
        return f"{head}: " + ", ".join([f"threshold {min(self.threshold, 1.0):.3f}", *stats])


def clopper_pearson_lower(k: int, n: int, alpha: float = ALPHA) -> float:
    """One-sided (1 - alpha) lower confidence bound of a binomial proportion k/n."""
    if n <= 0 or k <= 0:
        return 0.0
    return float(beta.ppf(alpha, k, n - k + 1))


def _accepted_stats(pairs: Sequence[tuple[float, int]], threshold: float) -> tuple[int, int]:
    kept = [c for p, c in pairs if p >= threshold]
    return len(kept), sum(kept)


def threshold_for_budget(confidences: Sequence[float], budget: float) -> float:
    """Threshold sending the least confident `budget` share of these confidences to review."""
    if not 0 < budget <= 1:
        raise PolicyError(f"review budget must be in (0, 1], got {budget}")
    values = sorted(confidences)
    if not values:
        raise PolicyError("no confidences to set a budget from")
    k = math.ceil(budget * len(values))
    return REVIEW_ALL if k >= len(values) else values[k]


def threshold_for_accuracy(
    pairs: Sequence[tuple[float, int]], target: float, alpha: float = ALPHA
) -> PolicyDecision:
    """Lowest threshold whose accepted fields' accuracy lower bound reaches `target`."""
    if not 0 < target < 1:
        raise PolicyError(f"target accuracy must be in (0, 1), got {target}")
    if not pairs:
        raise PolicyError("no gold fields to choose a threshold on")
    n_all = len(pairs)
    best: PolicyDecision | None = None
    for t in sorted({p for p, _ in pairs}):
        n, k = _accepted_stats(pairs, t)
        bound = clopper_pearson_lower(k, n, alpha)
        decision = PolicyDecision(
            "target_accuracy", target, t, n_all, n / n_all, k / n, bound, bound >= target
        )
        if decision.met:
            return decision  # thresholds ascend: the first that works accepts the most
        if best is None or bound > (best.accuracy_lower_bound or 0.0):
            best = decision
    assert best is not None
    return PolicyDecision(
        "target_accuracy",
        target,
        REVIEW_ALL,
        n_all,
        best.accepted_share,
        best.accepted_accuracy,
        best.accuracy_lower_bound,
        False,
    )


def decide(settings: Settings, artifact: CalibrationArtifact | None) -> PolicyDecision:
    """The threshold these settings ask for. Budget/target need a fitted calibration."""
    version = artifact.version if artifact is not None else None
    target = getattr(settings, "target_accuracy", None)
    budget = getattr(settings, "review_budget", None)
    if target is not None:
        if artifact is None or not artifact.oof:
            raise PolicyError(
                "--target-accuracy needs a fitted calibration: run `structurer calibrate` first"
            )
        d = threshold_for_accuracy(artifact.oof, target)
        return PolicyDecision(
            d.rule,
            d.requested,
            d.threshold,
            d.n,
            d.accepted_share,
            d.accepted_accuracy,
            d.accuracy_lower_bound,
            d.met,
            version,
        )
    if budget is not None:
        if artifact is None or not artifact.oof:
            raise PolicyError(
                "--review-budget per document needs a fitted calibration; use select_for_review over a batch"
            )
        t = threshold_for_budget([p for p, _ in artifact.oof], budget)
        n, k = _accepted_stats(artifact.oof, t)
        n_all = len(artifact.oof)
        return PolicyDecision(
            "budget",
            budget,
            t,
            n_all,
            n / n_all,
            k / n if n else None,
            clopper_pearson_lower(k, n),
            None,
            version,
        )
    return PolicyDecision(
        "threshold",
        settings.review_threshold,
        settings.review_threshold,
        calibration_version=version,
    )


def select_for_review(confidences: Sequence[float | None], budget: float) -> list[bool]:
    """Over a batch: True for the least confident ceil(budget * n) fields (no confidence: always).

    Ties are broken by position, so exactly the budget is used.
    """
    if not 0 <= budget <= 1:
        raise PolicyError(f"review budget must be in [0, 1], got {budget}")
    k = math.ceil(budget * len(confidences))
    scored = sorted((c, i) for i, c in enumerate(confidences) if c is not None)
    chosen = {i for _, i in scored[:k]}
    return [i in chosen or confidences[i] is None for i in range(len(confidences))]
