"""The review UI's words come from the report type: English defaults, the type's `ui` over
them, nothing report-specific in structurer/review/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from structurer.core.report_type import PartSpec, ReportType
from structurer.review.labeling import (
    InputKind,
    ReviewConfigError,
    Verdict,
    label_config,
    load_review_config,
    review_fields,
)
from structurer.review.tasks import FieldToReview, ReportTask, task_data
from structurer.review.ui import DEFAULT_UI
from structurer.review.values import InvalidValue, parse_value
from tests.conftest import REPO

CJK = re.compile(r"[\u4e00-\u9fff]")


class Shop(BaseModel):
    name: str | None = None
    open_sundays: bool | None = None


class Sales(BaseModel):
    units: int | None = None


class Toy(BaseModel):
    shop: Shop = Field(default_factory=Shop, title="The shop")
    sales: Sales = Field(default_factory=Sales)


def toy(ui: dict[str, str] | None = None) -> ReportType:
    return ReportType(
        name="toy_review",
        record_model=Toy,
        sections=(),
        parts=(PartSpec("all", ("shop", "sales"), (), "all"),),
        check_identities=lambda record: [],
        not_a_report=lambda text: None,
        labels={"sales.units": "Units sold"},
        ui=ui or {},
    )


def test_a_report_type_without_ui_gets_english() -> None:
    rtype = toy()
    config = load_review_config(rtype)
    assert config.verdicts[Verdict.not_stated] == DEFAULT_UI["verdicts.not_stated"]
    assert config.sections == {"shop": "The shop", "sales": "sales"}  # from the record model
    xml = label_config(rtype, config)
    assert not CJK.search(xml) and DEFAULT_UI["form.report_header"] in xml
    fields = review_fields(rtype)
    assert fields["shop.open_sundays"].kind is InputKind.choice
    assert fields["shop.open_sundays"].options[0] == ("true", DEFAULT_UI["choice.true"])
    item = FieldToReview(1, fields["sales.units"], None, 0.3, None, None, "sales", "why")
    data = task_data(ReportTask(7, "run", "doc.txt", "No figures here.", [item]), config)
    card = data["fields"][0]["card"]
    assert not CJK.search(str(data))
    assert "Units sold" in card and DEFAULT_UI["value.empty"] in card
    assert DEFAULT_UI["card.no_evidence"] in card and data["audit"] == DEFAULT_UI["task_list.no"]


def test_the_type_s_words_replace_the_defaults() -> None:
    ui = {
        "verdicts.confirmed": "ok",
        "sections.sales": "Sales",
        "sections.shop": "Shop",
        "card.why": "Check: ",
    }
    config = load_review_config(toy(ui))
    assert (
        config.verdicts[Verdict.confirmed] == "ok" and config.verdict_of("ok") is Verdict.confirmed
    )
    assert list(config.sections.items()) == [("sales", "Sales"), ("shop", "Shop")]  # its order
    fields = review_fields(toy(ui))
    with pytest.raises(InvalidValue, match="choose nope"):
        parse_value(fields["sales.units"], " ", not_stated="nope")


@pytest.mark.parametrize(
    "ui, message",
    [
        ({"verdict.confirmed": "ok"}, "unknown keys"),  # a typo: the group is "verdicts"
        ({"sections.stock": "Stock"}, "sections the record lacks"),
        ({"verdicts.confirmed": "same", "verdicts.corrected": "same"}, "distinct"),
        ({"max_fields_per_task": "many"}, "invalid literal"),
    ],
)
def test_bad_ui_is_a_clear_error(ui: dict[str, str], message: str) -> None:
    with pytest.raises(ReviewConfigError, match=message):
        load_review_config(toy(ui))


def test_gov_disclosure_keeps_its_stored_choice_values() -> None:
    """Annotations store the verdict labels: the Chinese ones pull has always read."""
    config = load_review_config("gov_disclosure")
    assert [config.verdicts[v] for v in Verdict] == ["正确", "错误，已更正", "原文未提及"]
    assert config.word("task_list.title") == "复核任务"


def test_no_chinese_in_the_review_package() -> None:
    for path in sorted((REPO / "structurer" / "review").rglob("*")):
        if path.suffix in (".py", ".j2"):
            found = CJK.search(Path(path).read_text(encoding="utf-8"))
            assert found is None, f"{path.relative_to(REPO)}: {found and found.group()}"
