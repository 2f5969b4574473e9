"""Section splitting on the real corpus, on damaged copies of it, and on made-up layouts."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from gov_disclosure.sections import SECTIONS, not_a_report
from structurer.core.report_type import SectionSpec
from structurer.core.types import Section
from structurer.documents import read_document, split_sections
from tests.conftest import CORPUS, needs_shared

needs_corpus = needs_shared()

# What the splitter finds on each real report: (section name, start of its heading).
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "dongsheng-township_2017": [
        ("overview", "一、东升乡基本概述"),
        ("proactive", "1、主动公开政府信息情况"),
        ("requests", "2、依申请公开政府信息"),
        ("appeals", "3、因政府信息公开申请行政复议"),
        ("fees", "5、政府信息公开的收费及减免情况"),
        ("problems", "三、存在的主要问题"),
        ("plans", "四、2018年工作安排"),
    ],
    "shuguang-town_2018": [
        ("overview", "一、基本情况"),
        ("proactive", "二、主动公开政府信息情况"),
        ("requests", "三、依申请公开政府信息情况"),
        ("appeals", "四、行政复议、诉讼和申述情况"),
        ("fees", "五、政府信息公开的收费和减免情况"),
        ("problems", "六、主要问题和改进措施"),
        ("plans", "六、主要问题和改进措施"),
    ],
    "tiande-township_2016": [
        ("overview", "一、 基本工作情况"),
        ("proactive", "二、主动公开政府信息情况"),
        ("responses", "三、回应解读情况"),
        ("requests", "四、依申请公开政府信息情况"),
        ("appeals", "五、行政复议、诉讼和举报投诉情况"),
        ("problems", "六、工作存在的主要问题"),
        ("plans", "六、工作存在的主要问题"),
    ],
    "wulanhua-town_2020": [
        ("overview", "总体情况"),
        ("proactive", "主动公开政府信息情况"),
        ("requests", "收到和处理政府信息公开申请情况"),
        ("appeals", "四、政府信息公开行政复议、行政诉讼情况"),
        ("problems", "五、存在的主要问题及改进情况"),
        ("plans", "五、存在的主要问题及改进情况"),
        ("other", "六、其他需要报告的事项"),
    ],
    "wulin-township_2018": [
        ("overview", "一、基本工作情况"),
        ("proactive", "二、主动公开政府信息情况"),
        ("responses", "三、回应解决情况"),
        ("requests", "四、依申请公开政府信息情况"),
        ("appeals", "五、行政复议诉讼和举报投诉情况"),
        ("organisation", "六、保障经费和培训会议情况"),
        ("problems", "八、存在问题及工作打算"),
        ("plans", "八、存在问题及工作打算"),
    ],
}


def names(sections: list[Section]) -> list[str]:
    return [s.name for s in sections if s.name != "preamble"]


def check_shape(text: str, sections: list[Section]) -> None:
    """Sections tile the text in order; each starts with its heading's first characters."""
    assert sections[0].start == 0
    assert sections[-1].end == len(text)
    for a, b in zip(sections, sections[1:], strict=False):
        assert a.end == b.start or (a.start, a.end) == (b.start, b.end)
    for s in sections:
        if s.name != "preamble":
            first = re.sub(r"\s+", "", s.heading)[:2]
            assert re.sub(r"\s+", "", text[s.start : s.start + 12]).startswith(first)


def corpus_text(stem: str) -> str:
    return read_document(CORPUS / f"{stem}.txt").text


@needs_corpus
@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_corpus(stem: str) -> None:
    text = corpus_text(stem)
    assert not_a_report(text) is None
    sections = split_sections(text, SECTIONS)
    check_shape(text, sections)
    assert sections[0].name == "preamble"
    found = [(s.name, s.heading) for s in sections[1:]]
    assert [n for n, _ in found] == [n for n, _ in EXPECTED[stem]]
    for (_, heading), (_, prefix) in zip(found, EXPECTED[stem], strict=True):
        assert heading.startswith(prefix)
        assert text.count(heading.split()[0])  # heading is quoted from the raw text


def _headings(text: str) -> list[str]:
    return [text[s.start :].split("\n", 1)[0] for s in split_sections(text, SECTIONS)[1:]]


def damage_split(text: str) -> str:
    """PDF-style: each heading line broken in two after its first few characters."""
    for line in set(_headings(text)):
        body = line.strip()
        cut = max(3, len(body) // 2)
        text = text.replace(line, body[:cut] + "\n" + body[cut:], 1)
    return text


def damage_numbering(text: str) -> str:
    """Top-level numbering lost (一、 / 1、 gone) but the heading kept on its own line."""
    for line in set(_headings(text)):
        bare = re.sub(r"^\s*(?:[一二三四五六七八九十]+、|\d+、)\s*", "", line)
        text = text.replace(line, bare, 1)
    return text


def damage_pages(text: str) -> str:
    """Page breaks with page numbers every 7 lines, CRLF line ends, full-width numbering."""
    lines = text.split("\n")
    out: list[str] = []
    for k, line in enumerate(lines, start=1):
        out.append(line)
        if k % 7 == 0:
            out.append(f"- {k // 7} -\f第 {k // 7 + 1} 页")
    damaged = "\r\n".join(out)
    return damaged.replace("、", "．").replace("（", "(").replace("一．", "一． ")


@needs_corpus
@pytest.mark.parametrize("stem", sorted(EXPECTED))
@pytest.mark.parametrize("damage", [damage_split, damage_numbering, damage_pages])
def test_corpus_damaged(stem: str, damage: object) -> None:
    assert callable(damage)
    text = damage(corpus_text(stem))
    sections = split_sections(text, SECTIONS)
    check_shape(text, sections)
    assert names(sections) == [n for n, _ in EXPECTED[stem]]


@needs_corpus
def test_corpus_pdf(tmp_path: Path) -> None:
    canvas_mod = pytest.importorskip("reportlab.pdfgen.canvas")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "tiande.pdf"
    pdf = canvas_mod.Canvas(str(path))
    y, page = 800, 1
    for line in corpus_text("tiande-township_2016").splitlines():
        while line:
            chunk, line = line[:36], line[36:]
            pdf.setFont("STSong-Light", 12)
            pdf.drawString(50, y, chunk)
            y -= 18
            if y < 60:
                pdf.setFont("STSong-Light", 10)
                pdf.drawString(290, 30, f"- {page} -")
                pdf.showPage()
                y, page = 800, page + 1
    pdf.save()
    doc = read_document(path)
    sections = split_sections(doc.text, SECTIONS)
    check_shape(doc.text, sections)
    assert names(sections) == [n for n, _ in EXPECTED["tiande-township_2016"]]


# --- made-up layouts ------------------------------------------------------------------------

BODY = "本部分正文，记录了若干工作情况和具体数字，共计十二项内容。\n"


def report(*headings: str, preamble: str = "某某局2021年政府信息公开工作年度报告\n") -> str:
    return preamble + "".join(h + "\n" + BODY for h in headings)


STANDARD = (
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
)
STANDARD_NAMES = ["overview", "proactive", "requests", "appeals", "problems", "plans", "other"]


def test_standard_headings_and_offsets() -> None:
    text = report(*STANDARD)
    sections = split_sections(text, SECTIONS)
    check_shape(text, sections)
    assert names(sections) == STANDARD_NAMES
    overview = sections[1]
    assert text[overview.start : overview.end] == "一、总体情况\n" + BODY
    assert overview.heading == "一、总体情况"


def test_table_of_contents_in_preamble_is_skipped() -> None:
    contents = "本报告包括以下内容：\n" + "\n".join(STANDARD) + "\n"
    text = report(*STANDARD, preamble="年度报告\n" + contents)
    sections = split_sections(text, SECTIONS)
    assert names(sections) == STANDARD_NAMES
    assert sections[0].name == "preamble" and "其他需要报告的事项" in text[: sections[0].end]


def test_mention_in_long_paragraph_is_not_a_heading() -> None:
    preamble = "本年报由总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况等部分组成，统计期限自1月1日起至12月31日止。\n"
    text = report(*STANDARD, preamble=preamble)
    sections = split_sections(text, SECTIONS)
    assert sections[1].heading == "一、总体情况"


def test_numbering_variants_and_markup() -> None:
    text = report(
        "## 一. 总 体 情 况",
        "**（二）主动公开政府信息情况**",
        "3、收到和处理政府信息公开申请情况",
        "第四部分 政府信息公开行政复议、行政诉讼情况",
        "五 存在的主要问题及整改措施",
        "六、其它需要报告的事项。",
    )
    sections = split_sections(text, SECTIONS)
    check_shape(text, sections)
    assert names(sections) == STANDARD_NAMES


def test_run_in_heading() -> None:
    text = (
        "年度报告\n一、总体情况。"
        + "2021年，我局认真贯彻条例，" * 5
        + "\n二、主动公开政府信息情况\n"
        + BODY
    )
    assert names(split_sections(text, SECTIONS)) == ["overview", "proactive"]


def test_number_alone_on_its_line() -> None:
    text = report("一、\n总体情况", "二、\n主动公开政府信息\n情况")
    assert names(split_sections(text, SECTIONS)) == ["overview", "proactive"]


def test_restarted_numbering_inside_a_table() -> None:
    table = "\t一、本年新收政府信息公开申请数量\t3\n\t三、本年度办理结果\n\t2.申请人逾期未按收费通知要求缴纳费用\t0\n"
    text = (
        report("一、总体情况", "三、收到和处理政府信息公开申请情况")
        + table
        + "四、其他需要报告的事项\n"
        + BODY
    )
    sections = split_sections(text, SECTIONS)
    assert names(sections) == ["overview", "requests", "other"]


def test_sub_heading_inside_a_found_section_is_not_split_off() -> None:
    subs = ("（一）收到申请情况。", "（二）申请办结情况。", "（三）申请答复情况。")
    text = report(
        "一、总体情况", "四、依申请公开政府信息情况", *subs, "（四）依申请公开信息收取费用0元。"
    )
    assert names(split_sections(text, SECTIONS)) == ["overview", "requests"]
    first_sub = report(
        "一、总体情况", "五、存在问题及工作打算", "（一）存在问题", "（二）下一步工作打算"
    )
    assert names(split_sections(first_sub, SECTIONS)) == ["overview", "problems", "plans"]


def test_legacy_headings() -> None:
    text = report(
        "一、基本工作情况",
        "二、主动公开政府信息情况",
        "三、回应解读情况",
        "四、依申请公开政府信息情况",
        "五、政府信息公开的收费及减免情况",
        "六、因政府信息公开申请行政复议、提起行政诉讼的情况",
        "七、机构建设、保障经费和培训会议情况",
        "八、存在的主要问题",
        "九、2022年工作打算",
    )
    assert names(split_sections(text, SECTIONS)) == [
        "overview", "proactive", "responses", "requests", "fees",
        "appeals", "organisation", "problems", "plans",
    ]  # fmt: skip


def test_missing_headings_give_partial_or_empty() -> None:
    text = report("二、主动公开政府信息情况", "五、存在的主要问题及改进情况")
    assert names(split_sections(text, SECTIONS)) == ["proactive", "problems", "plans"]
    assert split_sections("没有任何标题的一段文字。\n" * 5, SECTIONS) == []
    assert split_sections("", SECTIONS) == []


def test_engine_is_generic() -> None:
    specs = (SectionSpec("intro", (r"^Intro",)), SectionSpec("end", (r"^Conclusion",)))
    text = "Title\n1. Introduction\nbody\n2. Conclusion\nbody\n"
    sections = split_sections(text, specs)
    assert [(s.name, s.heading) for s in sections] == [
        ("preamble", ""),
        ("intro", "1. Introduction"),
        ("end", "2. Conclusion"),
    ]


def test_not_a_report() -> None:
    assert not_a_report("短文本") is not None
    assert "vocabulary" in (not_a_report("今天天气很好，我们去公园散步。" * 40) or "")
    assert "Chinese" in (not_a_report("lorem ipsum dolor sit amet " * 40) or "")
    assert not_a_report(report(*STANDARD) * 3 + "政府信息公开" * 20) is None


def test_ocr_and_punctuation_variants() -> None:
    text = report("—、总体情况", "二)主动公开政府信息情况", "- 三，收到和处理政府信息公开申请情况")
    assert names(split_sections(text, SECTIONS)) == ["overview", "proactive", "requests"]


def test_wrapped_paragraph_lines_are_not_headings() -> None:
    """PDF text wraps paragraphs at the margin: a short piece of a sentence is no heading."""
    paragraph = (
        "我镇严格按照条例要求，认真组织开展政府信息公开工作，全年共计\n"
        "主动公开政府信息情况\n"
        "良好，各项工作有序推进，群众满意度持续提高，取得了较好的效果。\n"
    )
    text = report("一、总体情况") + paragraph + "二、主动公开政府信息情况\n" + BODY
    sections = split_sections(text, SECTIONS)
    assert [(s.name, s.heading) for s in sections[1:]] == [
        ("overview", "一、总体情况"),
        ("proactive", "二、主动公开政府信息情况"),
    ]
    in_numbered = report("5、政府信息公开的收费及减免情况") + "2017年度未发生收费情况\n"
    assert split_sections(in_numbered, SECTIONS)[1].heading.startswith("5、")


def test_long_input_is_fast() -> None:
    import time

    text = report(*STANDARD) + (BODY * 3 + "（一）小标题\n1、条目\n") * 3000
    started = time.perf_counter()
    assert names(split_sections(text, SECTIONS)) == STANDARD_NAMES
    assert time.perf_counter() - started < 5


def test_letter_spaced_heading_is_not_a_table_row() -> None:
    text = report("一 、   总   体   情   况", "二、主动公开政府信息情况") + "规章    0    3\n"
    sections = split_sections(text, SECTIONS)
    assert names(sections) == ["overview", "proactive"]
    assert sections[1].heading == "一 、 总 体 情 况"


# --- random combinations of damage ----------------------------------------------------------


def damage_wrap(text: str, rng: random.Random) -> str:
    """PDF text: every paragraph broken at a right margin of 28-42 characters."""
    width = rng.randint(28, 42)
    out: list[str] = []
    for line in text.split("\n"):
        if "\t" in line or len(line) <= width:
            out.append(line)
        else:
            out.extend(line[k : k + width] for k in range(0, len(line), width))
    return "\n".join(out)


def damage_spaces(text: str, rng: random.Random) -> str:
    """Letter-spaced or indented headings."""
    for line in set(_headings(text)):
        body = line.strip()
        text = text.replace(line, " ".join(body) if rng.random() < 0.5 else f"   {body}  ", 1)
    return text


def damage_markdown(text: str, rng: random.Random) -> str:
    for line in set(_headings(text)):
        text = text.replace(line, rng.choice(["## ", "**", "### "]) + line.strip() + "**", 1)
    return text


def damage_page_breaks(text: str, rng: random.Random) -> str:
    out: list[str] = []
    for number, line in enumerate(text.split("\n")):
        out.append(line)
        if rng.random() < 0.08:
            out.append(rng.choice([f"- {number} -\f", f"\f第 {number} 页", f"{number}\f"]))
    return "\n".join(out)


def damage_split_at_random(text: str, rng: random.Random) -> str:
    for line in set(_headings(text)):
        body = line.strip()
        if len(body) >= 6:
            cut = rng.randint(3, len(body) - 2)
            text = text.replace(line, body[:cut] + "\n" + body[cut:], 1)
    return text


DAMAGES = (
    damage_wrap,
    damage_spaces,
    damage_markdown,
    damage_page_breaks,
    damage_split_at_random,
    lambda text, rng: damage_numbering(text),
    lambda text, rng: text.replace("\n", "\r\n"),
    lambda text, rng: text.replace("、", rng.choice(["．", ".", "、"])).replace("（", "("),
)


@needs_corpus
def test_random_combinations_of_damage() -> None:
    texts = [corpus_text(stem) for stem in sorted(EXPECTED)]
    texts.append((Path(__file__).resolve().parents[1] / "samples" / "sample_2021.txt").read_text())
    exact = total = 0
    for trial in range(15):
        for k, text in enumerate(texts):
            rng = random.Random(f"{trial}-{k}")
            want = names(split_sections(text, SECTIONS))
            damaged = text
            for damage in rng.sample(DAMAGES, rng.randint(1, 4)):
                damaged = damage(damaged, rng)
            sections = split_sections(damaged, SECTIONS)
            check_shape(damaged, sections)
            found = names(sections)
            assert set(found) <= set(want)  # damage may lose a heading, never invent one
            exact += found == want
            total += 1
    assert exact / total >= 0.9


def test_a_heading_about_hot_topics_is_not_the_problems_section() -> None:
    text = report("一、基本情况", "二、群众关心的热点问题回应情况", "三、存在的主要问题")
    sections = split_sections(text, SECTIONS)
    assert [(s.name, s.heading) for s in sections[1:]] == [
        ("overview", "一、基本情况"),
        ("responses", "二、群众关心的热点问题回应情况"),
        ("problems", "三、存在的主要问题"),
    ]
