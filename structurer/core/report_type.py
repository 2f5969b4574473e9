"""What the engine needs to know about one kind of report. The engine is generic over this.

A report type lives in its own package under `schemas/` (e.g. `gov_disclosure`) and exposes
`REPORT_TYPE`; its prompts live under `prompts/<name>/<version>/`, its review config under
`review/<name>/`, its eval assets under `eval/<name>/`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from pydantic import BaseModel

from structurer.core.model import LLMResult, Model
from structurer.core.types import Candidate, CellReading


class TablesRead(Protocol):
    """What a report type's table reader returns (`structurer.tables.TableReadout` is one):
    the cells it read, the format it detected (None: no standard table), the rows it missed,
    and notes for the operator (what about the input made its readings doubtful)."""

    cells: list[CellReading]
    format: str | None
    unread: list[str]
    notes: list[str]


@dataclass(frozen=True)
class SectionSpec:
    """A section of the report, recognised by regexes on its heading line."""

    name: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class PartSpec:
    """A part of the record extracted by one small LLM call from its own sections.

    `paths` are leaf paths or prefixes of leaf paths (e.g. "meta", "proactive.total_items").
    `sections` are read in order and concatenated; when none of them is found the whole text
    is used. `head_chars` prepends the document's first characters (title, date, preamble).
    `table` marks a standard-table part that the deterministic table reader can fill.
    `skip_with_tables`: not asked when the table reader found a standard format (its tables
    state these fields).
    `focus`: words one of which every line stating these fields carries; when set, a long part
    sends only its lines naming one of them (the model reads less, the server prefills less).
    """

    name: str
    paths: tuple[str, ...]
    sections: tuple[str, ...]
    prompt: str
    head_chars: int = 0
    tail_chars: int = 0
    table: bool = False
    skip_with_tables: bool = False
    focus: tuple[str, ...] = ()


@dataclass
class Reread:
    """A second reading of one table by the model (a table that failed its checks)."""

    part: str  # e.g. "reread:requests"
    messages: list[dict[str, Any]]
    response_model: type[BaseModel]
    result: LLMResult
    values: dict[str, Any]  # cell path -> the value the model read (absent: not read)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per type
class ReportType:
    """Everything the engine needs to know about one kind of report.

    `check_identities(record)` lists the identities a record breaks, each a dict (or model)
    with at least `paths`, the leaves involved. `read_tables(text, ocr)`, when given, reads the
    standard tables deterministically; `ocr` says the text was read by OCR from page images.
    `format_path`: the leaf the table reader decides (the detected format), with
    `format_without_tables` when it finds no standard table. `labels`: leaf path -> the label
    shown to people. `quote_description` / `value_description`: what the model is told each
    leaf's `quote` and `value` are, in the report's language. `ui`: strings of the review UI
    (keys and their English defaults: structurer/review/ui.py).
    `float_scales`: factors from a printed number to a float field's stored value, when the
    report may print it in another unit (e.g. 元 printed, 万元 stored: 1/10000); evidence
    checks accept any of them.
    """

    name: str
    record_model: type[BaseModel]
    sections: tuple[SectionSpec, ...]
    parts: tuple[PartSpec, ...]
    check_identities: Callable[[dict[str, Any]], list[Any]]
    # Returns a reason when the text is clearly not a report of this type, else None.
    not_a_report: Callable[[str], str | None]
    read_tables: Callable[[str, bool], TablesRead] | None = None
    # Deterministic readers of single fields (reader "rule"), reconciled with the LLM's.
    read_rules: Callable[[str], list[CellReading]] | None = None
    # The type's own grounding rule: (path, value, text) -> why the LLM's value must be
    # rejected (in the report's language), or None. Checked with the engine's grounding.
    check_value: Callable[[str, Any, str], str | None] | None = None
    # Why grounding rejected a value, in the report's language (core/evidence/grounding.py
    # REASONS keys; {value} and {label} are filled in). English when empty.
    grounding_reasons: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    format_path: str | None = None
    format_without_tables: str | None = None
    quote_description: str = (
        "The sentence of the text that states the value, verbatim; null if not stated"
    )
    value_description: str = "The value; null if the text does not state it"
    ui: dict[str, str] = field(default_factory=dict)
    float_scales: tuple[float, ...] = (1.0,)
    # a list field's items lie in these sections, when the report has one of them: an item
    # the text holds elsewhere belongs to another field (plans a model lists as problems)
    list_sections: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # list A -> list B: an item the model gives in both belongs to B (a plan listed as a problem
    # in a section printing both)
    list_owner: dict[str, str] = field(default_factory=dict)
    # the model reads again, alone, each table with a cell the table reader doubts:
    # (text, table cells by path, model) -> one Reread per table read again
    reread_tables: Callable[[str, Mapping[str, Candidate], Model], list[Reread]] | None = None
    # checks between two reports of one body: (record -> (body key, year)), and
    # (last year's record, this year's) -> breaks (name, previous_paths, current_paths,
    # expected, actual, reason)
    body_and_year: Callable[[Mapping[str, Any]], tuple[str, int] | None] | None = None
    cross_year: Callable[[Mapping[str, Any], Mapping[str, Any]], list[dict[str, Any]]] | None = None
    # Plausibility (core/evidence/plausible.py): year fields and their first year,
    # the largest count a report of this type can state.
    year_paths: frozenset[str] = frozenset()
    first_year: int | None = None
    max_count: float | None = None

    def validate(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The record as the record model validates it (JSON types), and its identity breaks.

        Raises pydantic's ValidationError. Breaks are reported, never raised: real reports
        print broken tables.
        """
        validated = self.record_model.model_validate(record).model_dump(mode="json")
        breaks = [
            b.model_dump() if isinstance(b, BaseModel) else dict(b)
            for b in self.check_identities(validated)
        ]
        return validated, breaks


@cache
def load_report_type(name: str) -> ReportType:
    module = importlib.import_module(name)
    report_type = getattr(module, "REPORT_TYPE", None)
    if not isinstance(report_type, ReportType):
        raise LookupError(f"package {name!r} does not define REPORT_TYPE")
    return report_type
