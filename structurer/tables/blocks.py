"""Rows whose cells are not printed after their own label: all labels first and then all
numbers (table 四), labels lost to OCR, blocks with blank cells. Each function fills in
`slots` (one entry per row, None where the label was not found) in place."""

from __future__ import annotations

from collections.abc import Callable

from structurer.tables.cells import Placement, Slot, placements
from structurer.tables.grid import evenly_spaced
from structurer.tables.locate import LabelHit
from structurer.tables.resolve import BLANK_TOTAL_CREDIT, IDENTITY_WEIGHT
from structurer.tables.spec import Identity, RowSpec, TableSpec
from structurer.tables.textmap import Token, TokenKind

BLOCK_CANDIDATES = 7000


def spread_blocks(
    rows: list[tuple[TableSpec, RowSpec]],
    hits: list[LabelHit | None],
    slots: list[list[Slot] | None],
    problems: list[str],
) -> None:
    """A row holding m*k cells while m-1 neighbouring rows hold none (their labels printed
    first and all numbers after them, or their labels lost): give each row its share."""

    def same_shape(a: int, b: int) -> bool:
        return rows[a][0] is rows[b][0] and len(rows[a][1].columns) == len(rows[b][1].columns)

    for i in range(len(rows)):
        cur = slots[i]
        k = len(rows[i][1].columns)
        if cur is None or len(cur) <= k or len(cur) % k:
            continue
        m = len(cur) // k
        for offset in range(m - 1, -1, -1):  # the block's row last first: labels, then numbers
            window = list(range(i - offset, i - offset + m))
            if (
                window[0] < 0
                or window[-1] >= len(rows)
                or not all(same_shape(i, r) for r in window)
            ):
                continue
            if any(slots[r] for r in window if r != i):
                continue
            after, before = window[-1] + 1, window[0] - 1
            if after < len(rows) and same_shape(i, after) and slots[after] is None:
                break  # a lost label right after: maybe a longer block with blanks
            if before >= 0 and same_shape(i, before) and not slots[before]:
                break  # a row before printed nothing either: maybe a longer block with blanks
            if any(slots[r] is None for r in window):
                problems.append(
                    f"{rows[i][0].name}: a row label was not found; its cells taken by position"
                )
            problems.append(f"{rows[i][0].name}: cells of {m} rows printed as one block")
            for n, r in enumerate(window):
                slots[r] = cur[n * k : (n + 1) * k]
            break
    for i in range(len(rows)):  # extra cells, then rows of another shape whose labels were lost
        cur = slots[i]
        k = len(rows[i][1].columns)
        if cur is None or len(cur) <= k:
            continue
        if i > 0 and same_shape(i - 1, i) and slots[i - 1] == []:
            continue  # empty rows before: a block, see _spread_short_blocks
        lost: list[int] = []
        j = i + 1
        while j < len(rows) and rows[j][0] is rows[i][0] and slots[j] is None:
            lost.append(j)
            if k + sum(len(rows[r][1].columns) for r in lost) == len(cur):
                at = k
                slots[i] = cur[:k]
                for r in lost:
                    width = len(rows[r][1].columns)
                    slots[r] = cur[at : at + width]
                    at += width
                    problems.append(f"{rows[r][1].path}: label not found; cells taken by position")
                break
            j += 1


def spread_short_blocks(
    rows: list[tuple[TableSpec, RowSpec]],
    slots: list[list[Slot] | None],
    problems: list[str],
    guessed: dict[int, str] | None = None,
    spacing: Callable[[Placement], float | None] | None = None,
) -> None:
    """Like _spread_blocks, when some cells of the block were left blank (fewer than m*k
    numbers): place them over the m rows as one long row, by the identities and priors.
    `spacing`: how far a placement's numbers are from evenly spaced columns (layout text),
    which keeps only the placements about as evenly spaced as the best."""
    for i in range(len(rows)):
        cur = slots[i]
        table, row = rows[i]
        k = len(row.columns)
        if cur is None or len(cur) <= k:
            continue
        window = [i]
        while window[0] > 0 and rows[window[0] - 1][0] is table and not slots[window[0] - 1]:
            if len(rows[window[0] - 1][1].columns) != k:
                break
            window.insert(0, window[0] - 1)
        while (
            window[-1] + 1 < len(rows)
            and rows[window[-1] + 1][0] is table
            and slots[window[-1] + 1] is None
        ):
            if len(rows[window[-1] + 1][1].columns) != k:
                break
            window.append(window[-1] + 1)
        if len(window) < 2 or len(cur) > k * len(window):
            continue
        columns = tuple(c for r in window for c in rows[r][1].columns)
        where = {
            (rows[r][1].path, c.key): n * k + ci
            for n, r in enumerate(window)
            for ci, c in enumerate(row.columns)
        }
        local = [x for x in table.identities if all(ref in where for ref in (*x.lhs, *x.rhs))]

        options = placements(cur, columns, limit=BLOCK_CANDIDATES)
        if not options:
            continue
        best = max(options, key=lambda r: _block_score(r, local, where))
        held = _held(best, local, where)
        rivals = [o for o in options if _held(o, local, where) >= held - 1e-9]
        if spacing is not None:  # one printed line: its numbers sit in evenly spaced columns
            keep = evenly_spaced([spacing(o) for o in rivals])
            rivals = [o for o, k in zip(rivals, keep, strict=True) if k]
            best = max(rivals, key=lambda r: _block_score(r, local, where))
        tie = any(o.values() != best.values() for o in rivals)
        for n, r in enumerate(window):
            slots[r] = [c if c is not None else Slot(None) for c in best.cells[n * k : (n + 1) * k]]
            if tie and guessed is not None:
                guessed[r] = (
                    f"{len(cur)} numbers printed for the {len(window) * k} cells of "
                    f"{len(window)} rows; where the blanks go is not decided by the identities"
                )
        problems.append(
            f"{table.name}: cells of {len(window)} rows printed as one block with blanks"
        )


def recover_first_rows(
    tokens: list[Token],
    recovered: dict[str, tuple[int, int]],
    rows: list[tuple[TableSpec, RowSpec]],
    hits: list[LabelHit | None],
    slots: list[list[Slot] | None],
    problems: list[str],
) -> None:
    """A table's first row whose label was lost (e.g. a 2-character label misread): its
    cells are the numbers printed just before the next row's label."""
    for i in range(len(rows) - 1):
        table, row = rows[i]
        nxt = hits[i + 1]
        if hits[i] is not None or nxt is None or rows[i + 1][0] is not table:
            continue
        if (i > 0 and rows[i - 1][0] is table) or row.optional:
            continue  # only a table's first row: later rows' cells follow the row before
        j = nxt.first_token - 1
        items: list[int] = []
        while j >= 0 and tokens[j].kind != TokenKind.text:
            items.insert(0, j)
            j -= 1
        if 1 <= len(items) <= len(row.columns) and j >= 0:
            slots[i] = [Slot(tokens[t]) for t in items]
            recovered[row.path] = (tokens[j].start, tokens[j].end)
            problems.append(f"{row.path}: label not found; cells taken from before the next row")


def _block_score(
    reading: Placement, identities: list[Identity], where: dict[tuple[str, str], int]
) -> float:
    return reading.prior + IDENTITY_WEIGHT * _held(reading, identities, where)


def _held(
    reading: Placement, identities: list[Identity], where: dict[tuple[str, str], int]
) -> float:
    vals = reading.values()
    held = 0.0
    for ident in identities:
        lhs = sum(vals[where[ref]] for ref in ident.lhs)
        rhs = sum(vals[where[ref]] for ref in ident.rhs)
        if abs(lhs - rhs) < 1e-6:
            held += 1.0
        elif len(ident.lhs) == 1 and reading.cells[where[ident.lhs[0]]] is None:
            held += BLANK_TOTAL_CREDIT
    return held
