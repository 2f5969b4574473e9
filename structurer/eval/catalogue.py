"""Stored eval runs: find one (by id, name or id prefix), list them, load one's results and
field scores, compare two (compare.html and compare.json)."""

from __future__ import annotations

from pathlib import Path

from structurer.eval.compare import Comparison, compare_runs
from structurer.eval.report_html import render_comparison
from structurer.eval.results import RESULTS_FILE, EvalResults, read_run
from structurer.eval.run import EvalError, evals_dir, label_of
from structurer.eval.scoring import FieldScore
from structurer.settings import Settings
from structurer.store.eval import eval_runs, find_eval
from structurer.store.eval_models import EvalRun
from structurer.store.session import session_scope

COMPARE_FILE = "compare.html"
COMPARE_JSON = "compare.json"


def list_evals(settings: Settings) -> list[EvalRun]:
    """Every stored eval run, newest first."""
    with session_scope(settings) as session:
        return eval_runs(session)


def load_eval(settings: Settings, ref: str) -> tuple[str, EvalResults, list[FieldScore]]:
    """(label, results, field scores) of a stored eval run (name or id), or of a run
    directory holding results.json and samples.jsonl."""
    directory = Path(ref)
    if (directory / RESULTS_FILE).is_file():
        results, scores = read_run(directory)
        return results.run_name, results, scores
    with session_scope(settings) as session:
        row = find_eval(session, ref)
    if row is None:
        raise EvalError(f"no eval run {ref!r} (see `structurer eval list`)")
    if not (Path(row.out_dir) / RESULTS_FILE).is_file():
        raise EvalError(f"eval run {ref!r}: its files are gone from {row.out_dir}")
    results, scores = read_run(row.out_dir)
    return row.name or row.id, results, scores


def compare_evals(
    settings: Settings, ref_a: str, ref_b: str, *, out_dir: Path | None = None
) -> tuple[Comparison, Path]:
    """Compare eval run B against baseline A; writes compare.html (and compare.json)."""
    name_a, results_a, scores_a = load_eval(settings, ref_a)
    name_b, results_b, scores_b = load_eval(settings, ref_b)
    comparison = compare_runs(
        scores_a,
        scores_b,
        name_a=name_a,
        name_b=name_b,
        metrics_a=results_a.metrics,
        metrics_b=results_b.metrics,
    )
    target = out_dir or evals_dir(settings) / (
        f"compare-{label_of(name_a, 'a')}-vs-{label_of(name_b, 'b')}"
    )
    target.mkdir(parents=True, exist_ok=True)
    (target / COMPARE_FILE).write_text(render_comparison(comparison), encoding="utf-8")
    (target / COMPARE_JSON).write_text(comparison.model_dump_json(indent=2), encoding="utf-8")
    return comparison, target / COMPARE_FILE
