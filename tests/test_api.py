"""The public Python API (`structurer.extract`, `extract_many`) on the in-process MockModel, and
the README's Python example against the FAKE HTTP endpoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import structurer
from gov_disclosure import REPORT_TYPE
from structurer.core.records import flatten
from structurer.core.response_models import _camel
from structurer.core.types import DocStatus, FieldStatus
from structurer.llm.mock import MockModel
from structurer.settings import Settings
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo, gold_mock, load

SAMPLE_GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"


def test_extract_a_path_gives_record_fields_and_status(settings: Settings) -> None:
    gold = load(SAMPLE_GOLD)
    model = MockModel(default=gold_mock(gold["record"]))
    s = settings.model_copy(update={"table_reader": "llm"})
    result = structurer.extract(SAMPLES / "sample_2021_short.txt", s, llm=model)
    assert result.status == DocStatus.ok and result.error is None
    assert result.record is not None
    assert flatten(result.record) == flatten(gold["record"])
    assert model.calls, "the model was asked"
    title = result.field("meta.title")
    assert title is not None and title.value == gold["record"]["meta"]["title"]
    assert title.evidence is not None and title.confidence is not None
    assert all(f.status in (FieldStatus.auto, FieldStatus.needs_review) for f in result.fields)


def test_extract_a_text_and_a_non_report(settings: Settings) -> None:
    model = MockModel()
    result = structurer.extract("番茄炒蛋的做法：先把鸡蛋打散。\n" * 20, settings, llm=model)
    assert result.status == DocStatus.failed
    assert result.error is not None and "not a report" in result.error
    assert result.record is None and model.calls == []


def test_extract_many_streams_results(settings: Settings, tmp_path: Path) -> None:
    gold = load(SAMPLE_GOLD)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_bytes((SAMPLES / "sample_2021_short.txt").read_bytes())
    (docs / "empty.txt").write_bytes(b"")
    s = settings.model_copy(update={"table_reader": "llm"})
    batch = structurer.extract_many([docs], s, llm=MockModel(default=gold_mock(gold["record"])))
    by_name = {r.document: r for r in batch}
    assert by_name["a.txt"].status == DocStatus.ok
    assert by_name["empty.txt"].status == DocStatus.failed and by_name["empty.txt"].record is None
    assert batch.summary.run_id == by_name["a.txt"].run_id


def test_readme_python_example_runs(tmp_path: Path) -> None:
    """The README's example, as written, against the FAKE OpenAI-compatible server."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "README has a python example"
    gold = load(SAMPLE_GOLD)
    respond = gold_echo(gold["record"])
    recorded = {
        _camel(p.name): respond({"response_format": {"json_schema": {"name": _camel(p.name)}}})
        for p in REPORT_TYPE.parts
    }
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(recorded, ensure_ascii=False), encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "structurer.llm.fake_server", "--recorded", str(replies)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        env = {
            **os.environ,
            "OPENAI_BASE_URL": base_url,
            "STRUCTURER_MODEL": "fake-model",
            "STRUCTURER_DATA_DIR": str(tmp_path / "data"),
        }
        out = subprocess.run(
            [sys.executable, "-c", blocks[0]],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        assert out.stdout.splitlines()[0] == f"ok {gold['record']['meta']['title']}"
    finally:
        server.kill()
        server.wait()
