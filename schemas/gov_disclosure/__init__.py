"""Report type: 政府信息公开工作年度报告 (government information-disclosure annual report)."""

from gov_disclosure.record import Report
from gov_disclosure.report_type import build

REPORT_TYPE = build()

__all__ = ["REPORT_TYPE", "Report"]
