"""Results round-trip through disk; HTML reports are self-contained."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gov_disclosure.record import Report
from structurer.core.records import flatten, unflatten
from structurer.eval.compare import compare_runs
from structurer.eval.gold import load_gold_dir
from structurer.eval.metrics import REGISTRY, DocStats, register
from structurer.eval.report_html import render_comparison, render_report
from structurer.eval.results import (
    EvalResults,
    build_results,
    read_export,
    read_run,
)
from structurer.eval.scoring import FieldScore, field_kinds, score_run
from structurer.eval.writer import evaluate, write_run
from tests.conftest import GOLD, needs_shared

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _run(perturb: bool) -> tuple[list[FieldScore], list[DocStats]]:
    golds = load_gold_dir(GOLD)
    kinds = field_kinds(Report)
    predictions: dict[str, dict[str, Any] | None] = {}
    for i, gold in enumerate(golds):
        flat = flatten(gold.record)
        if perturb:
            flat["meta.report_year"] = 1999
            flat["narrative.problems"] = flat["narrative.problems"][:1]
        fields = {
            p: {"confidence": 0.4 if p == "meta.report_year" else 0.9, "status": "auto"}
            for p in flat
        }
        predictions[gold.doc] = {"doc": gold.doc, "record": unflatten(flat), "fields": fields}
        if perturb and i == 0:
            predictions[gold.doc] = None  # failed document
    docs = [DocStats(doc=g.doc, tokens_in=1000, tokens_out=200, seconds=3.5) for g in golds]
    if perturb:
        docs[0] = docs[0].model_copy(update={"error": "model timeout"})
    return score_run(predictions, golds, kinds), docs


@needs_shared()
def test_write_and_read_run_round_trip(tmp_path: Path) -> None:
    scores, docs = _run(perturb=True)
    results = build_results(
        "round-trip",
        scores,
        docs,
        settings={"prompt_version": "v1", "model": "fake"},
        commit="abc123",
        created=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
    )
    paths = write_run(tmp_path / "run", results, scores)
    assert paths.results_json.name == "results.json" and paths.samples_jsonl.name == "samples.jsonl"
    assert paths.report_html is not None and paths.report_html.exists()
    loaded, loaded_scores = read_run(tmp_path / "run")
    assert loaded == results
    assert loaded_scores == scores
    assert loaded.failures[0].error == "model timeout"
    assert loaded.n_docs == 5
    assert 0 < (loaded.metrics["accuracy"] or 0) < 1
    assert "requests" in loaded.sections and "requests.table" in loaded.groups
    assert EvalResults.model_validate_json(paths.results_json.read_text()).run_name == "round-trip"


@needs_shared()
def test_run_report_is_self_contained(tmp_path: Path) -> None:
    scores, docs = _run(perturb=True)
    results = build_results("html", scores, docs, settings={"model": "fake"})
    html = render_report(results, scores)
    assert html.startswith("<!doctype html>")
    assert not EXTERNAL.search(html), "external resource referenced"
    assert "<link" not in html and "<script" not in html
    assert html.count("<svg") == 2  # reliability diagram + risk-coverage curve
    assert "meta.report_year" in html  # among the worst fields
    assert "model timeout" in html


@needs_shared()
def test_report_without_confidences_does_not_crash() -> None:
    scores, docs = _run(perturb=False)
    bare = [s.model_copy(update={"confidence": None, "status": None}) for s in scores]
    html = render_report(build_results("bare", bare, []), bare)
    assert "no confidences" in html


@needs_shared()
def test_comparison_report_is_self_contained() -> None:
    a, docs_a = _run(perturb=False)
    b, docs_b = _run(perturb=True)
    ra, rb = build_results("a", a, docs_a), build_results("b", b, docs_b)
    comparison = compare_runs(
        a, b, name_a="a", name_b="b", metrics_a=ra.metrics, metrics_b=rb.metrics
    )
    html = render_comparison(comparison)
    assert not EXTERNAL.search(html)
    assert "<script" not in html
    assert "meta.report_year" in html and "McNemar" in html


@needs_shared()
def test_custom_metric_is_carried(tmp_path: Path) -> None:
    @register("test_only_table", higher_is_better=None)
    def _table(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> dict[str, int]:
        return {"n": len(scores)}

    try:
        scores, docs = _run(perturb=False)
        results = build_results("custom", scores, docs)
        assert results.other["test_only_table"] == {"n": len(scores)}
        write_run(tmp_path, results, scores, html=False)
        assert read_run(tmp_path)[0].other == results.other
    finally:
        del REGISTRY["test_only_table"]


@needs_shared()
def test_evaluate_from_export_file(tmp_path: Path) -> None:
    golds = load_gold_dir(GOLD)
    export = tmp_path / "export.jsonl"
    with export.open("w", encoding="utf-8") as fh:
        for gold in golds[1:]:  # the first document is missing from the export
            row = {"doc": gold.doc, "record": gold.record, "fields": {}}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    predictions = read_export(export)
    results, scores = evaluate(
        predictions, golds, Report, run_name="from-export", out_dir=tmp_path / "run"
    )
    assert (tmp_path / "run" / "report.html").exists()
    assert [f.doc for f in results.failures] == [golds[0].doc]
    per_doc = {d.doc: d for d in results.docs}
    assert per_doc[golds[1].doc].accuracy == 1.0
    missing_accuracy = per_doc[golds[0].doc].accuracy
    assert missing_accuracy is not None and missing_accuracy < 1.0
