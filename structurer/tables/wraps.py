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

from structurer.core.text import join_lines
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
    wraps: list[_Wrap] = []
    taken: set[int] = set()
    for i, tok in enumerate(tokens):
        if i in taken:
            continue
        opening = _opening(tok, units)
        if opening is None:
            continue
        wrap = _find_wrap(tokens, lines, i, units)
        if wrap is None:
            continue
        wraps.append(wrap)
        taken.update((wrap.opening, wrap.closing, *wrap.pieces))
    if not wraps:
        return tokens
    joined = {w.at: _joined(tokens, w, mapped, units) for w in wraps}
    return _rebuild(tokens, taken, joined)


def _line_numbers(tokens: list[Token]) -> list[int]:
    out: list[int] = []
    line = 0
    for tok in tokens:
        line += tok.sep.count("\n")
        out.append(line)
    return out


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


def _piece(tok: Token) -> bool:
    """A token that may be a middle piece of a wrapped remark."""
    if tok.kind == TokenKind.blank or "(" in tok.text or ")" in tok.text:
        return False
    return len(tok.text) <= MAX_PIECE and not tok.remark


def _find_wrap(
    tokens: list[Token], lines: list[int], i: int, units: tuple[str, ...]
) -> _Wrap | None:
    closing = None
    for j in range(i + 1, len(tokens)):
        if lines[j] - lines[i] > MAX_LINES:
            return None
        tok = tokens[j]
        if _opening(tok, units) is not None:
            return None  # another remark opens first: not ours to join
        if (
            tok.kind == TokenKind.text
            and tok.text.endswith(")")
            and "(" not in tok.text
            and tok.text.count(")") == 1
            and len(tok.text) <= MAX_PIECE
        ):
            closing = j
            break
    if closing is None or lines[closing] == lines[i]:
        return None
    between = sorted({lines[j] for j in range(i + 1, closing)} - {lines[i], lines[closing]})
    if not between:
        return _Wrap(i, closing, (), i)
    on_line = {n: [j for j in range(i + 1, closing) if lines[j] == n] for n in between}
    if all(len(js) == 1 and _piece(tokens[js[0]]) for js in on_line.values()):
        # each line between holds one piece only: a converter printing cell by cell
        return _Wrap(i, closing, tuple(js[0] for js in on_line.values()), i)
    pieces: list[int] = []
    for js in on_line.values():
        # the piece printed among the row's cells: text after a number on its line
        among = [
            j
            for n, j in enumerate(js)
            if tokens[j].kind == TokenKind.text
            and _piece(tokens[j])
            and any(tokens[k].kind != TokenKind.text for k in js[:n])
        ]
        if len(among) > 1:
            return None
        pieces.extend(among)
    if not pieces:
        return None
    return _Wrap(i, closing, tuple(pieces), pieces[0])


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
