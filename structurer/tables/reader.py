"""Read printed tables from a document text, given their specs.

Steps: normalise with an offset map and tokenise (textmap); find every row label, in
official order (locate); take each row's cells up to the next row (cells); spread a
block of numbers over rows whose labels came first (a layout that prints all labels,
then all numbers); choose between placements of damaged rows by the identities (resolve).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import combinations

from structurer.core.types import BLANK_NOTE, AlignmentStatus, CellReading, Evidence
from structurer.tables.advice import TableDoubts, input_note, table_doubts
from structurer.tables.audit import audit_table
from structurer.tables.blocks import recover_first_rows, spread_blocks, spread_short_blocks
from structurer.tables.cells import (
    Placement,
    Slot,
    line_gap,
    placements,
    row_slots,
    unfit_cells,
)
from structurer.tables.checks import (
    OCR_READ,
    unconfirmed,
)
from structurer.tables.document import TableReadout, TableText
from structurer.tables.grid import GridPlacer, learn_grid, line_spacing
from structurer.tables.locate import LabelHit, locate_rows
from structurer.tables.positions import Placer, cjk_width, column_positions
from structurer.tables.resolve import Resolver
from structurer.tables.spec import CellUnit, ColumnSpec, RowSpec, TableSpec
from structurer.tables.textmap import (
    Token,
    TokenKind,
)

HEADER_TOKENS = 80  # how far before a table's first row its column headers are looked for


def read_with_specs(doc: TableText, tables: Sequence[TableSpec]) -> TableReadout:
    rows = [(t, row) for t in tables for row in t.rows]
    hits = locate_rows(doc.labels, [row.labels for _, row in rows])
    out = TableReadout()
    regions: list[tuple[int, int, int]] = []
    guessed: dict[int, str] = {}
    slots = _all_slots(doc, tables, rows, hits, out.problems, regions, guessed)
    read = [_read_table(doc, table, rows, hits, slots, regions, guessed, out) for table in tables]
    note = input_note([t for t in read if t is not None], doc.ocr)
    if note:
        out.notes.append(note)
    return out


def _all_slots(
    doc: TableText,
    tables: Sequence[TableSpec],
    rows: list[tuple[TableSpec, RowSpec]],
    hits: list[LabelHit | None],
    problems: list[str],
    regions: list[tuple[int, int, int]],
    guessed: dict[int, str],
) -> list[list[Slot] | None]:
    """Each row's printed cells (None: row not found). Appends to `regions` the part of the
    token stream each row was read from: (row index, first token, stop token); `guessed`
    gets the rows whose cells were placed by a guess nothing confirms (row -> why)."""
    tokens = doc.tokens
    # in printed order: a row moved out of the official order ends where the next label is
    found = sorted((i for i, h in enumerate(hits) if h is not None), key=_first_token(hits))
    gap = line_gap(tokens)
    result: list[list[Slot] | None] = [None] * len(rows)
    for n, i in enumerate(found):
        hit = hits[i]
        assert hit is not None
        stop = len(tokens)
        if n + 1 < len(found):
            nxt = hits[found[n + 1]]
            assert nxt is not None
            stop = nxt.first_token
        stop = min([stop, *(b for b in doc.labels.barriers if b > hit.last_token)])
        stop = min([stop, *(e for e in doc.end_tokens(rows[i][0]) if e > hit.last_token)])
        regions.append((i, hit.first_token, stop))
        lost = []
        j = i + 1
        while (
            j < len(rows)
            and rows[j][0] is rows[i][0]
            and hits[j] is None
            and not rows[j][1].optional
        ):
            lost.append(j)
            j += 1
        start = hit.first_token
        for r in lost:  # a lost label's row: numbers again after a new text line
            cut = _next_row_start(tokens, hit.last_token, start, stop)
            if cut is None:
                break
            result[i if start == hit.first_token else r - 1] = row_slots(tokens, start, cut[0], gap)
            doc.recovered_labels[rows[r][1].path] = (tokens[cut[1]].start, tokens[cut[1]].end)
            problems.append(
                f"{rows[r][1].path}: label not found; cells taken from the line after the row before"
            )
            start = cut[1]
            result[r] = row_slots(tokens, start, stop, gap)
            regions.append((r, cut[0], stop))
        if start == hit.first_token:
            result[i] = row_slots(tokens, hit.first_token, stop, gap)
    grouped = _drop_empty_columns(rows, result)
    for i, got in enumerate(result):
        if got is not None and i not in grouped:
            result[i] = _trim_span_blanks(got, rows[i][1].columns)
    recover_first_rows(tokens, doc.recovered_labels, rows, hits, result, problems)
    spread_blocks(rows, hits, result, problems)
    spread_short_blocks(
        rows, result, problems, guessed, None if doc.ocr else line_spacing(doc.columns)
    )
    return result


def _first_token(hits: list[LabelHit | None]) -> Callable[[int], int]:
    def key(i: int) -> int:
        hit = hits[i]
        return hit.first_token if hit is not None else -1

    return key


def _drop_empty_columns(
    rows: list[tuple[TableSpec, RowSpec]], result: list[list[Slot] | None]
) -> set[int]:
    """Rows of one table with the same number of delimited cells, more than their columns:
    positions empty in every one of them are columns a converter added (a markdown table
    with empty columns, a label spanning cells). Dropped when they are exactly the extra;
    returns the rows of such groups (when not exactly, their blanks are not trusted)."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, got in enumerate(result):
        k = len(rows[i][1].columns)
        if got is not None and len(got) > k and any(s.token is None for s in got):
            groups.setdefault((id(rows[i][0]), k, len(got)), []).append(i)
    grouped: set[int] = set()
    for (_, k, n), members in groups.items():
        if len(members) < 2:
            continue
        grouped.update(members)
        empty = [
            p for p in range(n) if all((got := result[i]) and got[p].token is None for i in members)
        ]
        if len(empty) < n - k:
            continue
        if len(empty) > n - k:
            # more empty than extra: the ones whose dropping leaves no number unfit for its
            # column, when only one choice does ("收费 | | -1 | |": -1 is no count); else the
            # leading ones (a label's span), if they are
            columns = rows[members[0]][1].columns
            got_rows = [got for i in members if (got := result[i])]
            fits = {
                drop: sum(
                    unfit_cells([s for p, s in enumerate(g) if p not in drop], columns)
                    for g in got_rows
                )
                for drop in combinations(empty, n - k)
            }
            fitting = [d for d, f in fits.items() if f == min(fits.values())]
            if len(fitting) == 1 and len(fits) > 1:
                empty = list(fitting[0])
            elif empty[: n - k] == list(range(n - k)):
                empty = empty[: n - k]
            else:
                continue
        for i in members:
            got = result[i]
            assert got is not None
            result[i] = [slot for p, slot in enumerate(got) if p not in empty]
    return grouped


def _trim_span_blanks(slots: list[Slot], columns: tuple[ColumnSpec, ...]) -> list[Slot]:
    """Empty cells before or after a row's numbers beyond its column count: the row's label
    spanning several columns, or empty columns a converter added (tab or pipe rows). A
    whole multiple of the columns is kept: it may be a block of rows (table 四's one line).
    With empty cells on both sides, the one cut that leaves no number unfit for its column
    is kept ("收费 | | -1 | |" is blank, -1: -1 is no count); else the leading ones go."""
    k = len(columns)
    lead = next((n for n, s in enumerate(slots) if s.token is not None), len(slots))
    trail = next((n for n, s in enumerate(reversed(slots)) if s.token is not None), len(slots))
    extra = len(slots) - k
    if 0 < extra <= lead + trail and lead and trail and len(slots) % k:
        cuts = [(a, extra - a) for a in range(extra, -1, -1) if a <= lead and extra - a <= trail]
        fits = {c: unfit_cells(slots[c[0] : len(slots) - c[1]], columns) for c in cuts}
        fitting = [c for c, f in fits.items() if f == min(fits.values())]
        if len(fitting) == 1 and len(fits) > 1:
            a, b = fitting[0]
            return slots[a : len(slots) - b]
    while len(slots) > k and len(slots) % k and slots[0].token is None:
        slots = slots[1:]
    while len(slots) > k and len(slots) % k and slots[-1].token is None:
        slots = slots[:-1]
    return slots


def _next_row_start(
    tokens: list[Token], label_last: int, start: int, stop: int
) -> tuple[int, int] | None:
    """In a row's region, text on a new line after its numbers and followed by more
    numbers: (first token of that text, its last text token, taken as the lost label)."""
    seen_item = False
    for t in range(max(start, label_last) + 1, stop):
        tok = tokens[t]
        if tok.kind != TokenKind.text:
            seen_item = True
            continue
        if seen_item and "\n" in tok.sep:
            last_text = t
            while last_text + 1 < stop and tokens[last_text + 1].kind == TokenKind.text:
                last_text += 1
            if last_text + 1 < stop:
                return t, last_text
            return None
    return None


def _read_table(
    doc: TableText,
    table: TableSpec,
    rows: list[tuple[TableSpec, RowSpec]],
    hits: list[LabelHit | None],
    slots: list[list[Slot] | None],
    regions: list[tuple[int, int, int]],
    guessed: dict[int, str],
    out: TableReadout,
) -> TableDoubts | None:
    """Read one table into `out`; what was doubted in it (None: not found)."""
    idx = [i for i, (t, _) in enumerate(rows) if t is table]
    if all(hits[i] is None for i in idx):
        for i in idx:
            if not rows[i][1].optional:
                out.unread.extend(
                    f"{rows[i][1].path}.{c.key}: table not found" for c in rows[i][1].columns
                )
        return None
    options: dict[str, list[Placement]] = {}
    absent: set[str] = set()
    first = min((h.first_token for i in idx if (h := hits[i]) is not None), default=0)
    header_region = doc.tokens[max(0, first - HEADER_TOKENS) : first]
    table_rows = [(rows[i][1], slots[i]) for i in idx]
    wide = cjk_width(doc.columns, table_rows)
    columns_x: dict[int, Placer | GridPlacer] = dict(
        column_positions(doc.columns, table_rows, header_region, wide)
    )
    if not doc.ocr:  # OCR text's spaces are not where the characters were printed
        columns_x.update(learn_grid(doc.columns, table_rows, table.identities, wide))
    blank_table = all(slot.value == 0 for i in idx for slot in slots[i] or [])  # all blank or 0
    for i in idx:
        row = rows[i][1]
        row_slots_ = slots[i]
        if row_slots_ is None and not row.optional and blank_table:
            row_slots_ = []  # every other cell printed blank or 0: so is this row, its label lost
            first_hit = next(h for j in idx if (h := hits[j]) is not None)
            span = (doc.labels.origin[first_hit.start], doc.labels.origin[first_hit.end - 1] + 1)
            doc.recovered_labels[row.path] = span
            out.problems.append(
                f"{row.path}: label not found in a table printed all blank or 0; read as blank"
            )
        if row_slots_ is None:
            if row.optional:
                absent.add(row.path)
            else:
                out.unread.extend(f"{row.path}.{c.key}: row label not found" for c in row.columns)
            continue
        options[row.path] = placements(row_slots_, row.columns, columns_x.get(len(row.columns)))
        if len(row_slots_) > len(row.columns):
            out.problems.append(
                f"{row.path}: {len(row_slots_)} cells for {len(row.columns)} columns"
            )
    resolver = Resolver(
        {r.path: [c.key for c in r.columns] for _, r in rows}, options, absent, table.identities
    )
    choice, broken = resolver.solve()
    out.problems.extend(f"identity does not hold: {name}" for name in broken)
    doubts = audit_table(doc, rows, idx, hits, slots, regions, options, choice, resolver, columns_x)
    for i in idx:
        if i in guessed and rows[i][1].path in options:
            doubts.row(rows[i][1], guessed[i], final=True)
    if doc.ocr:
        for i in idx:
            hit, got = hits[i], slots[i]
            if hit is None or not got or rows[i][1].path not in options:
                continue
            if _numbers_below_tab_label(doc.tokens, hit.last_token, got):
                doubts.row(
                    rows[i][1],
                    f"{_ocr_cause(doc.ocr)} and this row's numbers are not on its label's "
                    "line: the row they belong to may have lost its label",
                    final=True,
                )
        cells = [
            (rows[i][1].path, c.key)
            for i in idx
            if rows[i][1].path in options
            for c in rows[i][1].columns
        ]
        for row_path, key in unconfirmed(resolver, choice, set(doubts.by_cell), cells):
            doubts.cell(
                f"{row_path}.{key}",
                f"{_ocr_cause(doc.ocr)} and no table identity confirms this cell: a digit "
                "may be misread",
                final=True,
            )
    for i in idx:
        row = rows[i][1]
        if row.path not in options:
            continue
        reading = options[row.path][choice[row.path]]
        hit = hits[i]
        inferred = len(options[row.path]) > 1
        for col, cell in zip(row.columns, reading.cells, strict=True):
            path = f"{row.path}.{col.key}"
            read = _cell(doc, row, col, cell, hit, inferred, doubts.of(path))
            out.cells.append(replace(read, doubt_final=path in doubts.final))
    read_rows = [(rows[i][1], slots[i] or []) for i in idx if rows[i][1].path in options]
    return table_doubts(table.name, read_rows, set(doubts.by_cell))


def _cell(
    doc: TableText,
    row: RowSpec,
    col: ColumnSpec,
    cell: Slot | None,
    hit: LabelHit | None,
    inferred: bool,
    doubt: str | None = None,
) -> CellReading:
    path = f"{row.path}.{col.key}"
    text = doc.mapped.original
    token = None if cell is None else cell.token
    if token is None or token.kind == TokenKind.blank:
        if token is not None:
            start, end = token.start, token.end
        elif hit is not None:
            start, end = doc.labels.origin[hit.start], doc.labels.origin[hit.end - 1] + 1
        elif row.path in doc.recovered_labels:
            start, end = doc.recovered_labels[row.path]
        else:
            start = end = 0
        note = BLANK_NOTE + (
            "; its column was chosen by the table identities" if inferred and token is None else ""
        )
        zero: int | float = 0.0 if col.unit == CellUnit.amount else 0
        return CellReading(
            path, zero, Evidence(start, end, text[start:end], AlignmentStatus.exact), note, doubt
        )
    value, notes = _convert(token, col)
    if inferred:
        notes.append("row had missing or extra cells; placement chosen by the table identities")
    evidence = Evidence(
        token.start, token.end, text[token.start : token.end], AlignmentStatus.exact
    )
    return CellReading(path, value, evidence, "; ".join(notes) or None, doubt)


def _convert(token: Token, col: ColumnSpec) -> tuple[int | float, list[str]]:
    assert token.value is not None
    notes: list[str] = []
    if token.remark:
        notes.append(f"remark {token.remark} not part of the value")
    value = token.value
    if col.unit == CellUnit.amount:
        factor = dict(col.unit_factors).get(token.unit or "", 1.0)
        if factor != 1.0:
            base = next((u for u, f in col.unit_factors if f == 1.0), "the field's unit")
            notes.append(f"{token.unit} converted to {base} (x{factor:g})")
            return round(value * factor, 6), notes
        return value, notes
    if value != int(value):
        notes.append(f"non-integer count {token.text} rounded")
    count = int(round(value))
    if count < 0 and col.unit == CellUnit.integer:
        notes.append("negative count")
    return count, notes


def _ocr_cause(ocr: str) -> str:
    if ocr == OCR_READ:
        return "the text was read by OCR from page images"
    return f"the text looks like OCR output ({ocr})"


def _numbers_below_tab_label(tokens: list[Token], label_end: int, got: Sequence[Slot]) -> bool:
    """A row printed as a tab-separated line whose numbers were found on a later line."""
    after = range(label_end + 1, len(tokens))
    next_line = next((j for j in after if "\n" in tokens[j].sep), None)
    if next_line is None:
        return False
    label_line = "".join(t.sep for t in tokens[label_end + 1 : next_line])
    if "\t" not in label_line + tokens[next_line].sep.split("\n")[0]:
        return False
    limit = tokens[next_line].norm_start
    return any(slot.token is not None and slot.token.norm_start >= limit for slot in got)
