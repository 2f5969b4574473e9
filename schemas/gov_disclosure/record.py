"""The record of one 政府信息公开工作年度报告, as ../shared/spec/report-schema.md defines it.

Field descriptions name the printed labels; they are the model's instructions too.
Table identities are checked after validation by the report type (`gov_disclosure.identities`)
and reported, never used to reject a record: real reports print broken tables.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class AdminLevel(StrEnum):
    provincial = "provincial"
    municipal = "municipal"
    county = "county"
    township = "township"


class BodyKind(StrEnum):
    government = "government"
    department = "department"


class ReportFormat(StrEnum):
    legacy = "legacy"
    f2019 = "2019"
    f2021 = "2021"


def _int(desc: str) -> int | None:
    return Field(default=None, description=desc)  # type: ignore[no-any-return]


class Meta(Strict):
    title: str | None = Field(
        None, description="标题：报告的标题，即文首第一个标题，去掉空白，原样照录"
    )
    issuing_body: str | None = Field(
        None,
        description="发布机关：报告所述工作的机关，取文中印出的最完整名称（如“某某乡人民政府”）；不是上级政府或网站主办单位",
    )
    admin_level: AdminLevel | None = Field(
        None,
        description="行政层级：provincial=省/自治区/直辖市；municipal=地级市/自治州/盟；county=县/县级市/市辖区/旗；township=乡/镇/街道/苏木",
    )
    body_kind: BodyKind | None = Field(
        None,
        description="机关类别：government=人民政府本身（含乡镇政府）；department=局/委/办/厅等部门",
    )
    report_year: int | None = Field(
        None, description="报告年度：报告所述工作的年份（不是发布年份）"
    )
    publish_date: dt.date | None = Field(
        None,
        description="发布日期：报告印出的日期（发布时间，或落款日期），YYYY-MM-DD；未印出则为空",
    )
    format: ReportFormat | None = Field(
        None,
        description="格式：表二有“本年制发件数”为2021；有“本年新制作数量”为2019；没有标准表格为legacy",
    )


class DocsRow(Strict):
    issued: int | None = _int("2021格式“本年制发件数”；2019格式“本年新制作数量”")
    repealed: int | None = _int("2021格式“本年废止件数”")
    in_force: int | None = _int("2021格式“现行有效件数”")
    published: int | None = _int("2019格式“本年新公开数量”")
    total_published: int | None = _int("2019格式“对外公开总数量”")


class DecisionsRow(Strict):
    decisions: int | None = _int("“本年处理决定数量”（2021）/“处理决定数量”（2019）")
    prev_year_items: int | None = _int("2019格式“上一年项目数量”")
    change: int | None = _int("2019格式“本年增/减”")


class FeesRow(Strict):
    amount_10k_yuan: float | None = Field(
        None, description="2021格式“本年收费金额（单位：万元）”，单位万元"
    )
    prev_year_items: int | None = _int("2019格式“上一年项目数量”")
    change: int | None = _int("2019格式“本年增/减”")


class ProcurementRow(Strict):
    projects: int | None = _int("2019格式“采购项目数量”")
    amount_10k_yuan: float | None = Field(
        None, description="2019格式“采购总金额”，换算为万元（以元印出时除以一万）"
    )


class Proactive(Strict):
    total_items: int | None = _int(
        "本年主动公开政府信息总数（条），文中所述，如“主动公开政府信息N条”“政府信息公开发布总数量：N”"
    )
    regulations: DocsRow = Field(
        default_factory=DocsRow, description="表二 第二十条第（一）项 “规章”行"
    )
    normative_documents: DocsRow = Field(
        default_factory=DocsRow,
        description="表二 第二十条第（一）项 “行政规范性文件”（2019：“规范性文件”）行",
    )
    licensing: DecisionsRow = Field(
        default_factory=DecisionsRow, description="表二 第二十条第（五）项 “行政许可”行"
    )
    other_services: DecisionsRow = Field(
        default_factory=DecisionsRow,
        description="表二 第二十条第（五）项 “其他对外管理服务事项”行（仅2019格式）",
    )
    penalties: DecisionsRow = Field(
        default_factory=DecisionsRow, description="表二 第二十条第（六）项 “行政处罚”行"
    )
    enforcement: DecisionsRow = Field(
        default_factory=DecisionsRow, description="表二 第二十条第（六）项 “行政强制”行"
    )
    fees: FeesRow = Field(
        default_factory=FeesRow, description="表二 第二十条第（八）项 “行政事业性收费”行"
    )
    procurement: ProcurementRow = Field(
        default_factory=ProcurementRow,
        description="表二 第二十条第（九）项 “政府集中采购”行（仅2019格式）",
    )


class RequestRow(Strict):
    natural_person: int | None = _int("“自然人”列")
    commercial: int | None = _int("法人或其他组织 “商业企业”列")
    research: int | None = _int("法人或其他组织 “科研机构”列")
    nonprofit: int | None = _int("法人或其他组织 “社会公益组织”列")
    legal_services: int | None = _int("法人或其他组织 “法律服务机构”列")
    other_org: int | None = _int("法人或其他组织 “其他”列")
    total: int | None = _int("“总计”列")


def _row(label: str) -> RequestRow:
    return Field(default_factory=RequestRow, description=label)  # type: ignore[no-any-return]


REQUEST_ROWS: dict[str, str] = {
    "new_received": "一、本年新收政府信息公开申请数量",
    "carried_over": "二、上年结转政府信息公开申请数量",
    "granted": "三、本年度办理结果（一）予以公开",
    "partially_granted": "三（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "withheld_state_secret": "三（三）不予公开 1.属于国家秘密",
    "withheld_prohibited_by_law": "三（三）不予公开 2.其他法律行政法规禁止公开",
    "withheld_security_stability": "三（三）不予公开 3.危及“三安全一稳定”",
    "withheld_third_party": "三（三）不予公开 4.保护第三方合法权益",
    "withheld_internal_affairs": "三（三）不予公开 5.属于三类内部事务信息",
    "withheld_process_info": "三（三）不予公开 6.属于四类过程性信息",
    "withheld_enforcement_files": "三（三）不予公开 7.属于行政执法案卷",
    "withheld_query_matters": "三（三）不予公开 8.属于行政查询事项",
    "unavailable_not_held": "三（四）无法提供 1.本机关不掌握相关政府信息",
    "unavailable_needs_creation": "三（四）无法提供 2.没有现成信息需要另行制作",
    "unavailable_unclear": "三（四）无法提供 3.补正后申请内容仍不明确",
    "rejected_petition": "三（五）不予处理 1.信访举报投诉类申请",
    "rejected_duplicate": "三（五）不予处理 2.重复申请",
    "rejected_publication": "三（五）不予处理 3.要求提供公开出版物",
    "rejected_excessive": "三（五）不予处理 4.无正当理由大量反复申请",
    "rejected_confirmation": "三（五）不予处理 5.要求行政机关确认或重新出具已获取信息",
    "other_no_correction": "三（六）其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请（2021格式）",
    "other_no_fee": "三（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请（2021格式）",
    "other_misc": "三（六）其他处理 3.其他（2021格式）；只印一行“（六）其他处理”时即此行",
    "total": "三（七）总计",
    "carried_forward": "四、结转下年度继续办理",
}


class Requests(Strict):
    """表三 收到和处理政府信息公开申请情况；旧式报告：“收到申请N件”→new_received.total。"""

    new_received: RequestRow = _row(REQUEST_ROWS["new_received"])
    carried_over: RequestRow = _row(REQUEST_ROWS["carried_over"])
    granted: RequestRow = _row(REQUEST_ROWS["granted"])
    partially_granted: RequestRow = _row(REQUEST_ROWS["partially_granted"])
    withheld_state_secret: RequestRow = _row(REQUEST_ROWS["withheld_state_secret"])
    withheld_prohibited_by_law: RequestRow = _row(REQUEST_ROWS["withheld_prohibited_by_law"])
    withheld_security_stability: RequestRow = _row(REQUEST_ROWS["withheld_security_stability"])
    withheld_third_party: RequestRow = _row(REQUEST_ROWS["withheld_third_party"])
    withheld_internal_affairs: RequestRow = _row(REQUEST_ROWS["withheld_internal_affairs"])
    withheld_process_info: RequestRow = _row(REQUEST_ROWS["withheld_process_info"])
    withheld_enforcement_files: RequestRow = _row(REQUEST_ROWS["withheld_enforcement_files"])
    withheld_query_matters: RequestRow = _row(REQUEST_ROWS["withheld_query_matters"])
    unavailable_not_held: RequestRow = _row(REQUEST_ROWS["unavailable_not_held"])
    unavailable_needs_creation: RequestRow = _row(REQUEST_ROWS["unavailable_needs_creation"])
    unavailable_unclear: RequestRow = _row(REQUEST_ROWS["unavailable_unclear"])
    rejected_petition: RequestRow = _row(REQUEST_ROWS["rejected_petition"])
    rejected_duplicate: RequestRow = _row(REQUEST_ROWS["rejected_duplicate"])
    rejected_publication: RequestRow = _row(REQUEST_ROWS["rejected_publication"])
    rejected_excessive: RequestRow = _row(REQUEST_ROWS["rejected_excessive"])
    rejected_confirmation: RequestRow = _row(REQUEST_ROWS["rejected_confirmation"])
    other_no_correction: RequestRow = _row(REQUEST_ROWS["other_no_correction"])
    other_no_fee: RequestRow = _row(REQUEST_ROWS["other_no_fee"])
    other_misc: RequestRow = _row(REQUEST_ROWS["other_misc"])
    total: RequestRow = _row(REQUEST_ROWS["total"])
    carried_forward: RequestRow = _row(REQUEST_ROWS["carried_forward"])


class AppealGroup(Strict):
    upheld: int | None = _int("“结果维持”")
    corrected: int | None = _int("“结果纠正”")
    other: int | None = _int("“其他结果”")
    pending: int | None = _int("“尚未审结”")
    total: int | None = _int("“总计”")


class Appeals(Strict):
    reconsideration: AppealGroup = Field(
        default_factory=AppealGroup, description="表四 行政复议；旧式报告“未发生行政复议”→total=0"
    )
    litigation_direct: AppealGroup = Field(
        default_factory=AppealGroup,
        description="表四 行政诉讼·未经复议直接起诉；旧式报告称未发生行政诉讼→total=0",
    )
    litigation_after_reconsideration: AppealGroup = Field(
        default_factory=AppealGroup, description="表四 行政诉讼·复议后起诉"
    )


class Legacy(Strict):
    requests_in_person: int | None = _int("当面申请（件）")
    requests_online: int | None = _int("网络申请（件）")
    requests_by_letter: int | None = _int("信函申请（件）")
    requests_by_fax: int | None = _int("传真申请（件）")
    requests_on_time: int | None = _int("按时办结（件）")
    requests_extended: int | None = _int("延期办结（件）")
    complaints: int | None = _int("举报投诉（件）")
    published_on_website: int | None = _int("政府网站公开政府信息数（条）")
    published_on_weibo_wechat: int | None = _int("政务微博、微信公开政府信息数（条）")
    hot_topic_responses: int | None = _int("回应公众关注热点或重大舆情数（次）")
    training_sessions: int | None = _int("举办培训、培训会议次数")
    staff: int | None = _int("政府信息公开工作人员数（人）")


class DisclosureFees(Strict):
    amount_yuan: float | None = Field(
        None, description="依申请公开收费/信息处理费金额（元）；“未收取”“没有收费”为0"
    )


class Narrative(Strict):
    problems: list[str] = Field(
        default_factory=list,
        description="存在的主要问题：每个问题一条，照录原文，只取陈述问题的那一句",
    )
    improvements: list[str] = Field(
        default_factory=list, description="改进情况/下一步工作打算：每项措施一条，照录原文"
    )


class Contact(Strict):
    address: str | None = Field(None, description="地址，照录")
    postcode: str | None = Field(None, description="邮编")
    phone: str | None = Field(None, description="电话，照录")
    email: str | None = Field(None, description="邮箱")
    website: str | None = Field(None, description="公布本报告的网址，照录")


class Report(Strict):
    meta: Meta = Field(default_factory=Meta)
    proactive: Proactive = Field(default_factory=Proactive)
    requests: Requests = Field(default_factory=Requests)
    appeals: Appeals = Field(default_factory=Appeals)
    legacy: Legacy = Field(default_factory=Legacy)
    disclosure_fees: DisclosureFees = Field(default_factory=DisclosureFees)
    narrative: Narrative = Field(default_factory=Narrative)
    contact: Contact = Field(default_factory=Contact)
