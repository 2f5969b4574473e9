"""A real browser reviews a whole report: headless Chromium logs in to Label Studio, reads the
task list, opens the report's one task, finds every flagged field with its Chinese label,
proposed value and evidence, jumps to an evidence in the report, corrects two fields, confirms
the rest by submitting once; pull applies both corrections.

Screenshots go to $STRUCTURER_TEST_OUTPUT (default ./ci-output) as CI artifacts; the test
browser has CJK fonts (fonts-noto-cjk, scripts/install_test_services.sh), so they show the
report's text. With STRUCTURER_REQUIRE_SERVICES=1 a missing browser fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from structurer.review.pull import pull
from structurer.review.push import push
from structurer.review.values import shown_value
from structurer.settings import Settings
from structurer.store.session import session_scope
from tests.review_helpers import CONFIG, SAMPLE, extract, review_rows, review_settings, rows
from tests.test_review_loop import FIELDS, budget

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
    "--window-size=1600,1000",
    "--lang=zh-CN",
)
WRONG = {"proactive.total_items": "57", "requests.new_received.total": "3"}  # the model: 58, 4


def output_dir() -> Path:
    out = Path(os.environ.get("STRUCTURER_TEST_OUTPUT") or "ci-output")
    out.mkdir(parents=True, exist_ok=True)
    return out


def missing_browser(reason: str) -> None:
    if os.environ.get("STRUCTURER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"browser required (STRUCTURER_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


def cjk_font() -> bool:
    try:
        found = subprocess.run(
            ["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.strip())


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
    if not cjk_font():
        missing_browser("no CJK font: the page would show boxes (apt-get install fonts-noto-cjk)")
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


def wait_for(driver: Any, script: str, *args: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = driver.execute_script(script, *args)
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for: {script}")


LIST_COLUMNS = ("document", "body", "year", "n_fields", "lowest_confidence", "audit")
ON_SCREEN = """
const names = arguments[0], seen = {};
for (const el of document.querySelectorAll('body *')) {
  const own = Array.from(el.childNodes).filter(n => n.nodeType === 3)
      .map(n => n.textContent.trim()).join('');
  const box = el.getBoundingClientRect();
  if (names.includes(own) && box.width > 0 && box.right <= innerWidth) seen[own] = true;
}
return names.every(n => seen[n]);
"""
CARDS = "Array.from(document.querySelectorAll('.structurer-card'))"
IN_VIEW = """
const target = document.getElementById(arguments[0]);
const box = target && target.closest('.structurer-report');
if (!target || !box) return false;
const t = target.getBoundingClientRect(), b = box.getBoundingClientRect();
return t.top >= b.top - 1 && t.top <= b.bottom;
"""
EDIT_AFTER = """
const card = document.querySelector(`.structurer-card[data-path="${arguments[0]}"]`);
const all = Array.from(document.querySelectorAll('[data-testid="htx-textbox-edit-button"]'));
return all.find(e => card.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING);
"""
EDITOR = """
return Array.from(document.querySelectorAll('textarea, input[type=text]'))
    .find(e => e.offsetParent && e.closest('[data-testid="textarea-region"]'));
"""


@pytest.mark.labelstudio
@pytest.mark.browser
def test_a_person_reviews_a_whole_report(
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
    budget(s)
    pushed = push(s, run_id)
    assert pushed.created == 1
    fields = sorted(review_rows(s), key=lambda t: t.slot)
    assert set(WRONG) <= {t.path for t in fields} and len(fields) >= 10
    task_id = fields[0].task_id
    with session_scope(s) as session:
        flagged = {p: r for p, r in rows(session).items() if r.status == "needs_review"}
    out = output_dir()

    browser.get(f"{url}/user/login/")
    browser.find_element(By.NAME, "email").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
    wait_for(browser, "return !location.pathname.startsWith('/user/login')")

    # the task list: one row for the report, columns that read, no markup
    browser.get(f"{url}/projects/{pushed.project_id}/data")
    grid = wait_for(
        browser,
        f"return document.body.innerText.includes({json.dumps(SAMPLE.name)})"
        " && document.body.innerText",
    )
    time.sleep(2)
    browser.save_screenshot(str(out / "review-task-list.png"))
    wait_for(browser, ON_SCREEN, list(LIST_COLUMNS), timeout=30)  # not scrolled off
    assert "structurer-card" not in grid and "<div" not in grid and "<mark" not in grid

    # the report's task: every field in one form, grouped by section, beside the report
    browser.get(f"{url}/projects/{pushed.project_id}/data?task={task_id}")
    # Read the cards in one script call: Label Studio re-renders the form while it settles, so
    # element handles kept across calls can go stale on a loaded machine.
    cards = wait_for(
        browser,
        f"const c = {CARDS}; return c.length >= {len(fields)} && c.map(e => ({{"
        "path: e.dataset.path, text: e.innerText,"
        " proposed: (e.querySelector('.proposed') || {innerText: null}).innerText}));",
    )
    assert [c["path"] for c in cards] == [t.path for t in fields]
    page = browser.execute_script("return document.body.innerText")
    assert "本年主动公开政府信息总数" in page and "需要核对" in page
    assert "主动公开" in page and "依申请公开" in page
    for card, task in zip(cards, fields, strict=True):
        empty = CONFIG.word("value.empty")
        assert card["proposed"] == shown_value(FIELDS[task.path], flagged[task.path].value, empty)
        assert f"{flagged[task.path].confidence:.2f}" in card["text"]
    marks = browser.find_elements(By.CSS_SELECTOR, ".structurer-report mark[data-fields]")
    assert marks and all(m.is_displayed() for m in marks[:3])
    time.sleep(2)
    browser.save_screenshot(str(out / "review-task.png"))

    # jump: with the report scrolled to its end, a field's link brings its evidence into view
    first = browser.find_elements(By.CSS_SELECTOR, ".structurer-card label.jump")[0]
    anchor = first.get_attribute("for")
    browser.execute_script(
        "const r = document.querySelector('.structurer-report'); r.scrollTop = r.scrollHeight;"
    )
    time.sleep(0.5)
    assert browser.execute_script("return !!document.getElementById(arguments[0])", anchor)
    assert not browser.execute_script(IN_VIEW, anchor)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", first)
    first.click()
    wait_for(browser, IN_VIEW, anchor, timeout=15)
    assert browser.current_url.startswith(f"{url}/projects/{pushed.project_id}/data")
    time.sleep(1)
    browser.save_screenshot(str(out / "review-task-jump.png"))

    # correct two fields (one edit each), leave the others confirmed, submit once
    for path, typed in WRONG.items():
        edit = wait_for(browser, EDIT_AFTER, path)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", edit)
        browser.execute_script("arguments[0].click()", edit)
        entry = wait_for(browser, EDITOR, timeout=30)
        entry.send_keys(Keys.CONTROL, "a")
        entry.send_keys(typed)
        region = browser.execute_script(
            "return arguments[0].closest('[data-testid=\"textarea-region\"]')", entry
        )
        region.find_element(By.CSS_SELECTOR, '[data-testid="htx-textbox-save"]').click()
        wait_for(browser, "return !(" + EDITOR.strip().removeprefix("return ").rstrip(";") + ")")
        time.sleep(0.5)
    browser.save_screenshot(str(out / "review-task-corrected.png"))
    browser.find_element(By.XPATH, "//button[normalize-space(.)='Submit']").click()

    pulled: list[Any] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not pulled:
        time.sleep(1)
        pulled = pull(s).corrections
    by_path = {c.path: c for c in pulled}
    assert set(by_path) == {t.path for t in fields}
    assert not [c for c in pulled if not c.accepted], [c.describe() for c in pulled]
    corrected = {p: c.value for p, c in by_path.items() if c.verdict == "corrected"}
    assert corrected == {p: int(v) for p, v in WRONG.items()}
    with session_scope(s) as session:
        now = rows(session)
    for path, typed in WRONG.items():
        assert (now[path].value, now[path].status) == (int(typed), "corrected")
    assert all(now[t.path].status == "corrected" for t in fields)
    assert (out / "review-task.png").stat().st_size > 20_000
