"""Reading real files made here: encodings, HTML with tables, PDFs with and without text."""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structurer.documents import DocumentError, normalize, read_document

REPORT = (
    "某某镇2021年政府信息公开工作年度报告\r\n"
    "一、总体情况\r\n"
    "2021年，我镇认真贯彻《中华人民共和国政府信息公开条例》，主动公开政府信息１２３条。\r\n"
    "二、主动公开政府信息情况\r\n"
    "本年制发规章0件，行政规范性文件3件。\r\n"
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- text encodings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("gbk", b"", "gbk"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16-le"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be"),
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
    ],
)
def test_text_encodings(tmp_path: Path, encoding: str, bom: bytes, expected: str) -> None:
    data = bom + REPORT.encode(encoding)
    doc = read_document(write(tmp_path, "r.txt", data))
    assert doc.text == REPORT  # exactly as decoded: \r\n and full-width digits kept
    assert doc.encoding == expected
    assert doc.source_format == "txt"
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.name == "r.txt"


def test_gb18030_only_characters(tmp_path: Path) -> None:
    text = REPORT + "生僻字：𠀀𪚥，欧元符号€。\n"
    doc = read_document(write(tmp_path, "r.txt", text.encode("gb18030")))
    assert doc.text == text
    assert doc.encoding == "gb18030"


def test_unknown_extension_is_read_as_text(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "report.dat", REPORT.encode("gbk")))
    assert doc.text == REPORT
    assert doc.source_format == "txt"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b" \r\n\t\n", "empty"),
        ("blank16.txt", codecs.BOM_UTF16_LE + " \n".encode("utf-16-le"), "empty"),
        ("bin.txt", bytes(range(256)) * 8, "binary"),
        ("bad.txt", b"\xff\xfe\xfa" * 40 + "政府".encode("utf-16-le")[:3], "undecodable"),
        ("noise.txt", bytes([0x81, 0x20, 0xFF, 0x7F, 0x1B]) * 50, "undecodable"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(DocumentError, match=message) as info:
        read_document(path)
    text = str(info.value)
    assert str(path) in text and "\n" not in text


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not found"):
        read_document(tmp_path / "nope.txt")
    with pytest.raises(DocumentError, match="directory"):
        read_document(tmp_path)


# --- HTML -----------------------------------------------------------------------------------

HTML = """<?xml version="1.0" encoding="gbk"?>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>年度报告</title><style>p {{ color: red }}</style>
<script>var x = "一、总体情况";</script></head>
<body>
<h1>某某镇2021年政府信息公开工作年度报告</h1>
<p>一、总体情况</p><p>本年度主动公开信息<b>123</b>条。<br>第二行。</p>
<div>二、主动公开政府信息情况</div>
<table border="1">
<tr><td rowspan="2">信息内容</td><td colspan="2">本年</td><td>现行有效件数</td></tr>
<tr><td>制发件数</td><td>废止件数</td><td>有效</td></tr>
<tr><td><p>规章</p></td><td>0</td><td></td><td>3</td></tr>
<tr><td>行政规范性文件</td><td>12</td><td>1</td><td>40</td></tr>
</table>
<!-- a comment -->
<p>三、收到和处理政府信息公开申请情况</p>
</body></html>
"""


def test_html_with_table(tmp_path: Path) -> None:
    path = write(tmp_path, "r.html", HTML.format().encode("gbk"))
    doc = read_document(path)
    assert doc.source_format == "html"
    assert doc.encoding == "gbk"
    lines = doc.text.split("\n")
    assert lines[0] == "某某镇2021年政府信息公开工作年度报告"
    assert "一、总体情况" in lines
    assert "本年度主动公开信息123条。" in lines and "第二行。" in lines
    assert "信息内容\t本年\t\t现行有效件数" in lines
    assert "\t制发件数\t废止件数\t有效" in lines  # rowspan leaves an empty cell
    assert "规章\t0\t\t3" in lines  # blank cell kept
    assert "行政规范性文件\t12\t1\t40" in lines
    assert "var x" not in doc.text and "color" not in doc.text and "comment" not in doc.text
    assert lines[-1] == "三、收到和处理政府信息公开申请情况"


def test_html_layout_table_is_rendered_as_blocks(tmp_path: Path) -> None:
    html = (
        "<html><body><table><tr><td><p>一、总体情况</p><p>正文。</p></td></tr>"
        "<tr><td>二、主动公开政府信息情况</td></tr></table></body></html>"
    )
    doc = read_document(write(tmp_path, "r.htm", html.encode("utf-8")))
    assert doc.text.split("\n") == ["一、总体情况", "正文。", "二、主动公开政府信息情况"]


def test_html_without_text(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no text"):
        read_document(write(tmp_path, "r.html", b"<html><body><script>x()</script></body></html>"))


# --- PDF ------------------------------------------------------------------------------------


def make_pdf(path: Path, pages: list[list[str]]) -> None:
    canvas_mod = pytest.importorskip("reportlab.pdfgen.canvas")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas_mod.Canvas(str(path))
    for number, lines in enumerate(pages, start=1):
        y = 800
        for line in lines:
            x = 50
            for cell in line.split("|"):
                pdf.setFont("STSong-Light", 12)
                pdf.drawString(x, y, cell)
                x += 130
            y -= 20
        pdf.setFont("STSong-Light", 10)
        pdf.drawString(290, 40, f"- {number} -")
        pdf.showPage()
    pdf.save()


def test_pdf_with_chinese_text_and_table(tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    make_pdf(
        path,
        [
            ["某某镇2021年政府信息公开工作年度报告", "一、总体情况", "本年度主动公开信息123条。"],
            [
                "二、主动公开政府信息情况",
                "信息内容|本年制发件数|本年废止件数|现行有效件数",
                "规章||0|3",
                "行政规范性文件|12|1|40",
            ],
        ],
    )
    doc = read_document(path)
    assert doc.source_format == "pdf" and doc.encoding is None
    pages = doc.text.split("\f")
    assert len(pages) == 2
    assert "一、总体情况" in pages[0] and "本年度主动公开信息123条。" in pages[0]
    rows = [line.split() for line in pages[1].split("\n")]
    assert ["行政规范性文件", "12", "1", "40"] in rows
    # the blank cell stays visible as a wide gap: 0 sits under the third column, not the second
    blank_row = next(line for line in pages[1].split("\n") if line.lstrip().startswith("规章"))
    header = next(line for line in pages[1].split("\n") if "本年废止件数" in line)
    assert abs(blank_row.index("0") - header.index("本年废止件数")) < 4
    norm = normalize(doc.text)
    assert "- 1 -" not in norm.text and "- 2 -" not in norm.text


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    canvas_mod = pytest.importorskip("reportlab.pdfgen.canvas")
    from PIL import Image

    scan = tmp_path / "scan.png"
    Image.new("L", (200, 280), color=200).save(scan)
    path = tmp_path / "scanned.pdf"
    pdf = canvas_mod.Canvas(str(path))
    pdf.drawImage(str(scan), 50, 300, width=400, height=500)
    pdf.showPage()
    pdf.save()
    with pytest.raises(DocumentError, match="scanned.pdf: OCR found no text on the scanned pages"):
        read_document(path)


def test_broken_pdf(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not a readable PDF"):
        read_document(write(tmp_path, "r.pdf", b"%PDF-1.4\n" + b"garbage " * 100))


# --- normalisation and offsets --------------------------------------------------------------


def test_normalize_folds_and_drops_page_numbers() -> None:
    raw = "一、总体情况\r\n公开１２３条（含ＡＢＣ）。  \r\n- 3 -\f第 4 页\n⼀、\u3000主动公开\n"
    norm = normalize(raw)
    assert norm.text == "一、总体情况\n公开123条(含ABC)。\n一、 主动公开\n"
    start = norm.text.index("123")
    assert raw[slice(*norm.span_to_raw(start, start + 3))] == "１２３"
    heading = norm.text.index("一、 主动")
    assert raw[slice(*norm.span_to_raw(heading, heading + 7))] == "⼀、\u3000主动公开"
    assert norm.to_raw(len(norm.text)) == len(raw)


def test_bare_number_is_a_page_number_only_next_to_a_page_break() -> None:
    norm = normalize("表\n\t0\n0\n末行\n12\f下一页\n")
    assert norm.text == "表\n\t0\n0\n末行\n下一页\n"


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list("政府信息公开一二三、（）()１２3ＡaＢ \u3000\t\r\n\f-第页\u200b\ufeff⼀㈠①ﬁ")
        ),
        max_size=80,
    )
)
def test_offsets_round_trip(raw: str) -> None:
    import unicodedata

    norm = normalize(raw)
    assert norm.to_raw(len(norm.text)) == len(raw)
    previous = 0
    for i, ch in enumerate(norm.text):
        start, end = norm.span_to_raw(i, i + 1)
        assert previous <= start < end <= len(raw)
        previous = start
        source = raw[start:end]
        if ch == "\n":
            assert source in ("\n", "\r\n", "\r", "\f")
        else:
            assert ch in unicodedata.normalize("NFKC", source)
    for a in range(len(norm.text) + 1):
        for b in range(a, min(len(norm.text), a + 5) + 1):
            ra, rb = norm.span_to_raw(a, b)
            assert 0 <= ra <= rb <= len(raw)


def test_a_few_damaged_bytes_are_tolerated(tmp_path: Path) -> None:
    data = (REPORT * 5).encode("gbk")
    data = data[:100] + b"\xff" + data[100:]
    doc = read_document(write(tmp_path, "r.txt", data))
    assert doc.encoding == "gb18030"
    assert doc.text.count("\ufffd") == 1 and "主动公开政府信息情况" in doc.text


def test_html_page_layout_table_keeps_lines(tmp_path: Path) -> None:
    long_text = "本年度我局认真贯彻落实条例，" * 30
    html = (
        "<html><body><table><tr><td>导航</td><td>"
        f"<p>一、总体情况</p><p>{long_text}</p>"
        "<table><tr><td>规章</td><td>0</td></tr></table>"
        "<p>二、主动公开政府信息情况</p></td></tr></table></body></html>"
    )
    doc = read_document(write(tmp_path, "r.html", html.encode("utf-8")))
    lines = doc.text.split("\n")
    assert "一、总体情况" in lines and "二、主动公开政府信息情况" in lines
    assert "规章\t0" in lines


def test_password_protected_pdf(tmp_path: Path) -> None:
    canvas_mod = pytest.importorskip("reportlab.pdfgen.canvas")
    path = tmp_path / "locked.pdf"
    pdf = canvas_mod.Canvas(str(path), encrypt="secret")
    pdf.drawString(50, 700, "annual report")
    pdf.showPage()
    pdf.save()
    with pytest.raises(DocumentError, match="password-protected"):
        read_document(path)


def test_pdf_fake_bold_is_not_doubled(tmp_path: Path) -> None:
    canvas_mod = pytest.importorskip("reportlab.pdfgen.canvas")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "bold.pdf"
    pdf = canvas_mod.Canvas(str(path))
    pdf.setFont("STSong-Light", 16)
    for dx in (0.0, 0.4):  # a heading printed twice: fake bold
        pdf.drawString(50 + dx, 780, "一、总体情况")
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(50, 750, "正文内容。")
    pdf.showPage()
    pdf.save()
    assert read_document(path).text.split("\n")[0] == "一、总体情况"


def _ruled_pdf(path: Path, beside: str | None) -> None:
    """A ruled 3x4 table (a blank cell in the middle), text above and below; optionally a
    note printed beside the table."""
    canvas_mod = pytest.importorskip("reportlab.pdfgen.canvas")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas_mod.Canvas(str(path))
    pdf.setFont("STSong-Light", 11)
    pdf.drawString(60, 780, "二、主动公开政府信息情况")
    xs, ys = [60, 200, 280, 360, 440], [760, 740, 720, 700]
    pdf.grid(xs, ys)
    rows = [
        ["信息内容", "本年制发", "本年废止", "现行有效"],
        ["规章", "4", "", "9"],
        ["规范性文件", "7", "1", "30"],
    ]
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            pdf.drawString(xs[c] + 4, ys[r] - 14, cell)
    if beside:
        pdf.drawString(460, 725, beside)
    pdf.drawString(60, 680, "三、收到和处理政府信息公开申请情况")
    pdf.showPage()
    pdf.save()


def test_pdf_ruled_table_rows_keep_blank_cells(tmp_path: Path) -> None:
    path = tmp_path / "ruled.pdf"
    _ruled_pdf(path, None)
    lines = read_document(path).text.split("\n")
    assert "规章\t4\t\t9" in lines and "规范性文件\t7\t1\t30" in lines
    assert lines.index("二、主动公开政府信息情况") < lines.index("规章\t4\t\t9")
    assert lines.index("规章\t4\t\t9") < lines.index("三、收到和处理政府信息公开申请情况")


def test_pdf_text_beside_a_ruled_table_is_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "beside.pdf"
    _ruled_pdf(path, "注：单位件")
    text = read_document(path).text
    assert "注：单位件" in text and "规范性文件" in text and "\t" not in text
