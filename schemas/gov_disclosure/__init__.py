"""Report type: 政府信息公开工作年度报告 (government information-disclosure annual report)."""

from gov_disclosure.record import Report

__all__ = ["Report"]
