"""Metrics, registered by name, each computed from the FieldScore rows of a run (+ per-doc
cost info). Every metric returns a JSON-able value, and ``None`` when it is undefined
(no fields, one class only, no confidences): degenerate inputs never raise.

Sets of fields used below:
- *scored*: gold or prediction not null (the headline set);
- *calibration set*: scored fields that carry a confidence (null predictions have none).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score

from structurer.eval.scoring import FieldScore

ECE_BINS = 10
"""Equal-width confidence bins over [0, 1] for ECE and the reliability diagram."""
REVIEW_BUDGETS = (0.05, 0.10, 0.20)


class DocStats(BaseModel):
    """What one document cost, and whether it failed. Filled by the runner."""

    doc: str
    tokens_in: int | None = None
    tokens_out: int | None = None
    seconds: float | None = None
    retries: int = 0  # validation retries
    validation_failed: bool = False  # gave up after retries
    error: str | None = None  # the run produced no record for this document


MetricValue = Any  # float | int | None | dict | list, JSON-able
MetricFn = Callable[[Sequence[FieldScore], Sequence[DocStats]], MetricValue]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    fn: MetricFn
    description: str
    higher_is_better: bool | None  # None: not a score (counts, tables, curves)


REGISTRY: dict[str, MetricSpec] = {}


def register(
    name: str, *, description: str = "", higher_is_better: bool | None = True
) -> Callable[[MetricFn], MetricFn]:
    def deco(fn: MetricFn) -> MetricFn:
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} registered twice")
        REGISTRY[name] = MetricSpec(
            name, fn, description or (fn.__doc__ or "").strip(), higher_is_better
        )
        return fn

    return deco


def compute_metrics(
    scores: Sequence[FieldScore],
    docs: Sequence[DocStats] = (),
    names: Iterable[str] | None = None,
) -> dict[str, MetricValue]:
    """Compute the named metrics (all registered ones by default), in registry order."""
    wanted = list(REGISTRY) if names is None else list(names)
    unknown = [n for n in wanted if n not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown metrics: {unknown}")
    return {name: REGISTRY[name].fn(scores, docs) for name in wanted}


# ---------------------------------------------------------------- helpers


def _scored(scores: Sequence[FieldScore]) -> list[FieldScore]:
    return [s for s in scores if not s.both_null]


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def accuracy_of(scores: Sequence[FieldScore]) -> float | None:
    """Headline accuracy: share correct among fields where gold or prediction is not null."""
    return _rate([s.correct for s in _scored(scores)])


def group_table(
    scores: Sequence[FieldScore], key: Callable[[FieldScore], str]
) -> dict[str, dict[str, Any]]:
    """Per key: n scored, correct, accuracy, nonzero accuracy, abstention accuracy."""
    buckets: dict[str, list[FieldScore]] = defaultdict(list)
    for s in scores:
        buckets[key(s)].append(s)
    table: dict[str, dict[str, Any]] = {}
    for name, rows in buckets.items():
        scored = _scored(rows)
        nonzero = [s for s in rows if s.gold_nonzero]
        gold_null = [s for s in rows if s.gold_null]
        table[name] = {
            "n": len(scored),
            "correct": sum(s.correct for s in scored),
            "accuracy": _rate([s.correct for s in scored]),
            "n_nonzero": len(nonzero),
            "accuracy_nonzero": _rate([s.correct for s in nonzero]),
            "n_gold_null": len(gold_null),
            "abstention_accuracy": _rate([s.correct for s in gold_null]),
        }
    return table


def _calibration_set(scores: Sequence[FieldScore]) -> tuple[np.ndarray, np.ndarray]:
    rows = [s for s in _scored(scores) if s.confidence is not None]
    conf = np.array([min(max(float(s.confidence or 0.0), 0.0), 1.0) for s in rows], dtype=float)
    correct = np.array([1 if s.correct else 0 for s in rows], dtype=int)
    return conf, correct


def _bin_ids(conf: np.ndarray, n_bins: int) -> np.ndarray:
    # Same binning as sklearn.calibration.calibration_curve(strategy="uniform").
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], conf)


def reliability_bins(
    scores: Sequence[FieldScore], n_bins: int = ECE_BINS
) -> list[dict[str, float]] | None:
    """Non-empty equal-width bins: lo, hi, n, mean confidence, accuracy."""
    conf, correct = _calibration_set(scores)
    if conf.size == 0:
        return None
    prob_true, prob_pred = calibration_curve(correct, conf, n_bins=n_bins, strategy="uniform")
    counts = np.bincount(_bin_ids(conf, n_bins), minlength=n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    nonempty = [i for i in range(n_bins) if counts[i] > 0]
    return [
        {
            "lo": float(edges[i]),
            "hi": float(edges[i + 1]),
            "n": int(counts[i]),
            "confidence": float(p),
            "accuracy": float(t),
        }
        for i, t, p in zip(nonempty, prob_true, prob_pred, strict=True)
    ]


def risk_coverage(scores: Sequence[FieldScore]) -> list[dict[str, float]] | None:
    """Keep the most confident fields first: (threshold, coverage, risk) at each distinct
    confidence; risk = error rate among the kept fields."""
    conf, correct = _calibration_set(scores)
    if conf.size == 0:
        return None
    order = np.argsort(-conf, kind="stable")
    conf, wrong = conf[order], 1 - correct[order]
    cum_wrong = np.cumsum(wrong)
    n = conf.size
    points = []
    for i in range(n):
        if i + 1 < n and conf[i + 1] == conf[i]:
            continue  # ties are kept or dropped together
        points.append(
            {
                "threshold": float(conf[i]),
                "coverage": (i + 1) / n,
                "risk": float(cum_wrong[i]) / (i + 1),
            }
        )
    return points


def errors_caught(scores: Sequence[FieldScore], budget: float) -> float | None:
    """Send the least-confident ``budget`` share of the calibration set to review
    (ceil(budget * n) fields, ties broken by doc/path): share of its wrong fields caught."""
    rows = sorted(
        (s for s in _scored(scores) if s.confidence is not None),
        key=lambda s: (s.confidence, s.doc, s.path),
    )
    n_wrong = sum(not s.correct for s in rows)
    if not rows or n_wrong == 0:
        return None
    k = math.ceil(budget * len(rows))
    return sum(not s.correct for s in rows[:k]) / n_wrong


def _lists(scores: Sequence[FieldScore]) -> list[FieldScore]:
    return [s for s in scores if s.kind == "list" and not s.both_null]


def _micro(scores: Sequence[FieldScore], which: str) -> float | None:
    lists = _lists(scores)
    tp = sum(s.n_matched_items or 0 for s in lists)
    n_pred = sum(s.n_pred_items or 0 for s in lists)
    n_gold = sum(s.n_gold_items or 0 for s in lists)
    if which == "precision":
        return tp / n_pred if n_pred else None
    if which == "recall":
        return tp / n_gold if n_gold else None
    return 2 * tp / (n_pred + n_gold) if (n_pred + n_gold) else None


def _macro(scores: Sequence[FieldScore], which: str) -> float | None:
    values = [getattr(s, which) for s in _lists(scores)]
    defined = [float(v) for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def _mean(values: Iterable[float | int | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


# ---------------------------------------------------------------- accuracy


@register("accuracy", description="correct / fields where gold or prediction is not null")
def _accuracy(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return accuracy_of(scores)


@register(
    "n_scored", description="fields where gold or prediction is not null", higher_is_better=None
)
def _n_scored(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return len(_scored(scores))


@register(
    "accuracy_nonzero", description="accuracy where gold is non-null and non-zero / non-empty"
)
def _accuracy_nonzero(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return _rate([s.correct for s in scores if s.gold_nonzero])


@register(
    "abstention_accuracy",
    description="where gold is null: share the prediction also left null (or matched an alternative)",
)
def _abstention(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return _rate([s.correct for s in scores if s.gold_null])


@register("by_section", description="accuracy table per top-level section", higher_is_better=None)
def _by_section(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return group_table(scores, lambda s: s.section)


@register("by_group", description="accuracy table per field group", higher_is_better=None)
def _by_group(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return group_table(scores, lambda s: s.group)


@register("by_kind", description="accuracy table per value kind", higher_is_better=None)
def _by_kind(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return group_table(scores, lambda s: s.kind)


# ---------------------------------------------------------------- lists

for _which in ("precision", "recall", "f1"):

    def _make(which: str, avg: str) -> MetricFn:
        def fn(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
            return _micro(scores, which) if avg == "micro" else _macro(scores, which)

        return fn

    register(f"list_{_which}_micro", description=f"list items: {_which} pooled over all items")(
        _make(_which, "micro")
    )
    register(f"list_{_which}_macro", description=f"list items: mean per-list {_which}")(
        _make(_which, "macro")
    )


# ---------------------------------------------------------------- calibration


@register("auroc", description="ROC AUC of confidence for telling correct from wrong fields")
def _auroc(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    conf, correct = _calibration_set(scores)
    if conf.size == 0 or len(set(correct.tolist())) < 2:
        return None
    return float(roc_auc_score(correct, conf))


@register(
    "ece",
    description=f"expected calibration error, {ECE_BINS} equal-width bins",
    higher_is_better=False,
)
def _ece(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    bins = reliability_bins(scores)
    if not bins:
        return None
    total = sum(b["n"] for b in bins)
    return float(sum(b["n"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / total)


@register("brier", description="Brier score of confidence vs correct", higher_is_better=False)
def _brier(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    conf, correct = _calibration_set(scores)
    if conf.size == 0:
        return None
    return float(brier_score_loss(correct, conf, pos_label=1))


@register("reliability", description="reliability diagram bins", higher_is_better=None)
def _reliability(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return reliability_bins(scores)


@register("risk_coverage", description="risk-coverage curve points", higher_is_better=None)
def _risk_coverage(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return risk_coverage(scores)


@register("aurc", description="area under the risk-coverage curve", higher_is_better=False)
def _aurc(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    points = risk_coverage(scores)
    if not points:
        return None
    area, prev = 0.0, 0.0
    for p in points:
        area += (p["coverage"] - prev) * p["risk"]
        prev = p["coverage"]
    return area


for _budget in REVIEW_BUDGETS:

    def _catch(budget: float) -> MetricFn:
        def fn(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
            return errors_caught(scores, budget)

        return fn

    register(
        f"errors_caught_at_{round(_budget * 100)}pct",
        description=f"share of wrong fields among the least-confident {round(_budget * 100)}% sent to review",
    )(_catch(_budget))


@register("review_flag_recall", description="share of wrong fields with status needs_review")
def _flag_recall(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    wrong = [s for s in _scored(scores) if not s.correct and s.status is not None]
    return _rate([s.status == "needs_review" for s in wrong])


@register("review_flag_precision", description="share of needs_review fields that are wrong")
def _flag_precision(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    flagged = [s for s in _scored(scores) if s.status == "needs_review"]
    return _rate([not s.correct for s in flagged])


# ---------------------------------------------------------------- invented values
# A prediction the document's text does not contain (FieldScore.invented, set when the eval
# had the texts): non-zero numbers, dates and strings; zeros, enums and nulls are unchecked.


def invented_rate(scores: Sequence[FieldScore], status: str | None = None) -> float | None:
    """Share of checked predictions that are invented (among those of `status` when given)."""
    checked = [
        s for s in scores if s.invented is not None and (status is None or s.status == status)
    ]
    return _rate([bool(s.invented) for s in checked])


@register(
    "invented_values",
    description="share of predicted non-zero numbers, dates and strings the text does not contain",
    higher_is_better=False,
)
def _invented(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return invented_rate(scores)


@register(
    "invented_values_auto",
    description="invented values among the auto-accepted fields (status auto)",
    higher_is_better=False,
)
def _invented_auto(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return invented_rate(scores, "auto")


@register(
    "invented_values_n",
    description="number of predicted values the text does not contain",
    higher_is_better=False,
)
def _invented_n(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    if not any(s.invented is not None for s in scores):
        return None
    return sum(bool(s.invented) for s in scores)


# ---------------------------------------------------------------- cost


@register(
    "tokens_in_per_doc", description="mean prompt tokens per document", higher_is_better=False
)
def _tokens_in(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return _mean(d.tokens_in for d in docs)


@register(
    "tokens_out_per_doc", description="mean completion tokens per document", higher_is_better=False
)
def _tokens_out(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return _mean(d.tokens_out for d in docs)


@register("seconds_per_doc", description="mean wall seconds per document", higher_is_better=False)
def _seconds(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return _mean(d.seconds for d in docs)


@register(
    "retries_per_doc", description="mean validation retries per document", higher_is_better=False
)
def _retries(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return _mean(d.retries for d in docs) if docs else None


@register(
    "validation_failures",
    description="documents that failed validation after retries",
    higher_is_better=False,
)
def _validation_failures(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return sum(d.validation_failed for d in docs)


@register("doc_failures", description="documents with no record (errors)", higher_is_better=False)
def _doc_failures(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> MetricValue:
    return sum(d.error is not None for d in docs)


__all__ = [
    "ECE_BINS",
    "REGISTRY",
    "REVIEW_BUDGETS",
    "DocStats",
    "MetricSpec",
    "accuracy_of",
    "compute_metrics",
    "errors_caught",
    "group_table",
    "invented_rate",
    "register",
    "reliability_bins",
    "risk_coverage",
]
