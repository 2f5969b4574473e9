"""The fields of one report to review -> one Label Studio task: its data and the prediction
that pre-fills it (every field's verdict set to confirmed, its value in the input).

The report is shown as HTML built here (escaped text, evidence marked), so evidence offsets
stay Python str indices: no conversion to the browser's UTF-16 offsets is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from html import escape
from typing import Any

from structurer.review.labeling import (
    REPORT,
    ReviewConfig,
    ReviewField,
    Verdict,
    value_control,
    verdict_control,
)
from structurer.review.values import input_text, shown_value

KEY_PREFIX = "fv-"
MAX_MARKED = 400  # characters of the evidence shown in a card


def field_key(field_value_id: int) -> str:
    return f"{KEY_PREFIX}{field_value_id}"


def task_key(extraction_id: int, field_value_ids: Sequence[int]) -> str:
    """A task's key: its report's extraction and its first field. Deterministic, so a push
    that died before its commit finds the task it created instead of importing it twice."""
    return f"ex-{extraction_id}-{field_key(min(field_value_ids))}"


@dataclass(frozen=True)
class FieldToReview:
    """One field of a task (plain values, no database session needed)."""

    field_value_id: int
    field: ReviewField
    value: Any
    confidence: float | None
    evidence_start: int | None
    evidence_end: int | None
    section: str
    why: str  # in words
    reasons: tuple[str, ...] = ()
    audit: bool = False
    features: dict[str, float] = dc_field(default_factory=dict)

    def has_evidence(self, text: str) -> bool:
        return (
            self.evidence_start is not None
            and self.evidence_end is not None
            and 0 <= self.evidence_start < self.evidence_end <= len(text)
        )


@dataclass
class ReportTask:
    """The fields of one report (or of some of its sections) to check, in form order."""

    extraction_id: int
    run_id: str
    document: str
    text: str
    items: list[FieldToReview]
    body: str | None = None
    year: int | str | None = None

    @property
    def key(self) -> str:
        return task_key(self.extraction_id, [i.field_value_id for i in self.items])

    @property
    def lowest_confidence(self) -> float | None:
        known = [i.confidence for i in self.items if i.confidence is not None]
        return min(known) if known else None

    @property
    def n_audit(self) -> int:
        return sum(i.audit for i in self.items)

    def anchor(self, slot: int) -> str:
        return f"{self.key}-ev-{slot}"


def snippet_html(item: FieldToReview, text: str, config: ReviewConfig) -> str:
    source = escape(config.word("card.source"))
    if not item.has_evidence(text):
        return f"{source}<i>{escape(config.word('card.no_evidence'))}</i>"
    radius = config.snippet_chars
    assert item.evidence_start is not None and item.evidence_end is not None
    start, end = item.evidence_start, item.evidence_end
    before = text[max(0, start - radius) : start]
    marked = text[start:end]
    if len(marked) > MAX_MARKED:
        marked = marked[: MAX_MARKED // 2] + " … " + marked[-MAX_MARKED // 2 :]
    after = text[end : end + radius]
    lead = "…" if start > radius else ""
    tail = "…" if end + radius < len(text) else ""
    return (
        f'{source}{lead}{escape(before)}<mark class="evidence">{escape(marked)}</mark>'
        f"{escape(after)}{tail}"
    )


def _short_label(label: str) -> tuple[str, str]:
    """``name：about`` (a full-width colon, as report-type labels write it) -> (name, about)."""
    name, sep, about = label.partition("：")
    return (name, about) if sep and len(name) <= 30 else (label, "")


def card_html(task: ReportTask, slot: int, config: ReviewConfig) -> str:
    item = task.items[slot]
    name, about = _short_label(item.field.label)
    confidence = "—" if item.confidence is None else f"{item.confidence:.2f}"
    proposed = shown_value(item.field, item.value, config.word("value.empty"))
    hint = config.hints.get(item.field.kind, "")
    if item.field.options:
        hint += config.word("card.options_lead") + " / ".join(
            shown for _, shown in item.field.options
        )
    heading = ""
    sep = config.word("card.separator")
    if slot == 0 or task.items[slot - 1].section != item.section:
        heading = (
            f'<div class="structurer-section">{escape(config.section_name(item.section))}</div>'
        )
    # Label Studio swallows link clicks and strips scripts from task HTML; a label focuses
    # its control, and focusing scrolls the report to it: the control is at the evidence.
    jump = (
        f'{escape(sep)}<label class="jump" for="{task.anchor(slot)}">'
        f"{escape(config.word('card.jump'))}</label>"
        if item.has_evidence(task.text)
        else ""
    )
    return (
        f'{heading}<div class="structurer-card" data-path="{escape(item.field.path)}">'
        f'<div class="label">{slot + 1}. {escape(name)}</div>'
        + (f'<div class="about">{escape(about)}</div>' if about else "")
        + f"<div>{escape(config.word('card.model_value'))}"
        f'<span class="proposed">{escape(proposed)}</span>'
        f"{escape(sep)}{escape(config.word('card.confidence'))} "
        f'<span class="confidence">{confidence}</span></div>'
        f'<div class="why">{escape(config.word("card.why"))}{escape(item.why)}</div>'
        f'<div class="snippet">{snippet_html(item, task.text, config)}{jump}</div>'
        f'<div class="about">{escape(hint)}</div>'
        "</div>"
    )


def report_html(task: ReportTask) -> str:
    """The report's text with every field's evidence marked and, where it starts, the
    (invisible) control a card's jump label focuses."""
    text = task.text
    spans = [
        (i.evidence_start or 0, i.evidence_end or 0, slot)
        for slot, i in enumerate(task.items)
        if i.has_evidence(text)
    ]
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    starts: dict[int, list[int]] = {}
    for start, _, slot in spans:
        starts.setdefault(start, []).append(slot)
    out = ['<div class="report">']
    for a, b in zip(cuts, cuts[1:], strict=False):
        out.extend(
            f'<input class="jump-target" id="{task.anchor(slot)}" type="checkbox" tabindex="-1">'
            for slot in starts.get(a, [])
        )
        covering = [slot for s, e, slot in spans if s <= a and b <= e]
        piece = escape(text[a:b])
        if covering:
            numbers = " ".join(str(slot + 1) for slot in covering)
            out.append(f'<mark data-fields="{numbers}">{piece}</mark>')
        else:
            out.append(piece)
    out.append("</div>")
    return "".join(out)


def task_data(task: ReportTask, config: ReviewConfig) -> dict[str, Any]:
    """The task's data. The first six keys are the columns of the task list."""
    lowest = task.lowest_confidence
    return {
        "document": task.document,
        "body": task.body or "",
        "year": task.year if task.year is not None else "",
        "n_fields": len(task.items),
        "lowest_confidence": None if lowest is None else round(lowest, 2),
        "audit": config.word("task_list.yes" if task.n_audit else "task_list.no"),
        REPORT: report_html(task),
        "fields": [
            {"card": card_html(task, slot, config), "path": item.field.path}
            for slot, item in enumerate(task.items)
        ],
        "structurer": {
            "key": task.key,
            "extraction_id": task.extraction_id,
            "run_id": task.run_id,
            "field_value_ids": [i.field_value_id for i in task.items],
        },
    }


def prediction(task: ReportTask, config: ReviewConfig, model_version: str) -> dict[str, Any]:
    """Every field confirmed, its value in the input: agreeing with all is one submit."""
    result: list[dict[str, Any]] = []
    for slot, item in enumerate(task.items):
        result.append(
            {
                "id": f"v{slot}",
                "from_name": verdict_control(slot),
                "to_name": REPORT,
                "type": "choices",
                "origin": "prediction",
                "value": {"choices": [config.verdicts[Verdict.confirmed]]},
            }
        )
        if item.value is not None and item.value != []:
            result.append(
                {
                    "id": f"t{slot}",
                    "from_name": value_control(slot),
                    "to_name": REPORT,
                    "type": "textarea",
                    "origin": "prediction",
                    "value": {"text": [input_text(item.field, item.value)]},
                }
            )
    return {
        "model_version": model_version,
        "score": task.lowest_confidence or 0.0,
        "result": result,
    }


def task_payload(task: ReportTask, config: ReviewConfig, model_version: str) -> dict[str, Any]:
    """A task for ``POST /api/projects/{id}/import``: data plus its prediction."""
    return {
        "data": task_data(task, config),
        "predictions": [prediction(task, config, model_version)],
    }


__all__ = [
    "FieldToReview",
    "ReportTask",
    "field_key",
    "prediction",
    "task_data",
    "task_key",
    "task_payload",
]
