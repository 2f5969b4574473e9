"""Cells of one row: the number tokens after its label, explicit blanks where the layout
shows them (tab or pipe rows, one cell per line), and the candidate readings when the
count does not match the columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

from structurer.tables.spec import ColumnSpec
from structurer.tables.textmap import Token, TokenKind

MAX_CANDIDATES = 400


@dataclass(frozen=True)
class Slot:
    """One printed cell: a number or blank-mark token, or a blank seen from the layout."""

    token: Token | None  # None: a blank cell (no token)

    @property
    def value(self) -> float:
        return 0.0 if self.token is None or self.token.value is None else self.token.value


@dataclass(frozen=True)
class Reading:
    """One way to place a row's slots into its columns; `cells[i]` is None for a cell
    inferred blank. `prior` is a log-score from column priors and dropped tokens."""

    cells: tuple[Slot | None, ...]
    prior: float

    def values(self) -> tuple[float, ...]:
        return tuple(0.0 if c is None else c.value for c in self.cells)


def row_slots(tokens: list[Token], label_last: int, stop: int) -> list[Slot]:
    """Slots of the row whose label ends at token `label_last`, up to token `stop`
    (exclusive). Layout blanks are counted only when the layout is unambiguous."""
    items = [i for i in range(label_last + 1, stop) if tokens[i].kind != TokenKind.text]
    if not items:
        return []
    span_seps = [tokens[i].sep for i in range(label_last + 1, items[-1] + 1)]
    blanks_before: dict[int, int] = {}
    if not any("\n" in s for s in span_seps):
        delim = (
            "|"
            if any("|" in s for s in span_seps)
            else ("\t" if any("\t" in s for s in span_seps) else None)
        )
        if delim is not None:
            for i in items:
                gap = sum(
                    tokens[j].sep.count(delim)
                    for j in range(_prev_token(tokens, i, label_last) + 1, i + 1)
                )
                blanks_before[i] = max(0, gap - 1)
    else:
        seps = [tokens[i].sep for i in items]
        gaps_inside = [s.count("\n") for s in seps[1:]]
        per_line = all(g >= 1 for g in gaps_inside) and _one_item_per_line(
            tokens, items, label_last
        )
        if per_line and gaps_inside:
            base = min(gaps_inside)
            for i, g in zip(items[1:], gaps_inside, strict=True):
                blanks_before[i] = g - base
            if items[0] == label_last + 1:
                blanks_before[items[0]] = max(0, tokens[items[0]].sep.count("\n") - base)
    slots: list[Slot] = []
    for i in items:
        slots.extend(Slot(None) for _ in range(blanks_before.get(i, 0)))
        slots.append(Slot(tokens[i]))
    return slots


def _prev_token(tokens: list[Token], i: int, floor: int) -> int:
    j = i - 1
    while j > floor and tokens[j].kind == TokenKind.text:
        j -= 1
    return j


def _one_item_per_line(tokens: list[Token], items: list[int], label_last: int) -> bool:
    """True when no two non-text tokens of the row share a line."""
    return all("\n" in tokens[i].sep for i in items[1:]) and (
        items[0] == label_last + 1
        or any("\n" in tokens[j].sep for j in range(label_last + 1, items[0] + 1))
    )


def readings(slots: list[Slot], columns: tuple[ColumnSpec, ...]) -> list[Reading]:
    """Every placement of `slots` into the columns (order kept), best prior first."""
    k = len(columns)
    n_layout_blanks = sum(1 for s in slots if s.token is None)
    if len(slots) > k and n_layout_blanks:
        slots = [s for s in slots if s.token is not None]  # layout blanks were spacing
    n = len(slots)
    out: list[Reading] = []
    if n == k:
        out.append(Reading(tuple(slots), _prior(tuple(slots), columns)))
    elif n < k:
        for filled in _limited(combinations(range(k), n)):
            cells: list[Slot | None] = [None] * k
            for pos, slot in zip(filled, slots, strict=True):
                cells[pos] = slot
            out.append(Reading(tuple(cells), _prior(tuple(cells), columns)))
    else:
        for kept in _limited(combinations(range(n), k)):
            dropped = [i for i in range(n) if i not in kept]
            penalty = sum(0.5 if i >= k else 3.0 for i in dropped)
            cells_t = tuple(slots[i] for i in kept)
            out.append(Reading(cells_t, _prior(cells_t, columns) - penalty))
    out.sort(key=lambda r: -r.prior)
    return out


def _limited(it: combinations[tuple[int, ...]]) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for c in it:
        out.append(c)
        if len(out) >= MAX_CANDIDATES:
            break
    return out


def _prior(cells: tuple[Slot | None, ...], columns: tuple[ColumnSpec, ...]) -> float:
    score = 0.0
    for cell, col in zip(cells, columns, strict=True):
        p = min(max(col.nonzero_prior, 0.02), 0.98)
        nonzero = cell is not None and cell.value != 0
        score += math.log(p if nonzero else 1 - p)
    return score
