"""Tables that know when they are misread: the table reader's self-checks (doubts in words,
confidence below review, never a silent 0), reading what is printed (a shattered pipe row,
converter-added empty columns, a block moved by the conversion), and the converter corpus
fixtures (bench/tables/corpus.py rendered to PDF/DOCX/HTML, read back by real converters)
run through the real pipeline.

Every number here is invented.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from gov_disclosure.tables import read_tables
from structurer.confidence.route import DOUBTED_CONFIDENCE
from structurer.core.types import FieldStatus
from structurer.tables import TableReadout
from tests.test_tables import NARRATIVE, TAB_2021, expected, values

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "tables" / "converters"
CONVERTERS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def _measure() -> Any:
    """bench/tables/measure.py: the pipeline path the converter figures are measured on."""
    path = REPO / "bench" / "tables" / "measure.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("bench_tables_measure", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def doubted(readout: TableReadout) -> dict[str, str]:
    return {c.path: c.doubt for c in readout.cells if c.doubt}


# ---- the converter corpus, through the pipeline ----------------------------------------


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:
    measure = _measure()
    return measure, measure.Pipeline.make(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("converter", CONVERTERS)
def test_converter_output_has_no_confident_error(converter: str, pipeline: Any) -> None:
    """Every table cell the pipeline auto-accepts is right; a wrong cell goes to review."""
    measure, pipe = pipeline
    assert len(CONVERTERS) == 11
    source_format = measure.SOURCE_FORMATS.get(converter, "txt")
    for txt in sorted((FIXTURES / converter).glob("*.txt")):
        gold = json.loads((FIXTURES / f"{txt.stem}.json").read_text(encoding="utf-8"))["gold"]
        rows = pipe.table_rows(txt.stem, txt.read_text(encoding="utf-8"), source_format)
        s = measure.score(rows, gold)
        assert s["confident_errors"] == 0, (converter, txt.stem, s["errors"])
        assert s["silent_zeros"] == 0
        # the rest is doubted, sent to review; our own OCR reads cell by cell
        floor = {"ocr": 0.75, "structurer_ocr": 0.99}.get(converter, 0.85)
        assert s["right"] / s["cells"] >= floor, (converter, txt.stem, s["right"], s["cells"])
        for row in rows:
            if row.signals.get("doubt"):
                assert row.confidence is not None and row.confidence <= DOUBTED_CONFIDENCE
                assert row.status == FieldStatus.needs_review


def test_html_and_docx_conversions_are_read_whole(pipeline: Any) -> None:
    measure, pipe = pipeline
    for converter in ("structurer_html", "structurer_pdf", "markitdown_html", "markitdown_docx"):
        for txt in sorted((FIXTURES / converter).glob("*.txt")):
            gold = json.loads((FIXTURES / f"{txt.stem}.json").read_text(encoding="utf-8"))
            s = measure.score(
                pipe.table_rows(txt.stem, txt.read_text(encoding="utf-8")), gold["gold"]
            )
            assert s["right"] == s["cells"], (converter, txt.stem, s["errors"])


# ---- self-checks -------------------------------------------------------------------------

HEADER_YEARS = NARRATIVE + TAB_2021.replace(
    "信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n规章\t1\t0\t12",
    "信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n规章\t2023\t2024",
)


def test_a_header_year_read_as_a_count_is_doubted() -> None:
    readout = read_tables(HEADER_YEARS)
    reasons = doubted(readout)
    years = [c for c in readout.cells if c.value in (2023, 2024)]
    assert len(years) == 2
    assert all("looks like a year" in reasons[c.path] for c in years)


def test_a_row_with_more_numbers_than_columns_is_doubted() -> None:
    text = NARRATIVE + TAB_2021.replace("行政处罚\t87", "行政处罚\t87\t9")
    readout = read_tables(text)
    reason = doubted(readout)["proactive.penalties.decisions"]
    assert "prints 2 numbers for 1 columns" in reason and "left out" in reason


def test_numbers_in_a_rows_region_in_no_cell_are_doubted_and_no_zero_is_silent() -> None:
    """The appeals line lost its delimiters and grew a number nothing explains: the
    checksum of the region fails and every blank 0 of the table is doubted."""
    text = NARRATIVE + TAB_2021.replace(
        "1\t0\t0\t1\t2\t0\t0\t0\t0\t0\t0\t1\t0\t0\t1", "1 0 0 1 2 0 0 0 0 0 0 1 0 0 1 7"
    )
    readout = read_tables(text)
    reasons = doubted(readout)
    appeals = [c for c in readout.cells if c.path.startswith("appeals.")]
    assert appeals and all(c.path in reasons for c in appeals)
    assert any("sum to" in reasons[c.path] for c in appeals)


def test_blank_zeros_of_a_table_whose_identities_break_are_doubted() -> None:
    """OCR lost the numbers of a row: it reads blank, the column totals no longer close."""
    text = NARRATIVE + TAB_2021.replace(
        "\t\t4.保护第三方合法权益\t1\t0\t0\t0\t0\t0\t1", "\t\t4.保护第三方合法权益"
    )
    readout = read_tables(text)
    reasons = doubted(readout)
    for col in ("natural_person", "total"):
        assert values(readout)[f"requests.withheld_third_party.{col}"] == 0
        assert "identit" in reasons[f"requests.withheld_third_party.{col}"]


def test_blanks_two_rows_could_swap_are_doubted() -> None:
    """Two rows print one number each without their blanks; placing them the other way
    keeps every identity: the text does not decide, so both are doubted."""
    text = NARRATIVE + TAB_2021
    rows = {
        "二、上年结转政府信息公开申请数量\t1\t0\t0\t0\t0\t0\t1": (
            "二、上年结转政府信息公开申请数量 1 1"
        ),
        "四、结转下年度继续办理\t1\t0\t0\t0\t0\t0\t1": "四、结转下年度继续办理 1 1",
    }
    for old, new in rows.items():
        text = text.replace(old, new)
    readout = read_tables(text)
    reasons = doubted(readout)
    assert any(p.startswith("requests.carried_over.") for p in reasons)
    assert any(p.startswith("requests.carried_forward.") for p in reasons)


def test_a_clean_table_has_no_doubt() -> None:
    readout = read_tables(NARRATIVE + TAB_2021)
    assert values(readout) == expected()
    assert doubted(readout) == {}


# ---- reading what is printed ---------------------------------------------------------------

SHATTERED_APPEALS = """\
四、政府信息公开行政复议、行政诉讼情况
| 行政复议 结果 | 维持 结果 纠正 | 行政诉讼 | | 未经复议直接起诉 其他 | 复议后起诉 |
|---|---|---|---|---|---|
| 30 | 0 | 8 | 4 | 42 | 3 | 0 | 5 | 2 | 10 | 7 | 0 | 6 | 1 | 14 |
五、存在的主要问题及改进情况
"""


def test_a_pipe_row_of_fifteen_numbers_under_a_shattered_header_is_read_by_position() -> None:
    text = NARRATIVE + TAB_2021.split("四、政府信息公开行政复议")[0] + SHATTERED_APPEALS
    got = values(read_tables(text))
    assert [got[f"appeals.reconsideration.{p}"] for p in ("upheld", "corrected", "other")] == [
        30,
        0,
        8,
    ]
    assert got["appeals.litigation_direct.total"] == 10
    assert got["appeals.litigation_after_reconsideration.total"] == 14


def test_empty_columns_a_converter_added_are_dropped() -> None:
    """markdown with an empty column after every value column (a PDF table's cell grid)."""
    text = NARRATIVE + TAB_2021.replace(
        "规章\t1\t0\t12\n行政规范性文件\t5\t2\t48",
        "| 规章 | 1 |  | 0 |  | 12 |  |\n| 行政规范性文件 |  |  | 2 |  | 48 |  |",
    )
    got = values(read_tables(text))
    assert [got[f"proactive.regulations.{c}"] for c in ("issued", "repealed", "in_force")] == [
        1,
        0,
        12,
    ]
    assert [
        got[f"proactive.normative_documents.{c}"] for c in ("issued", "repealed", "in_force")
    ] == [0, 2, 48]


def test_a_block_moved_to_the_end_of_the_section_is_still_found() -> None:
    block = "第二十条第（一）项\n信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n规章\t1\t0\t12\n行政规范性文件\t5\t2\t48\n"
    moved = TAB_2021.replace(block, "").replace(
        "行政事业性收费\t2.5\n", "行政事业性收费\t2.5\n" + block
    )
    assert moved != TAB_2021
    readout = read_tables(NARRATIVE + moved)
    got = values(readout)
    assert got["proactive.regulations.in_force"] == 12
    assert got["proactive.normative_documents.in_force"] == 48
    assert got["proactive.licensing.decisions"] == 1320
    assert "out of the official row order" in doubted(readout)["proactive.regulations.in_force"]


# ---- the doubt reaches the stored field, `show` and the review card -------------------------


def test_a_doubt_is_stored_shown_and_put_on_the_review_card(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmodel import select
    from typer.testing import CliRunner

    from gov_disclosure import REPORT_TYPE
    from structurer.batch.run import run_extraction
    from structurer.cli.main import app
    from structurer.llm.mock import MockModel
    from structurer.review.labeling import load_review_config, review_fields
    from structurer.review.push import _item, needs_review
    from structurer.store.models import FieldValue
    from structurer.store.session import session_scope

    doc = tmp_path / "doubtful.txt"
    doc.write_text(HEADER_YEARS, encoding="utf-8")
    s = settings.model_copy(update={"table_reader": "table"})
    summary = run_extraction([str(doc)], s, llm=MockModel())
    assert [r.status for r in summary.results] == ["ok"], summary.results
    with session_scope(s) as session:
        stored = {
            fv.path: fv
            for fv in session.exec(select(FieldValue)).all()
            if fv.path.startswith("proactive.regulations.")
        }
        doubted_rows = [fv for fv in stored.values() if fv.signals.get("doubt")]
        assert doubted_rows
        for fv in doubted_rows:
            assert fv.status == "needs_review"
            assert fv.confidence is not None and fv.confidence <= DOUBTED_CONFIDENCE
        candidates = [
            c
            for c in needs_review(session, s.report_type, summary.run_id)
            if c.row.signals.get("doubt")
        ]
        assert candidates
        fields = review_fields(REPORT_TYPE)
        config = load_review_config(REPORT_TYPE.name)
        item = _item(candidates[0], fields[candidates[0].row.path], config)
        assert item.reasons[0] == "table_doubt"
        assert item.why.startswith("表格自检未通过：") and "looks like a year" in item.why
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(s.data_dir))
    shown = CliRunner().invoke(app, ["show", doc.name])
    assert shown.exit_code == 0, shown.output
    assert "the table reader doubts" in shown.output and "looks like a year" in shown.output


# ---- the second reading of a table that fails its checks (the model is the in-process FAKE) --


def _table_reader_pipeline(settings: Any, model: Any, text: str) -> dict[str, Any]:
    from gov_disclosure import REPORT_TYPE
    from structurer.confidence.route import route_rows, score_rows
    from structurer.core.pipeline import extract_document
    from structurer.core.prompts import PromptSet
    from structurer.core.types import LoadedDocument

    s = settings.model_copy(update={"table_reader": "table"})
    prompts = PromptSet(REPO / "prompts", s.report_type, s.prompt_version)
    doc = LoadedDocument("t.txt", "t.txt", "-", text, "txt", "utf-8")
    outcome = extract_document(doc, REPORT_TYPE, model, prompts, s)
    score_rows(outcome.fields, outcome.identity_breaks, artifact=None)
    route_rows(outcome.fields, s.review_threshold)
    return {"rows": {r.path: r for r in outcome.fields}, "calls": outcome.calls}


def _answer_proactive(penalties: list[float]) -> Any:
    from structurer.llm.mock import all_null

    def respond(messages: list[dict[str, Any]], model: type[Any]) -> Any:
        if model.__name__ != "Table_proactive":
            return all_null(messages, model)
        want = expected()
        rows: dict[str, list[float]] = {}
        for key in model.model_fields:
            rows[key] = [v for p, v in want.items() if p.startswith(f"proactive.{key}.")]
        rows["penalties"] = penalties
        return rows

    return respond


MORE_NUMBERS = NARRATIVE + TAB_2021.replace("行政处罚\t87", "行政处罚\t87\t9")


MOVED_BLOCK = (
    "第二十条第（一）项\n信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n规章\t1\t0\t12\n"
)


def test_the_model_agreeing_on_a_second_reading_settles_the_doubt(settings: Any) -> None:
    """A row found out of the official order (a block the conversion moved): the model,
    reading the table alone, finds the same value, so the doubt about how the reader took
    the text apart is settled."""
    from structurer.llm.mock import MockModel

    moved = TAB_2021.replace(MOVED_BLOCK, "").replace(
        "行政事业性收费\t2.5\n", "行政事业性收费\t2.5\n" + MOVED_BLOCK
    )
    model = MockModel(default=_answer_proactive([87]))
    out = _table_reader_pipeline(settings, model, NARRATIVE + moved)
    assert [c.part for c in out["calls"] if c.part.startswith("reread:")] == ["reread:proactive"]
    row = out["rows"]["proactive.regulations.in_force"]
    assert row.value == 12 and row.reader == "table+llm"
    assert "doubt" not in row.signals and "out of the official" in row.signals["doubt_settled"]
    assert row.confidence is not None and row.confidence > DOUBTED_CONFIDENCE


def test_a_doubt_about_which_printed_number_is_the_cell_costs_no_second_reading(
    settings: Any,
) -> None:
    """A row printing 87 and 9 for one column: nothing printed says which is the cell, and
    the model would read the same text, so no second reading is asked (it settles nothing)
    and the cell stays in review."""
    from structurer.llm.mock import MockModel

    model = MockModel(default=_answer_proactive([87]))
    out = _table_reader_pipeline(settings, model, MORE_NUMBERS)
    assert not [c for c in out["calls"] if c.part.startswith("reread:")]
    row = out["rows"]["proactive.penalties.decisions"]
    assert row.value == 87 and "left out" in row.signals["doubt"]
    assert row.signals.get("doubt_final") and "doubt_settled" not in row.signals
    assert row.status == FieldStatus.needs_review


def test_a_doubt_about_what_the_text_prints_costs_no_second_reading(settings: Any) -> None:
    """In OCR-looking text a digit may be misread; the model reads the same glyphs (the real
    model agreed on misread OCR digits), so no second reading is asked and the cell stays in
    review."""
    from structurer.llm.mock import MockModel

    model = MockModel(default=_answer_proactive([87]))
    out = _table_reader_pipeline(settings, model, NARRATIVE + OCR_NOISE + TAB_2021)
    assert not [c for c in out["calls"] if c.part.startswith("reread:")]
    row = out["rows"]["proactive.regulations.issued"]
    assert row.value == 1 and "OCR" in row.signals["doubt"]
    assert "doubt_settled" not in row.signals and row.status == FieldStatus.needs_review


def test_the_model_disagreeing_keeps_the_cell_in_review_with_both_readings(settings: Any) -> None:
    from structurer.llm.mock import MockModel

    agree = _answer_proactive([87])

    def disagree(messages: list[dict[str, Any]], model: type[Any]) -> Any:
        rows = agree(messages, model)
        if model.__name__ == "Table_proactive":
            rows["regulations"] = [1, 0, 13]
        return rows

    moved = TAB_2021.replace(MOVED_BLOCK, "").replace(
        "行政事业性收费\t2.5\n", "行政事业性收费\t2.5\n" + MOVED_BLOCK
    )
    out = _table_reader_pipeline(settings, MockModel(default=disagree), NARRATIVE + moved)
    assert [c.part for c in out["calls"] if c.part.startswith("reread:")] == ["reread:proactive"]
    row = out["rows"]["proactive.regulations.in_force"]
    assert row.value == 12 and row.signals["other_value"] == 13
    assert row.signals["readers_agree"] == 0.0 and row.signals.get("doubt")
    assert row.status == FieldStatus.needs_review


def test_clean_tables_cost_no_second_reading(settings: Any) -> None:
    from structurer.llm.mock import MockModel

    model = MockModel(default=_answer_proactive([87]))
    out = _table_reader_pipeline(settings, model, NARRATIVE + TAB_2021)
    assert not [c for c in out["calls"] if c.part.startswith("reread:")]
    assert all(m.__name__ != "Table_proactive" for _, m in model.calls)


def test_own_pdf_reader_keeps_blank_cells_of_ruled_tables(pipeline: Any, tmp_path: Path) -> None:
    """Reports rendered to PDF with ruled tables, zeros printed blank and merged cells
    (bench/tables/corpus.py): our PDF reader gives every cell its column (tab rows from the
    ruling lines), so nothing is left to guess or to send to review for placement."""
    measure, pipe = pipeline
    sys.path.insert(0, str(REPO / "bench" / "tables"))
    from corpus import write_corpus

    from structurer.documents import read_document

    reports = write_corpus(tmp_path, 4, seed=5)
    assert any("blanks" in r.damage for r in reports)
    for rep in reports:
        text = read_document(tmp_path / f"{rep.name}.pdf").text
        assert "\t\t" in text  # blank cells kept as empty tab cells
        s = measure.score(pipe.table_rows(rep.name, text), rep.gold)
        assert s["right"] == s["cells"], (rep.name, rep.damage, s["errors"])
        assert s["right_to_review"] <= 5, (rep.name, s["right_to_review"])


# invented OCR damage: ruling lines read as "|" glued to the text, a bracket of the wrong shape
OCR_NOISE = "申请人情况 | 法人”| 其他组织|\n第二十条第 〈一) 项 |科研 机构| 总计\n"


def test_in_ocr_looking_text_only_cells_an_identity_confirms_are_trusted() -> None:
    """OCR misreads digits inside one number ("41" as "4") where no identity reaches: in a
    text that looks like OCR output, table 二's cells and the fee (no identities) are
    doubted; table 三's cells, confirmed by identities that hold, are not."""
    clean = read_tables(NARRATIVE + TAB_2021)
    assert not any("OCR" in (c.doubt or "") for c in clean.cells)
    ocr = read_tables(NARRATIVE + OCR_NOISE + TAB_2021)
    reasons = doubted(ocr)
    assert [c.value for c in ocr.cells] == [c.value for c in clean.cells]
    assert "OCR" in reasons["proactive.regulations.issued"]
    assert "OCR" in reasons["proactive.fees.amount_10k_yuan"]
    assert any(c.path == "requests.granted.natural_person" for c in ocr.cells)
    assert "requests.granted.natural_person" not in reasons


def test_ocr_signs_ignore_markdown_and_spaced_pipes() -> None:
    from structurer.tables.checks import ocr_signs

    markdown = "| 规章 | 1 | 0 | 12 |\n|---|---|---|---|\n| 行政许可 | 3 |\n" * 3
    spaced = "姓名 | 职务 | 电话 |\n某某 | 科员 | 12345 |\n" * 3
    assert ocr_signs(markdown) is None and ocr_signs(spaced) is None
    assert ocr_signs(OCR_NOISE) is not None


def test_blanks_of_several_rows_moving_together_are_found() -> None:
    """Three rows each print one number for two columns; the column sums (X + Y = Z) hold
    whether all three sit in the first column or all in the second. Moving one row, or
    two, breaks them, so only a joint search sees that the text does not decide."""
    from structurer.tables.cells import Slot, placements
    from structurer.tables.resolve import Resolver, joint_alternatives
    from structurer.tables.spec import ColumnSpec, Identity
    from structurer.tables.textmap import Token, TokenKind

    columns = (ColumnSpec("a", 0.6), ColumnSpec("b", 0.4))
    printed = {"t.x": 2.0, "t.y": 3.0, "t.z": 5.0}
    options = {
        row: placements([Slot(Token(TokenKind.number, f"{v:g}", 0, 1, " ", 0, v))], columns)
        for row, v in printed.items()
    }
    identities = [
        Identity(f"column {c}", (("t.z", c),), (("t.x", c), ("t.y", c))) for c in ("a", "b")
    ]
    resolver = Resolver({r: ["a", "b"] for r in printed}, options, set(), identities)
    choice, broken = resolver.solve()
    assert broken == []
    assert resolver.swaps(choice, 2.0) == []  # no pair of rows can move on its own
    other = joint_alternatives(resolver, choice, 2.0)
    assert set(other) == set(printed)
    for row, value in printed.items():
        chosen = options[row][choice[row]].values()
        alternative = other[row]
        assert alternative is not None
        assert sorted(v for v in alternative if v is not None) == [0.0, value]
        assert alternative == [chosen[1], chosen[0]]


def test_layout_text_of_pdf_converters_lines_up_one_column_per_character() -> None:
    """pdftotext -layout puts one character per grid column, CJK or not: a label of 3 CJK
    characters and one of 6 are followed by numbers at the same character column."""
    from structurer.tables.cells import Slot
    from structurer.tables.positions import cjk_width
    from structurer.tables.spec import ColumnSpec, RowSpec
    from structurer.tables.textmap import DisplayColumns, TokenKind, normalise, tokenize

    row = RowSpec("t.r", ("规章",), (ColumnSpec("a"), ColumnSpec("b"), ColumnSpec("c")))

    numbers = {"规章": "     1      0     12", "行政规范性文件": "     5      2     48"}
    # padded to 10 characters (a converter's grid) / to 20 display columns (typed)
    converter = "".join(f"{label:<10}{n}\n" for label, n in numbers.items())
    typed = "".join(f"{label}{' ' * (20 - 2 * len(label))}{n}\n" for label, n in numbers.items())
    for text, wide in ((converter, 1), (typed, 2)):
        tokens = [t for t in tokenize(normalise(text)) if t.kind == TokenKind.number]
        assert cjk_width(DisplayColumns(text), [(row, [Slot(t) for t in tokens])]) == wide


def test_rows_placed_by_identities_are_doubted_when_any_identity_of_the_table_breaks() -> None:
    """Two rows print their numbers without their blanks; the granted row's total is
    misprinted, so the table's identities do not all hold and the placement of the rows
    with blanks is not confirmed, even where their own identities hold."""
    text = NARRATIVE + TAB_2021
    for old, new in {
        "一、本年新收政府信息公开申请数量\t10\t2\t0\t0\t1\t0\t13": (
            "一、本年新收政府信息公开申请数量 10 2 1 13"
        ),
        "（七）总计\t10\t2\t0\t0\t1\t0\t13": "（七）总计 10 2 1 13",
        "（一）予以公开\t5\t1\t0\t0\t0\t0\t6": "（一）予以公开\t5\t1\t0\t0\t0\t0\t7",
    }.items():
        assert old in text
        text = text.replace(old, new)
    readout = read_tables(text)
    reasons = doubted(readout)
    for row in ("new_received", "total"):
        for col in ("natural_person", "commercial", "legal_services", "total"):
            assert "does not hold" in reasons[f"requests.{row}.{col}"]


def test_a_row_label_after_the_numbers_on_one_line_is_no_remark() -> None:
    """A converter ran two rows into one line: the bracketed item number that opens the
    next row's label is that row's label, not a remark of the number before it."""
    text = NARRATIVE + TAB_2021
    old = "（一）予以公开\t5\t1\t0\t0\t0\t0\t6\n\t（二）部分公开"
    assert old in text
    readout = read_tables(text.replace(old, "（一）予以公开 5 1 0 0 0 0 6 （二）部分公开"))
    assert values(readout) == expected()
    total = next(c for c in readout.cells if c.path == "requests.granted.total")
    assert total.evidence.quote == "6" and "remark" not in (total.note or "")


OCR_APPEALS = """\
四、政府信息公开行政复议、行政诉讼情况

行政复议       行政诉讼
未经复议直接起诉      复议后起诉
结果 | 结果 | 其他 | 尚未 | 忌计
维持 | 纠正 | 结果 | 审结 | 结果 | 结果 | 其他 | 尚未 | 澡计 | 结果 | 结果
维持 | 纠正 | 结 韦结 | 交 维持 。 | 纠正
3  1   4     2   2  1

五、存在的主要问题及改进情况
"""


def test_numbers_printed_after_where_a_tables_rows_were_cut_leave_no_silent_zero() -> None:
    """OCR garbled table 四's header: its rows are found but their parts of the text end
    before the line of numbers, so every cell reads blank; the numbers the table prints and
    no cell holds doubt every blank 0 (the identities hold for all zeros)."""
    text = NARRATIVE + TAB_2021.split("四、政府信息公开行政复议")[0] + OCR_APPEALS
    readout = read_tables(text)
    reasons = doubted(readout)
    appeals = [c for c in readout.cells if c.path.startswith("appeals.")]
    assert len(appeals) == 15 and all(c.value == 0 for c in appeals)
    assert all("numbers no cell holds" in reasons[c.path] for c in appeals)


# ---- what the tables say about the input, for the operator ---------------------------------

LOSSLESS = ("markitdown_docx", "markitdown_html", "structurer_html", "structurer_pdf")


@pytest.mark.parametrize("converter", CONVERTERS)
def test_a_document_says_when_its_conversion_lost_what_the_tables_need(converter: str) -> None:
    notes = [
        note
        for path in sorted((FIXTURES / converter).glob("*.txt"))
        for note in read_tables(
            path.read_text(encoding="utf-8"), ocr=converter == "structurer_ocr"
        ).notes
    ]
    if converter in LOSSLESS or converter == "pdftotext_layout":
        assert notes == []  # blanks kept as cells or as layout
    elif converter == "ocr":
        assert len(notes) == 2 and all("looks like OCR output" in n for n in notes)
    elif converter == "structurer_ocr":  # our own OCR of the scan: cells kept, digits doubted
        assert len(notes) == 2 and all("read by OCR from page images" in n for n in notes)
        assert not any("dropped blank cells" in n for n in notes)
    else:  # text without layout: blank cells are gone
        (note,) = notes
        assert note.startswith("tables (") and "cells doubted" in note
        assert "dropped blank cells" in note and "original PDF, DOCX or HTML" in note


def test_the_input_note_reaches_the_batch_result(tmp_path: Path, settings: Any) -> None:
    from structurer.batch.run import run_extraction
    from structurer.llm.client import LLMClient
    from structurer.llm.fake import FakeChatModel

    lossy = FIXTURES / "pdfplumber" / "r01_2019.txt"
    clean = FIXTURES / "structurer_html" / "r01_2019.txt"
    from gov_disclosure.record import Report
    from tests.gold_echo import gold_echo

    nothing = gold_echo(Report().model_dump(mode="json"))  # the model states nothing
    fake = FakeChatModel(nothing, logprob=-0.01)
    llm = LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)
    results = {
        r.path: r for r in run_extraction([str(lossy), str(clean)], settings, llm=llm).results
    }
    assert {r.status for r in results.values()} == {"ok"}, [r.error for r in results.values()]
    assert any("dropped blank cells" in n for n in results[str(lossy)].notes)
    assert results[str(clean)].notes == ()


def test_a_row_with_empty_cells_on_both_sides_keeps_the_cut_its_numbers_fit() -> None:
    """A 2019 table read from HTML (bench corpus, seed 103): "行政事业性收费 | | -1 |" and
    "政府集中采购 | | 61.66 |", one empty cell more than their two columns on each side. The
    leading one is the blank value: -1 is no count, 61.66 no number of projects."""
    case = FIXTURES.parent / "cases" / "html_2019_leading_blanks"
    gold = json.loads(case.with_suffix(".json").read_text(encoding="utf-8"))
    readout = read_tables(case.with_suffix(".txt").read_text(encoding="utf-8"))
    got = {c.path: c.value for c in readout.cells}
    assert {p: got[p] for p in gold} == gold
    assert (
        got["proactive.fees.change"] == -1 and got["proactive.procurement.amount_10k_yuan"] == 61.66
    )
    # and a count column that still holds a negative or a fraction is doubted
    from structurer.tables.checks import unfit_count
    from structurer.tables.spec import CellUnit
    from structurer.tables.textmap import Token, TokenKind

    def token(text: str, value: float) -> Token:
        return Token(TokenKind.number, text, 0, len(text), " ", 0, value)

    assert unfit_count(token("-1", -1), CellUnit.integer)
    assert unfit_count(token("61.66", 61.66), CellUnit.integer)
    assert unfit_count(token("-1", -1), CellUnit.signed_integer) is None
    assert unfit_count(token("61.66", 61.66), CellUnit.amount) is None
