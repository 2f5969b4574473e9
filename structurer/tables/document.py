"""A document text made ready for table reading: normalised with an offset map back to the
original, tokenised (wrapped remarks joined), its label text and display columns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from structurer.core.types import CellReading
from structurer.tables.checks import OCR_READ, ocr_signs
from structurer.tables.locate import LabelText, build_label_text, find_label
from structurer.tables.spec import TableSpec
from structurer.tables.textmap import (
    DisplayColumns,
    MappedText,
    Token,
    TokenKind,
    label_key,
    normalise,
    tokenize,
)
from structurer.tables.wraps import join_wrapped_remarks


@dataclass(frozen=True)
class TableText:
    """A document made ready for table reading (do it once, read many specs)."""

    mapped: MappedText
    tokens: list[Token]
    labels: LabelText
    columns: DisplayColumns
    ocr: str | None = None  # why the text is OCR output (checks.ocr_signs, or OCR_READ)
    recovered_labels: dict[str, tuple[int, int]] = field(default_factory=dict)  # row path -> span
    _ends: dict[tuple[str, ...], list[int]] = field(default_factory=dict)  # by end markers

    def end_tokens(self, table: TableSpec) -> list[int]:
        """The tokens that mark the end of `table` (its end markers, on label text)."""
        markers = table.end_markers
        if markers not in self._ends:
            pats = [re.compile(p) for p in markers]
            self._ends[markers] = [
                i
                for i, tok in enumerate(self.tokens)
                if tok.kind == TokenKind.text and any(p.match(label_key(tok.text)) for p in pats)
            ]
        return self._ends[markers]

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
    notes: list[str] = field(default_factory=list)  # for the operator (tables.advice)


def prepare_text(text: str, units: tuple[str, ...] = (), *, ocr: bool = False) -> TableText:
    """`units`: units of measure the specs' columns declare (see ColumnSpec.unit_factors).
    `ocr`: the text was read by OCR from page images, whatever it looks like."""
    mapped = normalise(text)
    display = DisplayColumns(text)
    tokens = join_wrapped_remarks(tokenize(mapped, units), mapped, display, units)
    labels = build_label_text(mapped, tokens)
    return TableText(mapped, tokens, labels, display, OCR_READ if ocr else ocr_signs(text))
