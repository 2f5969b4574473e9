"""Eval harness library: score predictions against gold, compute registered metrics,
compare runs, write results (JSON + per-field JSONL + self-contained HTML). Consumes the engine
(batch, core, store); nothing in the engine imports it.

Plain data only: no database, no LLM. Typical use::

    kinds = field_kinds(Report)
    golds = load_gold_dir("gold/")
    scores = score_run(predictions_by_doc, golds, kinds)
    results = build_results("run-name", scores, doc_stats, settings={...}, commit=git_commit())
    write_run("runs/run-name", results, scores)
"""

from structurer.eval.compare import (
    CompareRow,
    Comparison,
    FlippedField,
    compare_runs,
    comparison_renderable,
    mcnemar_exact,
    paired_bootstrap,
    regression,
)
from structurer.eval.gold import (
    GoldProblem,
    GoldRecord,
    check_gold,
    check_gold_dir,
    gold_from_record,
    load_gold,
    load_gold_dir,
    skeleton,
    write_gold,
)
from structurer.eval.metrics import REGISTRY, DocStats, compute_metrics, register
from structurer.eval.report_html import render_comparison, render_report
from structurer.eval.results import (
    EvalResults,
    build_results,
    git_commit,
    read_export,
    read_run,
    read_samples,
)
from structurer.eval.scoring import FieldKind, FieldScore, field_kinds, score_record, score_run
from structurer.eval.writer import evaluate, write_run

__all__ = [
    "REGISTRY",
    "CompareRow",
    "Comparison",
    "DocStats",
    "EvalResults",
    "FieldKind",
    "FieldScore",
    "FlippedField",
    "GoldProblem",
    "GoldRecord",
    "build_results",
    "check_gold",
    "check_gold_dir",
    "compare_runs",
    "comparison_renderable",
    "compute_metrics",
    "evaluate",
    "field_kinds",
    "git_commit",
    "gold_from_record",
    "load_gold",
    "load_gold_dir",
    "mcnemar_exact",
    "paired_bootstrap",
    "read_export",
    "read_run",
    "read_samples",
    "regression",
    "register",
    "render_comparison",
    "render_report",
    "score_record",
    "score_run",
    "skeleton",
    "write_gold",
    "write_run",
]
