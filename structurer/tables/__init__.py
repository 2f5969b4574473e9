"""A deterministic reader for printed tables, generic over row/column/identity specs, with
self-checks that put a doubt in words on every cell they cannot vouch for (checks.py).

It knows no report type: rows, columns, identities and units of measure (e.g. money and its
factors) come from the report type's specs. Chinese counting units, numerals and full-width
forms are handled as language support (textmap.py). Imports only structurer.core."""

from structurer.tables.document import TableReadout, TableText, prepare_text
from structurer.tables.reader import read_with_specs
from structurer.tables.spec import CellUnit, ColumnSpec, Identity, RowSpec, TableSpec

__all__ = [
    "CellUnit",
    "ColumnSpec",
    "Identity",
    "TableText",
    "RowSpec",
    "TableReadout",
    "TableSpec",
    "prepare_text",
    "read_with_specs",
]
