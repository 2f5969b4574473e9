from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from structurer.store.session import dispose_engines

pytest_plugins = ["tests.labelstudio_fixture", "tests.hostile_fixture", "tests.pg_fixture"]

REPO = Path(__file__).resolve().parents[1]
# The shared data (corpus, gold, spec) beside the repo; STRUCTURER_SHARED_DIR points elsewhere.
SHARED = Path(os.environ.get("STRUCTURER_SHARED_DIR") or REPO.parent / "shared")
CORPUS = SHARED / "corpus"
GOLD = SHARED / "gold"
SAMPLES = REPO / "samples"


SHARED_MISSING = f"the shared folder {SHARED} (corpus/, gold/) is not present"
T = TypeVar("T")


def needs_shared() -> Callable[[T], T]:
    """Skip, visibly, when the shared folder is missing; under STRUCTURER_REQUIRE_SHARED=1 (set by
    scripts/test.sh when the folder is there) that skip is a failure (marker `shared`)."""

    def apply(test: T) -> T:
        skip = pytest.mark.skipif(not (CORPUS.is_dir() and GOLD.is_dir()), reason=SHARED_MISSING)
        return pytest.mark.shared(skip(test))

    return apply


def shared_files(directory: Path, pattern: str) -> list[Any]:
    """Files of the shared folder to parametrise a test over. A missing or empty folder gives
    one skipped case (marker `shared`: a failure under STRUCTURER_REQUIRE_SHARED=1), never zero
    cases passing silently."""
    found = sorted(directory.glob(pattern))
    if found:
        return found
    reason = f"no {pattern} in {directory}: {SHARED_MISSING}"
    return [
        pytest.param(
            None, id="missing", marks=[pytest.mark.shared, pytest.mark.skip(reason=reason)]
        )
    ]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    for var in (
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "DATABASE_URL",
        "LABEL_STUDIO_URL",
        "LABEL_STUDIO_API_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    # Every part asked (ask_less=off), so a test sees the LLM's reading beside the rule and
    # table readers'; the default (fields) is tested in test_speed and end to end.
    s = Settings(
        data_dir=tmp_path / "data",
        openai_base_url="http://fake-endpoint/v1",
        model="fake-model",
        ask_less="off",
    )
    yield s
    dispose_engines()


@pytest.fixture
def fake_model() -> FakeChatModel:
    return FakeChatModel(logprob=-0.05)


def load_gold(name: str) -> dict[str, Any]:
    return json.loads((GOLD / name).read_text(encoding="utf-8"))


SERVICE_MARKERS = ("model", "labelstudio", "postgres", "browser", "ray")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With STRUCTURER_REQUIRE_SERVICES=1 (CI), a service test that skips is a failure: a missing
    server must not pass silently. STRUCTURER_REQUIRE_SHARED=1 does the same for the shared
    folder's tests."""
    outcome = yield
    report = outcome.get_result()
    required = [
        m
        for m, var in [
            *((m, "STRUCTURER_REQUIRE_SERVICES") for m in SERVICE_MARKERS),
            ("shared", "STRUCTURER_REQUIRE_SHARED"),
        ]
        if os.environ.get(var) == "1"
    ]
    if report.skipped and any(item.get_closest_marker(m) for m in required):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped, but the test run requires it: {reason}"
