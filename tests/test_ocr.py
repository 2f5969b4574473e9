"""Scans read by OCR (`structurer.documents.ocr`), with the real tesseract from Debian.

The reports are the converter corpus's (bench/tables/corpus.py, invented figures): rendered
to PDF, rasterised at 300 dpi and wrapped as an image-only PDF, which is what a scanner
gives. The tables must come back cell by cell, blank cells in their columns.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

from structurer.documents import DocumentError, read_document
from structurer.documents.ocr import _Word, cell_text
from tests.test_table_checks import _measure

REPO = Path(__file__).resolve().parents[1]


def _scan(pdf: Path, out: Path, dpi: int = 300) -> list[Any]:
    """The PDF's pages as images, saved as an image-only PDF (no text layer) at `out`."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    pages = [doc[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(doc))]
    doc.close()
    pages[0].save(out, save_all=True, append_images=pages[1:], resolution=dpi)
    return pages


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, list[Any], Path]:
    sys.path.insert(0, str(REPO / "bench" / "tables"))
    from corpus import write_corpus

    tmp = tmp_path_factory.mktemp("scans")
    reports = write_corpus(tmp, 2, seed=5)
    measure = _measure()
    pipe = measure.Pipeline.make(tmp_path_factory.mktemp("data"))
    return measure, pipe, reports, tmp


def test_scanned_pdf_tables_are_read_cell_by_cell(scanned: Any) -> None:
    """Both formats (2021 and 2019): the scan's text has no layer to read, so it is OCR'd;
    its tables come back as tab rows (blank cells kept), read like the born-digital PDF,
    with no wrong cell auto-accepted and no silent 0."""
    measure, pipe, reports, tmp = scanned
    assert {r.fmt for r in reports} == {"2019", "2021"}
    for rep in reports:
        scan = tmp / f"{rep.name}_scan.pdf"
        _scan(tmp / f"{rep.name}.pdf", scan)
        doc = read_document(scan)
        assert doc.source_format == "scan"
        assert "\t\t" in doc.text  # blank cells kept in their columns
        assert "年度报告" in doc.text.split("\n")[0]
        s = measure.score(pipe.table_rows(rep.name, doc.text, doc.source_format), rep.gold)
        assert s["confident_errors"] == 0, (rep.name, s["errors"])
        assert s["silent_zeros"] == 0
        assert s["right"] / s["cells"] >= 0.97, (rep.name, s["right"], s["cells"], s["errors"])


def test_page_image_is_read(scanned: Any) -> None:
    """A page given as an image file (a phone photo or a scanner's PNG) is read by OCR."""
    _, _, reports, tmp = scanned
    pages = _scan(tmp / f"{reports[0].name}.pdf", tmp / "first_scan.pdf")
    image = tmp / "page1.png"
    pages[0].save(image)
    doc = read_document(image)
    assert doc.source_format == "image" and doc.encoding is None
    assert doc.notes == ("a page image: read by OCR",)
    assert "政府信息公开" in doc.text


def test_blank_scan_is_refused_in_words(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "blank.pdf"
    Image.new("L", (800, 1100), color=255).save(path)
    with pytest.raises(DocumentError, match=r"blank\.pdf: OCR found no text"):
        read_document(path)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000), color=1).save(bomb)  # a few kB on disk
    with pytest.raises(
        DocumentError, match=r"bomb\.png: image has over 150 million pixels.*refused"
    ):
        read_document(bomb)
    junk = tmp_path / "photo.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not an image" * 10)
    with pytest.raises(DocumentError, match=r"photo\.png: not a readable image"):
        read_document(junk)


def test_missing_tesseract_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without tesseract on PATH the scan is refused with what to install, not a trace."""
    from PIL import Image

    path = tmp_path / "scan.png"
    buf = io.BytesIO()
    Image.new("L", (400, 300), color=255).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        DocumentError, match=r"scan\.png: scanned pages need OCR, but tesseract is not installed"
    ):
        read_document(path)


def _word(text: str, conf: float) -> _Word:
    return _Word(0, 0, 10, 10, text, conf)


@pytest.mark.parametrize(
    ("labels", "digits", "expected"),
    [
        ([[_word("自然人", 95)]], [[_word("8", 30)], []], "自然人"),  # Chinese read with confidence
        ([[_word("工", 0)]], [[_word("1", 95)], [_word("1", 88)]], "1"),  # chi_sim's lone "1"
        ([[_word("]", 40)]], [[_word("11", 39)], [_word("11", 21)]], "11"),  # two agree
        ([[_word("56", 90)]], [[_word("96", 90)], [_word("56", 80)]], "56"),  # majority
        ([[_word("35", 90)]], [[_word("39", 90)], [_word("38", 80)]], "35"),  # no majority
        ([[_word("5", 90)]], [[_word("8", 60)], [_word("8", 50)], [_word("5", 40)]], "5"),  # tie
        ([[]], [[_word("7", 40)], [_word("2", 30)]], "?"),  # ink, no sure reading: not blank
        ([[_word("或", 80)]], [[_word("3", 90)], [_word("3", 70)]], "3"),  # a speckled lone 3
        ([[_word("其他", 90)]], [[_word("3", 90)], [_word("3", 70)]], "其他"),  # a label
    ],
)
def test_cell_reading_votes(
    labels: list[list[_Word]], digits: list[list[_Word]], expected: str
) -> None:
    assert cell_text(labels, digits) == expected


def test_told_ocr_the_reader_trusts_only_what_an_identity_confirms() -> None:
    """A text the product read by OCR is treated as OCR whatever it looks like. An identity
    whose non-zero cells print one number (a total equal to its one non-zero part) confirms
    nothing: the same digits are misread the same way, and it still holds."""
    from gov_disclosure.tables import read_tables
    from tests.test_tables import NARRATIVE, TAB_2021

    clean = {c.path: c for c in read_tables(NARRATIVE + TAB_2021).cells}
    told = {c.path: c for c in read_tables(NARRATIVE + TAB_2021, ocr=True).cells}
    assert {p: c.value for p, c in told.items()} == {p: c.value for p, c in clean.items()}
    assert not any(c.doubt for c in clean.values())
    for path in ("proactive.regulations.issued", "proactive.fees.amount_10k_yuan"):
        assert "read by OCR from page images" in (told[path].doubt or "")  # no identity
    # 1 + 0 + 0 + 1 = 2: two different numbers agree
    assert told["appeals.reconsideration.upheld"].doubt is None
    # 0 + 1 + 0 + 0 = 1: the total only repeats its part
    for key in ("corrected", "total"):
        assert "read by OCR" in (
            told[f"appeals.litigation_after_reconsideration.{key}"].doubt or ""
        )


def test_skewed_jpeg_scan_is_straightened(scanned: Any) -> None:
    """A page scanned crooked (1.5 degrees) and saved as JPEG: the page is turned straight
    before its ruling lines are looked for (half a degree already breaks the grid)."""
    import cv2
    import numpy as np
    from PIL import Image

    from structurer.documents.ocr import skew_angle

    measure, pipe, reports, tmp = scanned
    rep = reports[0]
    pages = []
    for page in _scan(tmp / f"{rep.name}.pdf", tmp / "straight.pdf"):
        img = np.asarray(page.convert("L"))
        h, w = img.shape
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), 1.5, 1.0)
        pages.append(cv2.warpAffine(img, turn, (w, h), borderValue=255))
    assert abs(skew_angle(pages[0]) + 1.5) <= 0.1
    crooked = [Image.fromarray(p) for p in pages]
    path = tmp / "crooked.pdf"
    crooked[0].save(path, save_all=True, append_images=crooked[1:], resolution=300, quality=70)
    doc = read_document(path)
    assert doc.source_format == "scan"
    assert doc.notes == ("no text layer: read by OCR from the page images",)
    s = measure.score(pipe.table_rows(rep.name, doc.text, doc.source_format), rep.gold)
    assert s["confident_errors"] == 0 and s["silent_zeros"] == 0, s["errors"]
    assert s["right"] / s["cells"] >= 0.97, (s["right"], s["cells"])


def test_told_ocr_a_tab_row_does_not_take_the_next_lines_numbers() -> None:
    """OCR garbled a row's label; the row before it printed blank. Its numbers are on the
    next line, and every identity holds whichever of the two rows they go to: under OCR the
    row that took them is doubted, not auto-accepted."""
    from gov_disclosure.tables import read_tables
    from tests.test_tables import NARRATIVE, TAB_2021

    garbled = TAB_2021.replace("1.本机关不掌握相关政府信息", "关信").replace(
        "\t\t8.属于行政查询事项\t0\t0\t0\t0\t0\t0\t0", "\t\t8.属于行政查询事项\t\t\t\t\t\t\t"
    )
    assert garbled.count("关信") == 1 and "查询事项\t\t\t" in garbled
    told = {c.path: c for c in read_tables(NARRATIVE + garbled, ocr=True).cells}
    moved = [c for p, c in told.items() if p.startswith("requests.withheld_query_matters.")]
    assert any(c.value for c in moved)  # the next line's numbers were taken...
    assert all("not on its label's line" in (c.doubt or "") for c in moved)  # ...and doubted
