"""The Label Studio labeling config of a report type, generated from its schema.

One project per report type. A task holds the fields of one report to check (split per
section only past ``max_fields_per_task``): a form with one card, one verdict and one value
input per field, repeated over the task's ``fields`` list (Label Studio's ``Repeater``:
controls ``verdict_<i>`` and ``value_<i>`` for the field in slot i), beside the report's
text with every field's evidence highlighted. The config is filled from
``review/<report type>/``: ``review.json`` (title, instructions, the verdict labels, the
per-kind input hints, section names, the words for why a field was flagged) and
``label_config.xml.j2`` (the layout). From the schema come the field kinds (integer, number,
date, choice, text, lines) that decide how an annotator's input is read back, the Chinese
labels, and the choices of enum fields.

Label Studio cannot show a control depending on task data, so the value has one input for
every kind: a TextArea pre-filled with the proposed value (lists one item per line) under a
per-field hint (for enums, the choices).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel

from structurer.core.records import iter_leaf_fields
from structurer.core.report_type import ReportType
from structurer.settings import REPO_ROOT

REVIEW_DIR = REPO_ROOT / "review"
CONFIG_FILE = "review.json"
TEMPLATE_FILE = "label_config.xml.j2"

# Control names in the generated config (``<prefix><slot>``); pull reads annotations by them.
VERDICT = "verdict_"
VALUE_TEXT = "value_"
CARD = "card_"
REPORT = "report"
DEFAULT_MAX_FIELDS = 25  # a screenful of cards


def verdict_control(slot: int) -> str:
    return f"{VERDICT}{slot}"


def value_control(slot: int) -> str:
    return f"{VALUE_TEXT}{slot}"


class FieldKind(StrEnum):
    integer = "integer"
    number = "number"
    date = "date"
    choice = "choice"
    text = "text"
    lines = "lines"


class Verdict(StrEnum):
    confirmed = "confirmed"  # 正确
    corrected = "corrected"  # 错误，已更正
    not_stated = "not_stated"  # 原文未提及


@dataclass(frozen=True)
class ReviewField:
    """One leaf of the record as the reviewer sees it."""

    path: str
    label: str
    kind: FieldKind
    options: tuple[tuple[str, str], ...] = ()  # (value, shown) for enums


@dataclass(frozen=True)
class ReviewConfig:
    """``review/<report type>/review.json``: the report-specific texts of the review UI."""

    report_type: str
    title: str
    description: str
    instructions: str
    verdicts: dict[Verdict, str]
    evidence_label: str
    snippet_chars: int
    hints: dict[FieldKind, str]
    kind_names: dict[FieldKind, str]
    directory: Path
    sections: dict[str, str] = field(default_factory=dict)  # top-level path key -> shown name
    reasons: dict[str, str] = field(default_factory=dict)  # why a field is flagged, in words
    max_fields_per_task: int = DEFAULT_MAX_FIELDS
    body_path: str | None = None  # the record path of the issuing body (task list column)
    year_path: str | None = None

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
    """The report type's review directory is missing or malformed."""


def load_review_config(report_type: str, root: Path = REVIEW_DIR) -> ReviewConfig:
    directory = root / report_type
    path = directory / CONFIG_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ReviewConfig(
            report_type=report_type,
            title=str(raw["title"]),
            description=str(raw.get("description", "")),
            instructions=str(raw.get("instructions", "")),
            verdicts={Verdict(k): str(v) for k, v in raw["verdicts"].items()},
            evidence_label=str(raw.get("evidence_label", "evidence")),
            snippet_chars=int(raw.get("snippet_chars", 60)),
            hints={FieldKind(k): str(v) for k, v in raw["hints"].items()},
            kind_names={FieldKind(k): str(v) for k, v in raw.get("kind_names", {}).items()},
            directory=directory,
            sections={str(k): str(v) for k, v in raw.get("sections", {}).items()},
            reasons={str(k): str(v) for k, v in raw.get("reasons", {}).items()},
            max_fields_per_task=int(raw.get("max_fields_per_task", DEFAULT_MAX_FIELDS)),
            body_path=raw.get("body_path"),
            year_path=raw.get("year_path"),
        )
    except FileNotFoundError:
        raise ReviewConfigError(
            f"no review config for report type {report_type!r}: {path}"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ReviewConfigError(f"malformed {path}: {type(exc).__name__}: {exc}") from None


# --- the schema's fields ------------------------------------------------------------------


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def kind_of(annotation: Any) -> FieldKind:
    """The input kind of a leaf annotation (``int | None`` -> integer, ``list[str]`` -> lines)."""
    inner = _unwrap_optional(annotation)
    if typing.get_origin(inner) is list:
        return FieldKind.lines
    if isinstance(inner, type):
        if issubclass(inner, Enum):
            return FieldKind.choice
        if issubclass(inner, bool):
            return FieldKind.choice
        if issubclass(inner, int):
            return FieldKind.integer
        if issubclass(inner, float):
            return FieldKind.number
        if issubclass(inner, dt.date):
            return FieldKind.date
    return FieldKind.text


def _option_notes(description: str | None) -> dict[str, str]:
    """``provincial=省/自治区/直辖市；municipal=...`` in a field description -> notes per value."""
    notes: dict[str, str] = {}
    for match in re.finditer(r"([A-Za-z0-9_]+)=([^；;，,。]+)", description or ""):
        notes.setdefault(match.group(1), match.group(2).strip())
    return notes


def _options(annotation: Any, description: str | None) -> tuple[tuple[str, str], ...]:
    inner = _unwrap_optional(annotation)
    if isinstance(inner, type) and issubclass(inner, bool):
        return (("true", "是 true"), ("false", "否 false"))
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
    return _review_fields(rtype.record_model, tuple(sorted(rtype.labels.items())))


@cache
def _review_fields(
    model: type[BaseModel], labels: tuple[tuple[str, str], ...]
) -> dict[str, ReviewField]:
    shown = dict(labels)
    out: dict[str, ReviewField] = {}
    for path, annotation, info in iter_leaf_fields(model):
        out[path] = ReviewField(
            path=path,
            label=shown.get(path) or info.description or path,
            kind=kind_of(annotation),
            options=_options(annotation, info.description),
        )
    return out


# --- the labeling config -----------------------------------------------------------------


def label_config(rtype: ReportType, config: ReviewConfig) -> str:
    """The Label Studio XML of the report type's project."""
    env = Environment(
        loader=FileSystemLoader(str(config.directory)),
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
        evidence_label=config.evidence_label,
        rows=3 if FieldKind.lines in kinds else 1,
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
    "FieldKind",
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
