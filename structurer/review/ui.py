"""The strings of the review UI: English defaults, overridden by the report type's ``ui``.

A report type states the words its annotators read in ``ReportType.ui`` (flat keys, e.g.
``verdicts.confirmed``, ``hints.integer``, ``sections.meta``, ``reasons.not_found``); every key
it leaves out falls back on the English default here. Section names default to the record
model's field title (or name). The verdict labels are also the Label Studio choice values
stored in annotations: a report type keeps them once annotations exist.

A few keys are not words but settings of the form, given as strings like the rest:
``snippet_chars`` and ``max_fields_per_task`` (integers) and ``body_path`` / ``year_path``
(the record paths shown as the task list's body and year columns).
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_UI: dict[str, str] = {
    "title": "Field review",
    "description": "structurer: the fields of one report to check, one task per report.",
    "instructions": (
        "<p>Each task holds every field of <b>one report</b> that needs checking, in report "
        "order; the full report is on the right with each field's evidence highlighted.</p>"
        "<ul><li>Every field is pre-set to <b>correct</b> with the model's value: when all is "
        "right, submit (Ctrl+Enter).</li><li>A wrong value: edit it to the value the report "
        "states (an edited value counts as wrong, corrected).</li><li><b>not stated</b>: the "
        "report does not give this value.</li></ul>"
    ),
    "verdicts.confirmed": "correct",
    "verdicts.corrected": "wrong, corrected",
    "verdicts.not_stated": "not stated",
    "hints.integer": "integer: digits only, e.g. 48",
    "hints.number": "number: decimals allowed, e.g. 25.1",
    "hints.date": "date: YYYY-MM-DD, e.g. 2022-01-15",
    "hints.choice": "choice: write one of",
    "hints.text": "text: as the report writes it",
    "hints.lines": "list: one item per line, as the report writes them",
    "reasons.table_doubt": "a self-check of its table failed",
    "reasons.table_doubt_with": "a self-check of its table failed: {why}",
    "reasons.cross_report": "it breaks a check with the body's report of another year",
    "reasons.cross_report_with": "it breaks a check with the body's report of another year: {why}",
    "reasons.not_found": "the value was not found in the text",
    "reasons.value_not_in_span": "the evidence does not state this value",
    "reasons.fuzzy": "the evidence matches only approximately",
    "reasons.readers_disagree": "the table reader read something else",
    "reasons.readers_disagree_with": "the table reader read something else ({other})",
    "reasons.identity_break": "a total of its table does not add up",
    "reasons.low_probability": "the model was unsure of this value",
    "reasons.samples_disagree": "the model's samples disagree",
    "reasons.retries": "the model's answer failed validation and was asked again",
    "reasons.label_not_in_span": "the evidence does not name this field",
    "reasons.span_ambiguous": "the evidence holds several numbers",
    "reasons.blank_cell": "a blank table cell read as 0",
    "reasons.low_confidence": "low overall confidence",
    "reasons.check": "please check",
    "card.source": "Text: ",
    "card.no_evidence": "no evidence position found: look for it in the full text",
    "card.jump": "show in the text ↗",
    "card.model_value": "Model's value: ",
    "card.confidence": "confidence",
    "card.why": "To check: ",
    "card.separator": " ",
    "card.options_lead": ": ",
    "card.reasons_separator": "; ",
    "value.empty": "(empty)",
    "choice.true": "yes true",
    "choice.false": "no false",
    "task_list.title": "Review tasks",
    "task_list.yes": "yes",
    "task_list.no": "no",
    "form.value_placeholder": "corrected value",
    "form.report_header": "Full report (evidence highlighted)",
    "snippet_chars": "60",
    "max_fields_per_task": "25",
}
# Keys without a default: a report type may set them.
OPTIONAL_KEYS = frozenset({"body_path", "year_path"})
# "sections.": one key per top-level section of the record; "grounding.": the reasons the
# grounding check (core/evidence/grounding.py) gives the model and the reviewer
OPEN_PREFIXES = ("sections.", "grounding.")


def unknown_keys(ui: Mapping[str, str]) -> list[str]:
    """Keys of a report type's ``ui`` that nothing reads (a typo, or a removed string)."""
    return sorted(
        key
        for key in ui
        if key not in DEFAULT_UI and key not in OPTIONAL_KEYS and not key.startswith(OPEN_PREFIXES)
    )


def merged(ui: Mapping[str, str]) -> dict[str, str]:
    """The defaults with the report type's strings over them."""
    return {**DEFAULT_UI, **{str(k): str(v) for k, v in ui.items()}}


__all__ = ["DEFAULT_UI", "OPTIONAL_KEYS", "merged", "unknown_keys"]
