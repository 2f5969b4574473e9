"""Cells of one row: the number tokens after its label, explicit blanks where the layout
shows them (tab or pipe rows, one cell per line), and the candidate placements when the
count does not match the columns.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

from structurer.tables.spec import CellUnit, ColumnSpec
from structurer.tables.textmap import COUNT_UNITS, Token, TokenKind

MAX_CANDIDATES = 400
UNFIT_PENALTY = 6.0


@dataclass(frozen=True)
class Slot:
    """One printed cell: a number or blank-mark token, or a blank seen from the layout."""

    token: Token | None  # None: a blank cell (no token)

    @property
    def value(self) -> float:
        return 0.0 if self.token is None or self.token.value is None else self.token.value


@dataclass(frozen=True)
class Placement:
    """One way to place a row's slots into its columns; `cells[i]` is None for a cell
    inferred blank. `prior` is a log-score from column priors and dropped tokens."""

    cells: tuple[Slot | None, ...]
    prior: float
    evidence: float = 0.0  # the part of `prior` from this document (positions, dropped numbers)

    def values(self) -> tuple[float, ...]:
        return tuple(0.0 if c is None else c.value for c in self.cells)


def line_gap(tokens: list[Token]) -> int:
    """The usual number of line breaks between two values printed one per line."""
    counts = Counter(
        t.sep.count("\n") for t in tokens if t.kind != TokenKind.text and "\n" in t.sep
    )
    return counts.most_common(1)[0][0] if counts else 1


def row_slots(tokens: list[Token], first: int, stop: int, gap: int = 1) -> list[Slot]:
    """Slots of the row whose label starts at token `first`, up to token `stop` (exclusive).

    Numbers printed between the parts of a wrapped label belong to the row. Blank cells
    are counted where the layout shows them: empty lines between one-cell-per-line
    values, or empty cells between tab or pipe delimiters."""
    items = [i for i in range(first + 1, stop) if tokens[i].kind != TokenKind.text]
    if not items:
        return []
    lines = _lines(tokens, first, stop)
    with_items = [line for line in lines if any(tokens[i].kind != TokenKind.text for i in line)]
    per_line = max(
        sum(1 for i in line if tokens[i].kind != TokenKind.text) for line in lines
    ) == 1 and (len(with_items) >= 2 or with_items[0] is not lines[0])
    blanks_before: dict[int, int] = {}
    blanks_after: dict[int, int] = {}
    if per_line:
        gaps = [tokens[i].sep.count("\n") for i in items[1:]]
        base = min([gap, *gaps])
        for i, g in zip(items[1:], gaps, strict=True):
            blanks_before[i] = g - base
        if items[0] == first + 1:
            blanks_before[items[0]] = max(0, tokens[items[0]].sep.count("\n") - base)
    else:
        for line in lines:
            _delimited_blanks(tokens, line, stop, blanks_before, blanks_after)
    slots: list[Slot] = []
    for i in items:
        slots.extend(Slot(None) for _ in range(blanks_before.get(i, 0)))
        slots.append(Slot(tokens[i]))
        slots.extend(Slot(None) for _ in range(blanks_after.get(i, 0)))
    return slots


def _lines(tokens: list[Token], first: int, stop: int) -> list[list[int]]:
    """Token indices from `first` to `stop`, grouped by printed line."""
    lines: list[list[int]] = []
    for i in range(first, stop):
        if not lines or "\n" in tokens[i].sep:
            lines.append([])
        lines[-1].append(i)
    return lines


def _delimited_blanks(
    tokens: list[Token], line: list[int], stop: int, before: dict[int, int], after: dict[int, int]
) -> None:
    """Empty cells of one tab- or pipe-delimited line, before or after its numbers."""
    seps = [tokens[i].sep.rsplit("\n", 1)[-1] for i in line]
    trailing = tokens[line[-1] + 1].sep.split("\n", 1)[0] if line[-1] + 1 < len(tokens) else ""
    joined = "".join(seps) + trailing
    delim = "|" if "|" in joined else ("\t" if "\t" in joined else None)
    if delim is None:
        return
    opening = 1 if delim == "|" else 0  # "| a | b |": the first pipe opens the line
    numbers = [n for n, i in enumerate(line) if tokens[i].kind != TokenKind.text]
    if any(b == a + 1 and delim not in seps[b] for a, b in zip(numbers, numbers[1:], strict=False)):
        return  # two numbers in one delimited cell: the delimiters do not show the cells
    for n, (i, sep) in enumerate(zip(line, seps, strict=True)):
        if tokens[i].kind == TokenKind.text:
            continue
        if n == 0:
            before[i] = max(0, sep.count(delim) - opening)
        else:
            before[i] = max(0, sep.count(delim) - 1)
    last = line[-1]
    if tokens[last].kind != TokenKind.text and last + 1 <= stop:
        after[last] = max(0, trailing.count(delim) - opening)


def placements(
    slots: list[Slot],
    columns: tuple[ColumnSpec, ...],
    place: Callable[[Slot, int], float] | None = None,
    limit: int = MAX_CANDIDATES,
) -> list[Placement]:
    """Every placement of `slots` into the columns (order kept), best prior first.

    `place(slot, column)` is an optional log-score of a slot sitting in a column (e.g.
    from where the number is printed on its line)."""
    k = len(columns)
    n_layout_blanks = sum(1 for s in slots if s.token is None)
    if len(slots) > k and n_layout_blanks:
        slots = [s for s in slots if s.token is not None]  # layout blanks were spacing
    n = len(slots)
    out: list[Placement] = []
    if n == k:
        out.append(Placement(tuple(slots), column_prior(tuple(slots), columns)))
    elif n < k:
        for filled in _limited(combinations(range(k), n), limit):
            cells: list[Slot | None] = [None] * k
            for pos, slot in zip(filled, slots, strict=True):
                cells[pos] = slot
            out.append(Placement(tuple(cells), column_prior(tuple(cells), columns)))
    else:
        for kept in _limited(combinations(range(n), k), limit):
            dropped = [i for i in range(n) if i not in kept]
            penalty = sum(0.5 if i >= k else 3.0 for i in dropped)
            cells_t = tuple(slots[i] for i in kept)
            out.append(Placement(cells_t, column_prior(cells_t, columns) - penalty, -penalty))
    if place is not None:
        # positions guessed from the headers only (a placer that is not `strong`) order the
        # placements but are no evidence against the others
        strong = getattr(place, "strong", True)
        out = [
            Placement(r.cells, r.prior + (p := _placement(r.cells, place)), r.evidence + p * strong)
            for r in out
        ]
    out.sort(key=lambda r: -r.prior)
    return out


def _placement(cells: tuple[Slot | None, ...], place: Callable[[Slot, int], float]) -> float:
    return sum(place(c, i) for i, c in enumerate(cells) if c is not None)


def _limited(it: combinations[tuple[int, ...]], limit: int) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for c in it:
        out.append(c)
        if len(out) >= limit:
            break
    return out


def column_prior(cells: tuple[Slot | None, ...], columns: tuple[ColumnSpec, ...]) -> float:
    score = 0.0
    for cell, col in zip(cells, columns, strict=True):
        p = min(max(col.nonzero_prior, 0.02), 0.98)
        nonzero = cell is not None and cell.value != 0
        score += math.log(p if nonzero else 1 - p)
    return score - UNFIT_PENALTY * unfit_cells(cells, columns)


def unfit_cells(cells: Sequence[Slot | None], columns: tuple[ColumnSpec, ...]) -> int:
    """Numbers that cannot sit in their column: money or a fraction in a count column, a
    negative in an unsigned one."""
    unfit = 0
    for cell, col in zip(cells, columns, strict=True):
        if cell is None or cell.token is None or col.unit == CellUnit.amount:
            continue
        unit = cell.token.unit
        if cell.value != int(cell.value) or (unit is not None and unit not in COUNT_UNITS):
            unfit += 1
        if cell.value < 0 and col.unit == CellUnit.integer:
            unfit += 1
    return unfit
