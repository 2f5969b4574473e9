"""Read printed tables from a document text, given their specs.

Steps: normalise with an offset map and tokenise (textmap); find every row label, in
official order (locate); take each row's cells up to the next row (cells); spread a
block of numbers over rows whose labels came first (a layout that prints all labels,
then all numbers); choose between readings of damaged rows by the identities (resolve).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from structurer.tables.cells import Reading, Slot, line_gap, readings, row_slots
from structurer.tables.locate import LabelHit, LabelText, build_label_text, find_label, locate_rows
from structurer.tables.resolve import BLANK_TOTAL_CREDIT, IDENTITY_WEIGHT, Resolver
from structurer.tables.spec import CellUnit, ColumnSpec, Identity, RowSpec, TableSpec
from structurer.tables.textmap import (
    DisplayColumns,
    MappedText,
    Token,
    TokenKind,
    label_key,
    normalise,
    tokenize,
)
from structurer.types import AlignmentStatus, CellReading, Evidence

BLANK_NOTE = "blank cell read as 0"
PLACE_WEIGHT = 0.6
BLOCK_CANDIDATES = 7000
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
        result[i] = row_slots(tokens, hit.first_token, stop, gap)
    _recover_first_rows(doc, rows, hits, result, problems)
    _spread_blocks(rows, hits, result, problems)
    _spread_short_blocks(rows, result, problems)
    return result


def _spread_short_blocks(
    rows: list[tuple[TableSpec, RowSpec]], slots: list[list[Slot] | None], problems: list[str]
) -> None:
    """Like _spread_blocks, when some cells of the block were left blank (fewer than m*k
    numbers): place them over the m rows as one long row, by the identities and priors."""
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

        options = readings(cur, columns, limit=BLOCK_CANDIDATES)
        if not options:
            continue
        best = max(options, key=lambda r: _block_score(r, local, where))
        for n, r in enumerate(window):
            slots[r] = [c if c is not None else Slot(None) for c in best.cells[n * k : (n + 1) * k]]
        problems.append(
            f"{table.name}: cells of {len(window)} rows printed as one block with blanks"
        )


def _recover_first_rows(
    doc: Prepared,
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
        while j >= 0 and doc.tokens[j].kind != TokenKind.text:
            items.insert(0, j)
            j -= 1
        if 1 <= len(items) <= len(row.columns) and j >= 0:
            slots[i] = [Slot(doc.tokens[t]) for t in items]
            doc.recovered_labels[row.path] = (doc.tokens[j].start, doc.tokens[j].end)
            problems.append(f"{row.path}: label not found; cells taken from before the next row")


def _block_score(
    reading: Reading, identities: list[Identity], where: dict[tuple[str, str], int]
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
    return reading.prior + IDENTITY_WEIGHT * held


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


def _spread_blocks(
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
            after = window[-1] + 1
            if after < len(rows) and same_shape(i, after) and slots[after] is None:
                break  # a lost label right after: maybe a longer block with blanks
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
    columns_x = _column_positions(doc, [(rows[i][1], slots[i]) for i in idx], header_region)
    for i in idx:
        row = rows[i][1]
        row_slots_ = slots[i]
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


def _column_positions(
    doc: Prepared, table_rows: list[tuple[RowSpec, list[Slot] | None]], header_region: list[Token]
) -> dict[int, Callable[[Slot, int], float]]:
    """For space-aligned layouts (pdftotext -layout): where each column sits on the line.

    Learnt from the table's own numbers when they form k clusters of right edges for k
    columns, else from the printed column headers (their centres). Returns, per column
    count, a log-score of a slot sitting in a column."""
    xs_by_k: dict[int, list[int]] = {}
    columns_by_k: dict[int, tuple[ColumnSpec, ...]] = {}
    for row, row_slots_ in table_rows:
        columns_by_k[len(row.columns)] = row.columns
        for slot in row_slots_ or []:
            if _aligned_number(slot) is not None:
                xs_by_k.setdefault(len(row.columns), []).append(doc.columns.number_end(slot.token))  # type: ignore[arg-type]
    out: dict[int, Callable[[Slot, int], float]] = {}
    for k, xs in xs_by_k.items():
        if k < 2:
            continue
        centres = _clusters(sorted(xs))
        if len(centres) == k:
            out[k] = _placer(doc, centres, centred=False)
            continue
        header_x = _header_centres(doc, columns_by_k[k], header_region)
        if header_x is not None:
            out[k] = _placer(doc, header_x, centred=True)
    return out


def _aligned_number(slot: Slot) -> Token | None:
    tok = slot.token
    if tok is None or tok.kind != TokenKind.number or "\t" in tok.sep or "|" in tok.sep:
        return None
    return tok


def _placer(doc: Prepared, centres: list[float], *, centred: bool) -> Callable[[Slot, int], float]:
    def place(slot: Slot, col: int) -> float:
        tok = _aligned_number(slot)
        if tok is None:
            return 0.0
        end = doc.columns.number_end(tok)
        x = (doc.columns.at(tok.start) + end) / 2 if centred else end
        return -PLACE_WEIGHT * min(abs(x - centres[col]), 10.0)

    return place


def _header_centres(
    doc: Prepared, columns: tuple[ColumnSpec, ...], region: list[Token]
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
        left = doc.columns.at(tok.start)
        centres.append((left + doc.columns.at(tok.end)) / 2)
    if any(b <= a for a, b in zip(centres, centres[1:], strict=False)):
        return None
    return centres


def _clusters(xs: list[int], gap: int = 3) -> list[float]:
    groups: list[list[int]] = []
    for x in xs:
        if groups and x - groups[-1][-1] <= gap:
            groups[-1].append(x)
        else:
            groups.append([x])
    return [sum(g) / len(g) for g in groups]


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
