"""Synthetic reports with known table cells, as the documents people really publish: PDF
(reportlab: ruled tables, merged header cells, labels wrapping inside their cells, table 三
across a page break, table 四 on its own page), DOCX (python-docx, merged cells) and HTML
(rowspan/colspan). `convert.py` turns them back into text with real converters.

The numbers are invented, satisfy every identity of the tables and put a non-zero cell in
every block; labels carry the typos and merged cells real reports have (format.md §6).

    .venv/bin/python bench/tables/corpus.py --out /tmp/corpus --n 6
writes <name>.pdf/.docx/.html and <name>.json ({"format", "gold": {path: value}, "damage"}).
"""

from __future__ import annotations

import argparse
import html
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_variants import (  # noqa: E402
    APPEAL_GROUPS,
    APPEAL_PARTS,
    PRO_BLOCKS,
    PRO_COLUMNS,
    PRO_LABELS,
    REQUEST_COLUMNS,
    REQUEST_ROWS,
    RESULT_ROWS,
    fmt_value,
    synth_appeals,
    synth_proactive,
    synth_requests,
)

FONT = "STSong-Light"  # reportlab's built-in CID font (Adobe-GB1); needs poppler-data to render
# the groups of table 三's result rows: a block whose cells must not all be 0
REQUEST_BLOCKS = {
    "withheld": [r for r in RESULT_ROWS if r.startswith("withheld_")],
    "unavailable": [r for r in RESULT_ROWS if r.startswith("unavailable_")],
    "rejected": [r for r in RESULT_ROWS if r.startswith("rejected_")],
    "other": ["other_no_correction", "other_no_fee", "other_misc"],
}
TYPOS = {  # characters real reports drop or misprint in row labels
    "属于国家秘密": "属国家秘密",
    "其他法律行政法规禁止公开": "其它法律行政法规禁止公开",
    "保护第三方合法权益": "保护第三方合法权",
    "本机关不掌握相关政府信息": "本机关不掌握相关信息",
    "没有现成信息需要另行制作": "没有现成信息需另行制作",
    "要求提供公开出版物": "要求提供公开出版",
    "上年结转政府信息公开申请数量": "上年结转政府公开申请数量",
    "结转下年度继续办理": "结转下年度继续办",
}


@dataclass
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1


@dataclass
class Grid:
    """A table as printed: rows of cells; a spanned position is absent from later rows."""

    title: str
    width: int
    rows: list[list[Cell | None]] = field(default_factory=list)  # None: covered by a span
    header_rows: int = 0

    def add(self, *cells: Cell) -> None:
        """Append a row; positions covered by earlier rowspans are skipped automatically."""
        r = len(self.rows)
        row: list[Cell | None] = [None] * self.width
        covered = self._covered(r)
        col = 0
        for cell in cells:
            while col < self.width and col in covered:
                col += 1
            row[col] = cell
            col += cell.colspan
        self.rows.append(row)

    def _covered(self, r: int) -> set[int]:
        out: set[int] = set()
        for pr, row in enumerate(self.rows):
            col = 0
            while col < self.width:
                cell = row[col]
                if cell is not None:
                    if pr + cell.rowspan > r:
                        out.update(range(col, col + cell.colspan))
                    col += cell.colspan
                else:
                    col += 1
        return out


@dataclass
class Report:
    name: str
    fmt: str
    damage: list[str]
    gold: dict[str, Any]
    before: list[str]  # paragraphs before the tables
    tables: list[Grid]
    after: list[str]


# ---- numbers ----------------------------------------------------------------------------


def _nonzero_requests(rng: random.Random) -> dict[str, dict[str, int]]:
    req = synth_requests(rng)
    for rows in REQUEST_BLOCKS.values():
        if all(req[r][c] == 0 for r in rows for c in REQUEST_COLUMNS):
            req[rng.choice(rows)][rng.choice(REQUEST_COLUMNS[:3])] = rng.randint(1, 4)
    for extra in ("carried_over", "carried_forward"):
        if all(req[extra][c] == 0 for c in REQUEST_COLUMNS):
            req[extra]["natural_person"] = rng.randint(1, 3)
    for col in REQUEST_COLUMNS:  # totals and the balance again after the changes
        req["total"][col] = sum(req[r][col] for r in RESULT_ROWS)
        fwd, over = req["carried_forward"][col], req["carried_over"][col]
        if over > req["total"][col] + fwd:
            req["carried_over"][col] = over = 0
        req["new_received"][col] = req["total"][col] + fwd - over
    for row in req.values():
        row["total"] = sum(row[c] for c in REQUEST_COLUMNS)
    return req


def _nonzero_appeals(rng: random.Random) -> dict[str, dict[str, int]]:
    app = synth_appeals(rng)
    for g in APPEAL_GROUPS:
        if app[g]["total"] == 0:
            app[g][rng.choice(APPEAL_PARTS[:4])] = rng.randint(1, 4)
            app[g]["total"] = sum(app[g][p] for p in APPEAL_PARTS[:4])
    return app


def _nonzero_proactive(rng: random.Random, fmt: str) -> dict[str, dict[str, float]]:
    pro = synth_proactive(rng, fmt)
    for row, keys in PRO_COLUMNS[fmt].items():
        if all(pro[row][k] == 0 for k in keys):
            pro[row][keys[0]] = rng.randint(1, 9)
    return pro


# ---- tables -----------------------------------------------------------------------------


def _label(text: str, typos: bool, rng: random.Random) -> str:
    if typos:
        for right, wrong in TYPOS.items():
            if right in text and rng.random() < 0.5:
                return text.replace(right, wrong)
    return text


def _value(v: float, blanks: bool, remarks: bool, rng: random.Random) -> str:
    if v == 0 and blanks:
        return ""
    s = fmt_value(v)
    if remarks and v and rng.random() < 0.08:
        s += rng.choice(["件", "（含转办1件）"])
    return s


def proactive_grid(fmt: str, pro: dict[str, Any], gold: dict[str, Any], opts: set[str]) -> Grid:
    g = Grid("二、主动公开政府信息情况", 4)
    for block, cols, rows in PRO_BLOCKS[fmt]:
        g.add(Cell(block, colspan=4))
        span = 3 - len(cols)  # the last column spans the free ones
        g.add(Cell("信息内容"), *[Cell(c) for c in cols[:-1]], Cell(cols[-1], colspan=1 + span))
        for row in rows:
            keys = PRO_COLUMNS[fmt][row]
            label = (
                "规范性文件" if fmt == "2019" and row == "normative_documents" else PRO_LABELS[row]
            )
            vals = [fmt_value(pro[row][k]) for k in keys]
            if "blanks" in opts:
                vals = ["" if v == "0" else v for v in vals]
            g.add(Cell(label), *[Cell(v) for v in vals[:-1]], Cell(vals[-1], colspan=1 + span))
            gold.update({f"proactive.{row}.{k}": pro[row][k] for k in keys})
    return g


def requests_grid(
    req: dict[str, Any], gold: dict[str, Any], opts: set[str], single_six: bool, rng: random.Random
) -> Grid:
    g = Grid("三、收到和处理政府信息公开申请情况", 10, header_rows=3)
    g.add(
        Cell("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3),
        Cell("申请人情况", colspan=7),
    )
    g.add(Cell("自然人", rowspan=2), Cell("法人或其他组织", colspan=5), Cell("总计", rowspan=2))
    g.add(*[Cell(h) for h in ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]])
    cols = [*REQUEST_COLUMNS, "total"]
    typos, blanks, remarks = "typos" in opts, "blanks" in opts, "remarks" in opts
    n_results = 20 if single_six else 22
    groups = {"（三）不予公开": 8, "（四）无法提供": 3, "（五）不予处理": 5, "（六）其他处理": 3}
    merge_group = "merged" in opts  # a group's label merged into its first sub-row's cell
    own_group_cell = 0  # sub-rows after a merged one: an empty group cell of their own
    for key, labels in REQUEST_ROWS:
        if single_six and key in ("other_no_correction", "other_no_fee"):
            continue
        values = dict(req[key])
        if single_six and key == "other_misc":
            labels = ["", "（六）其他处理"]
            six = ("other_no_correction", "other_no_fee", "other_misc")
            values = {c: sum(req[r][c] for r in six) for c in cols}
        gold.update({f"requests.{key}.{c}": values[c] for c in cols})
        vals = [Cell(_value(values[c], blanks, remarks, rng)) for c in cols]
        head = []
        if len(labels) == 1:
            head = [Cell(_label(labels[0], typos, rng), colspan=3)]
        else:
            if labels[0]:
                head.append(Cell(labels[0], rowspan=n_results))
            if len(labels) == 2:
                head.append(Cell(_label(labels[1], typos, rng), colspan=2))
            else:
                group, sub = labels[1], _label(labels[2], typos, rng)
                if group and merge_group:
                    head.append(Cell(f"{group}{sub}", colspan=2))
                    merge_group, own_group_cell = False, groups[group] - 1
                elif group:
                    head.extend([Cell(group, rowspan=groups[group]), Cell(sub)])
                elif own_group_cell:
                    head.extend([Cell(""), Cell(sub)])
                    own_group_cell -= 1
                else:
                    head.append(Cell(sub))
        g.add(*head, *vals)
    return g


def appeals_grid(app: dict[str, Any], gold: dict[str, Any], opts: set[str]) -> Grid:
    g = Grid("四、政府信息公开行政复议、行政诉讼情况", 15, header_rows=3)
    g.add(Cell("行政复议", colspan=5), Cell("行政诉讼", colspan=10))
    parts = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    g.add(
        *[Cell(p, rowspan=2) for p in parts],
        Cell("未经复议直接起诉", colspan=5),
        Cell("复议后起诉", colspan=5),
    )
    g.add(*[Cell(p) for p in parts * 2])
    vals = [app[gr][p] for gr in APPEAL_GROUPS for p in APPEAL_PARTS]
    g.add(*[Cell("" if v == 0 and "blanks" in opts else fmt_value(v)) for v in vals])
    gold.update({f"appeals.{gr}.{p}": app[gr][p] for gr in APPEAL_GROUPS for p in APPEAL_PARTS})
    return g


BEFORE = [
    "某某市某某局{year}年政府信息公开工作年度报告",
    "本报告根据《中华人民共和国政府信息公开条例》要求编制。报告中所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。",
    "一、总体情况",
    "{year}年，我局认真贯彻落实政务公开各项工作要求，全年主动公开政府信息{n1}条，办理依申请公开{n2}件，组织培训{n3}次。",
    "（一）主动公开。围绕重点领域做好信息发布，更新政策文件{n4}件。",
    "（二）依申请公开。严格按照法定时限答复，未发生逾期答复情况。",
]
AFTER = [
    "五、存在的主要问题及改进情况",
    "一是信息更新的及时性还需提高，{n5}个栏目更新较慢；二是解读形式较单一。下一步将加强培训，每年不少于{n6}次。",
    "六、其他需要报告的事项",
    "本年度未收取信息处理费。本机关{year}年度政务公开工作要点落实情况已在门户网站公布。",
]


def make_report(name: str, fmt: str, rng: random.Random) -> Report:
    opts = {d for d in ("typos", "merged", "blanks", "remarks") if rng.random() < 0.5}
    single_six = fmt == "2019" or rng.random() < 0.2
    if single_six and fmt == "2021":
        opts.add("single_six")
    gold: dict[str, Any] = {}
    tables = [
        proactive_grid(fmt, _nonzero_proactive(rng, fmt), gold, opts),
        requests_grid(_nonzero_requests(rng), gold, opts, single_six, rng),
        appeals_grid(_nonzero_appeals(rng), gold, opts),
    ]
    year = 2020 if fmt == "2019" else rng.choice([2021, 2022, 2023])
    nums = {f"n{i}": rng.randint(2, 300) for i in range(1, 7)}
    before = [p.format(year=year, **nums) for p in BEFORE]
    after = [p.format(year=year, **nums) for p in AFTER]
    return Report(name, fmt, sorted(opts), gold, before, tables, after)


# ---- HTML -------------------------------------------------------------------------------


def to_html(rep: Report) -> str:
    out = ['<!DOCTYPE html><html><head><meta charset="utf-8"><title>年度报告</title></head><body>']
    out += [f"<p>{html.escape(p)}</p>" for p in rep.before]
    for g in rep.tables:
        out.append(f"<p><strong>{html.escape(g.title)}</strong></p>")
        out.append('<table border="1" cellspacing="0">')
        for row in g.rows:
            cells = []
            for cell in row:
                if cell is None:
                    continue
                span = (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "") + (
                    f' colspan="{cell.colspan}"' if cell.colspan > 1 else ""
                )
                cells.append(f"<td{span}>{html.escape(cell.text)}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</table>")
    out += [f"<p>{html.escape(p)}</p>" for p in rep.after]
    out.append("</body></html>")
    return "\n".join(out)


# ---- DOCX -------------------------------------------------------------------------------


def to_docx(rep: Report, path: Path) -> None:
    import docx

    d = docx.Document()
    for p in rep.before:
        d.add_paragraph(p)
    for g in rep.tables:
        d.add_paragraph(g.title)
        t = d.add_table(rows=len(g.rows), cols=g.width)
        t.style = "Table Grid"
        for r, row in enumerate(g.rows):
            for c, cell in enumerate(row):
                if cell is None:
                    continue
                target = t.cell(r, c)
                if cell.rowspan > 1 or cell.colspan > 1:
                    target = target.merge(t.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
                target.text = cell.text
    for p in rep.after:
        d.add_paragraph(p)
    d.save(str(path))


# ---- PDF --------------------------------------------------------------------------------


def to_pdf(rep: Report, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=17, firstLineIndent=22)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10, wordWrap="CJK")
    small = ParagraphStyle("small", parent=cell, fontSize=7, leading=9)

    def page_number(canvas: Any, doc: Any) -> None:
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"- {doc.page} -")

    story: list[Any] = [Paragraph(p, body) for p in rep.before]
    widths = {
        4: [40 * mm, 40 * mm, 40 * mm, 40 * mm],
        10: [12 * mm, 16 * mm, 34 * mm] + [13 * mm] * 7,
        15: [11.5 * mm] * 15,
    }
    for n, g in enumerate(rep.tables):
        if n == 2:
            story.append(PageBreak())  # table 四 on a page of its own
        story.append(Paragraph(g.title, body))
        story.append(Spacer(1, 3 * mm))
        style = small if g.width == 15 else cell
        data = [
            [Paragraph(html.escape(c.text), style) if c is not None else "" for c in row]
            for row in g.rows
        ]
        spans = [
            ("SPAN", (c, r), (c + cell_.colspan - 1, r + cell_.rowspan - 1))
            for r, row in enumerate(g.rows)
            for c, cell_ in enumerate(row)
            if cell_ is not None and (cell_.rowspan > 1 or cell_.colspan > 1)
        ]
        t = Table(data, colWidths=widths[g.width], repeatRows=g.header_rows if n == 1 else 0)
        t.setStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                *spans,
            ]
        )
        story.append(t)
        story.append(Spacer(1, 5 * mm))
        if n == 2:
            story.append(PageBreak())
    story += [Paragraph(p, body) for p in rep.after]
    doc = SimpleDocTemplate(str(path), pagesize=A4, topMargin=20 * mm, bottomMargin=22 * mm)
    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)


def write_corpus(out: Path, n: int, seed: int = 11) -> list[Report]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    reports = []
    for i in range(n):
        fmt = "2021" if i % 2 == 0 else "2019"
        rep = make_report(f"r{i:02d}_{fmt}", fmt, rng)
        (out / f"{rep.name}.html").write_text(to_html(rep), encoding="utf-8")
        to_docx(rep, out / f"{rep.name}.docx")
        to_pdf(rep, out / f"{rep.name}.pdf")
        meta = {"format": fmt, "damage": rep.damage, "gold": rep.gold}
        (out / f"{rep.name}.json").write_text(
            json.dumps(meta, ensure_ascii=False), encoding="utf-8"
        )
        reports.append(rep)
    return reports


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=8, help="reports (alternately 2021 and 2019 format)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    for rep in write_corpus(args.out, args.n, args.seed):
        print(rep.name, rep.fmt, ",".join(rep.damage) or "clean")


if __name__ == "__main__":
    main()
