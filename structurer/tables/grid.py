"""The column grid of a space-aligned table (pdftotext -layout), learnt from where all its
numbers sit, to place the numbers of rows with blank cells.

A column's numbers line up down the page (by their left edge, right edge or centre), so
the numbers of all rows on one page fall into clusters, one per column that prints any
number. Which columns the clusters are is one choice for the whole page, not one per row:
every way of giving the clusters distinct columns in order is tried, and the table's
identities keep the ones under which they all hold. A number sitting in a column none of
the kept ways gives it is placed there only against this evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations, product
from math import prod

from structurer.tables.cells import Placement, Slot, column_prior
from structurer.tables.positions import gap_clusters
from structurer.tables.resolve import Resolver
from structurer.tables.spec import Identity, RowSpec
from structurer.tables.textmap import DisplayColumns, Token, TokenKind

OFF_GRID = 20.0  # log-score against a number off the learnt grid: above any column prior
MAX_WAYS = 20000  # ways of mapping clusters to columns tried per table
CLUSTER_GAP = 2  # display columns between edges of one column's numbers
CLUSTER_WIDTH = 3
FIT_GOOD = 2.0  # spacing_misfit (display columns) at most this: evenly spaced columns
FIT_MARGIN = 1.5  # a way spaced worse than the best by more than this is not kept
MIN_PITCH = 4.0  # display columns: the narrowest printed column a grid may have


class GridPlacer:
    """Log-score of a slot in a column: 0 where a kept grid puts its number, -OFF_GRID
    elsewhere; neutral for a slot the grid does not know. Strong: learnt from the table's
    own numbers."""

    strong = True

    def __init__(self, allowed: dict[int, set[int]]) -> None:
        self.allowed = allowed  # token start offset -> columns a kept grid gives it

    def __call__(self, slot: Slot, col: int) -> float:
        if slot.token is None or slot.token.start not in self.allowed:
            return 0.0
        return 0.0 if col in self.allowed[slot.token.start] else -OFF_GRID


def learn_grid(
    display: DisplayColumns,
    table_rows: list[tuple[RowSpec, list[Slot] | None]],
    identities: Sequence[Identity],
    wide: int,
) -> dict[int, GridPlacer]:
    """Per column count, a placer from the grid of the table's pages; {} when the layout
    does not show one (delimited or one-per-line cells, numbers that do not line up, more
    numbers than columns) or when no grid lets every identity hold."""
    groups: dict[tuple[int, int], list[tuple[RowSpec, list[Token]]]] = {}
    for row, slots in table_rows:
        if not slots:
            continue
        tokens = [s.token for s in slots]
        if any(t is None or not _positioned(t) for t in tokens) or len(tokens) > len(row.columns):
            return {}
        placed = [t for t in tokens if t is not None]
        page = display.page(placed[0].start)
        if any(display.page(t.start) != page for t in placed):
            return {}
        groups.setdefault((len(row.columns), page), []).append((row, placed))
    clusters: dict[tuple[int, int], dict[int, int]] = {}
    centres: dict[tuple[int, int], list[float]] = {}
    for key, members in groups.items():
        found = _clusters(display, members, wide)
        if found is None or len(found[1]) > key[0]:
            return {}
        clusters[key], centres[key] = found
    keys = sorted(clusters)
    ways_per_group = [list(combinations(range(k), len(centres[(k, p)]))) for k, p in keys]
    if not keys or prod(len(w) for w in ways_per_group) > MAX_WAYS:
        return {}
    kept = _kept_ways(table_rows, groups, clusters, keys, ways_per_group, identities)
    kept = _evenly_spaced(kept, [centres[k] for k in keys])
    if not kept:
        return {}
    allowed: dict[int, dict[int, set[int]]] = {}
    for way in kept:
        for (k, p), cols in zip(keys, way, strict=True):
            for t_start, c in clusters[(k, p)].items():
                allowed.setdefault(k, {}).setdefault(t_start, set()).add(cols[c])
    return {k: GridPlacer(a) for k, a in allowed.items()}


def _positioned(token: Token | None) -> bool:
    return (
        token is not None
        and token.kind in (TokenKind.number, TokenKind.blank)
        and "\t" not in token.sep
        and "|" not in token.sep
    )


def _clusters(
    display: DisplayColumns, members: list[tuple[RowSpec, list[Token]]], wide: int
) -> tuple[dict[int, int], list[float]] | None:
    """token start -> cluster index (in order along the line), by the edge that lines the
    numbers up in the fewest clusters; None when no edge gives each row's numbers distinct
    clusters in printed order."""
    best: tuple[dict[int, int], list[float]] | None = None
    edges = {t.start: _edges(display, t, wide) for _, tokens in members for t in tokens}
    for edge in range(3):
        xs = {start: e[edge] for start, e in edges.items()}
        groups = gap_clusters(sorted(xs.values()), CLUSTER_GAP, CLUSTER_WIDTH)
        cluster_of = {x: n for n, group in enumerate(groups) for x in group}
        index = {start: cluster_of[x] for start, x in xs.items()}
        if all(
            all(index[a.start] < index[b.start] for a, b in zip(tokens, tokens[1:], strict=False))
            for _, tokens in members
        ) and (best is None or len(groups) < len(best[1])):
            best = index, [sum(g) / len(g) for g in groups]
    return best


def _kept_ways(
    table_rows: list[tuple[RowSpec, list[Slot] | None]],
    groups: dict[tuple[int, int], list[tuple[RowSpec, list[Token]]]],
    clusters: dict[tuple[int, int], dict[int, int]],
    keys: list[tuple[int, int]],
    ways_per_group: list[list[tuple[int, ...]]],
    identities: Sequence[Identity],
) -> list[tuple[tuple[int, ...], ...]]:
    """The ways (one column tuple per group) under which every checkable identity holds."""
    options: dict[str, list[Placement]] = {}
    index: dict[tuple[str, tuple[int, ...]], int] = {}
    absent = {row.path for row, slots in table_rows if slots is None and row.optional}
    for row, slots in table_rows:
        if slots is not None and not slots:
            options[row.path] = [Placement((None,) * len(row.columns), 0.0)]
    grouped = {row.path for members in groups.values() for row, _ in members}
    fixed = {path: 0 for path in options if path not in grouped}
    combos = list(product(*ways_per_group))
    choices: list[dict[str, int]] = []
    for way in combos:
        choice = dict(fixed)
        for (k, p), cols in zip(keys, way, strict=True):
            for row, tokens in groups[(k, p)]:
                at = tuple(cols[clusters[(k, p)][t.start]] for t in tokens)
                key = (row.path, at)
                if key not in index:
                    cells: list[Slot | None] = [None] * k
                    for c, t in zip(at, tokens, strict=True):
                        cells[c] = Slot(t)
                    opts = options.setdefault(row.path, [])
                    index[key] = len(opts)
                    opts.append(Placement(tuple(cells), column_prior(tuple(cells), row.columns)))
                choice[row.path] = index[key]
        choices.append(choice)
    resolver = Resolver(
        {row.path: [c.key for c in row.columns] for row, _ in table_rows},
        options,
        absent,
        identities,
    )
    n = len(resolver.identities)
    if not n:  # nothing but the positions: kept only when they allow one way
        return combos if len(combos) == 1 else []
    return [
        way
        for way, choice in zip(combos, choices, strict=True)
        if all(resolver.holds(choice, i) for i in range(n))
    ]


def spacing_misfit(xs: Sequence[float], cols: Sequence[int]) -> float | None:
    """How far numbers' positions are from evenly spaced columns, for the columns `cols`
    they are given: the largest gap between neighbours off its share of the columns
    between them (one column's width: the mean), in display columns. A converter rounds
    each position to its character grid, so a true gap is off by a character or two
    whatever the columns' width; a gap given one column too many or too few is off by a
    whole width. Gaps are compared one by one, so drift along a line does not add up.
    None with fewer than three positions (any placement fits)."""
    if len(xs) < 3:
        return None
    gaps = [b - a for a, b in zip(xs, xs[1:], strict=False)]
    steps = [b - a for a, b in zip(cols, cols[1:], strict=False)]
    pitch = sum(gaps) / sum(steps)
    if pitch < MIN_PITCH:  # narrower than any printed column: the spaces are no layout
        return float("inf")
    return max(abs(g - s * pitch) for g, s in zip(gaps, steps, strict=True))


def _evenly_spaced(
    ways: list[tuple[tuple[int, ...], ...]], centres: list[list[float]]
) -> list[tuple[tuple[int, ...], ...]]:
    """The ways whose columns are, on each page, evenly spaced about as well as the best
    way's there, when that best fits well (equal-width columns). Pages are judged one by
    one: a page the converter printed unevenly decides nothing, the others still do."""
    for g, xs in enumerate(centres):
        options = sorted({way[g] for way in ways})
        keep = evenly_spaced([spacing_misfit(xs, cols) for cols in options])
        kept = {cols for cols, k in zip(options, keep, strict=True) if k}
        ways = [way for way in ways if way[g] in kept]
    return ways


def evenly_spaced(misfits: Sequence[float | None]) -> list[bool]:
    """Which of several placements to keep by their spacing misfits: those about as evenly
    spaced as the best, when the best is evenly spaced; all when spacing tells nothing."""
    known = [m for m in misfits if m is not None]
    if not known or min(known) > FIT_GOOD:
        return [True] * len(misfits)
    best = min(known)
    return [m is None or m <= best + FIT_MARGIN for m in misfits]


def line_spacing(display: DisplayColumns) -> Callable[[Placement], float | None]:
    """The spacing misfit of a placement of numbers printed on one line of layout text (by
    whichever edge and CJK width line them up best); None when they are not on one
    undelimited line."""

    edges: dict[tuple[int, int], tuple[float, float, float]] = {}  # the same tokens, every call

    def misfit(reading: Placement) -> float | None:
        placed = [(c, s.token) for c, s in enumerate(reading.cells) if s is not None and s.token]
        tokens = [t for _, t in placed]
        if len(tokens) < 3 or not all(_positioned(t) for t in tokens):
            return None
        if "\n" in display.original[tokens[0].start : tokens[-1].end]:
            return None
        cols = [c for c, _ in placed]
        fits = []
        for wide in (1, 2):
            at = [edges.get((t.start, wide)) or _edges(display, t, wide) for t in tokens]
            edges.update(((t.start, wide), e) for t, e in zip(tokens, at, strict=True))
            for edge in range(3):
                if (f := spacing_misfit([e[edge] for e in at], cols)) is not None:
                    fits.append(f)
        return min(fits, default=None)

    return misfit


def _edges(display: DisplayColumns, token: Token, wide: int) -> tuple[float, float, float]:
    """A number's left edge, right edge and centre on its line."""
    left = display.at(token.start, wide)
    right = display.number_end(token, wide)
    return left, right, (left + right) / 2
