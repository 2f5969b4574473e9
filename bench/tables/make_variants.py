"""Damaged renderings of the standard tables, with their gold cells.

Sources: the gold record of wulanhua-town_2020 (2019 format, all zero) and synthetic
tables (2021 and 2019 formats) with random non-zero values that satisfy every identity.
Each variant is a report-like text (narrative, then tables 二/三/四, then narrative) in one
layout (tab rows, one cell per line, markdown, PDF layout) with damage (OCR substitutions
in labels, blank zero cells, a blank 总计 column, remarks and units in cells, a single
（六） row, numbering variants, page breaks).

    .venv/bin/python bench/tables/make_variants.py --out /tmp/variants --n 20
writes <kind>__<i>.txt and <kind>__<i>.json ({"gold": {path: value}, "format": ...}).
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[3] / "shared"
WULANHUA = SHARED / "gold" / "wulanhua-town_2020.json"

REQUEST_COLUMNS = [
    "natural_person",
    "commercial",
    "research",
    "nonprofit",
    "legal_services",
    "other_org",
]
REQUEST_ROWS: list[tuple[str, list[str]]] = [
    ("new_received", ["一、本年新收政府信息公开申请数量"]),
    ("carried_over", ["二、上年结转政府信息公开申请数量"]),
    ("granted", ["三、本年度办理结果", "（一）予以公开"]),
    ("partially_granted", ["", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"]),
    ("withheld_state_secret", ["", "（三）不予公开", "1.属于国家秘密"]),
    ("withheld_prohibited_by_law", ["", "", "2.其他法律行政法规禁止公开"]),
    ("withheld_security_stability", ["", "", "3.危及“三安全一稳定”"]),
    ("withheld_third_party", ["", "", "4.保护第三方合法权益"]),
    ("withheld_internal_affairs", ["", "", "5.属于三类内部事务信息"]),
    ("withheld_process_info", ["", "", "6.属于四类过程性信息"]),
    ("withheld_enforcement_files", ["", "", "7.属于行政执法案卷"]),
    ("withheld_query_matters", ["", "", "8.属于行政查询事项"]),
    ("unavailable_not_held", ["", "（四）无法提供", "1.本机关不掌握相关政府信息"]),
    ("unavailable_needs_creation", ["", "", "2.没有现成信息需要另行制作"]),
    ("unavailable_unclear", ["", "", "3.补正后申请内容仍不明确"]),
    ("rejected_petition", ["", "（五）不予处理", "1.信访举报投诉类申请"]),
    ("rejected_duplicate", ["", "", "2.重复申请"]),
    ("rejected_publication", ["", "", "3.要求提供公开出版物"]),
    ("rejected_excessive", ["", "", "4.无正当理由大量反复申请"]),
    ("rejected_confirmation", ["", "", "5.要求行政机关确认或重新出具已获取信息"]),
    (
        "other_no_correction",
        ["", "（六）其他处理", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"],
    ),
    (
        "other_no_fee",
        ["", "", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"],
    ),
    ("other_misc", ["", "", "3.其他"]),
    ("total", ["", "（七）总计"]),
    ("carried_forward", ["四、结转下年度继续办理"]),
]
RESULT_ROWS = [k for k, _ in REQUEST_ROWS[2:23]]
APPEAL_GROUPS = ["reconsideration", "litigation_direct", "litigation_after_reconsideration"]
APPEAL_PARTS = ["upheld", "corrected", "other", "pending", "total"]

OCR_SUBS = {
    "政": "致", "信": "倍", "息": "自", "公": "工", "开": "升", "请": "清", "申": "甲", "理": "埋",
    "结": "给", "处": "外", "予": "子", "于": "千", "属": "厲", "密": "蜜", "事": "亊", "项": "顷",
    "其": "甚", "部": "郡", "分": "兮", "全": "仝", "护": "沪", "权": "杈", "益": "盖", "类": "类",
    "务": "各", "程": "稈", "性": "姓", "案": "桉", "卷": "券", "查": "杳", "询": "洵", "掌": "拿",
    "握": "渥", "现": "规", "补": "朴", "正": "止", "访": "仿", "诉": "拆", "复": "夏", "版": "板",
    "确": "碓", "获": "荻", "取": "耿", "规": "现", "章": "竟", "许": "汻", "罚": "罸", "强": "弛",
    "制": "刮", "收": "枚", "费": "贵", "数": "敉", "量": "最", "年": "乍",
}  # fmt: skip


@dataclass
class Table:
    """Rows of cells as printed. Header rows have no values; data rows: labels + values."""

    title: str
    headers: list[list[str]]
    rows: list[tuple[list[str], list[str]]] = field(
        default_factory=list
    )  # (label cells, value cells)


@dataclass
class Variant:
    kind: str
    text: str
    gold: dict[str, Any]
    format: str


# ---- values --------------------------------------------------------------------------


def synth_requests(rng: random.Random) -> dict[str, dict[str, int]]:
    p_nonzero = {"natural_person": 0.8, "commercial": 0.4, "research": 0.15, "nonprofit": 0.15,
                 "legal_services": 0.2, "other_org": 0.25}  # fmt: skip
    table: dict[str, dict[str, int]] = {r: {} for r, _ in REQUEST_ROWS}
    for col in REQUEST_COLUMNS:
        for row in RESULT_ROWS:
            table[row][col] = (
                rng.randint(1, 30 if row == "granted" else 6)
                if rng.random()
                < p_nonzero[col]
                * (1.0 if row in ("granted", "partially_granted", "unavailable_not_held") else 0.35)
                else 0
            )
        total = sum(table[r][col] for r in RESULT_ROWS)
        forward = rng.randint(0, 3) if rng.random() < 0.4 else 0
        over = rng.randint(0, min(3, total + forward)) if rng.random() < 0.4 else 0
        table["total"][col] = total
        table["carried_forward"][col] = forward
        table["carried_over"][col] = over
        table["new_received"][col] = total + forward - over
    for row in table.values():
        row["total"] = sum(row[c] for c in REQUEST_COLUMNS)
    return table


def synth_appeals(rng: random.Random) -> dict[str, dict[str, int]]:
    out = {}
    for g in APPEAL_GROUPS:
        parts = {p: (rng.randint(1, 5) if rng.random() < 0.5 else 0) for p in APPEAL_PARTS[:4]}
        parts["total"] = sum(parts.values())
        out[g] = parts
    return out


def synth_proactive(rng: random.Random, fmt: str) -> dict[str, dict[str, float]]:
    def n(hi: int) -> int:
        return rng.randint(1, hi) if rng.random() < 0.75 else 0

    if fmt == "2021":
        return {
            "regulations": {"issued": n(5), "repealed": n(3), "in_force": n(40)},
            "normative_documents": {"issued": n(20), "repealed": n(8), "in_force": n(200)},
            "licensing": {"decisions": n(5000)},
            "penalties": {"decisions": n(900)},
            "enforcement": {"decisions": n(90)},
            "fees": {"amount_10k_yuan": round(rng.uniform(0.5, 9000), rng.choice([1, 2, 3]))},
        }
    three = {"prev_year_items": n(50), "change": rng.randint(-5, 5), "decisions": n(900)}
    return {
        "regulations": {"issued": n(5), "published": n(5), "total_published": n(40)},
        "normative_documents": {"issued": n(20), "published": n(20), "total_published": n(200)},
        "licensing": dict(three),
        "other_services": {
            "prev_year_items": n(30),
            "change": rng.randint(-3, 3),
            "decisions": n(300),
        },
        "penalties": {"prev_year_items": n(30), "change": rng.randint(-3, 3), "decisions": n(300)},
        "enforcement": {"prev_year_items": n(10), "change": rng.randint(-2, 2), "decisions": n(50)},
        "fees": {"prev_year_items": n(20), "change": rng.randint(-2, 2)},
        "procurement": {"projects": n(30), "amount_10k_yuan": round(rng.uniform(1, 900), 2)},
    }


def wulanhua_values() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    rec = json.loads(WULANHUA.read_text(encoding="utf-8"))["record"]
    pro = {k: v for k, v in rec["proactive"].items() if isinstance(v, dict)}
    return pro, rec["requests"], rec["appeals"]


# ---- tables --------------------------------------------------------------------------

PRO_COLUMNS = {
    "2021": {
        "regulations": ["issued", "repealed", "in_force"], "normative_documents": ["issued", "repealed", "in_force"],
        "licensing": ["decisions"], "penalties": ["decisions"], "enforcement": ["decisions"], "fees": ["amount_10k_yuan"],
    },
    "2019": {
        "regulations": ["issued", "published", "total_published"],
        "normative_documents": ["issued", "published", "total_published"],
        "licensing": ["prev_year_items", "change", "decisions"],
        "other_services": ["prev_year_items", "change", "decisions"],
        "penalties": ["prev_year_items", "change", "decisions"],
        "enforcement": ["prev_year_items", "change", "decisions"],
        "fees": ["prev_year_items", "change"], "procurement": ["projects", "amount_10k_yuan"],
    },
}  # fmt: skip
PRO_LABELS = {
    "regulations": "规章", "normative_documents": "行政规范性文件", "licensing": "行政许可",
    "other_services": "其他对外管理服务事项", "penalties": "行政处罚", "enforcement": "行政强制",
    "fees": "行政事业性收费", "procurement": "政府集中采购",
}  # fmt: skip
PRO_BLOCKS = {
    "2021": [
        (
            "第二十条第（一）项",
            ["本年制发件数", "本年废止件数", "现行有效件数"],
            ["regulations", "normative_documents"],
        ),
        ("第二十条第（五）项", ["本年处理决定数量"], ["licensing"]),
        ("第二十条第（六）项", ["本年处理决定数量"], ["penalties", "enforcement"]),
        ("第二十条第（八）项", ["本年收费金额（单位：万元）"], ["fees"]),
    ],
    "2019": [
        (
            "第二十条第（一）项",
            ["本年新制作数量", "本年新公开数量", "对外公开总数量"],
            ["regulations", "normative_documents"],
        ),
        (
            "第二十条第（五）项",
            ["上一年项目数量", "本年增/减", "处理决定数量"],
            ["licensing", "other_services"],
        ),
        (
            "第二十条第（六）项",
            ["上一年项目数量", "本年增/减", "处理决定数量"],
            ["penalties", "enforcement"],
        ),
        ("第二十条第（八）项", ["上一年项目数量", "本年增/减"], ["fees"]),
        ("第二十条第（九）项", ["采购项目数量", "采购总金额"], ["procurement"]),
    ],
}


def fmt_value(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def build_tables(
    fmt: str, pro: dict[str, Any], req: dict[str, Any], app: dict[str, Any], single_six: bool
) -> tuple[list[Table], dict[str, Any]]:
    gold: dict[str, Any] = {}
    t2 = Table("二、主动公开政府信息情况", headers=[])
    for block, cols, rows in PRO_BLOCKS[fmt]:
        t2.rows.append(([block], []))
        t2.rows.append((["信息内容", *cols], []))
        for row in rows:
            label = (
                PRO_LABELS[row]
                if not (fmt == "2019" and row == "normative_documents")
                else "规范性文件"
            )
            keys = PRO_COLUMNS[fmt][row]
            t2.rows.append(([label], [fmt_value(pro[row][k]) for k in keys]))
            gold.update({f"proactive.{row}.{k}": pro[row][k] for k in keys})
    t3 = Table(
        "三、收到和处理政府信息公开申请情况",
        headers=[
            ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
            ["", "自然人", "法人或其他组织", "", "", "", "", "总计"],
            ["", "", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", ""],
        ],
    )
    cols = [*REQUEST_COLUMNS, "total"]
    for key, labels in REQUEST_ROWS:
        if single_six and key in ("other_no_correction", "other_no_fee"):
            continue
        values = dict(req[key])
        if single_six and key == "other_misc":
            labels = ["", "（六）其他处理"]
            six = ("other_no_correction", "other_no_fee", "other_misc")
            values = {c: sum(req[r][c] or 0 for r in six) for c in cols}
        t3.rows.append((labels, [fmt_value(values[c]) for c in cols]))
        gold.update({f"requests.{key}.{c}": values[c] for c in cols})
    t4 = Table(
        "四、政府信息公开行政复议、行政诉讼情况",
        headers=[
            ["行政复议", "行政诉讼"],
            ["", "未经复议直接起诉", "复议后起诉"],
            ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 3,
        ],
    )
    t4.rows.append(([], [fmt_value(app[g][p]) for g in APPEAL_GROUPS for p in APPEAL_PARTS]))
    gold.update({f"appeals.{g}.{p}": app[g][p] for g in APPEAL_GROUPS for p in APPEAL_PARTS})
    return [t2, t3, t4], gold


# ---- damage ------------------------------------------------------------------------


def ocr_labels(tables: list[Table], rng: random.Random, rate: float = 0.12) -> None:
    def damage(s: str) -> str:
        return "".join(OCR_SUBS[c] if c in OCR_SUBS and rng.random() < rate else c for c in s)

    for t in tables:
        t.rows = [([damage(c) for c in labels], values) for labels, values in t.rows]


def numbering_variants(tables: list[Table], rng: random.Random) -> None:
    sep = rng.choice(["、", "．", ". ", "．"])
    for t in tables:
        t.rows = [
            ([c.replace(".", sep, 1) if c[:1].isdigit() else c for c in labels], v)
            for labels, v in t.rows
        ]


def blank_zeros(tables: list[Table], rng: random.Random, p: float = 0.8) -> None:
    for t in tables:
        t.rows = [
            (labels, ["" if v == "0" and rng.random() < p else v for v in values])
            for labels, values in t.rows
        ]


def blank_total_column(tables: list[Table], gold: dict[str, Any]) -> None:
    t3 = tables[1]
    t3.rows = [(labels, [*values[:6], ""]) for labels, values in t3.rows]
    for key in list(gold):
        if key.startswith("requests.") and key.endswith(".total"):
            gold[key] = 0


def remarks_units(tables: list[Table], rng: random.Random, gold: dict[str, Any], fmt: str) -> None:
    t3 = tables[1]
    rows = []
    for labels, values in t3.rows:
        values = [
            v + rng.choice(["（含转办1件）", "件", " (其中2件为网上申请)", "（已答复）"])
            if v not in ("", "0") and rng.random() < 0.15
            else v
            for v in values
        ]
        rows.append((labels, values))
    t3.rows = rows
    t2 = tables[0]
    rows = []
    for labels, values in t2.rows:
        if labels and labels[0] == "行政事业性收费" and fmt == "2021":
            amount = float(values[0])
            values = [
                rng.choice([f"{fmt_value(amount)}万元", f"{fmt_value(round(amount * 10000, 2))}元"])
            ]
        elif labels and labels[0] == "政府集中采购":
            amount = float(values[1])
            values = [values[0], f"{fmt_value(round(amount * 10000, 2))}元"]
        elif values and rng.random() < 0.3:
            values = [v + "件" if v not in ("", "0") else v for v in values]
        rows.append((labels, values))
    t2.rows = rows


# ---- layouts -----------------------------------------------------------------------


def _table_rows(t: Table) -> list[list[str]]:
    return [*t.headers, *[[*labels, *values] for labels, values in t.rows]]


def render_tabs(tables: list[Table], rng: random.Random) -> str:
    out = []
    for t in tables:
        out.append(t.title)
        out.extend("\t".join(cells) for cells in _table_rows(t))
        out.append("")
    return "\n".join(out)


def render_cells_per_line(tables: list[Table], rng: random.Random) -> str:
    out = []
    for t in tables:
        out.append(t.title + "\n")
        for cells in _table_rows(t):
            out.extend(f"\t{c}" for c in cells)
            out.append("")
    return "\n".join(out)


def render_markdown(tables: list[Table], rng: random.Random) -> str:
    out = []
    for t in tables:
        out.append(t.title + "\n")
        lines = [list(h) for h in t.headers]
        for labels, values in t.rows:
            merged = (
                ["".join(labels)] if labels and rng.random() < 0.3 else labels
            )  # merged label cells
            lines.append([*merged, *values])
        width = max(len(r) for r in lines)
        for n, cells in enumerate(lines):
            line = "| " + " | ".join(cells) + " |"
            if rng.random() < 0.15:  # a lost pipe
                pipes = [i for i, ch in enumerate(line) if ch == "|"][1:-1]
                if pipes:
                    i = rng.choice(pipes)
                    line = line[:i] + " " + line[i + 1 :]
            out.append(line)
            if n == 0:
                out.append("|" + "---|" * width)
        out.append("")
    return "\n".join(out)


def _is_value(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] == "-")


def render_pdf(tables: list[Table], rng: random.Random) -> str:
    """pdftotext -layout style: labels wrapped, headers broken mid-word, blanks vanish."""
    out: list[str] = []
    page = 3
    for ti, t in enumerate(tables):
        out.append(t.title)
        if ti == 1:  # table 三: column headers centred over their columns, broken mid-word
            tops, bottoms = [], []
            for i, name in enumerate(REQUEST_HEADERS):
                cut = max(1, len(name) // 2 + 1) if len(name) > 2 else len(name)
                tops.append((34 + 8 * i + 5 - cut, name[:cut]))
                bottoms.append((34 + 8 * i + 5 - (len(name) - cut), name[cut:]))
            out.extend([_at_columns(tops), _at_columns(bottoms)])
        for h in t.headers if ti != 1 else t.headers[:1]:
            parts = [c for c in h if c]
            top = "   ".join(c[: max(1, len(c) // 2 + 1)] for c in parts)
            bottom = "   ".join(c[max(1, len(c) // 2 + 1) :] for c in parts)
            out.extend(["  " + top, "  " + bottom])
        for ri, (labels, values) in enumerate(t.rows):
            label = "".join(c for c in labels if c)
            groups = [c for c in labels[:-1] if c]
            if groups and len(labels) > 1:
                out.append("  " + "".join(groups))
                label = labels[-1]
            head, tail = (label[:14], label[14:]) if len(label) > 16 else (label, "")
            # a remark wraps inside its cell: the number stays in its column, the remark
            # goes to the next line at the same place
            numbers = [_split_remark(v) for v in values]
            cells = "".join(f"{n:>8}" if n else " " * 8 for n, _ in numbers)
            out.append(f"  {head}{'　' * max(0, 16 - len(head))}{cells}".rstrip())
            remarks = "".join(f"{r:>8}" if r else " " * 8 for _, r in numbers)
            if tail or remarks.strip():
                out.append(f"  {tail}{'　' * max(0, 16 - len(tail))}{remarks}".rstrip())
            if ti == 1 and ri == 12:
                out.append(f"\n                    - {page} -\n\f")
                page += 1
    return "\n".join(out)


REQUEST_HEADERS = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]


def _at_columns(items: list[tuple[int, str]]) -> str:
    """A line with each text starting at a display column (CJK 2 wide)."""
    line, col = "", 0
    for start, text in items:
        pad = max(1 if line else 0, start - col)
        line += " " * pad + text
        col += pad + 2 * len(text)
    return line


def _split_remark(value: str) -> tuple[str, str]:
    for opener in ("（", " ("):
        if opener in value:
            number, remark = value.split(opener, 1)
            return number, opener.strip() + remark
    return value, ""


LAYOUTS = {
    "tabs": render_tabs,
    "cells_per_line": render_cells_per_line,
    "markdown": render_markdown,
    "pdf": render_pdf,
}
DAMAGES = ["clean", "ocr", "blanks", "blank_total", "remarks", "single_six", "numbering", "all"]

PRE = (
    "某某区2021年政府信息公开工作年度报告\n\n一、总体情况\n"
    "2021年，我局主动公开政府信息48条，收到申请5件。全年未发生行政复议，共有工作人员3人。\n"
    "（一）主动公开\n按照《条例》要求，及时公开规章和行政规范性文件，行政许可、行政处罚等信息按时公开。\n\n"
)
POST = (
    "\n五、存在的主要问题及改进情况\n"
    "（一）公开的及时性有待提高，2个部门更新较慢。\n（二）下一步将加强培训，每年不少于2次。\n"
    "六、其他需要报告的事项\n本年度未收取信息处理费。\n"
)


def make_variant(source: str, layout: str, damage: str, rng: random.Random) -> Variant:
    if source == "wulanhua":
        fmt = "2019"
        pro, req, app = wulanhua_values()
    else:
        fmt = "2021" if source == "synth2021" else "2019"
        pro, req, app = synth_proactive(rng, fmt), synth_requests(rng), synth_appeals(rng)
    single_six = fmt == "2019" or damage in ("single_six", "all")
    tables, gold = build_tables(fmt, pro, req, app, single_six)
    damages = ["ocr", "blanks", "remarks", "numbering"] if damage == "all" else [damage]
    if "ocr" in damages:
        ocr_labels(tables, rng)
    if "numbering" in damages:
        numbering_variants(tables, rng)
    if "remarks" in damages:
        remarks_units(tables, rng, gold, fmt)
    if "blanks" in damages:
        blank_zeros(tables, rng)
    if damage == "blank_total":
        blank_total_column(tables, gold)
    text = PRE + LAYOUTS[layout](tables, rng) + POST
    return Variant(f"{source}/{layout}/{damage}", text, gold, fmt)


def make_all(n: int, seed: int = 7) -> list[Variant]:
    rng = random.Random(seed)
    out = []
    for source in ("wulanhua", "synth2021", "synth2019"):
        for layout in LAYOUTS:
            for damage in DAMAGES:
                reps = 1 if source == "wulanhua" and damage in ("clean", "single_six") else n
                out.extend(make_variant(source, layout, damage, rng) for _ in range(reps))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=10, help="variants per (source, layout, damage)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(make_all(args.n, args.seed)):
        stem = v.kind.replace("/", "__") + f"__{i}"
        (args.out / f"{stem}.txt").write_text(v.text, encoding="utf-8")
        meta = {"kind": v.kind, "format": v.format, "gold": v.gold}
        (args.out / f"{stem}.json").write_text(
            json.dumps(meta, ensure_ascii=False), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
