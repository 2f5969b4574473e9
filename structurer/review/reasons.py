"""Why a field was sent to review, in words: read from the signals stored with the field.

The keys are fixed here; the words are the report type's (its ``ui`` keys ``reasons.<key>``,
English defaults in ``structurer/review/ui.py``). A field with no telling signal (only its fused confidence
is low) says so; an audited field with nothing telling asks to be checked, like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LOW_LOGPROB = -1.0  # mean token log-probability of the value below which the model was unsure


def reason_keys(alignment: str | None, signals: Mapping[str, Any], *, flagged: bool) -> list[str]:
    """The reasons, most telling first."""
    out: list[str] = []
    if signals.get("doubt"):
        out.append("table_doubt")  # a table self-check failed (its words are in the signal)
    if signals.get("cross_report"):
        out.append("cross_report")  # breaks a check with the body's report of another year
    if alignment == "not_found":
        out.append("not_found")
    elif signals.get("value_in_span") in (0, 0.0, False):
        out.append("value_not_in_span")
    if signals.get("readers_agree") in (0, 0.0, False):
        out.append("readers_disagree")
    if signals.get("identity_break"):
        out.append("identity_break")
    logprob = signals.get("value_logprob")
    if isinstance(logprob, int | float) and logprob < LOW_LOGPROB:
        out.append("low_probability")
    agreement = signals.get("sample_agreement")
    if isinstance(agreement, int | float) and agreement < 1.0:
        out.append("samples_disagree")
    if (signals.get("retries") or 0) > 0:
        out.append("retries")
    if alignment == "fuzzy":
        out.append("fuzzy")
    if signals.get("label_in_span") in (0, 0.0, False):
        out.append("label_not_in_span")
    if (signals.get("span_numbers") or 0) > 1:
        out.append("span_ambiguous")
    if signals.get("blank_cell"):
        out.append("blank_cell")
    if not out:
        out.append("low_confidence" if flagged else "check")
    return out


def reason_words(
    keys: list[str], words: Mapping[str, str], signals: Mapping[str, Any], separator: str = "; "
) -> str:
    """The reasons as one line for the annotator."""
    shown = []
    for key in keys:
        if key == "readers_disagree" and signals.get("other_value") is not None:
            template = words.get("readers_disagree_with")
            if template:
                shown.append(template.format(other=signals["other_value"]))
                continue
        if key in ("table_doubt", "cross_report"):  # the check's own words follow
            why = signals["doubt" if key == "table_doubt" else key]
            template = words.get(f"{key}_with")
            shown.append(template.format(why=why) if template else f"{words.get(key, key)}: {why}")
            continue
        shown.append(words.get(key, key))
    return separator.join(shown)


__all__ = ["reason_keys", "reason_words"]
