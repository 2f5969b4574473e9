"""The signals of one field, turned into the fixed feature vector the calibrator reads.

Signals are collected along the way and stored with every field row (`FieldValue.signals`):

- alignment of the evidence (exact / fuzzy / not_found) and how it was found
  (`evidence_via`: quote, value, label search), `label_score`;
- `value_in_span`: does the located span actually state the value (1/0); `span_numbers`:
  how many distinct numbers the span states (more than one: the check is weaker);
  `label_in_span`: does the quote name the field (its label words);
- `n_readers`, `readers_agree`, `identity_decided`: reconciliation of the readers;
- `identity_break`: the field is part of a broken table identity;
- `retries`: validation re-asks of the LLM call;
- `sample_agreement`: share of the k-1 extra sampled extractions giving the same value;
- `value_logprob` / `value_logprob_min`: token logprobs of the value;
- `blank_cell`: a blank table cell read as 0; `kind`: the field's scoring kind;
- `doubt`: why the table reader doubts the cell (a failed self-check, in words).

`features()` maps them to numbers with a fixed name list (`FEATURES`): missing signals
map to 0 with a companion "missing" feature where absence itself is informative.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from structurer.core.types import AlignmentStatus

LOGPROB_FLOOR = -8.0

FEATURES: tuple[str, ...] = (
    "aligned_exact",
    "aligned_fuzzy",
    "value_in_span",
    "value_not_in_span",
    "span_ambiguous",
    "label_not_in_span",
    "found_near_label",
    "table_reader",
    "blank_cell",
    "table_doubt",
    "readers_agree",
    "readers_disagree",
    "identity_break",
    "retries",
    "value_logprob",
    "value_logprob_min",
    "logprob_missing",
    "sample_disagreement",
    "kind_list",
    "kind_str",
    "kind_judgement",
    "value_zero",
)


def _num(signals: Mapping[str, Any], key: str) -> float | None:
    value = signals.get(key)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def features(
    reader: str | None, alignment: str | None, signals: Mapping[str, Any], value: Any = None
) -> dict[str, float]:
    """The feature vector (every name in FEATURES) of one field row."""
    table = bool(reader and "table" in reader.split("+"))
    if alignment is None and table:
        alignment = AlignmentStatus.exact.value  # table cells point at their printed cell/row
    f = dict.fromkeys(FEATURES, 0.0)
    f["aligned_exact"] = float(alignment == AlignmentStatus.exact.value)
    f["aligned_fuzzy"] = float(alignment == AlignmentStatus.fuzzy.value)
    in_span = _num(signals, "value_in_span")
    if in_span is not None:
        f["value_in_span"] = in_span
        f["value_not_in_span"] = 1.0 - in_span
    f["span_ambiguous"] = float((_num(signals, "span_numbers") or 0.0) > 1)
    f["label_not_in_span"] = float(_num(signals, "label_in_span") == 0.0)
    f["found_near_label"] = float(signals.get("evidence_via") == "label")
    f["table_reader"] = float(table)
    f["blank_cell"] = float(bool(signals.get("blank_cell")))
    f["table_doubt"] = float(bool(signals.get("doubt")))
    agree = _num(signals, "readers_agree")
    if agree is not None:
        f["readers_agree"] = agree
        f["readers_disagree"] = 1.0 - agree
    f["identity_break"] = float(bool(signals.get("identity_break")))
    f["retries"] = min(_num(signals, "retries") or 0.0, 3.0)
    mean, low = _num(signals, "value_logprob"), _num(signals, "value_logprob_min")
    if mean is None:
        f["logprob_missing"] = float(not table)
    else:
        f["value_logprob"] = max(LOGPROB_FLOOR, min(0.0, mean))
        f["value_logprob_min"] = max(LOGPROB_FLOOR, min(0.0, low if low is not None else mean))
    agreement = _num(signals, "sample_agreement")
    if agreement is not None:
        f["sample_disagreement"] = 1.0 - agreement
    kind = signals.get("kind")
    f["kind_list"] = float(kind == "list")
    f["kind_str"] = float(kind == "str")
    f["kind_judgement"] = float(kind == "enum")
    f["value_zero"] = float(
        isinstance(value, int | float) and not isinstance(value, bool) and value == 0
    )
    return f


def vector(
    feats: Mapping[str, float], names: tuple[str, ...] | list[str] = FEATURES
) -> list[float]:
    return [float(feats.get(n, 0.0)) for n in names]
