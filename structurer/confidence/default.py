"""Default confidence when no calibrator has been fitted: a fixed logistic over the features.

The weights are a prior, not a measurement (they only order fields sensibly: evidence that
states the value and readers that agree raise confidence; a value missing from its quote,
a disagreement or a broken identity lower it). `structurer calibrate` fits real ones on gold
data; until then confidences should be read as ranks, not probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from structurer.confidence.signals import features

INTERCEPT = 0.0
WEIGHTS: dict[str, float] = {
    "aligned_exact": 1.0,
    "aligned_fuzzy": 0.4,
    "value_in_span": 1.2,
    "value_not_in_span": -1.5,
    "span_ambiguous": -0.5,
    "label_not_in_span": -0.7,
    "found_near_label": 0.5,
    "table_reader": 1.5,
    "blank_cell": -0.3,
    "table_doubt": -3.0,
    "readers_agree": 1.0,
    "readers_disagree": -2.0,
    "identity_break": -2.0,
    "retries": -0.7,
    "value_logprob": 0.5,
    "value_logprob_min": 0.1,
    "logprob_missing": 0.0,
    "sample_disagreement": -2.0,
    "kind_list": -1.0,
    "kind_str": -0.3,
    "kind_judgement": 0.0,
    "value_zero": -0.3,
}


def default_confidence(
    reader: str | None, alignment: str | None, signals: Mapping[str, Any], value: Any = None
) -> float:
    z = INTERCEPT + sum(
        WEIGHTS.get(k, 0.0) * v for k, v in features(reader, alignment, signals, value).items()
    )
    return 1.0 / (1.0 + math.exp(-z))
