"""One annotation -> a checked correction, and a correction -> the stored record.

Verdicts (labels in ``review/<type>/review.json``):

- 正确 (confirmed): the model's value stands;
- 错误，已更正 (corrected): the typed value replaces it (read by the field's kind);
- 原文未提及 (not_stated): the value becomes null (an empty list for list fields).

Every accepted verdict sets the field's status to ``corrected``: the export's status enum
(auto | needs_review | corrected) has no "confirmed", and ``corrected`` is what says a person
settled the value (rescoring leaves such rows alone, and a re-push never tasks them again).
Which verdict it was stays in ``FieldValue.signals["review"]`` and in ``review_corrections``;
a confirmation also sets ``signals["confirmed"]``. The field's confidence becomes 1.0 (the
model's is kept in ``signals["review"]["model_confidence"]``).

A correction is applied by building the record with it and validating it with the report
type's model: a value the type cannot take is rejected; table identities the correction
breaks are reported as warnings (real reports print broken tables; that is not an error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from structurer.core.records import flatten, unflatten
from structurer.core.report_type import ReportType
from structurer.review.labeling import (
    EVIDENCE,
    VALUE_CHOICE,
    VALUE_TEXT,
    VERDICT,
    FieldKind,
    ReviewConfig,
    ReviewField,
    Verdict,
)
from structurer.review.tasks import str_index
from structurer.review.values import InvalidValue, input_text, parse_value
from structurer.store.models import Extraction, FieldValue


@dataclass
class Reading:
    """What an annotation says, before it touches the record."""

    verdict: Verdict | None
    raw_input: str | None
    value: Any = None
    error: str | None = None
    evidence: tuple[int, int] | None = None  # Python indices of a region the annotator marked
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.verdict is not None


def _results(result: Sequence[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [r for r in result if r.get("from_name") == name]


def _texts(result: Sequence[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    for r in _results(result, VALUE_TEXT):
        texts = (r.get("value") or {}).get("text") or []
        out.extend(str(t) for t in (texts if isinstance(texts, list) else [texts]))
    return out


def _choices(result: Sequence[Mapping[str, Any]], name: str) -> list[str]:
    out: list[str] = []
    for r in _results(result, name):
        out.extend(str(c) for c in (r.get("value") or {}).get("choices") or [])
    return out


def _evidence(result: Sequence[Mapping[str, Any]], text: str) -> tuple[int, int] | None:
    for r in _results(result, EVIDENCE):
        value = r.get("value") or {}
        start, end = value.get("start"), value.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            return str_index(text, start), str_index(text, end)
    return None


def _corrected_value(
    field_: ReviewField, proposed: Any, texts: list[str], choices: list[str]
) -> Any:
    """The typed corrected value; for enums the choice control or the text, whichever the
    annotator changed (both changed and disagreeing is ambiguous)."""
    typed = "\n".join(texts).strip()
    if field_.kind is not FieldKind.choice or not choices:
        if not typed and choices:
            typed = choices[0]
        if field_.kind is not FieldKind.lines and len([t for t in texts if t.strip()]) > 1:
            raise InvalidValue("several values given; give one")
        return parse_value(field_, typed)
    if len(choices) > 1:
        raise InvalidValue(f"several choices selected: {', '.join(choices)}")
    before = input_text(field_, proposed)
    from_choice = parse_value(field_, choices[0])
    if not typed:
        return from_choice
    from_text = parse_value(field_, typed)
    if from_text == from_choice:
        return from_text
    if choices[0] == before:
        return from_text
    if typed == before:
        return from_choice
    raise InvalidValue(
        f"the choice {choices[0]!r} and the typed value {typed!r} disagree; give one"
    )


def read_annotation(
    result: Sequence[Mapping[str, Any]],
    field_: ReviewField | None,
    proposed: Any,
    config: ReviewConfig,
    text: str,
) -> Reading:
    """Verdict, raw input and typed value of one annotation's result."""
    verdicts = _choices(result, VERDICT)
    texts = _texts(result)
    choices = _choices(result, VALUE_CHOICE)
    raw_parts = list(texts) + [f"[{c}]" for c in choices]
    raw_input = "\n".join(raw_parts) if raw_parts else None
    if len(verdicts) != 1:
        shown = "no verdict" if not verdicts else f"{len(verdicts)} verdicts"
        return Reading(
            None,
            raw_input,
            error=f"{shown}: choose exactly one of {', '.join(config.verdicts.values())}",
        )
    verdict = config.verdict_of(verdicts[0])
    if verdict is None:
        return Reading(None, raw_input, error=f"unknown verdict {verdicts[0]!r}")
    reading = Reading(verdict, raw_input, evidence=_evidence(result, text))
    if field_ is None:
        reading.error = "the schema has no such field any more"
        return reading
    if verdict is Verdict.confirmed:
        reading.value = proposed
    elif verdict is Verdict.not_stated:
        reading.value = [] if field_.kind is FieldKind.lines else None
    else:
        try:
            reading.value = _corrected_value(field_, proposed, texts, choices)
        except InvalidValue as exc:
            reading.error = f"{field_.path}: {exc}"
            return reading
        if reading.value == proposed:
            reading.warnings.append("the corrected value equals the model's value")
    return reading


def _break_names(breaks: Sequence[Any]) -> set[str]:
    return {str(b.get("name") if isinstance(b, Mapping) else getattr(b, "name", b)) for b in breaks}


def _validation_message(path: str, exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return f"{path}: the record does not validate"
    where = ".".join(str(p) for p in errors[0]["loc"]) or path
    return f"{path}: the record does not validate ({where}: {errors[0]['msg']})"


def apply_reading(
    rtype: ReportType,
    extraction: Extraction,
    row: FieldValue,
    reading: Reading,
    *,
    annotator: str | None,
    task_id: int,
    text: str,
) -> tuple[Any, list[str]]:
    """Validate the record with the reading applied; on success update ``extraction`` and
    ``row`` (not committed) and return (stored value, warnings). ValueError when invalid."""
    flat = flatten(extraction.record or {})
    flat[row.path] = reading.value
    try:
        record, breaks = rtype.validate(unflatten(flat))
    except ValidationError as exc:
        raise ValueError(_validation_message(row.path, exc)) from None
    before = _break_names(extraction.identity_breaks or [])
    warnings = list(reading.warnings)
    for b in breaks:
        if b["name"] not in before and row.path in b.get("paths", []):
            warnings.append(
                f"introduces identity break {b['name']}: expected {b.get('expected')}, got {b.get('actual')}"
            )
    value = flatten(record).get(row.path)
    review = {
        "verdict": reading.verdict.value if reading.verdict else None,
        "task_id": task_id,
        "annotator": annotator,
        "model_value": row.signals.get("review", {}).get("model_value", row.value)
        if isinstance(row.signals.get("review"), dict)
        else row.value,
        "model_confidence": row.signals.get("review", {}).get("model_confidence", row.confidence)
        if isinstance(row.signals.get("review"), dict)
        else row.confidence,
    }
    signals = {**row.signals, "review": review}
    if reading.verdict is Verdict.confirmed:
        signals["confirmed"] = True
    else:
        signals.pop("confirmed", None)
    extraction.record = record
    extraction.identity_breaks = breaks
    row.value = value
    row.status = "corrected"
    row.confidence = 1.0
    row.signals = signals
    if reading.evidence is not None and reading.verdict is not Verdict.not_stated:
        start, end = reading.evidence
        if (start, end) != (row.evidence_start, row.evidence_end):
            row.evidence_start, row.evidence_end = start, end
            row.quote = text[start:end]
            row.alignment = "exact"
    return value, warnings


__all__ = ["Reading", "apply_reading", "read_annotation"]
