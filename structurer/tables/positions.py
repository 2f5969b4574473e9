"""Where each column sits on a line of space-aligned layout text (pdftotext -layout), to
place the numbers of a row with blank cells: from the table's own numbers, or from the
printed column headers."""

from __future__ import annotations

from collections.abc import Sequence
from math import inf

from structurer.tables.cells import Slot
from structurer.tables.spec import ColumnSpec, RowSpec
from structurer.tables.textmap import DisplayColumns, Token, TokenKind, label_key

PLACE_WEIGHT = 0.6


def column_positions(
    columns: DisplayColumns,
    table_rows: list[tuple[RowSpec, list[Slot] | None]],
    header_region: list[Token],
    wide: int,
) -> dict[int, Placer]:
    """For space-aligned layouts (pdftotext -layout): where each column sits on the line.

    Learnt from the table's own numbers when they form k clusters of right edges for k
    columns, else from the printed column headers (their centres). Returns, per column
    count, how a slot sits in each column. `wide`: see cjk_width."""
    rows_by_k: dict[int, list[list[int]]] = {}
    columns_by_k: dict[int, tuple[ColumnSpec, ...]] = {}
    for row, row_slots_ in table_rows:
        k = len(row.columns)
        columns_by_k[k] = row.columns
        rows_by_k.setdefault(k, [])
        aligned = [t for s in row_slots_ or [] if (t := _aligned_number(s)) is not None]
        if len(aligned) == k:  # only a full row shows where every column is
            rows_by_k[k].append([columns.number_end(t, wide) for t in aligned])
    out: dict[int, Placer] = {}
    for k, full_rows in rows_by_k.items():
        if k < 2:
            continue
        groups = gap_clusters(sorted(x for xs in full_rows for x in xs), gap=3)
        centres = [sum(g) / len(g) for g in groups]
        if len(centres) == k and all(_in_order(xs, centres) for xs in full_rows):
            out[k] = Placer(columns, centres, centred=False, strong=True, wide=wide)
            continue
        header_x = _header_centres(columns, columns_by_k[k], header_region, wide)
        if header_x is not None:
            out[k] = Placer(columns, header_x, centred=True, strong=False, wide=wide)
    return out


def cjk_width(columns: DisplayColumns, table_rows: list[tuple[RowSpec, list[Slot] | None]]) -> int:
    """How wide a CJK character is in this table's layout: the width under which its
    numbers' right edges take fewer distinct positions (rows with labels of different
    lengths line up only under the right one). 2 (typed text) unless 1 lines up better."""
    tokens = [t for _, got in table_rows for s in got or [] if (t := _aligned_number(s))]
    spread = {wide: len({columns.number_end(t, wide) for t in tokens}) for wide in (2, 1)}
    return 1 if spread[1] < spread[2] else 2


def _aligned_number(slot: Slot) -> Token | None:
    tok = slot.token
    if tok is None or tok.kind != TokenKind.number or "\t" in tok.sep or "|" in tok.sep:
        return None
    return tok


class Placer:
    """A log-score of a slot sitting in a column, from where its number is printed.
    `strong`: learnt from the table's own full rows; else from the printed headers, whose
    place in converted CJK text is only approximate (a hint, not evidence)."""

    def __init__(
        self,
        columns: DisplayColumns,
        centres: list[float],
        *,
        centred: bool,
        strong: bool,
        wide: int = 2,
    ) -> None:
        self.columns, self.centres, self.centred, self.strong = columns, centres, centred, strong
        self.wide = wide

    def __call__(self, slot: Slot, col: int) -> float:
        tok = _aligned_number(slot)
        if tok is None:
            return 0.0
        end = self.columns.number_end(tok, self.wide)
        x = (self.columns.at(tok.start, self.wide) + end) / 2 if self.centred else end
        return -PLACE_WEIGHT * min(abs(x - self.centres[col]), 10.0)


def _header_centres(
    display: DisplayColumns, columns: tuple[ColumnSpec, ...], region: list[Token], wide: int
) -> list[float] | None:
    """Display centres of the columns' printed headers (the last print of each before the
    table's first row; a header broken over lines is found by its first part)."""
    centres: list[float] = []
    for col in columns:
        head = label_key(col.header)
        if len(head) < 2:
            return None
        found = [
            t
            for t in region
            if t.kind == TokenKind.text
            and len(key := label_key(t.text)) >= 2
            and head.startswith(key[:2])
            and key.startswith(head[: len(key)][:2])
        ]
        if not found:
            return None
        tok = found[-1]
        left = display.at(tok.start, wide)
        centres.append((left + display.at(tok.end, wide)) / 2)
    if any(b <= a for a, b in zip(centres, centres[1:], strict=False)):
        return None
    return centres


def _in_order(xs: list[int], centres: list[float]) -> bool:
    """A full row's i-th number is nearest the i-th centre (the text is really aligned)."""
    return all(
        min(range(len(centres)), key=lambda c: abs(x - centres[c])) == i for i, x in enumerate(xs)
    )


def gap_clusters(xs: Sequence[float], gap: float, width: float = inf) -> list[list[float]]:
    """Sorted positions in groups: a position joins the group before when it is at most
    `gap` after the group's last one and `width` after its first."""
    groups: list[list[float]] = []
    for x in xs:
        if groups and x - groups[-1][-1] <= gap and x - groups[-1][0] <= width:
            groups[-1].append(x)
        else:
            groups.append([x])
    return groups
