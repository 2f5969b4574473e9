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

from dataclasses import dataclass, replace

from structurer.core.text import is_wide, join_lines
from structurer.tables.textmap import MappedText, Token, TokenKind, parse_number

MAX_LINES = 5  # lines from a remark's opening piece to its closing piece
MAX_PIECE = 12  # characters of one wrapped piece (a narrow cell's line)
MAX_REMARK = 40  # characters of a whole remark


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
    at: int  # the token whose place the joined cell takes


def join_wrapped_remarks(
    tokens: list[Token], mapped: MappedText, units: tuple[str, ...] = ()
) -> list[Token]:
    """`tokens` with every wrapped remark joined into its number's token."""
    lines = _line_numbers(tokens)
    widths = [_width(mapped.original[t.start : t.end]) for t in tokens]
    openings = [i for i, tok in enumerate(tokens) if _opening(tok, units) is not None]
    wraps: list[_Wrap] = []
    for line in sorted({lines[i] for i in openings}):
        group = [i for i in openings if lines[i] == line]
        wraps.extend(_find_wraps(tokens, lines, widths, group, units))
    if not wraps:
        return tokens
    taken = {j for w in wraps for j in (w.opening, w.closing, *w.pieces)}
    joined = {w.at: _joined(tokens, w, mapped, units) for w in wraps}
    return _rebuild(tokens, taken, joined)


def _line_numbers(tokens: list[Token]) -> list[int]:
    out: list[int] = []
    line = 0
    for tok in tokens:
        line += tok.sep.count("\n")
        out.append(line)
    return out


def _width(text: str) -> int:
    return sum(2 if is_wide(ch) else 1 for ch in text)


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


def _fits(tok: Token, width: int, cell: int) -> bool:
    """Could be a line of the cell whose first line is `cell` wide: each line of a wrapped
    cell is at most its first line and the character that did not fit on it."""
    return width <= cell + 2 and len(tok.text) <= MAX_PIECE


def _piece(tok: Token, width: int, cell: int) -> bool:
    """A token that may be a middle piece of a wrapped remark."""
    if tok.kind == TokenKind.blank or "(" in tok.text or ")" in tok.text or tok.remark:
        return False
    return _fits(tok, width, cell)


def _closing(tok: Token, width: int, cell: int) -> bool:
    text = tok.text
    return (
        tok.kind == TokenKind.text
        and text.endswith(")")
        and "(" not in text
        and text.count(")") == 1
        and _fits(tok, width, cell)
    )


def _find_wraps(
    tokens: list[Token],
    lines: list[int],
    widths: list[int],
    group: list[int],
    units: tuple[str, ...],
) -> list[_Wrap]:
    """The wraps opened on one line (several narrow cells of a row may wrap side by side):
    closed on the first later line holding closing pieces, one for each."""
    line0 = lines[group[0]]
    cell = min(widths[i] for i in group)
    closings: list[int] = []
    for j in range(group[-1] + 1, len(tokens)):
        if lines[j] - line0 > MAX_LINES or (closings and lines[j] != lines[closings[0]]):
            break
        if lines[j] == line0:
            continue
        if _opening(tokens[j], units) is not None:
            return []  # another remark opens before these close: not ours to join
        if _closing(tokens[j], widths[j], cell):
            closings.append(j)
    if len(closings) != len(group):
        return []
    end_line = lines[closings[0]]
    inside = range(group[0] + 1, closings[0])
    between = sorted({lines[j] for j in inside} - {line0, end_line})
    if not between:
        return [_Wrap(o, c, (), o) for o, c in zip(group, closings, strict=True)]
    on_line = {n: [j for j in inside if lines[j] == n] for n in between}
    if len(group) == 1 and all(
        len(js) == 1 and _piece(tokens[js[0]], widths[js[0]], cell) for js in on_line.values()
    ):
        # each line between holds one piece only: a converter printing cell by cell
        return [_Wrap(group[0], closings[0], tuple(js[0] for js in on_line.values()), group[0])]
    pieces: list[list[int]] = [[] for _ in group]
    for js in on_line.values():
        among = _among_cells(tokens, widths, js, cell)
        if not among:
            continue
        if len(among) != len(group):
            return []
        for k, j in enumerate(among):
            pieces[k].append(j)
    if not pieces[0]:
        return []
    return [
        _Wrap(o, c, tuple(p), p[0]) for o, c, p in zip(group, closings, pieces, strict=True)
    ]


def _among_cells(tokens: list[Token], widths: list[int], line: list[int], cell: int) -> list[int]:
    """The pieces printed among a row's cells on one line: text after a number, or else the
    text right before the line's first number (the cell is the row's first)."""
    items = [n for n, j in enumerate(line) if tokens[j].kind != TokenKind.text]
    if not items:
        return []
    after = [
        j
        for j in line[items[0] + 1 :]
        if tokens[j].kind == TokenKind.text and _piece(tokens[j], widths[j], cell)
    ]
    if after:
        return after
    if items[0] > 0:
        j = line[items[0] - 1]
        if tokens[j].kind == TokenKind.text and _piece(tokens[j], widths[j], cell):
            return [j]
    return []


def _joined(tokens: list[Token], wrap: _Wrap, mapped: MappedText, units: tuple[str, ...]) -> Token:
    first = tokens[wrap.opening]
    opening = _opening(first, units)
    assert opening is not None
    texts = [opening.rest, *(tokens[j].text for j in wrap.pieces), tokens[wrap.closing].text]
    remark = "(" + join_lines("\n".join(texts))[: MAX_REMARK - 1].rstrip(")") + ")"
    start, end = mapped.span(first.norm_start, first.norm_start + len(opening.lead))
    return Token(
        TokenKind.number,
        opening.lead + remark,
        start,
        end,
        tokens[wrap.at].sep,
        first.norm_start,
        opening.value,
        opening.unit,
        remark,
    )


def _rebuild(tokens: list[Token], taken: set[int], joined: dict[int, Token]) -> list[Token]:
    """The token list with the pieces gone and each joined cell in its place. A piece alone
    on its line takes the line with it; a piece sharing its line leaves its width as space
    (the line's spacing and delimiters stay as printed)."""
    out: list[Token] = []
    pending = ""
    for k, tok in enumerate(tokens):
        if k in joined:
            out.append(replace(joined[k], sep=pending + joined[k].sep))
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
    return out
