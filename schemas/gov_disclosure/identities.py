"""Table identities of the standard tables, checked on a nested record dict.

Only identities whose every term is printed (not null) are checked; a break is reported,
never raised.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class IdentityBreak(BaseModel):
    """A table identity the printed figures do not satisfy."""

    name: str
    paths: list[str]
    expected: int
    actual: int


REQUEST_COLUMNS = [
    "natural_person",
    "commercial",
    "research",
    "nonprofit",
    "legal_services",
    "other_org",
]
RESULT_ROWS = [
    "granted",
    "partially_granted",
    "withheld_state_secret",
    "withheld_prohibited_by_law",
    "withheld_security_stability",
    "withheld_third_party",
    "withheld_internal_affairs",
    "withheld_process_info",
    "withheld_enforcement_files",
    "withheld_query_matters",
    "unavailable_not_held",
    "unavailable_needs_creation",
    "unavailable_unclear",
    "rejected_petition",
    "rejected_duplicate",
    "rejected_publication",
    "rejected_excessive",
    "rejected_confirmation",
    "other_no_correction",
    "other_no_fee",
    "other_misc",
]
APPEAL_GROUPS = ["reconsideration", "litigation_direct", "litigation_after_reconsideration"]
APPEAL_PARTS = ["upheld", "corrected", "other", "pending"]


def _sum_identity(
    name: str,
    record: dict[str, Any],
    total_path: str,
    part_paths: list[str],
    *,
    allow_missing_parts: bool,
) -> IdentityBreak | None:
    def get(path: str) -> Any:
        node: Any = record
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node

    total = get(total_path)
    parts = [get(p) for p in part_paths]
    if total is None:
        return None
    present = [p for p in parts if p is not None]
    if not present or (not allow_missing_parts and len(present) != len(parts)):
        return None
    actual = int(sum(present))
    if actual == int(total):
        return None
    return IdentityBreak(
        name=name, paths=[total_path, *part_paths], expected=int(total), actual=actual
    )


def identity_checks(record: dict[str, Any]) -> list[tuple[str, str, list[str], bool]]:
    """(name, total path, part paths, allow missing parts) for every sum identity.

    The balance identity (一 + 二 = 三(七) + 四) is checked apart, by `balance_breaks`.
    """
    checks: list[tuple[str, str, list[str], bool]] = []
    for col in [*REQUEST_COLUMNS, "total"]:
        checks.append(
            (
                f"requests.results_sum.{col}",
                f"requests.total.{col}",
                [f"requests.{row}.{col}" for row in RESULT_ROWS],
                True,
            )
        )
    for row in ["new_received", "carried_over", *RESULT_ROWS, "total", "carried_forward"]:
        checks.append(
            (
                f"requests.row_sum.{row}",
                f"requests.{row}.total",
                [f"requests.{row}.{c}" for c in REQUEST_COLUMNS],
                False,
            )
        )
    for group in APPEAL_GROUPS:
        checks.append(
            (
                f"appeals.sum.{group}",
                f"appeals.{group}.total",
                [f"appeals.{group}.{p}" for p in APPEAL_PARTS],
                False,
            )
        )
    return checks


def check_identities(record: dict[str, Any]) -> list[IdentityBreak]:
    breaks: list[IdentityBreak] = []
    for col in [*REQUEST_COLUMNS, "total"]:
        breaks.extend(balance_breaks(record, col))
    for name, total_path, part_paths, allow_missing in identity_checks(record):
        found = _sum_identity(
            name, record, total_path, part_paths, allow_missing_parts=allow_missing
        )
        if found is not None:
            breaks.append(found)
    return breaks


def balance_breaks(record: dict[str, Any], col: str) -> list[IdentityBreak]:
    """new_received + carried_over = total + carried_forward, for one column."""
    req = record.get("requests") or {}
    values = [
        (req.get(row) or {}).get(col)
        for row in ("new_received", "carried_over", "total", "carried_forward")
    ]
    if any(v is None for v in values):
        return []
    new, over, total, forward = (int(v) for v in values if v is not None)
    if new + over == total + forward:
        return []
    return [
        IdentityBreak(
            name=f"requests.balance.{col}",
            paths=[
                f"requests.new_received.{col}",
                f"requests.carried_over.{col}",
                f"requests.total.{col}",
                f"requests.carried_forward.{col}",
            ],
            expected=new + over,
            actual=total + forward,
        )
    ]
