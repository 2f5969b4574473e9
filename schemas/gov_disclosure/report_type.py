"""The gov_disclosure report type: which parts are extracted from which sections, and the
words of its review UI (``review/gov_disclosure/review.json``)."""

from __future__ import annotations

import json
from typing import Any

from gov_disclosure.identities import check_identities
from gov_disclosure.record import Report
from structurer.core.records import iter_leaf_fields
from structurer.core.report_type import PartSpec, ReportType
from structurer.core.response_models import field_descriptions
from structurer.settings import REPO_ROOT

REVIEW_UI = REPO_ROOT / "review" / "gov_disclosure" / "review.json"

LEGACY_TEXT_REQUESTS = (
    "requests.new_received.total",
    "requests.granted.total",
    "requests.partially_granted.total",
    "legacy.requests_in_person",
    "legacy.requests_online",
    "legacy.requests_by_letter",
    "legacy.requests_by_fax",
    "legacy.requests_on_time",
    "legacy.requests_extended",
)

PARTS: tuple[PartSpec, ...] = (
    PartSpec("meta", ("meta",), ("preamble",), "meta", head_chars=800, tail_chars=300),
    PartSpec(
        "proactive",
        (
            "proactive.total_items",
            "legacy.published_on_website",
            "legacy.published_on_weibo_wechat",
            "legacy.hot_topic_responses",
        ),
        # 2019/2021-format reports state these in their overview (一、总体情况), not in the
        # section of table 二; only the lines naming them are sent
        ("overview", "proactive", "responses"),
        "proactive",
        focus=(
            "主动公开",
            "发布",
            "公开信息",
            "公开政府信息",
            "网站",
            "微博",
            "微信",
            "公众号",
            "新媒体",
            "热点",
            "舆情",
            "回应",
        ),
    ),
    PartSpec(
        "requests_text",
        LEGACY_TEXT_REQUESTS,
        ("requests",),
        "requests_text",
        skip_with_tables=True,
    ),
    PartSpec(
        "appeals_fees",
        (
            "appeals.reconsideration.total",
            "appeals.litigation_direct.total",
            "legacy.complaints",
            "disclosure_fees.amount_yuan",
        ),
        ("appeals", "fees", "other"),
        "appeals_fees",
    ),
    PartSpec(
        "organisation",
        ("legacy.training_sessions", "legacy.staff"),
        ("overview", "organisation"),
        "organisation",
        focus=("培训", "人员", "专职", "兼职", "机构"),
    ),
    PartSpec("narrative", ("narrative",), ("problems", "plans", "other"), "narrative"),
    PartSpec(
        "contact", ("contact",), ("preamble", "other"), "contact", head_chars=0, tail_chars=600
    ),
    PartSpec(
        "table_proactive",
        tuple(
            f"proactive.{row}"
            for row in (
                "regulations",
                "normative_documents",
                "licensing",
                "other_services",
                "penalties",
                "enforcement",
                "fees",
                "procurement",
            )
        ),
        ("proactive",),
        "table_proactive",
        table=True,
    ),
    PartSpec(
        "table_requests",
        ("requests",),
        ("requests",),
        "table_requests",
        table=True,
    ),
    PartSpec("table_appeals", ("appeals",), ("appeals",), "table_appeals", table=True),
)


def _labels() -> dict[str, str]:
    out = field_descriptions(Report)
    return {path: out.get(path, path) for path, _, _ in iter_leaf_fields(Report)}


def _review_ui() -> dict[str, str]:
    """review.json's groups (``{"verdicts": {"confirmed": ...}}``) as flat ``ui`` keys
    (``verdicts.confirmed``)."""
    raw = json.loads(REVIEW_UI.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": str(v) for k, v in value.items()})
        else:
            out[key] = str(value)
    return out


def _read_tables(text: str, ocr: bool) -> Any:
    from gov_disclosure.tables import read_tables

    return read_tables(text, ocr=ocr)


def _read_rules(text: str) -> Any:
    from gov_disclosure.rules import read_rules

    return read_rules(text)


# Why a proposed value was rejected (structurer.core.evidence.grounding): the model is re-asked
# with these, and the reviewer sees them ("模型提出 N，原文未见").
GROUNDING_REASONS = {
    "no_quote": "{value} 没有引用原文；请引用原文中说明{label}的句子，或填 null",
    "quote_not_found": "{value} 所引的句子原文中没有；请逐字引用原文，或填 null",
    "value_not_in_quote": "{value} 不在所引的句子中；请引用原文中说明{label}的句子，或填 null",
    "not_in_text": "{value} 不在原文中；请引用原文中说明{label}的句子，或填 null",
    "no_evidence": "原文中有 {value}，但所引的句子和它前后的文字都没有说明{label}；"
    "请引用原文中说明{label}的句子，或填 null",
    # after the reasons, when only the failing fields are asked again
    "reask_only": "只重新回答以上字段；其余字段保持原答案。",
    # for the review task of a field whose proposal was rejected (signals rejected_value/_reason)
    "rejected": "模型提出 {value}，原文未见",
}


def _check_value(path: str, value: Any, text: str) -> str | None:
    from gov_disclosure.periods import running_total_problem
    from gov_disclosure.request_items import unstated_zero_problem
    from gov_disclosure.rules import (
        contact_form_problem,
        period_end_as_publish_date,
        personal_phone_problem,
    )

    if path == "meta.publish_date":
        return period_end_as_publish_date(str(value), text)
    if path == "contact.phone":
        return contact_form_problem(path, str(value)) or personal_phone_problem(str(value), text)
    if path.startswith("contact."):
        return contact_form_problem(path, str(value))
    if not path.startswith("meta."):  # every count of this report type is the year's
        return running_total_problem(value, text) or unstated_zero_problem(path, value, text)
    return None


def build() -> ReportType:
    from gov_disclosure.crossyear import body_and_year, cross_year_breaks
    from gov_disclosure.reread import reread_tables
    from gov_disclosure.sections import SECTIONS, not_a_report

    return ReportType(
        name="gov_disclosure",
        record_model=Report,
        sections=SECTIONS,
        parts=PARTS,
        check_identities=check_identities,
        not_a_report=not_a_report,
        read_tables=_read_tables,
        read_rules=_read_rules,
        check_value=_check_value,
        labels=_labels(),
        format_path="meta.format",
        format_without_tables="legacy",
        quote_description="原文中支持该取值的一句话，逐字照录；未提及则为null",
        value_description="取值；原文未提及则为null",
        # Money fields are stored in 万元 and may be printed in 元 (or the reverse).
        float_scales=(1.0, 10_000.0, 1 / 10_000.0),
        ui=_review_ui(),
        grounding_reasons=GROUNDING_REASONS,
        list_sections={"narrative.problems": ("problems",)},
        list_owner={"narrative.problems": "narrative.improvements"},
        reread_tables=reread_tables,
        body_and_year=body_and_year,
        cross_year=cross_year_breaks,
        # The regulations date from 2008; reports, counts and dates before 1990 are misreadings.
        year_paths=frozenset({"meta.report_year"}),
        first_year=1990,
        # A count (requests, items, cases, 万元) above ten million is not one body's year.
        max_count=10_000_000,
    )
