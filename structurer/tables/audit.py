"""Every self-check of one table read (the checks themselves are in checks.py): identities
that break, placements another reading keeps as well, rows out of order or placed without
their label, numbers printed that no cell holds. A failing check puts a reason in words on
the cell; a `final` one is about what the text itself prints."""

from __future__ import annotations

from structurer.tables.cells import Placement, Slot
from structurer.tables.checks import (
    PLACE_MARGIN,
    Doubts,
    ambiguous_placement,
    checksum_reason,
    comma_or_point,
    dropped_numbers,
    owned_numbers,
    unfit_count,
    year_like,
)
from structurer.tables.document import TableText
from structurer.tables.grid import GridPlacer
from structurer.tables.locate import LabelHit
from structurer.tables.positions import Placer
from structurer.tables.resolve import Resolver, joint_alternatives
from structurer.tables.spec import RowSpec, TableSpec
from structurer.tables.textmap import Token, TokenKind


def audit_table(
    doc: TableText,
    rows: list[tuple[TableSpec, RowSpec]],
    idx: list[int],
    hits: list[LabelHit | None],
    slots: list[list[Slot] | None],
    regions: list[tuple[int, int, int]],
    options: dict[str, list[Placement]],
    choice: dict[str, int],
    resolver: Resolver,
    columns_x: dict[int, Placer | GridPlacer],
) -> Doubts:
    """Every self-check of one table read (see checks.py)."""
    doubts = Doubts()
    for (row_path, col), name in resolver.broken_cells(choice).items():
        doubts.cell(f"{row_path}.{col}", f"the table identity {name} does not hold", final=True)
    for row_a, i, row_b, j in resolver.swaps(choice, PLACE_MARGIN):
        other = {**choice, row_a: i, row_b: j}
        for path, value in _differing(rows, idx, options, choice, other):
            doubts.cell(
                path,
                f"the identities hold as well with {value:g} here (the blanks of two rows "
                "placed the other way): the printed text does not decide",
                final=True,
            )
    for row_path, other_values in joint_alternatives(resolver, choice, PLACE_MARGIN).items():
        row = next(r for _, r in rows if r.path == row_path)
        if other_values is None:
            doubts.row(
                row, "whether another placement keeps the identities was not decided", final=True
            )
            continue
        for spec, y in zip(row.columns, other_values, strict=True):
            if y is not None:
                doubts.cell(
                    f"{row_path}.{spec.key}",
                    f"the identities hold as well with {y:g} here (the blanks of several "
                    "rows placed another way): the printed text does not decide",
                    final=True,
                )
    used: set[int] = set()
    broken_table = sorted(
        {resolver.identities[n].name for n in range(len(resolver.identities))}
        - {
            resolver.identities[n].name
            for n in range(len(resolver.identities))
            if resolver.holds(choice, n)
        }
    )
    for i in idx:
        row = rows[i][1]
        if row.path not in options:
            continue
        opts = options[row.path]
        reading = opts[choice[row.path]]
        used.update(c.token.start for c in reading.cells if c is not None and c.token is not None)
        hit = hits[i]
        if hit is not None and hit.moved:
            doubts.row(row, "the row is printed out of the official row order")
        printed = any(c is not None and c.token is not None for c in reading.cells)
        if hit is None and printed and not _identities_close(resolver, choice, row.path):
            doubts.row(
                row,
                "the row's label was not found; its cells were placed by position and "
                "the table identities do not confirm them",
            )
        broken_here = sorted(
            {
                resolver.identities[n].name
                for n in resolver.by_row.get(row.path, [])
                if not resolver.holds(choice, n)
            }
        )
        if len(opts) > 1 and broken_table:  # broken_here, when any, is a part of it
            # a placement is confirmed only by a table whose identities all hold: the
            # blanks of every row may have been moved together with a broken one's
            doubts.row(
                row,
                "the row's numbers were placed in its columns by the table identities, "
                f"but {', '.join((broken_here or broken_table)[:3])} does not hold",
                final=True,
            )
        if len(opts) > 1:
            placer = columns_x.get(len(row.columns))
            reason = ambiguous_placement(
                row,
                opts,
                choice,
                resolver,
                placer if placer is not None and placer.strong else None,
            )
            if reason:
                doubts.row(row, reason, final=True)
        reason = dropped_numbers(row, slots[i] or [], reading)
        if reason:
            doubts.row(row, reason)
        for column, placed in zip(row.columns, reading.cells, strict=True):
            token = None if placed is None else placed.token
            for reason in (
                year_like(token, column.unit),
                comma_or_point(token, column.unit),
                unfit_count(token, column.unit),
            ):
                if reason:
                    doubts.cell(f"{row.path}.{column.key}", reason, final=True)
            if token is None and broken_table:
                doubts.cell(
                    f"{row.path}.{column.key}",
                    "read as a blank 0 while the table identities do not hold "
                    f"({', '.join(broken_table[:3])}): its number may be lost",
                    final=True,
                )
    mine = [r for r in regions if r[0] in idx]
    unaccounted: list[str] = []
    for owner, in_region in owned_numbers(doc.tokens, mine).items():
        missing = [t for t in in_region if t.start not in used]
        row = rows[owner][1]
        if not missing or row.path not in options:
            continue
        reading = options[row.path][choice[row.path]]
        read_sum = sum(c.value for c in reading.cells if c is not None and c.token is not None)
        printed_sum = sum(t.value or 0.0 for t in in_region)
        doubts.row(row, checksum_reason(missing, printed_sum, read_sum), final=True)
        unaccounted.extend(t.text for t in missing if t.value)
    stray = _stray_numbers(doc, rows, idx, hits, used)
    unaccounted.extend(t.text for t in stray)
    if unaccounted:  # never a silent 0: a blank may be where one of them belongs
        shown = ", ".join(unaccounted[:6]) + (" …" if len(unaccounted) > 6 else "")
        for i in idx:
            row = rows[i][1]
            if row.path not in options:
                continue
            cells = options[row.path][choice[row.path]].cells
            for column, placed in zip(row.columns, cells, strict=True):
                if placed is None or placed.token is None:
                    doubts.cell(
                        f"{row.path}.{column.key}",
                        f"read as a blank 0 while the table prints numbers no cell holds ({shown})",
                        final=True,
                    )
    return doubts


def _stray_numbers(
    doc: TableText,
    rows: list[tuple[TableSpec, RowSpec]],
    idx: list[int],
    hits: list[LabelHit | None],
    used: set[int],
) -> list[Token]:
    """Non-zero numbers printed between the table's first row label and its end (its end
    marker, or the next table's first row) that no row's part of the text took: a table
    whose labels OCR garbled, so its numbers came after where its rows were cut."""
    table = rows[idx[0]][0]
    starts = [h.first_token for i in idx if (h := hits[i]) is not None]
    if not starts:
        return []
    first = min(starts)
    mine = set(idx)
    after = [
        h.first_token
        for i, h in enumerate(hits)
        if h is not None and i not in mine and h.first_token > first
    ]
    ends = [e for e in doc.end_tokens(table) if e > first]
    stop = min([len(doc.tokens), *after, *ends])
    return [
        t
        for t in doc.tokens[first:stop]
        if t.kind == TokenKind.number and t.value and t.start not in used
    ]


def _differing(
    rows: list[tuple[TableSpec, RowSpec]],
    idx: list[int],
    options: dict[str, list[Placement]],
    choice: dict[str, int],
    other: dict[str, int],
) -> list[tuple[str, float]]:
    """(cell path, the other value) where two choices read differently."""
    out = []
    for i in idx:
        row = rows[i][1]
        if row.path not in options or choice[row.path] == other[row.path]:
            continue
        a = options[row.path][choice[row.path]].values()
        b = options[row.path][other[row.path]].values()
        for col, x, y in zip(row.columns, a, b, strict=True):
            if x != y:
                out.append((f"{row.path}.{col.key}", y))
    return out


def _identities_close(resolver: Resolver, choice: dict[str, int], row: str) -> bool:
    """Every identity through `row` holds (a row placed by position, confirmed)."""
    n = len(resolver.by_row.get(row, []))
    return n > 0 and resolver.row_credit(choice, row) >= n - 1e-9
