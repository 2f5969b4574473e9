"""Choose one reading per row so that the table's identities hold as far as possible.

Objective: IDENTITY_WEIGHT per identity that holds (all its cells known) plus the placements'
priors. Search: best priors, then "same blank column in every short row" patterns (a whole
column left blank), then coordinate ascent row by row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from structurer.tables.cells import Placement
from structurer.tables.spec import Identity

IDENTITY_WEIGHT = 6.0
JOINT_BUDGET_S = 3.0  # time for the joint search of one table; rows left over are doubted
MAX_PASSES = 8
BLANK_TOTAL_CREDIT = 0.8


class Resolver:
    def __init__(
        self,
        row_columns: dict[str, list[str]],
        options: dict[str, list[Placement]],
        absent_as_zero: set[str],
        identities: Sequence[Identity],
    ) -> None:
        self.col_index = {
            row: {c: i for i, c in enumerate(cols)} for row, cols in row_columns.items()
        }
        self.options = options
        self.absent_as_zero = absent_as_zero
        self.identities = [i for i in identities if self._checkable(i)]
        self.by_row: dict[str, list[int]] = {}
        for n, ident in enumerate(self.identities):
            for row, _ in (*ident.lhs, *ident.rhs):
                self.by_row.setdefault(row, [])
                if n not in self.by_row[row]:
                    self.by_row[row].append(n)

    def _checkable(self, ident: Identity) -> bool:
        return all(
            row in self.options or row in self.absent_as_zero for row, _ in (*ident.lhs, *ident.rhs)
        )

    def value(self, choice: dict[str, int], row: str, col: str) -> float:
        if row not in self.options:
            return 0.0
        reading = self.options[row][choice[row]]
        return reading.values()[self.col_index[row][col]]

    def holds(self, choice: dict[str, int], n: int) -> bool:
        return self._holds(choice, n)

    def _holds(self, choice: dict[str, int], n: int) -> bool:
        ident = self.identities[n]
        lhs = sum(self.value(choice, r, c) for r, c in ident.lhs)
        rhs = sum(self.value(choice, r, c) for r, c in ident.rhs)
        return abs(lhs - rhs) < 1e-6

    def _credit(self, choice: dict[str, int], n: int) -> float:
        """1 when the identity holds; part when it breaks only because its total side is
        a blank cell (a total left blank is a total not printed, not a wrong one)."""
        if self._holds(choice, n):
            return 1.0
        ident = self.identities[n]
        if len(ident.lhs) == 1 and self._inferred_blank(choice, *ident.lhs[0]):
            return BLANK_TOTAL_CREDIT
        return 0.0

    def _inferred_blank(self, choice: dict[str, int], row: str, col: str) -> bool:
        if row not in self.options:
            return False
        return self.options[row][choice[row]].cells[self.col_index[row][col]] is None

    def swaps(self, choice: dict[str, int], margin: float) -> list[tuple[str, int, str, int]]:
        """Pairs of rows whose cells can move between the same columns together, the
        identities holding as well (e.g. a number read in column A of one row and column B
        of the next, or the other way round): (row, option, row, option). An option whose
        printed positions are worse by more than `margin` does not count."""
        moved: dict[frozenset[int], list[tuple[str, int]]] = {}
        for row, opts in self.options.items():
            base = opts[choice[row]]
            for i, alt in enumerate(opts):
                if i == choice[row] or alt.evidence < base.evidence - margin:
                    continue
                diff = frozenset(
                    n
                    for n, (x, y) in enumerate(zip(base.values(), alt.values(), strict=True))
                    if x != y
                )
                if diff:
                    moved.setdefault(diff, []).append((row, i))
        found: list[tuple[str, int, str, int]] = []
        for group in moved.values():
            for n, (row_a, i) in enumerate(group):
                for row_b, j in group[n + 1 :]:
                    if row_a == row_b:
                        continue
                    trial = dict(choice)
                    trial[row_a], trial[row_b] = i, j
                    touched = set(self.by_row.get(row_a, [])) | set(self.by_row.get(row_b, []))
                    before = sum(self._credit(choice, k) for k in touched)
                    if sum(self._credit(trial, k) for k in touched) >= before - 1e-9:
                        found.append((row_a, i, row_b, j))
        return found

    def score(self, choice: dict[str, int]) -> float:
        total = sum(self.options[r][i].prior for r, i in choice.items())
        return total + IDENTITY_WEIGHT * sum(
            self._credit(choice, n) for n in range(len(self.identities))
        )

    def row_credit(self, choice: dict[str, int], row: str) -> float:
        """How well the identities touching `row` hold under `choice`."""
        return sum(self._credit(choice, n) for n in self.by_row.get(row, []))

    def touches(self, row: str) -> bool:
        return bool(self.by_row.get(row))

    def broken_cells(self, choice: dict[str, int]) -> dict[tuple[str, str], str]:
        """(row, column) of every cell in an identity that does not hold -> the identity."""
        out: dict[tuple[str, str], str] = {}
        for n, ident in enumerate(self.identities):
            if not self._holds(choice, n):
                for ref in (*ident.lhs, *ident.rhs):
                    out.setdefault(ref, ident.name)
        return out

    def _row_score(self, choice: dict[str, int], row: str) -> float:
        held = sum(self._credit(choice, n) for n in self.by_row.get(row, []))
        return self.options[row][choice[row]].prior + IDENTITY_WEIGHT * held

    def solve(self) -> tuple[dict[str, int], list[str]]:
        """(chosen reading index per row, names of identities that still break)."""
        choice = {row: 0 for row in self.options}
        best, best_score = dict(choice), self.score(choice)
        for pattern in self._column_patterns():
            trial = dict(choice)
            trial.update(pattern)
            s = self.score(trial)
            if s > best_score + 1e-9:
                best, best_score = trial, s
        choice = best
        for _ in range(MAX_PASSES):
            changed = False
            for row, opts in self.options.items():
                if len(opts) < 2:
                    continue
                current = self._row_score(choice, row)
                for i in range(len(opts)):
                    if i == choice[row]:
                        continue
                    trial = dict(choice)
                    trial[row] = i
                    s = self._row_score(trial, row)
                    if s > current + 1e-9:
                        choice, current, changed = trial, s, True
            if not changed:
                break
        broken = [
            self.identities[n].name
            for n in range(len(self.identities))
            if not self._holds(choice, n)
        ]
        return choice, broken

    def _column_patterns(self) -> list[dict[str, int]]:
        """For each column: every row missing exactly one cell reads it as that column."""
        patterns: dict[int, dict[str, int]] = {}
        for row, opts in self.options.items():
            for i, reading in enumerate(opts):
                blanks = [p for p, c in enumerate(reading.cells) if c is None]
                if len(blanks) == 1:
                    patterns.setdefault(blanks[0], {})[row] = i
        return list(patterns.values())


def joint_alternatives(
    resolver: Resolver, choice: dict[str, int], margin: float
) -> dict[str, list[float | None] | None]:
    """Rows whose values another joint placement of every placed row gives while each
    identity holding under `choice` still holds (several rows' blanks moving together, which
    a row-by-row or pair-by-pair check misses): row -> the other reading's values. Options
    whose printed positions are worse than the chosen one's by more than `margin` do not
    count. Per row, per cell: a value another placement gives it (None: none does); the
    row None: the search ran out of time (not proven unique). Small integer programs
    (scipy's HiGHS), one per row and one per cell of a row that has an alternative."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    rows = [r for r, opts in resolver.options.items() if len(opts) > 1]
    if not rows:
        return {}
    allowed = {
        r: [
            i
            for i, o in enumerate(resolver.options[r])
            if i == choice[r] or o.evidence >= resolver.options[r][choice[r]].evidence - margin
        ]
        for r in rows
    }
    index = [(r, i) for r in rows for i in allowed[r]]
    col_of = {key: n for n, key in enumerate(index)}
    held = [n for n in range(len(resolver.identities)) if resolver.holds(choice, n)]
    a_rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    for r in rows:  # one placement per row
        line = np.zeros(len(index))
        for i in allowed[r]:
            line[col_of[(r, i)]] = 1.0
        a_rows.append(line)
        lo.append(1.0)
        hi.append(1.0)
    for n in held:  # lhs - rhs == 0, the fixed rows' part moved to the bound
        ident = resolver.identities[n]
        line = np.zeros(len(index))
        const = 0.0
        for refs, sign in ((ident.lhs, 1.0), (ident.rhs, -1.0)):
            for row, col in refs:
                if row in allowed:
                    c = resolver.col_index[row][col]
                    for i in allowed[row]:
                        line[col_of[(row, i)]] += sign * resolver.options[row][i].values()[c]
                else:
                    const += sign * resolver.value(choice, row, col)
        if np.any(line):
            a_rows.append(line)
            lo.append(-const - 1e-6)
            hi.append(-const + 1e-6)
    base = LinearConstraint(np.array(a_rows), lo, hi)
    deadline = time.monotonic() + JOINT_BUDGET_S

    def other(r: str, column: int | None) -> tuple[float, ...] | None:
        """Values of row r in a joint placement where they differ from the chosen ones (in
        `column`, or anywhere); () when there is none; None when the search ran out of time."""
        chosen = resolver.options[r][choice[r]].values()
        ub = np.ones(len(index))
        for i in allowed[r]:
            values = resolver.options[r][i].values()
            if (values == chosen) if column is None else (values[column] == chosen[column]):
                ub[col_of[(r, i)]] = 0.0
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        res = milp(
            np.zeros(len(index)),
            constraints=[base],
            integrality=np.ones(len(index)),
            bounds=Bounds(np.zeros(len(index)), ub),
            options={"time_limit": left},
        )
        if res.x is not None and res.status in (0, 1):
            x = res.x
            return resolver.options[r][max(allowed[r], key=lambda i: x[col_of[(r, i)]])].values()
        return () if res.status == 2 else None

    out: dict[str, list[float | None] | None] = {}
    for r in rows:
        chosen = resolver.options[r][choice[r]].values()
        found = other(r, None)
        if found is None:
            out[r] = None
            continue
        if not found:
            continue
        cells: list[float | None] = [None] * len(chosen)
        for c, x in enumerate(chosen):
            alt = found if found[c] != x else other(r, c)
            if alt is None:
                out[r] = None
                break
            if alt:
                cells[c] = alt[c]
        else:
            out[r] = cells
    return out
