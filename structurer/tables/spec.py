"""What a table reader is told about a printed table: its rows, columns and identities.

Nothing here knows any particular report: the report type builds these specs from its
official table formats and hands them to `structurer.tables.reader.read_table_specs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class CellUnit(StrEnum):
    """How a cell's printed number becomes the field's value."""

    integer = "integer"  # an integer count; counting units such as 件/条 are dropped
    signed_integer = "signed_integer"  # an integer that may be negative
    amount = "amount"  # a quantity in the field's unit (e.g. money); see ColumnSpec.unit_factors


@dataclass(frozen=True)
class ColumnSpec:
    """One printed column, in printed order.

    `key` is the last part of the field path. `nonzero_prior` is how often this column is
    non-zero in real tables; it only breaks ties between placements that the table's
    identities cannot tell apart (e.g. which of 7 cells was left blank). `header`, when
    given, locates the column on the line in space-aligned (PDF layout) text.
    `unit_factors` (amount columns): the units a cell may print after its number and the
    factor that turns each into the field's unit, e.g. (("元", 0.0001),) for a field in 10k.
    """

    key: str
    nonzero_prior: float = 0.5
    unit: CellUnit = CellUnit.integer
    header: str = ""  # the printed column header, used to place numbers in layout text
    unit_factors: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class RowSpec:
    """One printed data row.

    `labels` are the official label and its known variants, as printed (numbering
    included, e.g. "（一）予以公开"); matching ignores punctuation and spaces.
    `optional` rows may be absent from a printed table (e.g. sub-rows that only one
    format prints); an absent optional row counts as 0 in identities and is not "unread".
    """

    path: str
    labels: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    optional: bool = False


@dataclass(frozen=True)
class Identity:
    """sum(lhs) == sum(rhs), over cells named (row path, column key)."""

    name: str
    lhs: tuple[tuple[str, str], ...]
    rhs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TableSpec:
    """A printed table: rows in printed order, identities, and what ends it.

    `end_markers` are regexes on label text (normalised, see `textmap.label_key`) that
    mark the end of the table, e.g. the next section's heading.
    """

    name: str
    rows: tuple[RowSpec, ...]
    identities: tuple[Identity, ...] = ()
    end_markers: tuple[str, ...] = field(default_factory=tuple)
