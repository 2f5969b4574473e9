"""A second report type (tests/toy_report: an English club report with one table) runs
extract -> export -> eval end to end: the engine is generic over the report type."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import structurer
from structurer.batch.export import iter_exports, write_jsonl
from structurer.core.records import flatten
from structurer.core.response_models import part_fields
from structurer.core.types import DocStatus
from structurer.eval import evaluate, load_gold
from structurer.eval.run import run_eval
from structurer.llm.mock import MockModel
from structurer.settings import Settings
from structurer.store.session import session_scope
from tests.toy_report import MODULE, PROMPTS_DIR, REPORT_TYPE

HERE = Path(__file__).resolve().parent / "toy_report"
GOLD = load_gold(HERE / "gold.json")
PARTS = {p.name: p for p in REPORT_TYPE.parts}
# What the fake model gets wrong: one string it misreads, one table cell it misreads (the
# deterministic table reader reads that cell right, and the identity decides between them).
WRONG = {"meta.secretary": "Ada Quil", "membership.left.juniors": 5}


def answer(messages: list[dict[str, Any]], response_model: type[BaseModel]) -> dict[str, Any]:
    """FAKE model: each part answered from the gold record, except the WRONG values."""
    flat = {**flatten(GOLD.record), **WRONG}
    part = next(p for p in REPORT_TYPE.parts if response_model.__name__ == p.name.capitalize())
    out: dict[str, Any] = {}
    for f in part_fields(REPORT_TYPE.record_model, part):
        if f.key not in response_model.model_fields:  # a re-ask asks only the failing fields
            continue
        value = flat[f.path]
        out[f.key] = value if f.is_list else {"value": value, "quote": str(value)}
    return out


def toy_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "report_type": MODULE,
            "prompts_dir": PROMPTS_DIR,
            "prompt_version": "v1",  # its own prompts have one version
            "table_reader": "both",
        }
    )


def test_toy_report_extract_export_eval(settings: Settings, tmp_path: Path) -> None:
    s = toy_settings(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(HERE / "sample.txt", docs / "sample.txt")
    (docs / "recipe.txt").write_text("Pancakes: mix flour, milk and eggs.\n", encoding="utf-8")
    model = MockModel(default=answer)

    batch = structurer.extract_many([docs], s, llm=model)

    by_doc = {r.document: r for r in batch}
    assert by_doc["recipe.txt"].status == DocStatus.failed
    assert "not a report" in (by_doc["recipe.txt"].error or "")
    result = by_doc["sample.txt"]
    assert result.status == DocStatus.ok, result.error
    # every part was asked once, with the toy's own English prompts and response models, and
    # the misread cell (5: a number the text does not print) was asked again, alone
    asked = sorted((rm.__name__, len(rm.model_fields)) for _, rm in model.calls)
    assert asked == [("Highlights", 1), ("Membership", 1), ("Membership", 8), ("Meta", 3)]
    reask_messages, reask_model = model.calls[-1]
    assert list(reask_model.model_fields) == ["left_juniors"]
    assert "5 is not in the text" in reask_messages[-1]["content"]
    system = model.calls[0][0][0]["content"]
    assert "club's annual report" in system
    # the table reader and the identity overrule the model's misread cell
    cell = result.field("membership.left.juniors")
    assert cell is not None and cell.value == 4 and cell.reader == "table"
    assert result.identity_breaks == []
    assert cell.evidence is not None and cell.evidence.quote == "4"
    title = result.field("meta.title")
    assert title is not None and title.evidence is not None
    assert title.evidence.status == "exact" and title.evidence.start == 0
    assert title.value == GOLD.record["meta"]["title"] and title.confidence is not None

    out = tmp_path / "records.jsonl"
    with session_scope(s) as session:
        assert write_jsonl(session, out, batch.summary.run_id) == 1
        rows = list(iter_exports(session, batch.summary.run_id))
    exported = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert exported["doc"] == "sample.txt" and exported == rows[0]
    assert exported["fields"]["membership.end.adults"]["evidence"]["quote"] == "128"

    results, scores = evaluate(
        {"sample.txt": exported},
        [GOLD],
        REPORT_TYPE.record_model,
        run_name="toy",
        out_dir=tmp_path / "eval",
        texts={"sample.txt": (docs / "sample.txt").read_text(encoding="utf-8")},
    )
    wrong = sorted(sc.path for sc in scores if not sc.correct)
    assert wrong == ["meta.secretary"]
    n = len(flatten(GOLD.record))
    assert results.n_docs == 1 and results.n_fields == n == 12
    assert results.metrics["accuracy"] == (n - 1) / n
    assert set(results.sections) == {"meta", "membership", "highlights"}
    assert (tmp_path / "eval" / "results.json").is_file()

    # the stored-run eval (what `structurer eval run --extract-run` does) scores the same
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    shutil.copy(HERE / "gold.json", gold_dir / "sample.json")
    stored = run_eval(gold_dir, docs, s, extract_run=batch.summary.run_id, out_dir=tmp_path / "e2")
    assert stored.results.metrics["accuracy"] == results.metrics["accuracy"]
    assert stored.scores == scores and stored.reused == ["sample.txt"]
