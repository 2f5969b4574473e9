"""`structurer show DOC --html`: the page an engineer opens to see why a field is wrong."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from structurer.batch.run import run_extraction
from structurer.cli.main import app
from structurer.cli.show_html import FieldView, highlighted_text, render_document
from structurer.llm.client import LLMClient
from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from tests.conftest import SAMPLES
from tests.test_grounding import responder
from tests.test_review_browser import browser, output_dir  # noqa: F401 - the fixture

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def test_overlapping_evidence_is_marked_and_escaped() -> None:
    text = "标题<b>\n全年主动公开政府信息57条。"
    sentence, number = text.index("全年"), text.index("57条")
    fields = [
        FieldView("meta.title", "标题<b>", confidence=0.9, start=0, end=5),
        FieldView("proactive.total_items", 57, confidence=0.2, start=sentence, end=len(text)),
        FieldView("legacy.x", 57, confidence=0.95, start=number, end=number + 3),  # inside
    ]
    page = str(highlighted_text(text, fields))
    assert "&lt;b&gt;" in page and "<b>" not in page
    assert page.count("<mark") == 4  # title, the sentence cut in three around the inner span
    assert 'id="ev-proactive-total_items"' in page and 'id="ev-legacy-x"' in page
    # a segment covered by two fields takes the colour of the less confident one
    assert 'title="proactive.total_items legacy.x">57条' in page
    assert "hsl(24," in page  # 0.2 -> reddish


def test_page_shows_disagreements_and_rejections() -> None:
    fields = [
        FieldView(
            "meta.title",
            "某某县某某局2023年报告",
            reader="rule",
            confidence=0.4,
            start=0,
            end=13,
            signals={"readers_agree": 0.0, "other_value": "某某县2023年报告"},
        ),
        FieldView(
            "proactive.total_items",
            None,
            reader="llm",
            signals={
                "rejected_value": 48,
                "rejected_reason": "48 不在原文中；请引用原文，或填 null",
            },
        ),
    ]
    page = render_document(
        title="doc.txt",
        subtitle="run x",
        text="某某县某某局2023年报告\n正文",
        fields=fields,
        order=["meta.title", "meta.report_year", "proactive.total_items"],
        labels={"meta.title": "标题"},
    )
    assert page.index("meta") < page.index("proactive")  # schema order
    assert "readers differ: rule 某某县某某局2023年报告 · other 某某县2023年报告" in page
    assert "rejected: 48 — 48 不在原文中" in page
    assert 'href="#ev-meta-title"' in page and "report_year" not in page
    assert not EXTERNAL.search(page) and "<script" not in page


def _extracted(settings: Settings) -> None:
    fake = FakeChatModel(responder(None), logprob=-0.01)  # invents total_items, insists
    llm = LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)
    summary = run_extraction([str(SAMPLES / "sample_2021.txt")], settings, llm=llm)
    assert [r.status for r in summary.results] == ["ok"], summary.results


def test_show_html_writes_the_page(settings: Settings, tmp_path: Path) -> None:
    _extracted(settings)
    out = tmp_path / "show.html"
    env = {"STRUCTURER_DATA_DIR": str(settings.data_dir), "OPENAI_BASE_URL": "http://x/v1"}
    result = CliRunner().invoke(app, ["show", "sample_2021.txt", "--html", str(out)], env=env)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "青禾县自然资源局2023年政府信息公开工作年度报告" in page
    assert 'id="ev-meta-title"' in page and 'href="#ev-meta-title"' in page
    assert "rejected: 48 — 48 不在原文中" in page
    assert "(rule+llm)" in page  # the rule reader and the model agreed on some fields
    assert not EXTERNAL.search(page)
    bad = CliRunner().invoke(
        app, ["show", "sample_2021.txt", "--html", str(tmp_path / "no" / "x.html")], env=env
    )
    assert bad.exit_code == 1 and "cannot write" in bad.output


@pytest.mark.browser
def test_the_page_in_a_browser(browser: Any, settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    _extracted(settings)
    out = tmp_path / "show.html"
    env = {"STRUCTURER_DATA_DIR": str(settings.data_dir), "OPENAI_BASE_URL": "http://x/v1"}
    result = CliRunner().invoke(app, ["show", "sample_2021.txt", "--html", str(out)], env=env)
    assert result.exit_code == 0, result.output
    browser.get(out.as_uri() + "#ev-meta-title")
    marks = browser.find_elements(By.CSS_SELECTOR, "mark")
    assert len(marks) > 10
    links = browser.find_elements(By.CSS_SELECTOR, 'aside a[href^="#ev-"]')
    assert links and links[0].is_displayed()
    browser.save_screenshot(str(output_dir() / "show_html.png"))
    assert (output_dir() / "show_html.png").stat().st_size > 10_000
