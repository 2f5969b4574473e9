"""The column grid of space-aligned layout text (structurer/tables/grid.py): numbers of rows
with blank cells placed by where all the table's numbers line up, the identities and even
column spacing; an uneven grid leaves the placement in doubt. Invented tables, rendered the
way pdftotext -layout prints a ruled PDF table: one character per column, blank zeros."""

from __future__ import annotations

from typing import Any

import pytest

from gov_disclosure.tables import read_tables
from structurer.tables import TableReadout
from structurer.tables.grid import evenly_spaced, spacing_misfit
from tests.test_tables import NARRATIVE, TAB_2021, values

COLS = ["natural_person", "commercial", "research", "nonprofit", "legal_services", "other_org"]
# research, nonprofit and other_org blank in every row: only the spacing of the columns
# tells which columns the printed numbers are in
REQUESTS: dict[str, list[int]] = {
    "new_received": [8, 3, 0, 0, 2, 0, 13],
    "carried_over": [1, 0, 0, 0, 0, 0, 1],
    "granted": [4, 2, 0, 0, 1, 0, 7],
    "partially_granted": [1, 0, 0, 0, 0, 0, 1],
    "withheld_third_party": [1, 0, 0, 0, 0, 0, 1],
    "unavailable_not_held": [2, 1, 0, 0, 0, 0, 3],
    "rejected_duplicate": [0, 0, 0, 0, 1, 0, 1],
    "total": [8, 3, 0, 0, 2, 0, 13],
    "carried_forward": [1, 0, 0, 0, 0, 0, 1],
}
LABELS = {  # the row's label in TAB_2021 -> its path
    "一、本年新收政府信息公开申请数量": "new_received",
    "二、上年结转政府信息公开申请数量": "carried_over",
    "（一）予以公开": "granted",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）": "partially_granted",
    "4.保护第三方合法权益": "withheld_third_party",
    "1.本机关不掌握相关政府信息": "unavailable_not_held",
    "2.重复申请": "rejected_duplicate",
    "（七）总计": "total",
    "四、结转下年度继续办理": "carried_forward",
}


def layout_requests(at: list[int]) -> str:
    """Table 三 of TAB_2021 with REQUESTS' values, as layout text: each label padded to
    column 40, each number left-aligned at its column's position `at`, zeros blank."""
    head, rest = TAB_2021.split("三、收到和处理政府信息公开申请情况\n")
    table, tail = rest.split("四、政府信息公开行政复议", 1)
    lines = ["三、收到和处理政府信息公开申请情况"]
    for line in table.splitlines():
        cells = line.split("\t")
        if not any(c.isdigit() for c in cells):
            lines.append(" ".join(c for c in cells if c))
            continue
        label = next(c for c in reversed(cells) if c and not c.isdigit())
        row = REQUESTS.get(LABELS.get(label, ""), [0] * 7)
        out = f"{label:<40}"
        for x, v in zip(at, row, strict=True):
            out = out.ljust(x) + (str(v) if v else "")
        lines.append(out.rstrip())
    return head + "\n".join(lines) + "\n四、政府信息公开行政复议" + tail


def expected_requests() -> dict[str, int]:
    out = {}
    for row in LABELS.values():
        for col, v in zip([*COLS, "total"], REQUESTS[row], strict=True):
            out[f"requests.{row}.{col}"] = v
    return out


def doubted(readout: TableReadout) -> dict[str, str]:
    return {c.path: c.doubt for c in readout.cells if c.doubt}


def test_evenly_spaced_columns_place_the_numbers_of_a_table_with_blank_columns() -> None:
    readout = read_tables(NARRATIVE + layout_requests([44, 50, 56, 62, 68, 74, 80]))
    got = values(readout)
    want = expected_requests()
    assert {p: got[p] for p in want} == want
    assert not [p for p in doubted(readout) if p.startswith("requests.")]


def test_unevenly_spaced_columns_leave_the_placement_in_doubt() -> None:
    """自然人 printed twice as wide: the spacing no longer tells which columns are blank,
    and the identities hold for every choice, so the cells the choice moves are doubted."""
    readout = read_tables(NARRATIVE + layout_requests([44, 56, 62, 68, 74, 80, 86]))
    got, reasons = values(readout), doubted(readout)
    want = expected_requests()
    wrong = [p for p in want if got[p] != want[p]]
    assert all(p in reasons for p in wrong)
    assert "requests.new_received.legal_services" in reasons


APPEALS_LINE = """\
四、政府信息公开行政复议、行政诉讼情况
行政复议                       行政诉讼
                    未经复议直接起诉                    复议后起诉
结果     结果   其他   尚未        结果     结果   其他    尚未        结果   结果   其他   尚未
维持     纠正   结果   审结  总计  维持     纠正   结果    审结  总计  维持   纠正   结果   审结  总计
{numbers}
五、存在的主要问题及改进情况
"""


def appeals_text(numbers: str) -> str:
    return (
        NARRATIVE
        + TAB_2021.split("四、政府信息公开行政复议")[0]
        + APPEALS_LINE.format(numbers=numbers)
    )


def appeals_values(readout: TableReadout) -> dict[str, list[Any]]:
    got = values(readout)
    parts = ["upheld", "corrected", "other", "pending", "total"]
    return {
        g: [got[f"appeals.{g}.{p}"] for p in parts]
        for g in ("reconsideration", "litigation_direct", "litigation_after_reconsideration")
    }


@pytest.mark.parametrize(
    "cells",
    [
        # the group sums hold for several placements; the numbers' even spacing leaves one
        [0, 2, 1, 0, 3, 1, 0, 0, 0, 1, 0, 0, 0, 2, 2],
        # 10 numbers for 15 cells: two full rows would take them all (their sums break), the
        # three rows with five blanks place them by the sums and the spacing
        [0, 3, 1, 4, 8, 0, 0, 1, 5, 6, 2, 2, 0, 0, 4],
    ],
)
def test_table_four_on_one_line_is_placed_by_its_even_spacing(cells: list[int]) -> None:
    """15 cells on one line, zeros blank."""
    line = "".join(f"{v if v else '':<6}" for v in cells).rstrip()
    readout = read_tables(appeals_text("    " + line))
    assert appeals_values(readout) == {
        "reconsideration": cells[0:5],
        "litigation_direct": cells[5:10],
        "litigation_after_reconsideration": cells[10:15],
    }
    assert not [p for p in doubted(readout) if p.startswith("appeals.")]


def test_spacing_misfit_compares_each_gap_with_its_share_of_columns() -> None:
    assert spacing_misfit([10, 16, 34, 40], [0, 1, 4, 5]) == 0.0
    assert spacing_misfit([10, 16, 34, 40], [0, 1, 2, 5]) == 12.0  # 18 for one column of 6
    assert spacing_misfit([10, 17, 34, 40], [0, 1, 4, 5]) == 1.0  # a converter's rounding
    assert spacing_misfit([10, 16], [0, 3]) is None  # two numbers fit any columns
    assert evenly_spaced([0.0, 2.0, None]) == [True, False, True]
    assert evenly_spaced([2.5, 3.0]) == [True, True]  # the best is no even grid
