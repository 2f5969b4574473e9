"""Split a report into sections by finding its heading lines. Generic over `SectionSpec`s; the
Chinese heading numberings below are language support, the section names come from the report type.

Matching runs on the normalised text; offsets in the result point into the raw text. A
heading is a *short* line: its numbering ("一、", "(一)", "1.", "第一部分", or none) is taken
off and the rest (spaces removed) is searched with each spec's patterns. Also handled:

- headings split over two or three short lines (PDF text), or a number alone on its line;
- a numbered heading that runs into its paragraph ("一、总体情况。2020年…");
- a table of contents in the preamble (a run of heading lines with no body between them,
  whose parts reappear later) is skipped;
- numbering that restarts (tables numbered 一、二、… inside a section): order is not assumed;
- a sub-heading ("(一)…", "1、…") counts only when no chosen heading already encloses it
  (unless its list began above that heading, or its "(N-1)" sibling is missing: mixed styles);
- unnumbered headings (numbering lost) count only when short, starting a block (not a piece
  of a paragraph wrapped at the PDF margin), and not inside a numbered heading of their part;
- table rows (tabs, wide gaps, "|") are never headings.

Each spec takes its best heading (higher numbering level first, then the earliest). A line
that matches several specs opens a section for each (same span), so a caller can ask for any
of them. Text before the first heading is the `preamble` section. No heading: `[]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from structurer.core.report_type import SectionSpec
from structurer.core.text import NormalizedText, normalize
from structurer.core.types import Section

PREAMBLE = "preamble"
MAX_CORE = 32  # longest heading text, in characters, without numbering and spaces
MAX_PART = 22  # longest piece of a heading split over lines
MAX_UNNUMBERED = 28  # longest heading without numbering
MAX_JOIN = 3  # most lines a split heading spans

_CN_NUM = "一二三四五六七八九十"
_NUMBERING: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^第[{_CN_NUM}\d]{{1,3}}(?:部分|章|节|项)[、.,:\s]*")),
    (1, re.compile(rf"^[{_CN_NUM}]{{1,3}}\s*[、.,:)]\s*")),
    (1, re.compile(r"^[—―‐-]\s*[、,]\s*")),  # OCR reads "一、" as a dash
    (1, re.compile(rf"^[{_CN_NUM}]{{1,3}}\s+(?=[^\s\d{_CN_NUM}])")),
    (2, re.compile(rf"^[(\[【]\s*[{_CN_NUM}]{{1,3}}\s*[)\]】]\s*[、.,:]?\s*")),
    (3, re.compile(r"^\d{1,2}\s*(?:[、,:)]|\.(?!\d))\s*")),
    (4, re.compile(r"^[(\[【]\s*\d{1,2}\s*[)\]】]\s*[、.,:]?\s*")),
)
_UNNUMBERED = 1.5  # an unnumbered heading ranks below "一、" and above "(一)"
_MARKUP = re.compile(r"^(?:[\s#>*|_=]|-(?=\s))+|[\s*|_=]+$")  # markdown heading/bold/table marks
_SENTENCE_END = re.compile(r"[。;；,，!?！？、《“‘(（]$")  # no heading ends so
_FULL_STOP = re.compile(r"[。;；!?！？]$")  # a sentence ends here: no heading goes on
_CONTINUED = re.compile(r"[、,，《“‘(（和及与或的]$")  # a line broken mid-phrase
_INNER_STOP = re.compile(r"[。,，:;；!?！？].")  # sentence punctuation inside: not a heading
_CLOSED = re.compile(r"[。;；:：!?！？)）」』”]$")  # a line that ends a sentence or a block
_RUN_IN = re.compile(r"[。:;；]|\s{3,}")  # where a run-in heading ends and its paragraph starts
_DIGITS = re.compile(r"\d")
_YEAR = re.compile(r"(?:19|20)\d\d年")
_CELLS = re.compile(r"\S {3,}\S")  # a wide gap inside a line: between table cells


@dataclass(frozen=True)
class _Line:
    index: int
    start: int  # normalised offsets of the stripped content
    end: int
    level: int | None  # numbering level; None when unnumbered
    number: int | None  # value of the numbering: 3 for "三、", "(三)" or "3."
    core: str  # heading text without numbering, markup and spaces
    rest: str  # the line after its numbering, spaces kept
    cells: bool  # several tab-separated cells: a table row
    tabbed: bool  # a table row or a tab-indented cell line: never encloses, never unnumbered


@dataclass(frozen=True)
class _Candidate:
    spec: int
    first: int  # line indexes covered
    last: int
    level: float  # numbering level, or _UNNUMBERED
    start: int  # normalised offsets of the heading text
    end: int
    anchor: int  # the line that encloses lower-level headings below it once chosen


def split_sections(text: str, specs: Sequence[SectionSpec]) -> list[Section]:
    """Sections of `text` found by the specs' heading patterns; offsets into `text` as given."""
    norm = normalize(text)
    lines = _lines(norm.text)
    compiled = [[re.compile(p) for p in spec.patterns] for spec in specs]
    candidates = _drop_contents_list(_candidates(lines, compiled), lines)
    chosen = _choose(candidates, lines)
    if not chosen:
        return []
    return _sections(chosen, specs, norm, text)


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    offset = 0
    for index, raw in enumerate(text.split("\n")):
        body = _MARKUP.sub("", raw)
        lead = raw.find(body) if body else 0
        start = offset + max(lead, 0)
        level, number, rest = _numbering(body)
        cells = _is_row(rest.strip()) or " | " in body
        out.append(
            _Line(
                index=index,
                start=start,
                end=start + len(body),
                level=level,
                number=number,
                core=re.sub(r"\s+", "", rest),
                rest=rest.strip(),
                cells=cells,
                tabbed=cells or raw.lstrip(" ").startswith("\t"),
            )
        )
        offset += len(raw) + 1
    return out


def _is_row(text: str) -> bool:
    """Table cells: a tab, or wide gaps between words (not one letter-spaced heading)."""
    if "\t" in text:
        return True
    if not _CELLS.search(text):
        return False
    return not all(len(piece) == 1 for piece in text.split())


def _numbering(body: str) -> tuple[int | None, int | None, str]:
    """(level, number, rest of the line) of a numbered line; (None, None, body) otherwise."""
    for level, pattern in _NUMBERING:
        match = pattern.match(body)
        if match:
            return level, _number(match.group()), body[match.end() :]
    return None, None, body


def _number(numbering: str) -> int | None:
    """The value of "三、", "(十二)", "4." or "第二部分"; None when it has no number."""
    digits = re.search(r"\d+", numbering)
    if digits:
        return int(digits.group())
    chinese = re.search(f"[{_CN_NUM}]+", numbering)
    if chinese is None:
        return None
    tens, _, units = chinese.group().rpartition("十")
    if "十" not in chinese.group():
        return _CN_NUM.index(units) + 1 if len(units) == 1 else None
    high = _CN_NUM.index(tens) + 1 if tens else 1
    low = _CN_NUM.index(units) + 1 if units else 0
    return high * 10 + low


def _matches(core: str, patterns: list[re.Pattern[str]]) -> bool:
    return bool(core) and any(p.search(core) for p in patterns)


def _candidates(lines: list[_Line], compiled: list[list[re.Pattern[str]]]) -> list[_Candidate]:
    found: list[_Candidate] = []
    full = _full_width(lines)
    for i, line in enumerate(lines):
        if line.level is None and (line.cells or not _starts_block(lines, i, full)):
            continue  # an unnumbered line in a table or inside a wrapped paragraph
        if line.cells and line.level != 1:
            continue  # a table row; only "一、heading   text" may run on past a wide gap
        level = line.level if line.level is not None else _UNNUMBERED
        core = line.core.rstrip("。.:")
        matched: set[int] = set()
        unnumbered_ok = not line.tabbed and _heading_like(line.core)
        short = len(core) <= MAX_CORE and not line.cells and not _INNER_STOP.search(core)
        if short and (line.level is not None or unnumbered_ok):
            for s, patterns in enumerate(compiled):
                if _matches(core, patterns):
                    matched.add(s)
                    found.append(_Candidate(s, i, i, level, line.start, line.end, i))
        if line.level is not None and not short:
            head = re.sub(r"\s+", "", _RUN_IN.split(line.rest, maxsplit=1)[0])
            if len(head) <= MAX_CORE:
                for s, patterns in enumerate(compiled):
                    if _matches(head, patterns):
                        matched.add(s)
                        found.append(_Candidate(s, i, i, level, line.start, line.end, i))
        if not line.cells:
            found.extend(_split_heading(lines, i, level, compiled, matched))
    found.sort(key=lambda c: (c.start, c.spec))
    return found


def _full_width(lines: list[_Line]) -> int:
    """The length of a full line of wrapped text (PDF): the 80th percentile of line lengths."""
    lengths = sorted(len(line.core) for line in lines if len(line.core) > 1 and not line.tabbed)
    if not lengths:
        return 0
    return lengths[int(len(lengths) * 0.8)]


def _starts_block(lines: list[_Line], i: int, full: int) -> bool:
    """False when line `i` continues the line above: that one breaks off mid-phrase, or is a
    full wrapped line that does not end a sentence (PDF text breaks lines at the margin)."""
    k = i - 1
    while k >= 0 and not lines[k].core and lines[k].level is None:
        k -= 1
    if k < 0:
        return True
    above = lines[k]
    if above.tabbed:
        return True  # a heading right after a table
    if _CONTINUED.search(above.core):
        return False
    if _CLOSED.search(above.core):
        return True
    return len(above.core) < max(MAX_PART, full * 0.8)


def _heading_like(core: str) -> bool:
    """An unnumbered line is a heading only if short, with no sentence ending and no numbers
    other than a year (a line of figures is a table row or a sentence)."""
    if len(core) > MAX_UNNUMBERED or _SENTENCE_END.search(core) or _INNER_STOP.search(core):
        return False
    return not _DIGITS.search(_YEAR.sub("", core))


def _split_heading(
    lines: list[_Line],
    i: int,
    level: float,
    compiled: list[list[re.Pattern[str]]],
    matched: set[int],
) -> list[_Candidate]:
    """A heading broken over up to MAX_JOIN short lines (blank lines between allowed).

    When the later lines match on their own, the join is kept only if the first line is a
    lone number or breaks off mid-phrase ("…问题和"); otherwise after an unnumbered first
    line (a title's last line) there is no join, and after a numbered one ("二、…情况" over
    an unnumbered heading) the join ranks and anchors as the unnumbered heading.
    """
    first = lines[i]
    if not first.core and first.level is None:
        return []  # a blank line
    if first.tabbed or len(first.core) > MAX_PART or _FULL_STOP.search(first.core):
        return []
    joined = first.core
    out: list[_Candidate] = []
    taken = set(matched)
    j = i
    for _ in range(MAX_JOIN - 1):
        j += 1
        while j < len(lines) and not lines[j].core and lines[j].level is None:
            j += 1
        if j >= len(lines):
            break
        nxt = lines[j]
        if nxt.level is not None or nxt.tabbed or len(nxt.core) > MAX_PART:
            break
        joined += nxt.core
        if len(joined) > MAX_CORE or (first.level is None and not _heading_like(joined)):
            break
        text = joined.rstrip("。.:")
        tail = text[len(first.core) :]
        for s, patterns in enumerate(compiled):
            if s in taken or not _matches(text, patterns):
                continue
            taken.add(s)
            broken = not first.core or bool(_CONTINUED.search(first.core))
            if broken or not _matches(tail, patterns):
                out.append(_Candidate(s, i, j, level, first.start, nxt.end, i))
            elif first.level is not None:
                # The later lines match alone: either a heading broken after a few characters
                # or a heading under a numbered line. Take the number in, but rank and anchor
                # the heading as its unnumbered later line.
                weak = min(level, _UNNUMBERED)
                out.append(_Candidate(s, i, j, weak, first.start, nxt.end, j))
        if _FULL_STOP.search(nxt.core):
            break
    return out


def _drop_contents_list(candidates: list[_Candidate], lines: list[_Line]) -> list[_Candidate]:
    """Drop a table of contents: >= 3 heading lines back to back (a part does not repeat
    within it), at least two of whose parts are found again later."""
    by_line: dict[int, tuple[int, set[int]]] = {}
    for c in candidates:
        last, specs = by_line.get(c.first, (c.last, set()))
        by_line[c.first] = (max(last, c.last), specs | {c.spec})
    runs: list[tuple[list[int], int, set[int]]] = []  # (first lines, last line, specs)
    for first in sorted(by_line):
        last, specs = by_line[first]
        if runs and _adjacent(lines, runs[-1][1], first) and not specs & runs[-1][2]:
            firsts, _, seen = runs[-1]
            runs[-1] = ([*firsts, first], last, seen | specs)
        else:
            runs.append(([first], last, set(specs)))
    dropped: set[int] = set()
    for firsts, last, specs in runs:
        later = {c.spec for c in candidates if c.first > last}
        if len(firsts) >= 3 and len(specs & later) >= 2:
            dropped.update(firsts)
    return [c for c in candidates if c.first not in dropped]


def _adjacent(lines: list[_Line], last: int, first: int) -> bool:
    """True when only blank lines lie between line `last` and line `first`."""
    if first <= last:
        return first == last
    return all(not lines[k].core and lines[k].level is None for k in range(last + 1, first))


def _choose(candidates: list[_Candidate], lines: list[_Line]) -> list[_Candidate]:
    """Per spec, the best heading by level ("一、", unnumbered, "(一)", "1、", "(1)"), then the
    earliest; a lower-level heading only where no chosen heading already encloses it."""
    chosen: dict[int, _Candidate] = {}
    anchors: dict[int, float] = {}  # chosen heading line -> the level it encloses below it
    for level in sorted({c.level for c in candidates}):
        for c in candidates:
            if c.level != level or c.spec in chosen:
                continue
            if level > 1 and _enclosed(c, lines, anchors):
                continue
            if lines[c.first].level is None and _under_numbered(c, candidates, lines):
                continue
            chosen[c.spec] = c
            first_level = lines[c.first].level
            encloses = max(c.level, first_level if first_level is not None else _UNNUMBERED)
            anchors[c.anchor] = max(anchors.get(c.anchor, 0.0), encloses)
    return sorted(chosen.values(), key=lambda c: (c.start, c.spec))


def _under_numbered(c: _Candidate, candidates: list[_Candidate], lines: list[_Line]) -> bool:
    """True when an unnumbered candidate lies in the body of a numbered heading of the same
    part (no numbered line between them): it is a line of that section's text."""
    for other in candidates:
        if other.spec != c.spec or other.start >= c.start or lines[other.first].level is None:
            continue
        between = lines[other.last + 1 : c.first]
        if not any(line.level is not None and not line.tabbed for line in between):
            return True
    return False


def _enclosed(c: _Candidate, lines: list[_Line], anchors: dict[int, float]) -> bool:
    """True when the nearest higher-level heading above `c` is a chosen one. Unchosen
    unnumbered lines are body text; an unchosen "一、" line ends the search (not enclosed).

    A numbered heading "(N)" with N > 1 whose sibling "(N-1)" is not between it and the
    enclosing heading is no sub-heading: the report mixes numbering styles at the top. An
    unnumbered heading is never enclosed (lines of a section's own text are filtered before:
    a heading is short, starts a block, and is not inside a numbered heading of its part)."""
    own = lines[c.first]
    sibling = False
    for k in range(c.first - 1, -1, -1):
        line = lines[k]
        if line.tabbed:
            continue
        if own.number is not None and line.level == own.level and line.number == own.number - 1:
            sibling = True
        anchor = anchors.get(k)
        if anchor is not None:
            if anchor >= c.level:
                continue
            if own.level is None:
                return False  # its numbering was lost: "五、…" under "四、…" stays a heading
            if line.level is None and _list_goes_on(lines, k, own):
                continue  # an earlier item of the same list lost its number: no parent
            return own.number is None or own.number <= 1 or sibling
        if line.level is None or line.level >= c.level:
            continue
        if line.level == 1:
            return False
    return False


def _list_goes_on(lines: list[_Line], k: int, own: _Line) -> bool:
    """True when the list that `own` belongs to ("1、", "2、" …) began above line `k`."""
    if own.number is None:
        return False
    for line in reversed(lines[:k]):
        if line.tabbed or line.level is None:
            continue
        if line.level == own.level and line.number is not None and line.number < own.number:
            return True
        if line.level < (own.level or 0):
            return False
    return False


def _sections(
    chosen: list[_Candidate], specs: Sequence[SectionSpec], norm: NormalizedText, raw: str
) -> list[Section]:
    starts = sorted({c.start for c in chosen})
    out: list[Section] = []
    first_raw = norm.to_raw(starts[0])
    if raw[:first_raw].strip():
        out.append(Section(name=PREAMBLE, start=0, end=first_raw, heading=""))
    for c in chosen:
        later = [s for s in starts if s > c.start]
        raw_start, raw_heading_end = norm.span_to_raw(c.start, c.end)
        raw_end = norm.to_raw(later[0]) if later else len(raw)
        heading = " ".join(raw[raw_start:raw_heading_end].split())
        out.append(Section(name=specs[c.spec].name, start=raw_start, end=raw_end, heading=heading))
    return out
