"""Self-checks of a table once read: each failure is a doubt, in words, on the cells it
concerns. A doubted cell is never auto-accepted (its confidence is capped below the review
threshold), so a misread turns into review work instead of a confident error, and a cell
read 0 while its row prints a non-zero number nowhere accounted for is never silent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from structurer.tables.cells import Placement, Slot
from structurer.tables.resolve import Resolver
from structurer.tables.spec import CellUnit, RowSpec
from structurer.tables.textmap import Token, TokenKind

# OCR of ruled tables prints ruling lines as "|" glued to the text, and mixes bracket shapes
_GLUED_BAR = re.compile(r"[^\s|]\||\|[^\s|]")
_MIXED_BRACKETS = re.compile(r"〈[^〈〉()（）]{0,6}[)）]|[(（][^〈〉()（）]{0,6}〉")
OCR_BARS, OCR_BRACKETS = 4, 2  # this many signs make a text look like OCR output
YEAR_LOW, YEAR_HIGH = 1990, 2100  # a count in this range may be a header's year
PLACE_MARGIN = 2.0  # placement evidence (log-score) that makes one reading clearly better


class Doubts:
    """Reasons per cell path, in the order found. A `final` doubt is about what the text
    itself prints (digits OCR may have misread, a placement nothing printed decides, an
    identity that breaks): another reading of the same text agreeing settles nothing."""

    def __init__(self) -> None:
        self.by_cell: dict[str, list[str]] = {}
        self.final: set[str] = set()

    def cell(self, path: str, reason: str, *, final: bool = False) -> None:
        reasons = self.by_cell.setdefault(path, [])
        if reason not in reasons:
            reasons.append(reason)
        if final:
            self.final.add(path)

    def row(self, row: RowSpec, reason: str, *, final: bool = False) -> None:
        for col in row.columns:
            self.cell(f"{row.path}.{col.key}", reason, final=final)

    def of(self, path: str) -> str | None:
        return "; ".join(self.by_cell.get(path, [])) or None


def ambiguous_placement(
    row: RowSpec,
    options: list[Placement],
    choice: dict[str, int],
    resolver: Resolver,
    place: Callable[[Slot, int], float] | None,
) -> str | None:
    """A row with more or fewer numbers than columns whose placement nothing decides: another
    placement gives other values, keeps the identities as well, and the printed positions
    (when the layout has them) do not tell the two apart."""
    current = choice[row.path]
    chosen = options[current]
    base = resolver.row_credit(choice, row.path)
    where = _placement(chosen, place)
    for j, alt in enumerate(options):
        if j == current or alt.values() == chosen.values():
            continue
        trial = dict(choice)
        trial[row.path] = j
        if resolver.row_credit(trial, row.path) + 1e-9 < base:
            continue
        if place is not None and _placement(alt, place) < where - PLACE_MARGIN:
            continue
        printed = sum(1 for c in chosen.cells if c is not None and c.token is not None)
        return (
            f"the row prints {printed} numbers for {len(row.columns)} columns and which column "
            "each belongs to is not decided by the layout or the table identities"
        )
    return None


def _placement(reading: Placement, place: Callable[[Slot, int], float] | None) -> float:
    if place is None:
        return 0.0
    return sum(place(c, i) for i, c in enumerate(reading.cells) if c is not None)


def dropped_numbers(row: RowSpec, slots: list[Slot], reading: Placement) -> str | None:
    printed = [s for s in slots if s.token is not None and s.token.kind == TokenKind.number]
    kept = {id(c.token) for c in reading.cells if c is not None and c.token is not None}
    left = [s.token.text for s in printed if s.token is not None and id(s.token) not in kept]
    if not left:
        return None
    return (
        f"the row prints {len(printed)} numbers for {len(row.columns)} columns; "
        f"{', '.join(left)} left out"
    )


def year_like(token: Token | None, unit: CellUnit) -> str | None:
    """A count cell holding what looks like a year (a header read as a row's number)."""
    if token is None or token.value is None or unit == CellUnit.amount:
        return None
    if token.value == int(token.value) and YEAR_LOW <= token.value <= YEAR_HIGH:
        return f"{token.text} looks like a year (a header), not a count"
    return None


def owned_numbers(
    tokens: list[Token], regions: list[tuple[int, int, int]]
) -> dict[int, list[Token]]:
    """The number tokens printed in a table's rows' part of the text, per row (index into the
    flat row list) that owns them: the row whose region starts last before the token.
    `regions` are (row, first token, stop token)."""
    out: dict[int, list[Token]] = {}
    ordered = sorted(regions, key=lambda r: r[1])
    covered = sorted({t for _, a, b in ordered for t in range(a, b)})
    for t in covered:
        if tokens[t].kind != TokenKind.number:
            continue
        owner = max((r for r in ordered if r[1] <= t), key=lambda r: r[1])[0]
        out.setdefault(owner, []).append(tokens[t])
    return out


def checksum_reason(missing: list[Token], printed_sum: float, read_sum: float) -> str:
    shown = ", ".join(t.text for t in missing[:6]) + (" …" if len(missing) > 6 else "")
    return (
        f"numbers printed in this row's part of the text sum to {printed_sum:g} but the cells "
        f"read sum to {read_sum:g}: {shown} in no cell"
    )


def unfit_count(token: Token | None, unit: CellUnit) -> str | None:
    """A count column holding a fraction, or an unsigned one a negative: the number of
    another column (money, a change) placed here."""
    if token is None or token.value is None or unit == CellUnit.amount:
        return None
    if token.value != int(token.value):
        return f"{token.text} is not a whole number, so not a count: it may be another column's"
    if token.value < 0 and unit == CellUnit.integer:
        return f"{token.text} is negative, so not a count: it may be another column's"
    return None


def comma_or_point(token: Token | None, unit: CellUnit) -> str | None:
    """Money printed with a comma before exactly three digits: a thousands separator, or a
    decimal point misread (OCR) as a comma."""
    if token is None or unit != CellUnit.amount:
        return None
    if re.fullmatch(r"\d{1,3},\d{3}", token.text.split("(")[0].strip()):
        return f"{token.text} may be a decimal misread as a comma ({token.text.replace(',', '.')})"
    return None


OCR_READ = "read by OCR from page images"  # TableText.ocr of a text the reader was told is OCR


def ocr_signs(text: str) -> str | None:
    """Why the text looks like OCR output (None: it does not). OCR misreads digits inside
    one number ("41" as "4", a decimal point lost) where no identity reaches, so in such a
    text a cell is trusted only when a table identity confirms it."""
    bars = sum(
        len(_GLUED_BAR.findall(line))
        for line in text.split("\n")
        if not line.lstrip().startswith("|")  # a markdown row's pipes are delimiters
    )
    brackets = len(_MIXED_BRACKETS.findall(text))
    if bars < OCR_BARS and brackets < OCR_BRACKETS:
        return None
    return f"{bars} ruling lines read as '|' glued to text, {brackets} mismatched brackets"


def unconfirmed(
    resolver: Resolver, choice: dict[str, int], doubted: set[str], cells: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The cells (row, column) no identity confirms: none through them holds with every one
    of its cells free of doubt. An identity whose non-zero cells all print one number (a
    total equal to its one non-zero part) confirms nothing: OCR misreads the same digits the
    same way, and the identity still holds."""
    confirming: set[tuple[str, str]] = set()
    for n, ident in enumerate(resolver.identities):
        refs = (*ident.lhs, *ident.rhs)
        if not resolver.holds(choice, n) or any(f"{r}.{c}" in doubted for r, c in refs):
            continue
        nonzero = {resolver.value(choice, r, c) for r, c in refs} - {0.0}
        if len(nonzero) > 1:
            confirming.update(refs)
    return [cell for cell in cells if cell not in confirming]
