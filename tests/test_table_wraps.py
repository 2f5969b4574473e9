"""A remark wrapped over lines inside a narrow table cell ("1（含" / "转办1" / "件）"), as
each PDF text converter prints it, is read as the number with its remark, in its cell.

Every sample is invented (the hand-made 2021 table of test_tables.py); none comes from a
real report.
"""

from __future__ import annotations

from gov_disclosure.tables import read_tables
from structurer.tables.textmap import DisplayColumns, Token, TokenKind, normalise, tokenize
from structurer.tables.wraps import join_wrapped_remarks
from tests.test_tables import NARRATIVE, TAB_2021, assert_evidence_exact, diff, expected, values

ROW = "一、本年新收政府信息公开申请数量"  # cells 10 2 0 0 1 0 13: the 1 is printed wrapped
CELL = "requests.new_received.legal_services"


def joined(text: str) -> list[Token]:
    mapped = normalise(text)
    return join_wrapped_remarks(tokenize(mapped), mapped, DisplayColumns(mapped.original))


def numbers(tokens: list[Token]) -> list[float | None]:
    return [t.value for t in tokens if t.kind == TokenKind.number]


def with_row(table: str, row_text: str) -> str:
    """The table with the new_received row replaced by `row_text` (several lines)."""
    lines = table.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith(ROW))
    return "\n".join([*lines[:at], row_text, *lines[at + 1 :]]) + "\n"


def spaced(sep: str) -> str:
    """The hand-made table with its tabs as `sep` (PDF text converters have no tabs)."""
    return TAB_2021.replace("\t", sep)


def under(row: str, piece: str, text: str) -> str:
    """`text` indented to where `piece` starts in `row` (layout text: one column a char)."""
    return " " * row.index(piece) + text


def assert_read(text: str) -> None:
    readout = read_tables(NARRATIVE + text)
    assert diff(values(readout), expected()) == []
    assert_evidence_exact(NARRATIVE + text, readout)
    cell = next(c for c in readout.cells if c.path == CELL)
    assert cell.evidence.quote == "1"  # the printed number, not its remark
    assert cell.note is not None and "remark (含转办1件) not part of the value" in cell.note
    assert cell.doubt is None


def test_layout_three_lines_the_middle_piece_among_the_cells() -> None:
    row = f"  {ROW}    10    2    0    0    转办1    0    13"
    text = "\n".join([under(row, "转办1", "1（含"), row, under(row, "转办1", "件）")])
    assert_read(with_row(spaced("    "), text))


def test_layout_two_lines_go_into_the_row_by_their_column() -> None:
    row = f"  {ROW}    10    2    0    0         0    13"
    at = row.index("0    13") - 5
    text = "\n".join([" " * at + "1（含转", row, " " * at + "办1件）"])
    assert_read(with_row(spaced("    "), text))


def test_single_spaced_text_like_pdfplumber() -> None:
    text = f"1（含\n{ROW} 10 2 0 0 转办1 0 13\n件）"
    assert_read(with_row(spaced(" "), text))


def test_one_piece_a_line_like_pdftotext_raw_and_pypdfium2() -> None:
    text = f"{ROW} 10 2 0 0\n1（含\n转办1\n件）\n0 13"
    assert_read(with_row(spaced(" "), text))


def test_markdown_pipe_row_like_markitdown() -> None:
    tokens = joined(
        f"1（含\n| {ROW} | 10 2 | 0 0 | 转办1 0 | 13 |\n|     |     |     | 件） |    |\n"
    )
    assert numbers(tokens) == [10, 2, 0, 0, 1, 0, 13]
    cell = next(t for t in tokens if t.remark)
    assert cell.remark == "(含转办1件)" and cell.sep == " | "


def test_ascii_brackets_a_unit_and_a_longer_remark() -> None:
    text = f"{ROW} 10 2 0 0\n1件(其中\n转办1件\n已办结)\n0 13\n"
    tokens = joined(text)
    assert numbers(tokens) == [10, 2, 0, 0, 1, 0, 13]
    cell = next(t for t in tokens if t.remark)
    assert (cell.unit, cell.remark) == ("件", "(其中转办1件已办结)")
    assert text[cell.start : cell.end] == "1件"


def test_side_by_side_wraps_in_one_row() -> None:
    text = "3（含 7（含\n2.某某事项 0 0 转办1 0 4 0 转办2\n件） 件）\n"
    tokens = joined(text)
    assert numbers(tokens) == [0, 0, 3, 0, 4, 0, 7]
    assert [t.remark for t in tokens if t.remark] == ["(含转办1件)", "(含转办2件)"]


def test_bracketed_row_labels_are_not_remarks() -> None:
    text = (
        "（二）部分公开（区分处理的，只计\n2 0 0 0 0 0 2\n这一情形，不计其他情形）\n"
        "（三）不予公开 1.属于国家秘密 0 0 0 0 0 0 0\n"
    )
    mapped = normalise(text)
    assert join_wrapped_remarks(
        tokenize(mapped), mapped, DisplayColumns(mapped.original)
    ) == tokenize(mapped)


def test_a_bare_number_between_the_pieces_stays_a_cell() -> None:
    # pieces printed cell by cell around a line holding only a number: that number may be
    # a cell of its own, so nothing is joined (the reader's checks take it from there)
    text = "5.某某事项 0 0\n2（含转\n3\n办1件）\n"
    tokens = joined(text)
    assert numbers(tokens) == [0, 0, 3]
    assert [t.text for t in tokens if t.kind == TokenKind.text][-1] == "办1件)"
