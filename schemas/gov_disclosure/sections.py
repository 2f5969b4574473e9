"""Sections of a 政府信息公开工作年度报告, and a quick test for texts that are not one.

Patterns are searched (`re.search`) in a heading's text after normalisation (NFKC: full-width
brackets and digits are ASCII), with its numbering and all spaces removed, so they need not
handle numbering or spacing. They cover the 2019/2021 headings (一、总体情况 … 六、其他需要报告
的事项) and the free-form pre-2019 ones (基本工作情况, 回应解读, 收费及减免, 机构建设…).

Problems and plans are often one heading ("存在的主要问题及改进情况"): such a line opens both
`problems` and `plans` (same span), so a caller can ask for either.
"""

from __future__ import annotations

import re

from structurer.core.report_type import SectionSpec

_NOT_APPEALS_OR_FEES = r"^(?!.*(?:复议|诉讼|收费|费用|减免))"

SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "overview",
        (
            r"总体情况|总体概况|基本(?:工作)?(?:情况|概况)|工作概况|概述|综述",
            r"^(?:政府信息公开|政务公开)?工作(?:开展)?(?:情况|概况)$",
        ),
    ),
    SectionSpec("proactive", (r"^(?!.*(?:申请|复议|诉讼)).*主动(?:公开|发布)",)),
    SectionSpec("responses", (r"回应|解读|热点|舆情",)),
    SectionSpec(
        "requests",
        (
            _NOT_APPEALS_OR_FEES + r".*依申请",
            _NOT_APPEALS_OR_FEES + r".*(?:收到|处理|办理|受理|答复).{0,4}(?:公开)?申请",
            _NOT_APPEALS_OR_FEES + r".*公开申请(?:的)?(?:办理|处理|答复)?(?:情况|工作)",
        ),
    ),
    SectionSpec("fees", (r"^(?!.*(?:逾期|缴纳|申请人)).*(?:收费|费用|减免|处理费)",)),
    SectionSpec("appeals", (r"复议|诉讼|^(?!.*类申请).*(?:举报|投诉|申诉|申述)",)),
    SectionSpec(
        "organisation",
        (r"机构建设|保障经费|经费保障|工作经费|培训|会议情况|人员配备|队伍建设",),
    ),
    SectionSpec("problems", (r"^(?!.*(?:回应|热点|解读|舆情)).*(?:问题|不足|差距|薄弱)",)),
    SectionSpec(
        "plans",
        (
            r"改进|整改|打算|工作安排|工作计划|工作思路|工作重点|工作措施|工作设想|下一步|今后|明年|努力方向|展望",
            r"^\d{4}年(?:度)?(?:的)?(?:主要)?工作",
        ),
    ),
    SectionSpec("other", (r"其[他它](?:需要|需|应当|应)|其[他它](?:有关)?事项|需要报告的",)),
)

_VOCABULARY = re.compile(r"政府信息公开|政务公开|信息公开|公开工作")
_CJK = re.compile(r"[\u4e00-\u9fff]")
MIN_CHARS = 300


def not_a_report(text: str) -> str | None:
    """A one-line reason when `text` is clearly not a disclosure annual report, else None."""
    body = "".join(text.split())
    if len(body) < MIN_CHARS:
        return f"too short for an annual report ({len(body)} non-space characters)"
    cjk = len(_CJK.findall(body))
    if cjk < len(body) * 0.3:
        return "mostly not Chinese text"
    if not _VOCABULARY.search(body):
        return "no 政府信息公开 / 政务公开 vocabulary"
    return None
