"""A second, tiny report type used only by tests: a club's annual report, in English.

It proves the engine is generic over `ReportType`: an English record model (a few scalar
fields, a list, one small table read by the generic table reader from specs), its own
sections, parts, identity check and not-a-report test, and prompts under
`tests/toy_report/prompts/` (set `prompts_dir` to that folder and `report_type` to
`tests.toy_report`). Everything here is invented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from structurer.core.records import iter_leaf_fields
from structurer.core.report_type import PartSpec, ReportType, SectionSpec
from structurer.core.response_models import field_descriptions
from structurer.tables import (
    ColumnSpec,
    Identity,
    RowSpec,
    TableReadout,
    TableSpec,
    prepare_text,
    read_with_specs,
)

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
MODULE = __name__  # the value of Settings.report_type that loads this package


class Meta(BaseModel):
    title: str | None = Field(None, description="The report's title")
    year: int | None = Field(None, description="The year the report covers")
    secretary: str | None = Field(None, description="Name of the club secretary")


class Counts(BaseModel):
    adults: int | None = Field(None, description="adults")
    juniors: int | None = Field(None, description="juniors")


class Membership(BaseModel):
    start: Counts = Field(default_factory=Counts, description="Members at the start of the year")
    joined: Counts = Field(default_factory=Counts, description="Joined during the year")
    left: Counts = Field(default_factory=Counts, description="Left during the year")
    end: Counts = Field(default_factory=Counts, description="Members at the end of the year")


class ClubReport(BaseModel):
    meta: Meta = Field(default_factory=Meta)
    membership: Membership = Field(default_factory=Membership)
    highlights: list[str] = Field(default_factory=list, description="The year's highlights")


SECTIONS = (
    SectionSpec("overview", (r"(?i)overview",)),
    SectionSpec("membership", (r"(?i)membership",)),
    SectionSpec("highlights", (r"(?i)highlights",)),
)

PARTS = (
    PartSpec("meta", ("meta",), ("overview",), "meta", head_chars=200),
    PartSpec("highlights", ("highlights",), ("highlights",), "highlights"),
    PartSpec("membership", ("membership",), ("membership",), "membership", table=True),
)

_COLUMNS = (ColumnSpec("adults", 0.9), ColumnSpec("juniors", 0.6))
_ROWS = ("start", "joined", "left", "end")
MEMBERSHIP_TABLE = TableSpec(
    "membership",
    rows=(
        RowSpec("membership.start", ("Members at the start of the year",), _COLUMNS),
        RowSpec("membership.joined", ("Joined during the year",), _COLUMNS),
        RowSpec("membership.left", ("Left during the year",), _COLUMNS),
        RowSpec("membership.end", ("Members at the end of the year",), _COLUMNS),
    ),
    identities=tuple(
        Identity(
            f"start + joined = left + end ({col.key})",
            (("membership.start", col.key), ("membership.joined", col.key)),
            (("membership.left", col.key), ("membership.end", col.key)),
        )
        for col in _COLUMNS
    ),
    end_markers=(r"(?i)highlights",),
)


def read_tables(text: str, ocr: bool = False) -> TableReadout:
    return read_with_specs(prepare_text(text, ocr=ocr), (MEMBERSHIP_TABLE,))


def check_identities(record: dict[str, Any]) -> list[dict[str, Any]]:
    """start + joined == left + end, per column, where all four are stated."""
    breaks = []
    rows = record.get("membership") or {}
    for col in ("adults", "juniors"):
        values = [(rows.get(r) or {}).get(col) for r in _ROWS]
        if any(v is None for v in values):
            continue
        start, joined, left, end = values
        if start + joined != left + end:
            breaks.append(
                {
                    "name": f"membership {col}",
                    "lhs": start + joined,
                    "rhs": left + end,
                    "paths": [f"membership.{r}.{col}" for r in _ROWS],
                }
            )
    return breaks


def not_a_report(text: str) -> str | None:
    if "annual report" not in text.lower():
        return "no 'annual report' in the text"
    return None


def _labels() -> dict[str, str]:
    descriptions = field_descriptions(ClubReport)
    return {path: descriptions.get(path, path) for path, _, _ in iter_leaf_fields(ClubReport)}


REPORT_TYPE = ReportType(
    name="toy_report",
    record_model=ClubReport,
    sections=SECTIONS,
    parts=PARTS,
    check_identities=check_identities,
    not_a_report=not_a_report,
    read_tables=read_tables,
    labels=_labels(),
)
