"""Read printed tables from a document text, given their specs.

Steps: normalise with an offset map and tokenise (textmap); find every row label, in
official order (locate); take each row's cells up to the next row (cells); spread a
block of numbers over rows whose labels came first (a layout that prints all labels,
then all numbers); choose between readings of damaged rows by the identities (resolve).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from structurer.core.types import BLANK_NOTE, AlignmentStatus, CellReading, Evidence
from structurer.tables.blocks import recover_first_rows, spread_blocks, spread_short_blocks
from structurer.tables.cells import Reading, Slot, line_gap, readings, row_slots
from structurer.tables.locate import LabelHit, LabelText, build_label_text, find_label, locate_rows
from structurer.tables.positions import column_positions
from structurer.tables.resolve import Resolver
from structurer.tables.spec import CellUnit, ColumnSpec, RowSpec, TableSpec
from structurer.tables.textmap import (
    DisplayColumns,
    MappedText,
    Token,
    TokenKind,
    label_key,
    normalise,
    tokenize,
)

HEADER_TOKENS = 80  # how far before a table's first row its column headers are looked for


@dataclass(frozen=True)
class Prepared:
    """A document made ready for table reading (do it once, read many specs)."""

    mapped: MappedText
    tokens: list[Token]
    labels: LabelText
    columns: DisplayColumns
    recovered_labels: dict[str, tuple[int, int]] = field(default_factory=dict)  # row path -> span

    def best_similarity(self, label: str) -> float:
        """How well `label` occurs anywhere in the label text (0..1)."""
        hits = find_label(self.labels, label_key(label), limit=1)
        return max((sim for _, _, sim in hits), default=0.0)


@dataclass
class TableReadout:
    cells: list[CellReading] = field(default_factory=list)
    format: str | None = None
    unread: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def prepare(text: str) -> Prepared:
    mapped = normalise(text)
    tokens = tokenize(mapped)
    return Prepared(mapped, tokens, build_label_text(mapped, tokens), DisplayColumns(text))


def read_with_specs(doc: Prepared, tables: Sequence[TableSpec]) -> TableReadout:
    rows = [(t, row) for t in tables for row in t.rows]
    hits = locate_rows(doc.labels, [row.labels for _, row in rows])
    out = TableReadout()
    slots = _all_slots(doc, tables, rows, hits, out.problems)
    for table in tables:
        _read_table(doc, table, rows, hits, slots, out)
    return out


def _all_slots(
    doc: Prepared,
    tables: Sequence[TableSpec],
    rows: list[tuple[TableSpec, RowSpec]],
    hits: list[LabelHit | None],
    problems: list[str],
) -> list[list[Slot] | None]:
    tokens = doc.tokens
    ends = _end_tokens(doc, tables)
    found = [i for i, h in enumerate(hits) if h is not None]
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
        stop = min([stop, *(e for e in ends[rows[i][0].name] if e > hit.last_token)])
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
        if start == hit.first_token:
            result[i] = row_slots(tokens, hit.first_token, stop, gap)
    recover_first_rows(tokens, doc.recovered_labels, rows, hits, result, problems)
    spread_blocks(rows, hits, result, problems)
    spread_short_blocks(rows, result, problems)
    return result


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


def _end_tokens(doc: Prepared, tables: Sequence[TableSpec]) -> dict[str, list[int]]:
    ends: dict[str, list[int]] = {}
    for table in tables:
        pats = [re.compile(p) for p in table.end_markers]
        ends[table.name] = [
            i
            for i, tok in enumerate(doc.tokens)
            if tok.kind == TokenKind.text and any(p.match(label_key(tok.text)) for p in pats)
        ]
    return ends


def _read_table(
    doc: Prepared,
    table: TableSpec,
    rows: list[tuple[TableSpec, RowSpec]],
    hits: list[LabelHit | None],
    slots: list[list[Slot] | None],
    out: TableReadout,
) -> None:
    idx = [i for i, (t, _) in enumerate(rows) if t is table]
    if all(hits[i] is None for i in idx):
        for i in idx:
            if not rows[i][1].optional:
                out.unread.extend(
                    f"{rows[i][1].path}.{c.key}: table not found" for c in rows[i][1].columns
                )
        return
    options: dict[str, list[Reading]] = {}
    absent: set[str] = set()
    first = min((h.first_token for i in idx if (h := hits[i]) is not None), default=0)
    header_region = doc.tokens[max(0, first - HEADER_TOKENS) : first]
    columns_x = column_positions(doc.columns, [(rows[i][1], slots[i]) for i in idx], header_region)
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
        options[row.path] = readings(row_slots_, row.columns, columns_x.get(len(row.columns)))
        if len(row_slots_) > len(row.columns):
            out.problems.append(
                f"{row.path}: {len(row_slots_)} cells for {len(row.columns)} columns"
            )
    resolver = Resolver(
        {r.path: [c.key for c in r.columns] for _, r in rows}, options, absent, table.identities
    )
    choice, broken = resolver.solve()
    out.problems.extend(f"identity does not hold: {name}" for name in broken)
    for i in idx:
        row = rows[i][1]
        if row.path not in options:
            continue
        reading = options[row.path][choice[row.path]]
        hit = hits[i]
        inferred = len(options[row.path]) > 1
        for col, cell in zip(row.columns, reading.cells, strict=True):
            out.cells.append(_cell(doc, row, col, cell, hit, inferred))


def _cell(
    doc: Prepared,
    row: RowSpec,
    col: ColumnSpec,
    cell: Slot | None,
    hit: LabelHit | None,
    inferred: bool,
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
        zero: int | float = 0.0 if col.unit == CellUnit.ten_thousand_yuan else 0
        return CellReading(
            path, zero, Evidence(start, end, text[start:end], AlignmentStatus.exact), note
        )
    value, notes = _convert(token, col)
    if inferred:
        notes.append("row had missing or extra cells; placement chosen by the table identities")
    evidence = Evidence(
        token.start, token.end, text[token.start : token.end], AlignmentStatus.exact
    )
    return CellReading(path, value, evidence, "; ".join(notes) or None)


def _convert(token: Token, col: ColumnSpec) -> tuple[int | float, list[str]]:
    assert token.value is not None
    notes: list[str] = []
    if token.remark:
        notes.append(f"remark {token.remark} not part of the value")
    value = token.value
    if col.unit == CellUnit.ten_thousand_yuan:
        if token.unit == "元":
            notes.append("元 converted to 万元")
            return round(value / 10000, 6), notes
        return value, notes
    if value != int(value):
        notes.append(f"non-integer count {token.text} rounded")
    count = int(round(value))
    if count < 0 and col.unit == CellUnit.integer:
        notes.append("negative count")
    return count, notes
