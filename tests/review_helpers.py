"""Helpers of the review tests: reports extracted with the in-process MockModel (it answers
every part from the sample's gold record, two counts corrupted), annotation results as the labeling page
submits them, and the Label Studio REST API as a person's browser would call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlmodel import Session, select

from structurer.batch.run import run_extraction
from structurer.llm.mock import MockModel
from structurer.review.labeling import load_review_config
from structurer.settings import Settings
from structurer.store.models import FieldValue
from structurer.store.review_models import ReviewTask
from structurer.store.session import session_scope
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_mock, load

SAMPLE = SAMPLES / "sample_2021_short.txt"
SAMPLE_GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"
LONG = SAMPLES / "sample_2021.txt"
LONG_GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021.json"
CORRUPT = {"proactive.total_items", "requests.new_received.total"}  # the model says 58 and 4
CONFIG = load_review_config("gov_disclosure")


def review_settings(
    settings: Settings, url: str, token: str, table_reader: str = "llm"
) -> Settings:
    return settings.model_copy(
        update={
            "table_reader": table_reader,
            # the round trip of a value the model asserts wrongly (CORRUPT): with grounding the
            # unquoted 58 would be nulled before review (that path: tests/test_grounding.py)
            "grounding": "off",
            "rule_reader": False,
            "label_studio_url": url,
            "label_studio_api_key": SecretStr(token),
        }
    )


def extract(settings: Settings, paths: list[Path] | None = None, gold: Path = SAMPLE_GOLD) -> str:
    record = load(gold)["record"]
    llm = MockModel(default=gold_mock(record, corrupt=CORRUPT), logprob=-0.05)
    summary = run_extraction([str(p) for p in paths or [SAMPLE]], settings, llm=llm)
    assert {r.status for r in summary.results} == {"ok"}, summary.results
    return summary.run_id


def copies(source: Path, out: Path, n: int, start: int = 0) -> list[Path]:
    """``n`` distinct reports (one invented line appended) with the text of ``source``."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(start, start + n):
        path = out / f"{source.stem}_copy{i}.txt"
        path.write_text(
            source.read_text(encoding="utf-8") + f"\n（存档编号：副本{i}）\n", encoding="utf-8"
        )
        made.append(path)
    return made


def rows(session: Session) -> dict[str, FieldValue]:
    return {fv.path: fv for fv in session.exec(select(FieldValue)).all()}


def review_rows(settings: Settings) -> list[ReviewTask]:
    with session_scope(settings) as session:
        return list(session.exec(select(ReviewTask)).all())


def api(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=60)


def server_tasks(http: httpx.Client, project_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = http.get(
            "/api/tasks",
            params={"project": project_id, "page": page, "page_size": 100, "fields": "all"},
        )
        if answer.status_code == 404:
            return found
        answer.raise_for_status()
        batch = answer.json()["tasks"]
        found.extend(batch)
        if len(batch) < 100:
            return found
        page += 1


def form(task: dict[str, Any], answers: dict[str, tuple[str, str | None]]) -> list[dict[str, Any]]:
    """The result the page submits for ``task``: every field as pre-filled (正确, the model's
    value) except ``answers``: path -> (verdict key, typed value or None to keep the input)."""
    out: list[dict[str, Any]] = []
    prefilled = {r["from_name"]: r for r in task["predictions"][0]["result"]}
    for slot, item in enumerate(task["data"]["fields"]):
        verdict, typed = answers.get(item["path"], ("confirmed", None))
        out.append(
            {
                "from_name": f"verdict_{slot}",
                "to_name": "report",
                "type": "choices",
                "value": {"choices": [CONFIG.verdicts[verdict]]},  # type: ignore[index]
            }
        )
        text = [typed] if typed is not None else None
        if text is None and f"value_{slot}" in prefilled:
            text = prefilled[f"value_{slot}"]["value"]["text"]
        if text is not None:
            out.append(
                {
                    "from_name": f"value_{slot}",
                    "to_name": "report",
                    "type": "textarea",
                    "value": {"text": text},
                }
            )
    return out


def annotate(http: httpx.Client, task_id: int, res: list[dict[str, Any]]) -> int:
    answer = http.post(f"/api/tasks/{task_id}/annotations", json={"result": res})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])
