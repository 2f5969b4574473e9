from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from gov_disclosure import REPORT_TYPE
from gov_disclosure.record import Report
from structurer.core.records import flatten, leaf_paths, unflatten
from tests.conftest import GOLD, SHARED, needs_shared, shared_files

SPEC = SHARED / "spec" / "report-schema.md"


def spec_paths() -> set[str]:
    """Rebuild the 245 paths from the spec's own tables."""
    text = SPEC.read_text(encoding="utf-8")
    paths: set[str] = set()
    for m in re.finditer(
        r"^\| (meta|legacy|disclosure_fees|narrative|contact|proactive)\.([a-z_.0-9]+) \|",
        text,
        re.M,
    ):
        paths.add(f"{m.group(1)}.{m.group(2)}")
    cols = {
        "regulations": ["issued", "repealed", "in_force", "published", "total_published"],
        "normative_documents": ["issued", "repealed", "in_force", "published", "total_published"],
        "licensing": ["decisions", "prev_year_items", "change"],
        "other_services": ["decisions", "prev_year_items", "change"],
        "penalties": ["decisions", "prev_year_items", "change"],
        "enforcement": ["decisions", "prev_year_items", "change"],
        "fees": ["amount_10k_yuan", "prev_year_items", "change"],
        "procurement": ["projects", "amount_10k_yuan"],
    }
    paths = {p for p in paths if not any(p == f"proactive.{row}" for row in cols)}
    for row, names in cols.items():
        paths.update(f"proactive.{row}.{c}" for c in names)
    rows = re.findall(r"^\| ([a-z_]+) \| (?:一|二|三|四)", text, re.M)
    columns = [
        "natural_person",
        "commercial",
        "research",
        "nonprofit",
        "legal_services",
        "other_org",
        "total",
    ]
    paths.update(f"requests.{r}.{c}" for r in rows for c in columns)
    for group in ("reconsideration", "litigation_direct", "litigation_after_reconsideration"):
        paths.update(
            f"appeals.{group}.{c}" for c in ("upheld", "corrected", "other", "pending", "total")
        )
    return paths


def test_dump_has_exactly_245_paths() -> None:
    dumped = flatten(Report().model_dump(mode="json"))
    assert len(dumped) == 245
    assert set(dumped) == set(leaf_paths(Report))


@pytest.mark.shared
@pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} not present")
def test_paths_match_the_spec() -> None:
    assert set(leaf_paths(Report)) == spec_paths()


@needs_shared()
@pytest.mark.parametrize("gold_file", shared_files(GOLD, "*.json"), ids=lambda p: p.name)
def test_every_gold_record_validates(gold_file: Path) -> None:
    gold = json.loads(gold_file.read_text(encoding="utf-8"))
    record, breaks = REPORT_TYPE.validate(gold["record"])
    assert flatten(record) == flatten(gold["record"])
    assert breaks == []


def test_extra_keys_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Report.model_validate({"meta": {"title": "x", "colour": "red"}})


def test_enums_and_dates_are_strict() -> None:
    with pytest.raises(ValidationError):
        Report.model_validate({"meta": {"admin_level": "village"}})
    r = Report.model_validate({"meta": {"publish_date": "2019-02-20", "format": "2021"}})
    assert r.model_dump(mode="json")["meta"]["publish_date"] == "2019-02-20"


def test_identity_breaks_are_reported_not_raised() -> None:
    flat = flatten(Report().model_dump(mode="json"))
    cols = ["natural_person", "commercial", "research", "nonprofit", "legal_services", "other_org"]
    for c in cols:
        flat[f"requests.new_received.{c}"] = 1
    flat["requests.new_received.total"] = 7  # should be 6
    flat["appeals.reconsideration.upheld"] = 1
    for c in ("corrected", "other", "pending"):
        flat[f"appeals.reconsideration.{c}"] = 0
    flat["appeals.reconsideration.total"] = 1
    _, breaks = REPORT_TYPE.validate(unflatten(flat))
    names = [b["name"] for b in breaks]
    assert names == ["requests.row_sum.new_received"]
    assert breaks[0]["expected"] == 7 and breaks[0]["actual"] == 6


def test_balance_identity() -> None:
    flat = flatten(Report().model_dump(mode="json"))
    flat.update(
        {
            "requests.new_received.total": 5,
            "requests.carried_over.total": 1,
            "requests.total.total": 4,
            "requests.carried_forward.total": 1,
        }
    )
    _, breaks = REPORT_TYPE.validate(unflatten(flat))
    assert [b["name"] for b in breaks] == ["requests.balance.total"]
