"""One annotation -> a checked correction per field, and a correction -> the stored record.

A task's form has, for the field in slot i, a verdict (``verdict_<i>``, labelled in the
report type's words: ``ui`` keys ``verdicts.*``) pre-set to confirmed and a value input
(``value_<i>``) pre-filled with the model's value:

- the value left as it was: confirmed, the model's value stands;
- the value edited: corrected: the typed value replaces it (read by the field's input kind),
  whichever verdict is ticked: a correction is one edit;
- not_stated: the value becomes null (an empty list for list fields).

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
from structurer.core.types import FieldStatus
from structurer.review.labeling import (
    InputKind,
    ReviewConfig,
    ReviewField,
    Verdict,
    value_control,
    verdict_control,
)
from structurer.review.values import InvalidValue, input_text, parse_value
from structurer.store.models import Extraction, FieldValue


@dataclass
class FieldAnswer:
    """What an annotation says about one field, before it touches the record."""

    verdict: Verdict | None
    raw_input: str | None
    value: Any = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.verdict is not None

    def outcome(self) -> tuple[bool, Any]:
        """What the answer says the value is (not stated, value): two annotators agree on a
        field when their answers are equal, whether they confirmed or typed the same value."""
        return (self.verdict is Verdict.not_stated, self.value)


def _results(result: Sequence[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [r for r in result if r.get("from_name") == name]


def _texts(result: Sequence[Mapping[str, Any]], name: str) -> list[str]:
    out: list[str] = []
    for r in _results(result, name):
        texts = (r.get("value") or {}).get("text") or []
        out.extend(str(t) for t in (texts if isinstance(texts, list) else [texts]))
    return out


def _choices(result: Sequence[Mapping[str, Any]], name: str) -> list[str]:
    out: list[str] = []
    for r in _results(result, name):
        out.extend(str(c) for c in (r.get("value") or {}).get("choices") or [])
    return out


def _typed_value(field_: ReviewField, texts: list[str], not_stated: str) -> Any:
    if field_.kind is not InputKind.lines and len([t for t in texts if t.strip()]) > 1:
        raise InvalidValue("several values given; give one")
    return parse_value(field_, "\n".join(texts).strip(), not_stated)


def read_annotation(
    result: Sequence[Mapping[str, Any]],
    slot: int,
    field_: ReviewField | None,
    proposed: Any,
    config: ReviewConfig,
) -> FieldAnswer:
    """Verdict, raw input and typed value of the field in ``slot`` of one annotation."""
    verdicts = _choices(result, verdict_control(slot))
    texts = _texts(result, value_control(slot))
    raw_input = "\n".join(texts) if texts else None
    if len(verdicts) > 1:
        return FieldAnswer(None, raw_input, error=f"{len(verdicts)} verdicts: choose one")
    ticked = config.verdict_of(verdicts[0]) if verdicts else None
    if verdicts and ticked is None:
        return FieldAnswer(None, raw_input, error=f"unknown verdict {verdicts[0]!r}")
    if field_ is None:
        return FieldAnswer(ticked, raw_input, error="the schema has no such field any more")
    if ticked is Verdict.not_stated:
        return FieldAnswer(ticked, raw_input, [] if field_.kind is InputKind.lines else None)
    before = input_text(field_, proposed).strip()
    typed = "\n".join(texts).strip()
    if typed == before:  # left as it was
        if ticked is None:
            choose = ", ".join(config.verdicts.values())
            return FieldAnswer(None, raw_input, error=f"no verdict: choose one of {choose}")
        answer = FieldAnswer(Verdict.confirmed, raw_input, proposed)
        if ticked is Verdict.corrected:
            answer.warnings.append("the corrected value equals the model's value")
        return answer
    try:
        value = _typed_value(field_, texts, config.verdicts[Verdict.not_stated])
    except InvalidValue as exc:
        return FieldAnswer(Verdict.corrected, raw_input, error=f"{field_.path}: {exc}")
    if value == proposed:  # the same value written another way
        return FieldAnswer(Verdict.confirmed, raw_input, proposed)
    return FieldAnswer(Verdict.corrected, raw_input, value)


def _break_names(breaks: Sequence[Any]) -> set[str]:
    return {str(b.get("name") if isinstance(b, Mapping) else getattr(b, "name", b)) for b in breaks}


def _validation_message(path: str, exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return f"{path}: the record does not validate"
    where = ".".join(str(p) for p in errors[0]["loc"]) or path
    return f"{path}: the record does not validate ({where}: {errors[0]['msg']})"


def apply_answer(
    rtype: ReportType,
    extraction: Extraction,
    row: FieldValue,
    answer: FieldAnswer,
    *,
    annotator: str | None,
    task_id: int,
) -> tuple[Any, list[str]]:
    """Validate the record with the answer applied; on success update ``extraction`` and
    ``row`` (not committed) and return (stored value, warnings). ValueError when invalid."""
    flat = flatten(extraction.record or {})
    flat[row.path] = answer.value
    try:
        record, breaks = rtype.validate(unflatten(flat))
    except ValidationError as exc:
        raise ValueError(_validation_message(row.path, exc)) from None
    before = _break_names(extraction.identity_breaks or [])
    warnings = list(answer.warnings)
    for b in breaks:
        if b["name"] not in before and row.path in b.get("paths", []):
            warnings.append(
                f"introduces identity break {b['name']}: expected {b.get('expected')}, got {b.get('actual')}"
            )
    value = flatten(record).get(row.path)
    review = {
        "verdict": answer.verdict.value if answer.verdict else None,
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
    if answer.verdict is Verdict.confirmed:
        signals["confirmed"] = True
    else:
        signals.pop("confirmed", None)
    extraction.record = record
    extraction.identity_breaks = breaks
    row.value = value
    row.status = FieldStatus.corrected
    row.confidence = 1.0
    row.signals = signals
    return value, warnings


__all__ = ["FieldAnswer", "apply_answer", "read_annotation"]
