"""A real browser on a review task: headless Chromium logs in to Label Studio, opens the task
of a pushed field, and finds the proposed value and the highlighted evidence on the page.

The screenshot goes to $STRUCTURER_TEST_OUTPUT (default ./ci-output) as a CI artifact. With
STRUCTURER_REQUIRE_SERVICES=1 a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from structurer.review.pull import pull
from structurer.review.push import push
from structurer.settings import Settings
from structurer.store.review_models import ReviewTask
from structurer.store.session import session_scope
from tests.test_review_loop import SAMPLE, extract, review_settings, rows

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
FIELD = "meta.publish_date"  # proposed 2024-01-18, evidence 2024年1月18日 near the top
WRONG = "proactive.total_items"  # the model said 58 (corrupted); the report says 57


def output_dir() -> Path:
    out = Path(os.environ.get("STRUCTURER_TEST_OUTPUT") or "ci-output")
    out.mkdir(parents=True, exist_ok=True)
    return out


def missing_browser(reason: str) -> None:
    if os.environ.get("STRUCTURER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"browser required (STRUCTURER_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


def server_login(tmp_path_factory: pytest.TempPathFactory, url: str) -> tuple[str, str]:
    """Username and password of the fixture's server: read from its credentials file."""
    base = tmp_path_factory.getbasetemp()
    for creds in base.glob("*/labelstudio/credentials.json"):
        raw = json.loads(creds.read_text())
        if raw.get("url") == url:
            return raw["username"], raw["password"]
    pytest.fail(f"no credentials file of the server at {url} under {base}")


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing_browser("selenium is not installed (pip install -e '.[dev]')")
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.exists():
            missing_browser(f"{binary} is missing (scripts/install_test_services.sh)")
    profile = tempfile.mkdtemp(prefix="structurer-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(180)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: Any, script: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = driver.execute_script(script)
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for: {script}")


HIGHLIGHTS = """
return Array.from(document.querySelectorAll('[class*="htx-highlight"]'))
    .map(e => e.textContent).filter(t => t && t.trim());
"""


@pytest.mark.labelstudio
@pytest.mark.browser
def test_a_task_page_shows_the_value_and_the_evidence(
    browser: Any,
    label_studio: tuple[str, str],
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, token = label_studio
    username, password = server_login(tmp_path_factory, url)
    s = review_settings(settings, url, token)
    run_id = extract(s)
    pushed = push(s, run_id)
    with session_scope(s) as session:
        tasks = {t.path: t for t in session.exec(select(ReviewTask)).all()}
        row = rows(session)[FIELD]
    assert row.evidence_start is not None and row.evidence_end is not None
    quote = SAMPLE.read_text(encoding="utf-8")[row.evidence_start : row.evidence_end]

    browser.get(f"{url}/user/login/")
    browser.find_element(By.NAME, "email").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
    wait_for(browser, "return !location.pathname.startsWith('/user/login')")
    open_task(browser, url, pushed.project_id, tasks[FIELD])
    card = wait_for(browser, CARD)
    highlights = wait_for(browser, HIGHLIGHTS)
    time.sleep(2)  # let the layout settle before the picture
    shot = output_dir() / "review-task.png"
    browser.save_screenshot(str(shot))

    # the field, its proposed value and confidence near the top
    assert "发布日期" in card.text and FIELD in card.text
    proposed = browser.find_element(By.CSS_SELECTOR, ".structurer-card .proposed").text
    assert proposed == "2024-01-18"
    assert f"{row.confidence:.2f}" in card.text
    # the evidence: marked in the snippet and highlighted (the pre-filled region) in the report
    assert browser.find_element(By.CSS_SELECTOR, ".structurer-card mark.evidence").text == quote
    assert quote in "".join(highlights)
    page = browser.execute_script("return document.body.innerText")
    for verdict in ("正确", "错误，已更正", "原文未提及"):
        assert verdict in page
    assert shot.stat().st_size > 10_000

    # a person corrects a wrong value in the page (edits the pre-filled input) and submits
    open_task(browser, url, pushed.project_id, tasks[WRONG])
    wait_for(browser, CARD)
    assert browser.find_element(By.CSS_SELECTOR, ".structurer-card .proposed").text == "58"
    browser.find_element(By.XPATH, "//*[normalize-space(text())='错误，已更正']").click()
    edit = wait_for(browser, EDIT_BUTTON, timeout=30)
    browser.execute_script("arguments[0].click()", edit)
    entry = wait_for(browser, EDITOR, timeout=30)
    entry.send_keys(Keys.CONTROL, "a")
    entry.send_keys("57")
    entry.send_keys(Keys.ENTER)
    time.sleep(1)
    browser.save_screenshot(str(output_dir() / "review-task-corrected.png"))
    browser.find_element(By.XPATH, "//button[normalize-space(.)='Submit']").click()
    applied: list[Any] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not applied:
        time.sleep(1)
        applied = [c for c in pull(s).corrections if c.path == WRONG]
    assert [(c.accepted, c.value, c.verdict) for c in applied] == [(True, 57, "corrected")]
    with session_scope(s) as session:
        fixed = rows(session)[WRONG]
    assert (fixed.value, fixed.status) == (57, "corrected")


def open_task(browser: Any, url: str, project_id: int, task: ReviewTask) -> None:
    """Open a task in the labeling view and wait for its card (the path is on it)."""
    browser.get(f"{url}/projects/{project_id}/data?task={task.task_id}")
    wait_for(
        browser,
        "const c = document.querySelector('.structurer-card .path');"
        f"return c && c.textContent.startsWith({json.dumps(task.path)} + ' ');",
    )


CARD = "return document.querySelector('.structurer-card')"
EDIT_BUTTON = """
return Array.from(document.querySelectorAll('[data-testid="htx-textbox-edit-button"]'))
    .find(e => e.closest('[data-testid="textarea-region"]'));
"""
EDITOR = """
return Array.from(document.querySelectorAll('textarea, input[type=text]'))
    .find(e => e.offsetParent && e.closest('[data-testid="textarea-region"]'));
"""
