"""The Label Studio labeling config of a report type, generated from its schema.

One project per report type. A task holds the fields of one report to check (split per
section only past ``max_fields_per_task``): a form with one card, one verdict and one value
input per field, repeated over the task's ``fields`` list (Label Studio's ``Repeater``:
controls ``verdict_<i>`` and ``value_<i>`` for the field in slot i), beside the report's
text with every field's evidence highlighted. The layout is ``label_config.xml.j2`` beside
this module; its words (title, instructions, the verdict labels, the per-kind input hints,
section names, the words for why a field was flagged) are the report type's ``ui`` over the
English defaults of ``structurer/review/ui.py``. From the schema come the input kinds
(integer, number, date, choice, text, lines) that decide how an annotator's input is read
back, the report type's labels, and the choices of enum fields.

Label Studio cannot show a control depending on task data, so the value has one input for
every kind: a TextArea pre-filled with the proposed value (lists one item per line) under a
per-field hint (for enums, the choices).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import types
import typing
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel

from structurer.core.records import iter_leaf_fields
from structurer.core.report_type import ReportType, load_report_type
from structurer.review.ui import merged, unknown_keys

TEMPLATE_DIR = Path(__file__).resolve().parent
TEMPLATE_FILE = "label_config.xml.j2"

# Control names in the generated config (``<prefix><slot>``); pull reads annotations by them.
VERDICT = "verdict_"
VALUE_TEXT = "value_"
CARD = "card_"
REPORT = "report"


def verdict_control(slot: int) -> str:
    return f"{VERDICT}{slot}"


def value_control(slot: int) -> str:
    return f"{VALUE_TEXT}{slot}"


class InputKind(StrEnum):
    """How an annotator's input is read back (not the scoring kind: core.kinds.InputKind)."""

    integer = "integer"
    number = "number"
    date = "date"
    choice = "choice"
    text = "text"
    lines = "lines"


class Verdict(StrEnum):
    confirmed = "confirmed"
    corrected = "corrected"
    not_stated = "not_stated"


@dataclass(frozen=True)
class ReviewField:
    """One leaf of the record as the reviewer sees it."""

    path: str
    label: str
    kind: InputKind
    options: tuple[tuple[str, str], ...] = ()  # (value, shown) for enums


@dataclass(frozen=True)
class ReviewConfig:
    """The review UI of a report type: its ``ui`` strings over the English defaults."""

    report_type: str
    ui: dict[str, str]
    verdicts: dict[Verdict, str]
    hints: dict[InputKind, str]
    sections: dict[str, str]  # top-level path key -> shown name, in form order
    reasons: dict[str, str]  # why a field is flagged, in words
    snippet_chars: int
    max_fields_per_task: int
    body_path: str | None = None  # the record path of the issuing body (task list column)
    year_path: str | None = None

    @property
    def title(self) -> str:
        return self.ui["title"]

    @property
    def description(self) -> str:
        return self.ui["description"]

    @property
    def instructions(self) -> str:
        return self.ui["instructions"]

    def word(self, key: str) -> str:
        return self.ui[key]

    def section_of(self, path: str) -> str:
        return path.split(".", 1)[0]

    def section_name(self, section: str) -> str:
        return self.sections.get(section, section)

    def section_rank(self, section: str) -> int:
        order = list(self.sections)
        return order.index(section) if section in order else len(order)

    def verdict_of(self, label: str) -> Verdict | None:
        for verdict, shown in self.verdicts.items():
            if shown == label:
                return verdict
        return None


class ReviewConfigError(ValueError):
    """The report type's review strings are malformed."""


def _group(ui: dict[str, str], prefix: str) -> dict[str, str]:
    return {k[len(prefix) :]: v for k, v in ui.items() if k.startswith(prefix)}


def _sections(rtype: ReportType, ui: dict[str, str]) -> dict[str, str]:
    """The record's top-level fields, in the order the report type names them (then the
    record model's), shown by the report type's name, else the field's title, else its key."""
    model_fields = rtype.record_model.model_fields
    named = _group(ui, "sections.")
    stray = sorted(set(named) - set(model_fields))
    if stray:
        raise ReviewConfigError(f"{rtype.name}: ui names sections the record lacks: {stray}")
    order = [*named, *(k for k in model_fields if k not in named)]
    return {k: named.get(k) or model_fields[k].title or k for k in order}


def load_review_config(report_type: str | ReportType) -> ReviewConfig:
    """The review UI of a report type (by name or object)."""
    rtype = load_report_type(report_type) if isinstance(report_type, str) else report_type
    where = f"the review ui of report type {rtype.name!r}"
    unknown = unknown_keys(rtype.ui)
    if unknown:
        raise ReviewConfigError(f"{where}: unknown keys {unknown}")
    ui = merged(rtype.ui)
    verdicts = {v: ui[f"verdicts.{v.value}"] for v in Verdict}
    if len(set(verdicts.values())) != len(verdicts) or not all(verdicts.values()):
        raise ReviewConfigError(f"{where}: the verdict labels must be distinct and non-empty")
    try:
        snippet_chars = int(ui["snippet_chars"])
        max_fields = int(ui["max_fields_per_task"])
    except ValueError as exc:
        raise ReviewConfigError(f"{where}: {exc}") from None
    if max_fields < 1:
        raise ReviewConfigError(f"{where}: max_fields_per_task must be at least 1")
    return ReviewConfig(
        report_type=rtype.name,
        ui=ui,
        verdicts=verdicts,
        hints={k: ui[f"hints.{k.value}"] for k in InputKind},
        sections=_sections(rtype, ui),
        reasons=_group(ui, "reasons."),
        snippet_chars=snippet_chars,
        max_fields_per_task=max_fields,
        body_path=ui.get("body_path"),
        year_path=ui.get("year_path"),
    )


# --- the schema's fields ------------------------------------------------------------------


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def kind_of(annotation: Any) -> InputKind:
    """The input kind of a leaf annotation (``int | None`` -> integer, ``list[str]`` -> lines)."""
    inner = _unwrap_optional(annotation)
    if typing.get_origin(inner) is list:
        return InputKind.lines
    if isinstance(inner, type):
        if issubclass(inner, Enum):
            return InputKind.choice
        if issubclass(inner, bool):
            return InputKind.choice
        if issubclass(inner, int):
            return InputKind.integer
        if issubclass(inner, float):
            return InputKind.number
        if issubclass(inner, dt.date):
            return InputKind.date
    return InputKind.text


def _option_notes(description: str | None) -> dict[str, str]:
    """``low=a small one; high=...`` in a field description -> notes per value."""
    notes: dict[str, str] = {}
    for match in re.finditer(r"([A-Za-z0-9_]+)=([^；;，,。]+)", description or ""):
        notes.setdefault(match.group(1), match.group(2).strip())
    return notes


def _options(
    annotation: Any, description: str | None, yes_no: tuple[str, str]
) -> tuple[tuple[str, str], ...]:
    inner = _unwrap_optional(annotation)
    if isinstance(inner, type) and issubclass(inner, bool):
        return (("true", yes_no[0]), ("false", yes_no[1]))
    if not (isinstance(inner, type) and issubclass(inner, Enum)):
        return ()
    notes = _option_notes(description)
    out = []
    for member in inner:
        value = str(member.value)
        note = notes.get(value)
        out.append((value, f"{value}（{note}）" if note else value))
    return tuple(out)


def review_fields(rtype: ReportType) -> dict[str, ReviewField]:
    """Every leaf path of the report type's record, with its label, kind and choices."""
    ui = merged(rtype.ui)
    yes_no = (ui["choice.true"], ui["choice.false"])
    return _review_fields(rtype.record_model, tuple(sorted(rtype.labels.items())), yes_no)


@cache
def _review_fields(
    model: type[BaseModel], labels: tuple[tuple[str, str], ...], yes_no: tuple[str, str]
) -> dict[str, ReviewField]:
    shown = dict(labels)
    out: dict[str, ReviewField] = {}
    for path, annotation, info in iter_leaf_fields(model):
        out[path] = ReviewField(
            path=path,
            label=shown.get(path) or info.description or path,
            kind=kind_of(annotation),
            options=_options(annotation, info.description, yes_no),
        )
    return out


# --- the labeling config -----------------------------------------------------------------


def label_config(rtype: ReportType, config: ReviewConfig) -> str:
    """The Label Studio XML of the report type's project."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    fields = review_fields(rtype)
    kinds = {f.kind for f in fields.values()}
    return env.get_template(TEMPLATE_FILE).render(
        verdicts=[config.verdicts[v] for v in Verdict],
        card_prefix=CARD,
        verdict_prefix=VERDICT,
        value_prefix=VALUE_TEXT,
        report_object=REPORT,
        value_placeholder=config.word("form.value_placeholder"),
        report_header=config.word("form.report_header"),
        rows=3 if InputKind.lines in kinds else 1,
    )


def config_version(xml: str) -> str:
    """A short hash of the labeling config: the project's model_version, so that predictions
    made for another config (other control names) do not pre-fill tasks they do not fit."""
    return hashlib.sha256(xml.encode()).hexdigest()[:10]


__all__ = [
    "CARD",
    "REPORT",
    "VALUE_TEXT",
    "VERDICT",
    "InputKind",
    "ReviewConfig",
    "ReviewConfigError",
    "ReviewField",
    "Verdict",
    "config_version",
    "kind_of",
    "label_config",
    "load_review_config",
    "review_fields",
    "value_control",
    "verdict_control",
]
