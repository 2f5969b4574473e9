from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from structurer.store.session import dispose_engines

pytest_plugins = ["tests.labelstudio_fixture"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
GOLD = SHARED / "gold"
SAMPLES = REPO / "samples"


def needs_shared() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus not present")


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
    s = Settings(
        data_dir=tmp_path / "data", openai_base_url="http://fake-endpoint/v1", model="fake-model"
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
    """With STRUCTURER_REQUIRE_SERVICES=1 (CI), a service test that skips is a failure:
    a missing server must not pass silently."""
    outcome = yield
    report = outcome.get_result()
    required = os.environ.get("STRUCTURER_REQUIRE_SERVICES") == "1"
    if report.skipped and required and any(item.get_closest_marker(m) for m in SERVICE_MARKERS):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"service test skipped but STRUCTURER_REQUIRE_SERVICES=1: {reason}"
