"""A remark printed after a number and wrapped over lines inside a narrow cell, joined back.

A cell printed "5（含转办1件）" in a narrow column wraps: "5（含" / "转办1" / "件）". PDF text
converters keep the pieces apart, the piece holding the row's other cells often on the
middle line ("… 0 0 转办1 5"), the opening above the row's label and the closing below
it. Read as they come, the 5 falls into the row before and "转办1" reads as text or a 1.

Only a bracket opened directly after a number (an optional unit between) opens a remark:
a row label holding brackets ("（三）不予公开", "（区分处理的，只计…）") never does. The
pieces become one number token: the value and unit from the opening piece, the remark
from all the pieces (their digits are part of the remark, never cells), placed where the
cell sits in its row: the piece printed among the row's cells when there is one, else the
opening piece. Its offsets stay those of the printed number, so its evidence quotes it
(and in layout text its display column is the number's own).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from structurer.core.text import join_lines
from structurer.tables.textmap import (
    DisplayColumns,
    MappedText,
    Token,
    TokenKind,
    display_width,
    parse_number,
)

MAX_LINES = 5  # lines from a remark's opening piece to its closing piece
MAX_PIECE = 12  # characters of one wrapped piece (a narrow cell's line)
MAX_REMARK = 40  # characters of a whole remark
COLUMN_SLACK = 1  # layout text: the pieces of one cell start at the same display column


@dataclass(frozen=True)
class _Opening:
    value: float
    unit: str | None
    lead: str  # the number (and unit) as printed before the bracket, normalised
    rest: str  # the remark's text after the bracket on the opening piece


@dataclass(frozen=True)
class _Wrap:
    opening: int  # token indices
    closing: int
    pieces: tuple[int, ...]  # the pieces between, in order
    at: int  # the token whose place the joined cell takes (one of the above) ...
    insert: bool = False  # ... or, when True, the token it is printed after


@dataclass(frozen=True)
class _Doc:
    tokens: list[Token]
    lines: list[int]  # line number of each token
    widths: list[int]  # display width of each token as printed
    display: DisplayColumns
    units: tuple[str, ...]

    def col(self, j: int) -> int:
        """Display column of token j, one per character: the grid of PDF layout text."""
        return self.display.at(self.tokens[j].start, 1)

    def numbers_line(self, line: int, among: range) -> bool:
        return any(self.lines[j] == line and self.tokens[j].kind != TokenKind.text for j in among)


def join_wrapped_remarks(
    tokens: list[Token], mapped: MappedText, display: DisplayColumns, units: tuple[str, ...] = ()
) -> list[Token]:
    """`tokens` with every wrapped remark joined into its number's token."""
    openings = [i for i, tok in enumerate(tokens) if _opening(tok, units) is not None]
    if not openings:
        return tokens
    doc = _Doc(
        tokens,
        _line_numbers(tokens),
        [display_width(mapped.original[t.start : t.end]) for t in tokens],
        display,
        units,
    )
    wraps: list[_Wrap] = []
    blocked: set[int] = set()
    for line in sorted({doc.lines[i] for i in openings}):
        group = [i for i in openings if doc.lines[i] == line and i not in blocked]
        by_column = [w for i in group if _layout(tokens[i]) and (w := _by_column(doc, i))]
        if by_column and len(by_column) == len(group):
            wraps.extend(by_column)
        elif group:
            wraps.extend(_in_order(doc, group, blocked))
    if not wraps:
        return tokens
    claims = Counter(j for w in wraps for j in (w.opening, w.closing, *w.pieces))
    # two wraps claiming one token: the printed text does not decide, neither is joined
    wraps = [w for w in wraps if all(claims[j] == 1 for j in (w.opening, w.closing, *w.pieces))]
    taken = {j for w in wraps for j in (w.opening, w.closing, *w.pieces)}
    joined = {(w.at, w.insert): _joined(doc, w, mapped) for w in wraps}
    return _rebuild(tokens, taken, joined)


def _line_numbers(tokens: list[Token]) -> list[int]:
    out: list[int] = []
    line = 0
    for tok in tokens:
        line += tok.sep.count("\n")
        out.append(line)
    return out


def _layout(tok: Token) -> bool:
    """Set apart by runs of spaces, not by single spaces or delimiters: layout text, whose
    display columns line a cell's lines up."""
    before = tok.sep.rsplit("\n", 1)[-1]
    return before.endswith("  ") and "|" not in before and "\t" not in before


def _opening(tok: Token, units: tuple[str, ...]) -> _Opening | None:
    """A token holding a number followed by a bracket left open: "5(含", "2件(其中"."""
    if tok.kind == TokenKind.number and not (
        tok.remark and tok.remark.count("(") > tok.remark.count(")")
    ):
        return None
    if tok.kind == TokenKind.blank or "(" not in tok.text:
        return None
    lead, rest = tok.text.split("(", 1)
    if "(" in rest or ")" in rest or len(rest) > MAX_PIECE:
        return None
    lead = lead.rstrip()
    parsed = parse_number(lead, units)
    if parsed is None or parsed[2] is not None or not lead[:1].isdigit():
        return None
    return _Opening(parsed[0], parsed[1], lead, rest)


def _fits(doc: _Doc, j: int, cell: int) -> bool:
    """Could be a line of the cell whose first line is `cell` wide: each line of a wrapped
    cell is at most its first line and the character that did not fit on it."""
    return doc.widths[j] <= cell + 2 and len(doc.tokens[j].text) <= MAX_PIECE


def _piece(doc: _Doc, j: int, cell: int) -> bool:
    """A token that may be a middle piece of a wrapped remark (a bare number never is: it
    may be a cell of its own)."""
    tok = doc.tokens[j]
    if tok.kind != TokenKind.text or "(" in tok.text or ")" in tok.text:
        return False
    return _fits(doc, j, cell)


def _closing(doc: _Doc, j: int, cell: int) -> bool:
    text = doc.tokens[j].text
    return (
        doc.tokens[j].kind == TokenKind.text
        and text.endswith(")")
        and "(" not in text
        and text.count(")") == 1
        and _fits(doc, j, cell)
    )


def _by_column(doc: _Doc, i: int) -> _Wrap | None:
    """Layout text: the pieces and the closing start at the opening's display column. The
    cell goes where a piece shares a line with the row's numbers, else into the one line
    of numbers between, by its column."""
    col, line0, cell = doc.col(i), doc.lines[i], doc.widths[i]
    closing = None
    pieces: list[int] = []
    for j in range(i + 1, len(doc.tokens)):
        if doc.lines[j] - line0 > MAX_LINES:
            return None
        if doc.lines[j] == line0 or abs(doc.col(j) - col) > COLUMN_SLACK:
            continue
        if _closing(doc, j, cell):
            closing = j
            break
        if not _piece(doc, j, cell) or (pieces and doc.lines[pieces[-1]] == doc.lines[j]):
            return None  # another cell's text under this one: not a wrap
        pieces.append(j)
    if closing is None:
        return None
    span = range(i + 1, closing)
    for j in (i, *pieces, closing):
        if doc.numbers_line(doc.lines[j], span) or (j == i and _has_numbers(doc, i)):
            return _Wrap(i, closing, tuple(pieces), j)
    rows = sorted({doc.lines[j] for j in span if doc.tokens[j].kind != TokenKind.text})
    if len(rows) != 1:
        return None
    on_line = [j for j in span if doc.lines[j] == rows[0]]
    before = [j for j in on_line if doc.col(j) < col]
    first_number = next(n for n, j in enumerate(on_line) if doc.tokens[j].kind != TokenKind.text)
    if not before or len(before) < first_number:
        return None  # it would fall inside the row's label
    return _Wrap(i, closing, tuple(pieces), before[-1], insert=True)


def _has_numbers(doc: _Doc, i: int) -> bool:
    """Other cells printed on the opening's own line."""
    return any(
        doc.lines[j] == doc.lines[i] and doc.tokens[j].kind != TokenKind.text
        for j in range(max(0, i - 40), min(len(doc.tokens), i + 40))
        if j != i
    )


def _in_order(doc: _Doc, group: list[int], blocked: set[int]) -> list[_Wrap]:
    """Text without columns: the wraps opened on one line (several narrow cells of a row
    may wrap side by side) close on the first later line holding closing pieces, one for
    each; the pieces are the text among the row's cells on the lines between, in order."""
    tokens, lines = doc.tokens, doc.lines
    line0 = lines[group[0]]
    cell = min(doc.widths[i] for i in group)
    closings: list[int] = []
    for j in range(group[-1] + 1, len(tokens)):
        if lines[j] - line0 > MAX_LINES or (closings and lines[j] != lines[closings[0]]):
            break
        if lines[j] == line0:
            continue
        if _opening(tokens[j], doc.units) is not None:
            blocked.add(j)  # another remark opens before these close: neither is joined
            return []
        if _closing(doc, j, cell):
            closings.append(j)
    if not closings or len(closings) != len(group):
        return []
    end_line = lines[closings[0]]
    inside = range(group[0] + 1, closings[0])
    between = sorted({lines[j] for j in inside} - {line0, end_line})
    if not between:
        return [_Wrap(o, c, (), o) for o, c in zip(group, closings, strict=True)]
    on_line = {n: [j for j in inside if lines[j] == n] for n in between}
    if len(group) == 1 and all(
        len(js) == 1 and _piece(doc, js[0], cell) for js in on_line.values()
    ):
        # each line between holds one piece only: a converter printing cell by cell
        return [_Wrap(group[0], closings[0], tuple(js[0] for js in on_line.values()), group[0])]
    pieces: list[list[int]] = [[] for _ in group]
    for js in on_line.values():
        among = _among_cells(doc, js, cell)
        if not among:
            continue
        if len(among) != len(group):
            return []
        for k, j in enumerate(among):
            pieces[k].append(j)
    if not pieces[0]:
        return []
    return [_Wrap(o, c, tuple(p), p[0]) for o, c, p in zip(group, closings, pieces, strict=True)]


def _among_cells(doc: _Doc, line: list[int], cell: int) -> list[int]:
    """The pieces printed among a row's cells on one line: text after a number, or else the
    text right before the line's first number (the cell is the row's first)."""
    items = [n for n, j in enumerate(line) if doc.tokens[j].kind != TokenKind.text]
    if not items:
        return []
    after = [j for j in line[items[0] + 1 :] if _piece(doc, j, cell)]
    if after:
        return after
    if items[0] > 0 and _piece(doc, line[items[0] - 1], cell):
        return [line[items[0] - 1]]
    return []


def _joined(doc: _Doc, wrap: _Wrap, mapped: MappedText) -> Token:
    tokens = doc.tokens
    first = tokens[wrap.opening]
    opening = _opening(first, doc.units)
    assert opening is not None
    texts = [opening.rest, *(tokens[j].text for j in wrap.pieces), tokens[wrap.closing].text]
    remark = "(" + join_lines("\n".join(texts))[: MAX_REMARK - 1].rstrip(")") + ")"
    start, end = mapped.span(first.norm_start, first.norm_start + len(opening.lead))
    return Token(
        TokenKind.number,
        opening.lead + remark,
        start,
        end,
        "  " if wrap.insert else tokens[wrap.at].sep,
        first.norm_start,
        opening.value,
        opening.unit,
        remark,
    )


def _rebuild(
    tokens: list[Token], taken: set[int], joined: dict[tuple[int, bool], Token]
) -> list[Token]:
    """The token list with the pieces gone and each joined cell in its place. A piece alone
    on its line takes the line with it; a piece sharing its line leaves its width as space
    (the line's spacing and delimiters stay as printed)."""
    out: list[Token] = []
    pending = ""
    for k, tok in enumerate(tokens):
        if (k, False) in joined:
            out.append(replace(joined[k, False], sep=pending + joined[k, False].sep))
            pending = ""
        elif k in taken:
            alone = (k == 0 or "\n" in tok.sep) and (
                k + 1 == len(tokens) or "\n" in tokens[k + 1].sep
            )
            if not alone:
                pending += tok.sep + " " * len(tok.text)
        else:
            out.append(replace(tok, sep=pending + tok.sep) if pending else tok)
            pending = ""
        if (k, True) in joined:
            out.append(joined[k, True])
    return out
