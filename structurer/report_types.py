"""What the engine needs to know about one kind of report. The engine is generic over this.

A report type lives in its own package under `schemas/` (e.g. `gov_disclosure`) and exposes
`REPORT_TYPE`; its prompts live under `prompts/<name>/<version>/`, its review config under
`review/<name>/`, its eval assets under `eval/<name>/`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel

from structurer.types import CellReading


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
    """

    name: str
    paths: tuple[str, ...]
    sections: tuple[str, ...]
    prompt: str
    head_chars: int = 0
    tail_chars: int = 0
    table: bool = False


@dataclass(frozen=True)
class ReportType:
    name: str
    record_model: type[BaseModel]
    sections: tuple[SectionSpec, ...]
    parts: tuple[PartSpec, ...]
    check_identities: Callable[[dict[str, Any]], list[Any]]
    # Returns a reason when the text is clearly not a report of this type, else None.
    not_a_report: Callable[[str], str | None]
    read_tables: Callable[[str], list[CellReading]] | None = None
    # Deterministic readers of single fields (reader "rule"), reconciled with the LLM's.
    read_rules: Callable[[str], list[CellReading]] | None = None
    labels: dict[str, str] = field(default_factory=dict)  # leaf path -> Chinese label


@cache
def load_report_type(name: str) -> ReportType:
    module = importlib.import_module(name)
    report_type = getattr(module, "REPORT_TYPE", None)
    if not isinstance(report_type, ReportType):
        raise LookupError(f"package {name!r} does not define REPORT_TYPE")
    return report_type
