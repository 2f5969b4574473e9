"""Running an eval: extract the gold documents (stored extractions of the same bytes and
settings are reused, so a rerun makes no model calls) or take a stored extraction run, score
them, write the run's files and store the eval run.

An eval run is a ``runs`` row of kind ``eval`` plus an ``eval_runs`` row (same id) holding
the extraction run it scored, the gold set, the results JSON and its output directory,
``<data_dir>/evals/<name or id>/`` (results.json, samples.jsonl, report.html).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from structurer.batch.export import export_object
from structurer.batch.run import DocResult, RunSummary, run_extraction, run_settings
from structurer.core.model import Model
from structurer.core.prompts import load_prompts
from structurer.core.report_type import load_report_type
from structurer.core.types import DocStatus
from structurer.documents.reader import DocumentError, read_document
from structurer.eval.gold import GoldRecord, load_gold_dir
from structurer.eval.metrics import DocStats
from structurer.eval.results import RESULTS_FILE, EvalResults, git_commit
from structurer.eval.scoring import FieldScore
from structurer.eval.writer import evaluate, write_run
from structurer.settings import REPO_ROOT, Settings
from structurer.store.eval import (
    document_by_sha,
    document_calls,
    find_extract_run,
    get_document,
    origin_extraction,
    save_eval_run,
)
from structurer.store.models import Extraction
from structurer.store.outcomes import extraction_of, field_rows
from structurer.store.session import session_scope

EVALS_DIR = "evals"


class EvalError(Exception):
    """A problem the user must fix (missing documents, unknown run, ...): one line."""


@dataclass
class EvalOutcome:
    id: str
    name: str | None
    extract_run_id: str
    out_dir: Path
    results: EvalResults
    scores: list[FieldScore]
    reused: list[str]  # gold docs whose stored extraction was reused (no model calls)


def label_of(name: str | None, run_id: str) -> str:
    """The directory name for a run: its name made filesystem-safe, else its id."""
    if not name:
        return run_id
    return re.sub(r"[^\w.\-]+", "_", name).strip("._") or run_id


def evals_dir(settings: Settings) -> Path:
    return settings.data_dir / EVALS_DIR


def document_texts(golds: Sequence[GoldRecord], paths: Sequence[Path]) -> dict[str, str]:
    """Each gold document's text as the pipeline reads it (unreadable ones are left out)."""
    texts: dict[str, str] = {}
    for gold, path in zip(golds, paths, strict=True):
        try:
            texts[gold.doc] = read_document(path).text
        except DocumentError:  # the extraction reports why; nothing to check here
            continue
    return texts


def gold_paths(golds: Sequence[GoldRecord], corpus_dir: Path) -> list[Path]:
    """The report file of every gold record; EvalError naming every one that is missing."""
    missing = [g.doc for g in golds if not (corpus_dir / g.doc).is_file()]
    if missing:
        raise EvalError(
            f"{len(missing)} gold document(s) not in corpus {corpus_dir}: {', '.join(missing)}"
        )
    return [(corpus_dir / g.doc).resolve() for g in golds]


def _doc_stats(session: Session, gold_doc: str, extraction: Extraction) -> DocStats:
    origin = origin_extraction(session, extraction)
    calls = document_calls(session, origin.run_id, origin.document_id)
    failed = extraction.status != DocStatus.ok or extraction.record is None
    return DocStats(
        doc=gold_doc,
        tokens_in=origin.tokens_in,
        tokens_out=origin.tokens_out,
        seconds=origin.seconds,
        retries=sum(c.retries for c in calls),
        validation_failed=any(c.error for c in calls),
        error=(extraction.error or "failed") if failed else None,
    )


def collect_predictions(
    session: Session, summary: RunSummary, golds: Sequence[GoldRecord], paths: Sequence[Path]
) -> tuple[dict[str, dict[str, Any] | None], list[DocStats], list[str]]:
    """Export rows (doc -> row; None for a failed document, scored as all-null), per-doc
    cost and errors, and the gold docs whose extraction was reused."""
    by_path: dict[str, DocResult] = {str(r.path): r for r in summary.results}
    predictions: dict[str, dict[str, Any] | None] = {}
    stats: list[DocStats] = []
    reused: list[str] = []
    for gold, path in zip(golds, paths, strict=True):
        result = by_path.get(str(path))
        extraction = None
        if result is not None and result.document_id is not None:
            extraction = extraction_of(session, summary.run_id, result.document_id)
        if extraction is None:
            error = result.error if result is not None and result.error else "not extracted"
            predictions[gold.doc] = None
            stats.append(DocStats(doc=gold.doc, error=error))
            continue
        if result is not None and result.status == DocStatus.skipped:
            reused.append(gold.doc)
        stat = _doc_stats(session, gold.doc, extraction)
        stats.append(stat)
        if stat.error is not None:
            predictions[gold.doc] = None
            continue
        document = get_document(session, extraction.document_id)
        assert document is not None
        row = export_object(document, extraction, field_rows(session, extraction.id or 0))
        predictions[gold.doc] = {**row, "doc": gold.doc}
    return predictions, stats, reused


def stored_summary(
    settings: Settings, run_ref: str, paths: Sequence[Path]
) -> tuple[RunSummary, dict[str, Any]]:
    """An extraction run already stored, as if just run over ``paths`` (matched by their
    bytes), and its settings: scoring it makes no model calls. A document the run does not
    hold is a failure."""
    with session_scope(settings) as session:
        run = find_extract_run(session, run_ref)
        if run is None:
            raise EvalError(f"no extraction run {run_ref!r}")
        summary = RunSummary(run.id)
        for path in paths:
            document = document_by_sha(session, hashlib.sha256(path.read_bytes()).hexdigest())
            held = (
                document is not None
                and document.id is not None
                and extraction_of(session, run.id, document.id) is not None
            )
            summary.results.append(
                DocResult(
                    path.name,
                    str(path),
                    DocStatus.skipped if held else DocStatus.failed,
                    None if held else f"not in extraction run {run.id}",
                    document_id=document.id if document is not None else None,
                )
            )
        return summary, dict(run.settings)


def run_eval(
    gold_dir: Path,
    corpus_dir: Path,
    settings: Settings,
    *,
    name: str | None = None,
    out_dir: Path | None = None,
    llm: Model | None = None,
    on_result: Callable[[DocResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    extract_run: str | None = None,
) -> EvalOutcome:
    """Extract every gold document from ``corpus_dir`` (reusing stored extractions), score
    against the gold set, write ``results.json``/``samples.jsonl``/``report.html`` and store
    the eval run. Documents that fail count as all-null predictions and are listed.

    With ``extract_run`` (an extraction run id), score what that run stored instead of
    extracting: no model calls; the run's own settings are recorded."""
    golds = load_gold_dir(gold_dir)
    if not golds:
        raise EvalError(f"no gold files (*.json) in {gold_dir}")
    paths = gold_paths(golds, corpus_dir)
    rtype = load_report_type(settings.report_type)
    eval_id = uuid.uuid4().hex[:12]
    label = label_of(name, eval_id)
    if extract_run is not None:
        summary, extraction_settings = stored_summary(settings, extract_run, paths)
    else:
        extraction_settings, _ = run_settings(settings, load_prompts(settings))
        summary = run_extraction(
            [str(p) for p in paths],
            settings,
            name=f"eval:{label}",
            llm=llm,
            on_result=on_result,
            on_start=on_start,
        )
    if summary.interrupted:
        raise EvalError(
            f"interrupted: finished documents are stored (run {summary.run_id}); "
            "run the eval again to resume"
        )
    with session_scope(settings) as session:
        predictions, stats, reused = collect_predictions(session, summary, golds, paths)
    settings_dict = {
        **extraction_settings,
        "gold_dir": str(gold_dir),
        "corpus_dir": str(corpus_dir),
        "extract_run_id": summary.run_id,
    }
    results, scores = evaluate(
        predictions,
        golds,
        rtype.record_model,
        run_name=name or eval_id,
        docs=stats,
        settings=settings_dict,
        commit=git_commit(REPO_ROOT),
        texts=document_texts(golds, paths),
        scales=rtype.float_scales,
    )
    results.other["eval_id"] = eval_id
    results.other["reused_docs"] = reused
    target = out_dir or evals_dir(settings) / label
    if out_dir is None and (target / RESULTS_FILE).exists():  # keep the earlier run's files
        target = evals_dir(settings) / f"{label}-{eval_id}"
    write_run(target, results, scores)
    with session_scope(settings) as session:
        save_eval_run(
            session,
            eval_id,
            name,
            summary.run_id,
            settings_dict,
            results.model_dump(mode="json"),
            n_docs=results.n_docs,
            n_failed=len(results.failures),
            git_commit=results.git_commit,
            gold_dir=gold_dir,
            corpus_dir=corpus_dir,
            out_dir=target,
        )
    return EvalOutcome(eval_id, name, summary.run_id, target, results, scores, reused)
