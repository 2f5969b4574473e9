"""A deterministic reader for printed tables, generic over row/column/identity specs."""

from structurer.tables.reader import TableReadout, TableText, prepare_text, read_with_specs
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
