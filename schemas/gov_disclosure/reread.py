"""The second reading of a standard table that failed the table reader's checks: the model
reads that table alone, told its official rows and columns, and answers each row's cells as
a small typed model (a list of numbers per row). See `ReportType.reread_tables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, create_model

from gov_disclosure.tables import APPEALS, PROACTIVE_2019, PROACTIVE_2021, REQUESTS
from structurer.core.model import Model
from structurer.core.report_type import Reread
from structurer.core.types import Candidate
from structurer.tables import TableSpec

MARGIN = 300  # characters of text kept around the table's printed cells
TITLES = {
    "proactive": "二、主动公开政府信息情况",
    "requests": "三、收到和处理政府信息公开申请情况",
    "appeals": "四、政府信息公开行政复议、行政诉讼情况",
}
COLUMN_NAMES = {
    "natural_person": "自然人", "commercial": "商业企业", "research": "科研机构",
    "nonprofit": "社会公益组织", "legal_services": "法律服务机构", "other_org": "其他",
    "total": "总计", "upheld": "结果维持", "corrected": "结果纠正", "other": "其他结果",
    "pending": "尚未审结", "issued": "本年制发/新制作", "repealed": "本年废止",
    "in_force": "现行有效", "published": "本年新公开", "total_published": "对外公开总数量",
    "prev_year_items": "上一年项目数量", "change": "本年增/减", "decisions": "处理决定数量",
    "amount_10k_yuan": "金额（万元）", "projects": "采购项目数量",
}  # fmt: skip
SYSTEM = (
    "你只读一张表。按给出的官方行和列，逐行照录原文中这张表印出的数字；"
    "空白单元格记0；看不清或原文没有的记null。不要计算，不要补全。"
)


def _spec(name: str, cells: Mapping[str, Candidate]) -> TableSpec:
    if name == "requests":
        return REQUESTS
    if name == "appeals":
        return APPEALS
    return (
        PROACTIVE_2019
        if any(p.startswith("proactive.other_services.") for p in cells)
        else PROACTIVE_2021
    )


def _response_model(spec: TableSpec, present: set[str]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for row in spec.rows:
        if row.path not in present:
            continue
        columns = "、".join(COLUMN_NAMES.get(c.key, c.key) for c in row.columns)
        fields[row.path.split(".", 1)[1]] = (
            list[float | None],
            Field(description=f"{row.labels[0]}：{len(row.columns)}个数，依次为 {columns}"),
        )
    model: type[BaseModel] = create_model(f"Table_{spec.name}", **fields)
    return model


def reread_tables(text: str, cells: Mapping[str, Candidate], model: Model) -> list[Reread]:
    """One model call per table holding a doubt an agreeing reading can settle; clean tables,
    and tables whose every doubt is about what the text prints (final: OCR digits, a placement
    nothing printed decides), cost nothing: the model reads the same damaged text."""
    doubted = {
        p.split(".", 1)[0]
        for p, c in cells.items()
        if c.signals.get("doubt") and not c.signals.get("doubt_final")
    }
    out: list[Reread] = []
    for name in ("proactive", "requests", "appeals"):
        if name not in doubted:
            continue
        spec = _spec(name, cells)
        mine = {p: c for p, c in cells.items() if p.startswith(f"{name}.")}
        present = {p.rsplit(".", 1)[0] for p in mine}
        spans = [
            (c.evidence.start, c.evidence.end)
            for c in mine.values()
            if c.evidence is not None
            and c.evidence.start is not None
            and c.evidence.end is not None
        ]
        if not spans:
            continue
        start = max(0, min(s for s, _ in spans) - MARGIN)
        end = min(len(text), max(e for _, e in spans) + MARGIN)
        response_model = _response_model(spec, present)
        rows = "\n".join(
            f"- {row.path.split('.', 1)[1]}: {row.labels[0]}"
            for row in spec.rows
            if row.path in present
        )
        messages = [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": f"表：{TITLES[name]}\n行（官方顺序）：\n{rows}\n\n原文：\n{text[start:end]}",
            },
        ]
        result = model.complete(messages, response_model)
        values: dict[str, Any] = {}
        if result.parsed is not None:
            for row in spec.rows:
                key = row.path.split(".", 1)[1]
                got = getattr(result.parsed, key, None)
                if row.path in present and isinstance(got, list) and len(got) == len(row.columns):
                    for column, value in zip(row.columns, got, strict=True):
                        if value is not None and column.unit.value != "amount":
                            value = int(value) if float(value).is_integer() else value
                        values[f"{row.path}.{column.key}"] = value
        out.append(Reread(f"reread:{name}", messages, response_model, result, values))
    return out
