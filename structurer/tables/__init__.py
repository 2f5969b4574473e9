"""A deterministic reader for printed tables, generic over row/column/identity specs."""

from structurer.tables.reader import Prepared, TableReadout, prepare, read_with_specs
from structurer.tables.spec import CellUnit, ColumnSpec, Identity, RowSpec, TableSpec

__all__ = [
    "CellUnit",
    "ColumnSpec",
    "Identity",
    "Prepared",
    "RowSpec",
    "TableReadout",
    "TableSpec",
    "prepare",
    "read_with_specs",
]
