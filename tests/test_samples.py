"""The synthetic samples and their gold records agree with each other and with the schema.

The tables of samples/*.txt are re-read here by a small independent parser (one table row
per line, cells separated by tabs, blank cell = 0), so a slip in either the text or the gold
shows up as a mismatch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gov_disclosure import REPORT_TYPE
from gov_disclosure.identities import REQUEST_COLUMNS
from gov_disclosure.record import Report
from structurer.core.records import flatten, leaf_paths

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
GOLD = ROOT / "eval" / "gov_disclosure" / "gold"
DOCS = [
    "sample_2021",
    "sample_2021_short",
    "sample_2021_municipality_commission",
    "sample_2021_city_government",
    "sample_2021_county_bureau",
]

COLS = [*REQUEST_COLUMNS, "total"]
# row key -> a label fragment that identifies exactly one line of table 三
REQUEST_LABELS = {
    "new_received": "本年新收政府信息公开申请数量",
    "carried_over": "上年结转政府信息公开申请数量",
    "granted": "（一）予以公开",
    "partially_granted": "（二）部分公开",
    "withheld_state_secret": "1.属于国家秘密",
    "withheld_prohibited_by_law": "2.其他法律行政法规禁止公开",
    "withheld_security_stability": "3.危及“三安全一稳定”",
    "withheld_third_party": "4.保护第三方合法权益",
    "withheld_internal_affairs": "5.属于三类内部事务信息",
    "withheld_process_info": "6.属于四类过程性信息",
    "withheld_enforcement_files": "7.属于行政执法案卷",
    "withheld_query_matters": "8.属于行政查询事项",
    "unavailable_not_held": "1.本机关不掌握相关政府信息",
    "unavailable_needs_creation": "2.没有现成信息需要另行制作",
    "unavailable_unclear": "3.补正后申请内容仍不明确",
    "rejected_petition": "1.信访举报投诉类申请",
    "rejected_duplicate": "2.重复申请",
    "rejected_publication": "3.要求提供公开出版物",
    "rejected_excessive": "4.无正当理由大量反复申请",
    "rejected_confirmation": "5.要求行政机关确认或重新出具已获取信息",
    "other_no_correction": "1.申请人无正当理由逾期不补正",
    "other_no_fee": "2.申请人逾期未按收费通知要求缴纳费用",
    "other_misc": "3.其他",
    "total": "（七）总计",
    "carried_forward": "四、结转下年度继续办理",
}
# table 二: label -> [(path, float?)] in column order
TABLE2 = {
    "规章": [
        "proactive.regulations.issued",
        "proactive.regulations.repealed",
        "proactive.regulations.in_force",
    ],
    "行政规范性文件": [
        "proactive.normative_documents.issued",
        "proactive.normative_documents.repealed",
        "proactive.normative_documents.in_force",
    ],
    "行政许可": ["proactive.licensing.decisions"],
    "行政处罚": ["proactive.penalties.decisions"],
    "行政强制": ["proactive.enforcement.decisions"],
    "行政事业性收费": ["proactive.fees.amount_10k_yuan"],
}
APPEAL_PATHS = [
    f"appeals.{g}.{p}"
    for g in ("reconsideration", "litigation_direct", "litigation_after_reconsideration")
    for p in ("upheld", "corrected", "other", "pending", "total")
]
# numbers stated in running text: path -> the phrase that states them
NARRATIVE_NUMBERS = {
    "sample_2021": {
        "proactive.total_items": "全年主动公开政府信息286条",
        "legacy.published_on_website": "“政府信息公开”专栏发布213条",
        "legacy.published_on_weibo_wechat": "微信公众号发布73条",
        "legacy.hot_topic_responses": "回应公众关注热点6次",
        "legacy.requests_online": "网上申请17件",
        "legacy.requests_by_letter": "信函申请5件",
        "legacy.requests_in_person": "当面申请3件",
        "legacy.training_sessions": "全年组织政务公开业务培训3次",
        "legacy.staff": "配备专兼职工作人员4名",
        "meta.report_year": "自然资源局2023年政府信息公开工作年度报告",
    },
    "sample_2021_short": {
        "proactive.total_items": "全年主动公开政府信息57条",
        "meta.report_year": "桐岭镇人民政府2023年政府信息公开工作年度报告",
    },
    "sample_2021_municipality_commission": {
        "proactive.total_items": "全年主动公开政府信息412条",
        "legacy.published_on_website": "通过委门户网站发布368条",
        "legacy.published_on_weibo_wechat": "政务微信发布44条",
        "legacy.hot_topic_responses": "回应公众关注热点9次",
        "legacy.staff": "配备专兼职工作人员6名",
        "legacy.training_sessions": "全年组织政务公开业务培训4次",
        "meta.report_year": "云岭区域协作委员会2022年政府信息公开工作年度报告",
    },
    "sample_2021_city_government": {
        "proactive.total_items": "全年主动公开政府信息2375条",
        "legacy.published_on_website": "在市政府门户网站发布2106条",
        "legacy.published_on_weibo_wechat": "政务微博、微信发布269条",
        "meta.report_year": "澜屿市人民政府2021年政府信息公开工作年度报告",
    },
    "sample_2021_county_bureau": {
        "proactive.total_items": "全年主动公开政府信息138条",
        "meta.report_year": "市场监督管理局2022年政府信息公开工作年度报告",
    },
}
FEE_PHRASE = "本年度未收取信息处理费"
ONLY_2019 = re.compile(
    r"^proactive\.(other_services|procurement)\.|\.(published|total_published|prev_year_items|change)$"
)


def load(doc: str) -> tuple[str, dict[str, Any]]:
    text = (SAMPLES / f"{doc}.txt").read_text(encoding="utf-8")
    gold = json.loads((GOLD / f"{doc}.json").read_text(encoding="utf-8"))
    return text, gold


def section(text: str, start: str, end: str) -> list[str]:
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(start))
    j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith(end))
    return lines[i + 1 : j]


def cells(line: str) -> list[str]:
    assert line.startswith("\t"), line
    return [c.strip() for c in line[1:].split("\t")]


def num(cell: str) -> float:
    return 0 if cell == "" else float(cell)


def table_values(text: str) -> dict[str, float]:
    """Every number of tables 二, 三, 四 as printed (blank cell = 0), keyed by gold path."""
    out: dict[str, float] = {}
    t2 = section(text, "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况")
    for label, paths in TABLE2.items():
        rows = [cells(x) for x in t2 if x.startswith("\t") and cells(x)[0] == label]
        assert len(rows) == 1, label
        values = rows[0][-len(paths) :]
        assert len(rows[0]) == len(paths) + 1, rows[0]
        out.update({p: num(v) for p, v in zip(paths, values, strict=True)})
    t3 = section(
        text, "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况"
    )
    for key, fragment in REQUEST_LABELS.items():
        rows = [x for x in t3 if fragment in x]
        assert len(rows) == 1, (key, rows)
        values = cells(rows[0])[-7:]
        assert all(re.fullmatch(r"\d*", v) for v in values), (key, values)
        assert not re.fullmatch(r"\d*", cells(rows[0])[-8]), (
            key,
            "label cell expected before values",
        )
        out.update({f"requests.{key}.{c}": num(v) for c, v in zip(COLS, values, strict=True)})
    t4 = section(text, "四、政府信息公开行政复议、行政诉讼情况", "五、")
    data = [cells(x) for x in t4 if x.startswith("\t") and re.search(r"\d", x)]
    assert len(data) == 1 and len(data[0]) == 15, data
    out.update({p: num(v) for p, v in zip(APPEAL_PATHS, data[0], strict=True)})
    return out


def norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


@pytest.mark.parametrize("doc", DOCS)
def test_gold_validates(doc: str) -> None:
    _, gold = load(doc)
    assert gold["doc"] == f"{doc}.txt"
    assert set(gold) == {"doc", "record", "alternatives", "notes"}
    record, breaks = REPORT_TYPE.validate(gold["record"])
    assert breaks == []
    assert record == gold["record"]
    flat = flatten(gold["record"])
    assert len(flat) == 245
    assert set(flat) == set(leaf_paths(Report))
    for path in gold["alternatives"]:
        assert path in flat


@pytest.mark.parametrize("doc", DOCS)
def test_gold_matches_text(doc: str) -> None:
    text, gold = load(doc)
    flat = flatten(gold["record"])
    assert flat["meta.format"] == "2021"
    for path, value in flat.items():
        if ONLY_2019.search(path):
            assert value is None, path

    # numbers: tables
    printed = table_values(text)
    for path, value in printed.items():
        assert flat[path] == pytest.approx(value), path
    # numbers: running text
    phrases = NARRATIVE_NUMBERS[doc]
    for path, phrase in phrases.items():
        assert phrase in text, phrase
        assert str(flat[path]) in phrase, path
    assert FEE_PHRASE in text and flat["disclosure_fees.amount_yuan"] == 0
    numeric = {p for p, v in flat.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    unexplained = numeric - set(printed) - set(phrases) - {"disclosure_fees.amount_yuan"}
    assert unexplained == set()
    for path in [p for p in flat if p.startswith("legacy.")]:
        assert (flat[path] is None) == (path not in phrases), path

    # strings: verbatim
    assert norm(flat["meta.title"]) == norm(text.splitlines()[0])
    y, m, d = (int(x) for x in flat["meta.publish_date"].split("-"))
    assert f"{y}年{m}月{d}日" in text.splitlines()[-1]
    for path in ["meta.issuing_body", *[p for p in flat if p.startswith("contact.")]]:
        if flat[path] is not None:
            assert flat[path] in text, path
    for alts in gold["alternatives"].values():
        for alt in alts:
            assert alt is None or str(alt) in text, alt
    for item in flat["narrative.problems"] + flat["narrative.improvements"]:
        assert item in text, item
    assert flat["narrative.problems"] and flat["narrative.improvements"]
