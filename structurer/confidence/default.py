"""Default confidence when no calibrator has been fitted: a fixed logistic over the signals.

The weights are a prior, not a measurement; `structurer calibrate` fits real ones on gold data.
"""

from __future__ import annotations

import math
from typing import Any

from structurer.types import AlignmentStatus

WEIGHTS: dict[str, float] = {
    "bias": 1.0,
    "aligned_exact": 1.2,
    "aligned_fuzzy": 0.4,
    "not_found": -1.5,
    "table_reader": 1.5,
    "readers_agree": 1.0,
    "readers_disagree": -2.0,
    "identity_break": -2.0,
    "retries": -0.7,
    "value_logprob": 1.0,
    "sample_agreement": 1.0,
}


def features(reader: str | None, alignment: str | None, signals: dict[str, Any]) -> dict[str, float]:
    f: dict[str, float] = {"bias": 1.0}
    f["aligned_exact"] = float(alignment == AlignmentStatus.exact)
    f["aligned_fuzzy"] = float(alignment == AlignmentStatus.fuzzy)
    f["not_found"] = float(alignment in (None, AlignmentStatus.not_found))
    f["table_reader"] = float(bool(reader and reader.startswith("table")))
    if "readers_agree" in signals:
        agree = float(signals["readers_agree"])
        f["readers_agree"] = agree
        f["readers_disagree"] = 1.0 - agree
    f["identity_break"] = float(bool(signals.get("identity_break")))
    f["retries"] = float(signals.get("retries", 0))
    if "value_logprob" in signals:
        f["value_logprob"] = max(-5.0, float(signals["value_logprob"]))
    if "sample_agreement" in signals:
        f["sample_agreement"] = float(signals["sample_agreement"]) - 0.5
    return f


def default_confidence(reader: str | None, alignment: str | None, signals: dict[str, Any]) -> float:
    z = sum(WEIGHTS.get(k, 0.0) * v for k, v in features(reader, alignment, signals).items())
    return 1.0 / (1.0 + math.exp(-z))
