"""Field-level scoring of one predicted record against one gold record.

The rules are those of ``shared/spec/report-schema.md`` ("How a field is scored"):

- int, float, enum, date: equal after normalisation; floats within 1e-6 relative.
- str: equal after NFKC, removing whitespace and the spec's punctuation (see
  ``PUNCTUATION``), or equal to a gold alternative.
- list[str]: one-to-one matching (Hungarian assignment) on a similarity in [0, 1];
  a pair counts at similarity >= ``LIST_MATCH_THRESHOLD``; precision/recall/F1 per list.
- ``alternatives`` apply to every kind; ``null`` may be an alternative.
- A field is correct when prediction and gold agree, null with null included.

Everything here is pure: plain values in, ``FieldScore`` rows out.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from structurer.core.kinds import PUNCTUATION, FieldKind, field_kinds, normalize_text
from structurer.core.records import flatten

if typing.TYPE_CHECKING:
    from structurer.eval.gold import GoldRecord


FLOAT_REL_TOL = 1e-6
LIST_MATCH_THRESHOLD = 0.6
CONTAINMENT_MIN_CHARS = 8
LIST_CORRECT_F1 = 1.0
"""A list field counts as *correct* (for accuracy) only when its F1 is 1.0.

That is: the same number of items, every item matched one-to-one at similarity >= 0.6.
Why: accuracy is a strict yes/no per field; the 0.6 item threshold already tolerates
trimming and small wording differences, so demanding every item be matched is the
natural "agrees" for a list. Partial credit lives in the list precision/recall/F1
metrics, which are reported next to accuracy.
"""


class FieldScore(BaseModel):
    """One scored leaf of one document. Serialised one per line in ``samples.jsonl``."""

    model_config = ConfigDict(frozen=True)

    doc: str
    path: str
    section: str
    group: str
    kind: FieldKind
    gold: Any = None
    pred: Any = None
    correct: bool
    both_null: bool
    gold_null: bool
    pred_null: bool
    gold_nonzero: bool
    matched_alternative: bool = False
    # list fields only
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    n_gold_items: int | None = None
    n_pred_items: int | None = None
    n_matched_items: int | None = None
    # from the prediction's export row, when given
    confidence: float | None = None
    status: str | None = None
    # the prediction is a printed value the document's text does not contain (None: not
    # checkable, or no text given); see structurer.core.evidence.invented
    invented: bool | None = None

    @property
    def scored(self) -> bool:
        """In the headline accuracy: gold or prediction is not null."""
        return not self.both_null


# ---------------------------------------------------------------- normalisation


def _is_null(value: Any, kind: FieldKind) -> bool:
    if value is None:
        return True
    if kind == "list":
        return isinstance(value, list | tuple) and len(value) == 0
    if kind == "str":
        # A blank string states nothing: treat it as null.
        return isinstance(value, str) and normalize_text(value) == ""
    return False


def _norm_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


def _norm_date(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            return text
    return None


def _norm_enum(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    return str(value).strip()


def values_equal(gold: Any, pred: Any, kind: FieldKind) -> bool:
    """Equality of two scalar values of one kind under the spec's normalisation."""
    gold_null, pred_null = _is_null(gold, kind), _is_null(pred, kind)
    if gold_null or pred_null:
        return gold_null and pred_null
    if kind in ("int", "float"):
        g, p = _norm_number(gold), _norm_number(pred)
        if g is None or p is None:
            return False
        if kind == "int":
            return g == p
        return math.isclose(g, p, rel_tol=FLOAT_REL_TOL, abs_tol=0.0)
    if kind == "date":
        return _norm_date(gold) == _norm_date(pred)
    if kind == "enum":
        return _norm_enum(gold) == _norm_enum(pred)
    if kind == "str":
        return normalize_text(str(gold)) == normalize_text(str(pred))
    raise ValueError(f"values_equal does not handle kind {kind!r}")


# ---------------------------------------------------------------- lists


def item_similarity(a: str, b: str) -> float:
    """Similarity of two list items in [0, 1], after ``normalize_text``.

    1.0 when the shorter text has at least 8 characters and is contained in the longer;
    else the character-level ratio (rapidfuzz ``fuzz.ratio`` / 100, i.e. Indel similarity).
    """
    na, nb = normalize_text(a), normalize_text(b)
    short, long_ = (na, nb) if len(na) <= len(nb) else (nb, na)
    if len(short) >= CONTAINMENT_MIN_CHARS and short in long_:
        return 1.0
    if not na and not nb:
        return 1.0
    return float(fuzz.ratio(na, nb)) / 100.0


class ListMatch(BaseModel):
    """Result of matching a predicted list against a gold list."""

    pairs: list[tuple[int, int, float]]  # (gold index, pred index, similarity), counted pairs
    n_gold: int
    n_pred: int

    @property
    def n_matched(self) -> int:
        return len(self.pairs)

    @property
    def precision(self) -> float | None:
        return self.n_matched / self.n_pred if self.n_pred else None

    @property
    def recall(self) -> float | None:
        return self.n_matched / self.n_gold if self.n_gold else None

    @property
    def f1(self) -> float | None:
        """None when both lists are empty; 0.0 when exactly one is."""
        if not self.n_gold and not self.n_pred:
            return None
        if not self.n_gold or not self.n_pred or not self.n_matched:
            return 0.0
        return 2 * self.n_matched / (self.n_gold + self.n_pred)


def match_lists(gold: Sequence[str], pred: Sequence[str]) -> ListMatch:
    """One-to-one matching of items by the Hungarian algorithm (scipy).

    The assignment maximises total similarity where similarities below the threshold are
    set to 0 first, so a pair that could never count does not displace one that would;
    then assigned pairs with similarity >= 0.6 are counted.
    """
    gold_items = [str(x) for x in gold]
    pred_items = [str(x) for x in pred]
    if not gold_items or not pred_items:
        return ListMatch(pairs=[], n_gold=len(gold_items), n_pred=len(pred_items))
    sim = np.array([[item_similarity(g, p) for p in pred_items] for g in gold_items])
    weights = np.where(sim >= LIST_MATCH_THRESHOLD, sim, 0.0)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    pairs = [
        (int(r), int(c), float(sim[r, c]))
        for r, c in zip(rows, cols, strict=True)
        if sim[r, c] >= LIST_MATCH_THRESHOLD
    ]
    return ListMatch(pairs=pairs, n_gold=len(gold_items), n_pred=len(pred_items))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(x) for x in value if x is not None]
    return [str(value)]


# ---------------------------------------------------------------- paths and groups


def section_of(path: str) -> str:
    return path.split(".", 1)[0]


def group_of(path: str) -> str:
    """Group of a leaf path: ``<section>.table`` for table cells (3-part paths such as
    ``requests.total.natural_person`` or ``proactive.fees.change``), else the section
    (``meta``, ``proactive`` for ``proactive.total_items``, ``legacy``, ``contact``, ...)."""
    parts = path.split(".")
    return f"{parts[0]}.table" if len(parts) >= 3 else parts[0]


# ---------------------------------------------------------------- scoring


def _nonzero(value: Any, kind: FieldKind) -> bool:
    if _is_null(value, kind):
        return False
    if kind in ("int", "float"):
        number = _norm_number(value)
        return number is None or number != 0
    return True


def _split_prediction(pred: Mapping[str, Any]) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """Accept an export row ``{"doc", "record", "fields"}`` or a bare nested record."""
    record = pred.get("record")
    if isinstance(record, Mapping):  # a record has no top-level "record" section
        fields = pred.get("fields") or {}
        return flatten(record), fields if isinstance(fields, Mapping) else {}
    return flatten(pred), {}


def score_field(
    *,
    doc: str,
    path: str,
    kind: FieldKind,
    gold: Any,
    pred: Any,
    alternatives: Sequence[Any] = (),
    confidence: float | None = None,
    status: str | None = None,
    text: str | None = None,
    scales: Sequence[float] = (1.0,),
) -> FieldScore:
    gold_null, pred_null = _is_null(gold, kind), _is_null(pred, kind)
    invented = None
    if text is not None and not pred_null:
        from structurer.core.evidence.invented import is_invented

        invented = is_invented(pred, kind, text, scales)
    common: dict[str, Any] = {
        "doc": doc,
        "path": path,
        "section": section_of(path),
        "group": group_of(path),
        "kind": kind,
        "gold": gold,
        "pred": pred,
        "both_null": gold_null and pred_null,
        "gold_null": gold_null,
        "pred_null": pred_null,
        "gold_nonzero": _nonzero(gold, kind),
        "confidence": confidence,
        "status": status,
        "invented": invented,
    }
    if kind == "list":
        best = match_lists(_as_list(gold), _as_list(pred))
        matched_alt = False
        for alt in alternatives:
            candidate = match_lists(_as_list(alt), _as_list(pred))
            if (candidate.f1 or 0.0) > (best.f1 or 0.0):
                best, matched_alt = candidate, True
        both_empty = best.n_gold == 0 and best.n_pred == 0
        correct = both_empty or (best.f1 is not None and best.f1 >= LIST_CORRECT_F1)
        return FieldScore(
            **common,
            correct=correct,
            matched_alternative=matched_alt and not both_empty,
            precision=best.precision,
            recall=best.recall,
            f1=best.f1,
            n_gold_items=best.n_gold,
            n_pred_items=best.n_pred,
            n_matched_items=best.n_matched,
        )
    correct = values_equal(gold, pred, kind)
    matched_alt = False
    if not correct:
        matched_alt = any(values_equal(alt, pred, kind) for alt in alternatives)
        correct = matched_alt
    return FieldScore(**common, correct=correct, matched_alternative=matched_alt)


def _confidence(entry: Any) -> tuple[float | None, str | None]:
    if not isinstance(entry, Mapping):
        return None, None
    conf = entry.get("confidence")
    status = entry.get("status")
    confidence = (
        float(conf) if isinstance(conf, int | float) and not isinstance(conf, bool) else None
    )
    return confidence, str(status) if status is not None else None


def score_record(
    pred: Mapping[str, Any] | None,
    gold: GoldRecord,
    paths: Mapping[str, FieldKind],
    text: str | None = None,
    scales: Sequence[float] = (1.0,),
) -> list[FieldScore]:
    """Score every path of ``paths`` (leaf path -> kind; see ``field_kinds``).

    ``pred`` is an export row (``{"doc", "record", "fields"}``, confidences and statuses are
    taken from ``fields``) or a bare nested record; ``None`` (the run failed on this
    document) scores every path as a null prediction. A path missing from the prediction
    is null. With the document's ``text``, each prediction is also checked for being
    invented (``FieldScore.invented``).
    """
    flat_pred, fields = _split_prediction(pred) if pred is not None else ({}, {})
    flat_gold = flatten(gold.record)
    scores = []
    for path, kind in paths.items():
        confidence, status = _confidence(fields.get(path))
        scores.append(
            score_field(
                doc=gold.doc,
                path=path,
                kind=kind,
                gold=flat_gold.get(path),
                pred=flat_pred.get(path),
                alternatives=gold.alternatives.get(path, ()),
                confidence=confidence,
                status=status,
                text=text,
                scales=scales,
            )
        )
    return scores


def score_run(
    predictions: Mapping[str, Mapping[str, Any] | None],
    golds: Sequence[GoldRecord],
    paths: Mapping[str, FieldKind],
    texts: Mapping[str, str] | None = None,
    scales: Sequence[float] = (1.0,),
) -> list[FieldScore]:
    """Score a run: ``predictions`` maps doc name -> export row (absent/None = failed);
    ``texts`` (doc name -> text as read), when given, lets invented values be counted."""
    scores: list[FieldScore] = []
    for gold in golds:
        text = texts.get(gold.doc) if texts is not None else None
        scores.extend(score_record(predictions.get(gold.doc), gold, paths, text, scales))
    return scores


__all__ = [
    "CONTAINMENT_MIN_CHARS",
    "FLOAT_REL_TOL",
    "LIST_CORRECT_F1",
    "LIST_MATCH_THRESHOLD",
    "PUNCTUATION",
    "FieldKind",
    "FieldScore",
    "ListMatch",
    "field_kinds",
    "group_of",
    "item_similarity",
    "match_lists",
    "normalize_text",
    "score_field",
    "score_record",
    "score_run",
    "section_of",
    "values_equal",
]
