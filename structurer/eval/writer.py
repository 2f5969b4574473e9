"""Writing an eval run to disk (results.json, samples.jsonl, report.html), and scoring plus
writing in one step (`evaluate`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from structurer.core.kinds import field_kinds
from structurer.eval.gold import GoldRecord
from structurer.eval.metrics import DocStats
from structurer.eval.report_html import render_report
from structurer.eval.results import (
    REPORT_FILE,
    RESULTS_FILE,
    SAMPLES_FILE,
    EvalResults,
    RunPaths,
    build_results,
    write_samples,
)
from structurer.eval.scoring import FieldScore, score_run


def write_run(
    out_dir: str | Path,
    results: EvalResults,
    field_scores: Sequence[FieldScore],
    *,
    html: bool = True,
) -> RunPaths:
    """Write ``results.json``, ``samples.jsonl`` and (unless ``html=False``) ``report.html``."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    results_path = directory / RESULTS_FILE
    results_path.write_text(results.model_dump_json(indent=2), encoding="utf-8")
    samples_path = write_samples(directory / SAMPLES_FILE, field_scores)
    report_path: Path | None = None
    if html:
        report_path = directory / REPORT_FILE
        report_path.write_text(render_report(results, field_scores), encoding="utf-8")
    return RunPaths(results_json=results_path, samples_jsonl=samples_path, report_html=report_path)


def evaluate(
    predictions: Mapping[str, Mapping[str, Any] | None],
    golds: Sequence[GoldRecord],
    record_model: type[BaseModel],
    *,
    run_name: str,
    docs: Sequence[DocStats] = (),
    settings: Mapping[str, Any] | None = None,
    commit: str | None = None,
    out_dir: str | Path | None = None,
    texts: Mapping[str, str] | None = None,
    scales: Sequence[float] = (1.0,),
) -> tuple[EvalResults, list[FieldScore]]:
    """Score ``predictions`` (doc -> export row; missing/None = failed) against ``golds``,
    compute the metrics, and write the run to ``out_dir`` when given. ``texts`` (doc ->
    text as read) enables the invented-values metrics."""
    scores = score_run(predictions, golds, field_kinds(record_model), texts, scales)
    failed = {d.doc for d in docs}
    extra = [
        DocStats(doc=g.doc, error="no prediction")
        for g in golds
        if predictions.get(g.doc) is None and g.doc not in failed
    ]
    results = build_results(run_name, scores, [*docs, *extra], settings=settings, commit=commit)
    if out_dir is not None:
        write_run(out_dir, results, scores)
    return results, scores
