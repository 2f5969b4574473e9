"""One field to review -> one Label Studio task: its data and the prediction that pre-fills it.

Offsets: ours are Python str indices (code points); Label Studio counts UTF-16 code units in
the browser, so characters outside the BMP count twice there. ``utf16_index`` and
``str_index`` convert.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from structurer.review.labeling import (
    EVIDENCE,
    TEXT,
    VALUE_CHOICE,
    VALUE_TEXT,
    FieldKind,
    ReviewConfig,
    ReviewField,
)
from structurer.review.values import input_text, shown_value

KEY_PREFIX = "fv-"
MAX_MARKED = 400  # characters of the evidence shown in the card


def utf16_index(text: str, index: int) -> int:
    """A Python index into ``text`` as a UTF-16 offset."""
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


def str_index(text: str, offset: int) -> int:
    """A UTF-16 offset into ``text`` as a Python index."""
    units = 0
    for i, ch in enumerate(text):
        if units >= offset:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def task_key(field_value_id: int) -> str:
    return f"{KEY_PREFIX}{field_value_id}"


@dataclass(frozen=True)
class FieldToReview:
    """What a task is made of (plain values, no database session needed)."""

    field_value_id: int
    extraction_id: int
    run_id: str
    document: str
    text: str
    field: ReviewField
    value: Any
    confidence: float | None
    evidence_start: int | None
    evidence_end: int | None
    doubt: str | None = None  # why the table reader doubts the value (a failed self-check)

    @property
    def has_evidence(self) -> bool:
        return (
            self.evidence_start is not None
            and self.evidence_end is not None
            and 0 <= self.evidence_start < self.evidence_end <= len(self.text)
        )


def snippet_html(item: FieldToReview, radius: int) -> str:
    if not item.has_evidence:
        return "原文：<i>没有找到证据位置，请在下方全文中查找</i>"
    assert item.evidence_start is not None and item.evidence_end is not None
    start, end, text = item.evidence_start, item.evidence_end, item.text
    before = text[max(0, start - radius) : start]
    marked = text[start:end]
    if len(marked) > MAX_MARKED:
        marked = marked[: MAX_MARKED // 2] + " … " + marked[-MAX_MARKED // 2 :]
    after = text[end : end + radius]
    lead = "…" if start > radius else ""
    tail = "…" if end + radius < len(text) else ""
    return (
        f'原文：{lead}{escape(before)}<mark class="evidence">{escape(marked)}</mark>'
        f"{escape(after)}{tail}"
    )


def card_html(item: FieldToReview, config: ReviewConfig) -> str:
    field = item.field
    confidence = "—" if item.confidence is None else f"{item.confidence:.2f}"
    kind = config.kind_names.get(field.kind, field.kind.value)
    return (
        '<div class="structurer-card">'
        f'<div class="label">{escape(field.label)}</div>'
        f'<div class="path">{escape(field.path)} · {escape(item.document)} · run {escape(item.run_id)}</div>'
        f'<div>模型的值：<span class="proposed">{escape(shown_value(field, item.value))}</span>'
        f"　置信度 {confidence}　类型：{escape(kind)}</div>"
        + (f'<div class="doubt">表格自检：{escape(item.doubt)}</div>' if item.doubt else "")
        + f'<div class="snippet">{snippet_html(item, config.snippet_chars)}</div>'
        "</div>"
    )


def task_data(item: FieldToReview, config: ReviewConfig) -> dict[str, Any]:
    field = item.field
    kind = config.kind_names.get(field.kind, field.kind.value)
    return {
        TEXT: item.text,
        "card": card_html(item, config),
        "hint": f"更正后的值 · {config.hints.get(field.kind, kind)}",
        "options": [{"value": value, "html": escape(shown)} for value, shown in field.options],
        "structurer": {
            "key": task_key(item.field_value_id),
            "field_value_id": item.field_value_id,
            "extraction_id": item.extraction_id,
            "run_id": item.run_id,
            "document": item.document,
            "path": field.path,
            "kind": field.kind.value,
            "proposed": item.value,
            "confidence": item.confidence,
            "doubt": item.doubt,
        },
    }


def prediction(item: FieldToReview, config: ReviewConfig, model_version: str) -> dict[str, Any]:
    """Pre-fills the evidence region and the corrected-value input with the model's answer."""
    result: list[dict[str, Any]] = []
    if item.has_evidence:
        assert item.evidence_start is not None and item.evidence_end is not None
        result.append(
            {
                "id": "evidence",
                "from_name": EVIDENCE,
                "to_name": TEXT,
                "type": "labels",
                "origin": "prediction",
                "value": {
                    "start": utf16_index(item.text, item.evidence_start),
                    "end": utf16_index(item.text, item.evidence_end),
                    "text": item.text[item.evidence_start : item.evidence_end],
                    "labels": [config.evidence_label],
                },
            }
        )
    if item.value is not None and item.value != []:
        result.append(
            {
                "id": "value",
                "from_name": VALUE_TEXT,
                "to_name": TEXT,
                "type": "textarea",
                "origin": "prediction",
                "value": {"text": [input_text(item.field, item.value)]},
            }
        )
        if item.field.kind is FieldKind.choice:
            result.append(
                {
                    "id": "value_choice",
                    "from_name": VALUE_CHOICE,
                    "to_name": TEXT,
                    "type": "choices",
                    "origin": "prediction",
                    "value": {"choices": [input_text(item.field, item.value)]},
                }
            )
    return {"model_version": model_version, "score": item.confidence or 0.0, "result": result}


def task_payload(item: FieldToReview, config: ReviewConfig, model_version: str) -> dict[str, Any]:
    """A task for ``POST /api/projects/{id}/import``: data plus its prediction."""
    return {
        "data": task_data(item, config),
        "predictions": [prediction(item, config, model_version)],
    }


__all__ = [
    "FieldToReview",
    "str_index",
    "task_data",
    "task_key",
    "task_payload",
    "utf16_index",
]
