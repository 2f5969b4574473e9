"""Eval runs with the database: extract the gold documents (stored extractions of the same
bytes and settings are reused, so a rerun makes no model calls), score them, store the eval
run and write its files; find stored eval runs; compare two; a gold candidate from review.

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

from sqlmodel import Session, col, select

from structurer.batch.export import export_object
from structurer.batch.run import DocResult, RunSummary, run_extraction, run_settings
from structurer.core.prompts import PromptSet
from structurer.core.records import flatten, unflatten
from structurer.core.report_type import load_report_type
from structurer.core.types import DocStatus
from structurer.documents.reader import DocumentError, read_document
from structurer.eval.compare import Comparison, compare_runs
from structurer.eval.gold import GoldRecord, gold_from_record, load_gold_dir
from structurer.eval.metrics import DocStats
from structurer.eval.report_html import render_comparison
from structurer.eval.results import (
    RESULTS_FILE,
    EvalResults,
    git_commit,
    read_run,
)
from structurer.eval.scoring import FieldScore
from structurer.eval.writer import evaluate, write_run
from structurer.llm.client import LLMClient
from structurer.settings import REPO_ROOT, Settings
from structurer.store.eval_models import EvalRun
from structurer.store.models import Document, Extraction, FieldValue, LLMCall, Run, utcnow
from structurer.store.outcomes import field_rows, latest_extraction
from structurer.store.session import session_scope

EVALS_DIR = "evals"
COMPARE_FILE = "compare.html"
COMPARE_JSON = "compare.json"


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


# ---------------------------------------------------------------- running an eval


def label_of(name: str | None, run_id: str) -> str:
    """The directory name for a run: its name made filesystem-safe, else its id."""
    if not name:
        return run_id
    return re.sub(r"[^\w.\-]+", "_", name).strip("._") or run_id


def evals_dir(settings: Settings) -> Path:
    return settings.data_dir / EVALS_DIR


def gold_paths(golds: Sequence[GoldRecord], corpus_dir: Path) -> list[Path]:
    """The report file of every gold record; EvalError naming every one that is missing."""
    missing = [g.doc for g in golds if not (corpus_dir / g.doc).is_file()]
    if missing:
        raise EvalError(
            f"{len(missing)} gold document(s) not in corpus {corpus_dir}: {', '.join(missing)}"
        )
    return [(corpus_dir / g.doc).resolve() for g in golds]


def _origin(session: Session, extraction: Extraction) -> Extraction:
    """The extraction that made this record: itself, or (for a reused copy, which costs
    nothing) the newest earlier extraction of the same document and settings that ran."""
    if extraction.seconds > 0 or extraction.tokens_in > 0:
        return extraction
    stmt = (
        select(Extraction)
        .where(
            Extraction.document_id == extraction.document_id,
            Extraction.settings_hash == extraction.settings_hash,
            Extraction.status == extraction.status,
            col(Extraction.id) < (extraction.id or 0),
            col(Extraction.seconds) > 0,
        )
        .order_by(col(Extraction.id).desc())
    )
    return session.exec(stmt).first() or extraction


def _doc_stats(session: Session, gold_doc: str, extraction: Extraction) -> DocStats:
    origin = _origin(session, extraction)
    calls = session.exec(
        select(LLMCall).where(
            LLMCall.run_id == origin.run_id, LLMCall.document_id == origin.document_id
        )
    ).all()
    failed = extraction.status != "ok" or extraction.record is None
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
            extraction = session.exec(
                select(Extraction).where(
                    Extraction.run_id == summary.run_id,
                    Extraction.document_id == result.document_id,
                )
            ).first()
        if extraction is None:
            error = result.error if result is not None and result.error else "not extracted"
            predictions[gold.doc] = None
            stats.append(DocStats(doc=gold.doc, error=error))
            continue
        if result is not None and result.status == "skipped":
            reused.append(gold.doc)
        stat = _doc_stats(session, gold.doc, extraction)
        stats.append(stat)
        if stat.error is not None:
            predictions[gold.doc] = None
            continue
        document = session.get(Document, extraction.document_id)
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
        run = session.get(Run, run_ref)
        if run is None:
            matches = session.exec(
                select(Run).where(col(Run.id).startswith(run_ref), Run.kind == "extract")
            ).all()
            run = matches[0] if len(matches) == 1 else None
        if run is None or run.kind != "extract":
            raise EvalError(f"no extraction run {run_ref!r}")
        summary = RunSummary(run.id)
        for path in paths:
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            document = session.exec(select(Document).where(Document.sha256 == sha)).first()
            held = (
                document is not None
                and session.exec(
                    select(Extraction.id).where(
                        Extraction.run_id == run.id, Extraction.document_id == document.id
                    )
                ).first()
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


def document_texts(golds: Sequence[GoldRecord], paths: Sequence[Path]) -> dict[str, str]:
    """Each gold document's text as the pipeline reads it (unreadable ones are left out)."""
    texts: dict[str, str] = {}
    for gold, path in zip(golds, paths, strict=True):
        try:
            texts[gold.doc] = read_document(path).text
        except DocumentError:  # the extraction reports why; nothing to check here
            continue
    return texts


def _store_eval(
    settings: Settings,
    eval_id: str,
    name: str | None,
    summary: RunSummary,
    settings_dict: dict[str, Any],
    results: EvalResults,
    *,
    gold_dir: Path,
    corpus_dir: Path,
    out_dir: Path,
) -> None:
    with session_scope(settings) as session:
        extract_run = session.get(Run, summary.run_id)
        assert extract_run is not None
        session.add(
            Run(
                id=eval_id,
                name=name,
                kind="eval",
                report_type=extract_run.report_type,
                prompt_version=extract_run.prompt_version,
                model=extract_run.model,
                settings=settings_dict,
                settings_hash=extract_run.settings_hash,
                calibration_version=extract_run.calibration_version,
                status="done",
                n_docs=results.n_docs,
                n_failed=len(results.failures),
                finished_at=utcnow(),
            )
        )
        session.flush()
        session.add(
            EvalRun(
                id=eval_id,
                name=name,
                extract_run_id=summary.run_id,
                gold_dir=str(gold_dir),
                corpus_dir=str(corpus_dir),
                out_dir=str(out_dir),
                git_commit=results.git_commit,
                settings=settings_dict,
                results=results.model_dump(mode="json"),
            )
        )
        session.commit()


def run_eval(
    gold_dir: Path,
    corpus_dir: Path,
    settings: Settings,
    *,
    name: str | None = None,
    out_dir: Path | None = None,
    llm: LLMClient | None = None,
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
        prompts = PromptSet(settings.prompts_dir, settings.report_type, settings.prompt_version)
        extraction_settings, _ = run_settings(settings, prompts)
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
    )
    results.other["eval_id"] = eval_id
    results.other["reused_docs"] = reused
    target = out_dir or evals_dir(settings) / label
    if out_dir is None and (target / RESULTS_FILE).exists():  # keep the earlier run's files
        target = evals_dir(settings) / f"{label}-{eval_id}"
    write_run(target, results, scores)
    _store_eval(
        settings,
        eval_id,
        name,
        summary,
        settings_dict,
        results,
        gold_dir=gold_dir,
        corpus_dir=corpus_dir,
        out_dir=target,
    )
    return EvalOutcome(eval_id, name, summary.run_id, target, results, scores, reused)


# ---------------------------------------------------------------- stored runs


def find_eval(session: Session, ref: str) -> EvalRun | None:
    """An eval run by id, by name (the newest of that name) or by unique id prefix."""
    found = session.get(EvalRun, ref)
    if found is not None:
        return found
    named = session.exec(
        select(EvalRun).where(EvalRun.name == ref).order_by(col(EvalRun.created_at).desc())
    ).first()
    if named is not None:
        return named
    prefixed = session.exec(select(EvalRun).where(col(EvalRun.id).startswith(ref))).all()
    return prefixed[0] if len(prefixed) == 1 else None


def list_evals(settings: Settings) -> list[EvalRun]:
    """Every stored eval run, newest first."""
    with session_scope(settings) as session:
        return list(session.exec(select(EvalRun).order_by(col(EvalRun.created_at).desc())).all())


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


# ---------------------------------------------------------------- gold from review


def person_confirmed(fv: FieldValue) -> bool:
    """A person corrected the field (status ``corrected``) or confirmed the machine's value
    (an ``auto`` field whose signals carry ``confirmed`` or ``reviewed``)."""
    if fv.status == "corrected":
        return True
    return fv.status == "auto" and bool(fv.signals.get("confirmed") or fv.signals.get("reviewed"))


def _reviewed_extraction(
    session: Session, document: Document
) -> tuple[Extraction, list[FieldValue]] | None:
    extractions = session.exec(
        select(Extraction)
        .where(Extraction.document_id == document.id, col(Extraction.record).is_not(None))
        .order_by(col(Extraction.id).desc())
    ).all()
    for extraction in extractions:
        rows = field_rows(session, extraction.id or 0)
        if any(person_confirmed(fv) for fv in rows):
            return extraction, rows
    return None


def review_notes(extraction: Extraction, rows: Sequence[FieldValue], record: dict[str, Any]) -> str:
    confirmed = sorted(fv.path for fv in rows if person_confirmed(fv))
    corrected = sum(fv.status == "corrected" for fv in rows)
    machine = sorted(
        path
        for path, value in flatten(record).items()
        if value not in (None, []) and path not in set(confirmed)
    )
    lines = [
        f"Gold candidate from the review of extraction {extraction.id} (run {extraction.run_id}).",
        f"Confirmed by a person: {len(confirmed)} field(s), {corrected} of them corrected.",
    ]
    if machine:
        lines.append(
            f"Machine-only, unconfirmed ({len(machine)} non-null field(s)); check each: "
            + ", ".join(machine)
            + "."
        )
    lines.append("Null fields were not reviewed: check that the report does not state them.")
    return "\n".join(lines)


def reviewed_gold(settings: Settings, doc_ref: str) -> GoldRecord:
    """A gold candidate from the newest reviewed record of a stored document: the record
    with corrections applied; notes list the machine-only (unconfirmed) fields."""
    rtype = load_report_type(settings.report_type)
    with session_scope(settings) as session:
        found = latest_extraction(session, doc_ref)
        if found is None:
            raise EvalError(f"no stored document {doc_ref!r} with an extraction")
        document = found[0]
        reviewed = _reviewed_extraction(session, document)
    if reviewed is None:
        raise EvalError(
            f"{document.name}: no reviewed extraction (no field corrected or confirmed by a person)"
        )
    extraction, rows = reviewed
    flat = flatten(extraction.record or {})
    for fv in rows:
        if fv.status == "corrected" and fv.path in flat:
            flat[fv.path] = fv.value
    record = unflatten(flat)
    return gold_from_record(
        document.name, record, rtype.record_model, notes=review_notes(extraction, rows, record)
    )


__all__ = [
    "EvalError",
    "EvalOutcome",
    "collect_predictions",
    "compare_evals",
    "evals_dir",
    "find_eval",
    "gold_paths",
    "label_of",
    "list_evals",
    "load_eval",
    "person_confirmed",
    "review_notes",
    "reviewed_gold",
    "run_eval",
]
