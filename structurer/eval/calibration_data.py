"""Labelled fields from gold: extract the gold documents with the current settings (stored
extractions are reused), score every predicted field with the eval rules, and pair each
field's features with correct / incorrect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from structurer.batch.run import run_extraction
from structurer.confidence.calibrate import Sample
from structurer.confidence.signals import features
from structurer.core.evidence.locate import label_in_span
from structurer.core.report_type import load_report_type
from structurer.eval.gold import GoldRecord, load_gold_dir
from structurer.eval.metrics import compute_metrics
from structurer.eval.scoring import FieldKind, FieldScore, field_kinds, score_record
from structurer.llm.client import LLMClient
from structurer.settings import Settings
from structurer.store.models import Document, Extraction, FieldValue
from structurer.store.outcomes import field_rows, run_extractions
from structurer.store.session import session_scope


@dataclass
class GoldSet:
    """The labelled fields of one extraction run over gold documents."""

    run_id: str
    samples: list[Sample] = field(default_factory=list)
    scores: list[FieldScore] = field(default_factory=list)  # one per sample, same order
    stored_confidence: list[float | None] = field(default_factory=list)  # as the run scored them
    missing_docs: list[str] = field(default_factory=list)  # gold docs not in the corpus
    failed_docs: list[str] = field(default_factory=list)


def label_extraction(
    gold: GoldRecord,
    record: dict[str, Any] | None,
    rows: Sequence[FieldValue],
    kinds: dict[str, FieldKind],
    labels: dict[str, str] | None = None,
) -> list[tuple[Sample, FieldScore, float | None]]:
    """One labelled sample per stored field row (every non-null predicted leaf)."""
    pred = {"doc": gold.doc, "record": record or {}, "fields": {}}
    by_path = {s.path: s for s in score_record(pred, gold, kinds)}
    out = []
    for row in rows:
        score = by_path.get(row.path)
        if score is None:
            continue
        signals = dict(row.signals or {})
        if "label_in_span" not in signals and labels is not None and row.quote:
            found = label_in_span(labels.get(row.path), row.quote)  # rows stored before the signal
            if found is not None:
                signals["label_in_span"] = found
        feats = features(row.reader, row.alignment, signals, row.value)
        out.append((Sample(gold.doc, row.path, feats, score.correct), score, row.confidence))
    return out


def gold_documents(golds: Sequence[GoldRecord], corpus: Path) -> tuple[list[Path], list[str]]:
    """The corpus files of the gold documents, and the gold documents with no file."""
    found = [corpus / g.doc for g in golds if (corpus / g.doc).is_file()]
    missing = [g.doc for g in golds if not (corpus / g.doc).is_file()]
    return found, missing


def gold_samples(
    gold_dir: Path,
    corpus: Path,
    settings: Settings,
    *,
    llm: LLMClient | None = None,
    reuse: bool = True,
    name: str | None = "calibrate",
) -> GoldSet:
    golds = load_gold_dir(gold_dir)
    paths, missing = gold_documents(golds, corpus)
    summary = run_extraction([str(p) for p in paths], settings, name=name, llm=llm, reuse=reuse)
    out = GoldSet(summary.run_id, missing_docs=missing)
    rtype = load_report_type(settings.report_type)
    kinds = field_kinds(rtype.record_model)
    by_doc = {g.doc: g for g in golds}
    with session_scope(settings) as session:
        pairs: list[tuple[Document, Extraction]] = run_extractions(session, summary.run_id)
        for doc, extraction in pairs:
            gold = by_doc.get(doc.name)
            if gold is None:
                continue
            if extraction.status != "ok" or extraction.record is None:
                out.failed_docs.append(doc.name)
            rows = field_rows(session, extraction.id or 0)
            for sample, score, conf in label_extraction(
                gold, extraction.record, rows, kinds, rtype.labels
            ):
                out.samples.append(sample)
                out.scores.append(score)
                out.stored_confidence.append(conf)
    return out


# ---------------------------------------------------------------- measuring

METRICS: tuple[str, ...] = ("auroc", "ece", "brier", "errors_caught_at_10pct")


def calibration_metrics(
    scores: Sequence[FieldScore], confidences: Sequence[float | None]
) -> dict[str, Any]:
    """AUROC, ECE, Brier and errors caught at a 10% review budget (structurer.eval.metrics)
    of these confidences on these scored fields; plus n and accuracy."""
    rows = [
        s.model_copy(update={"confidence": c}) for s, c in zip(scores, confidences, strict=True)
    ]
    out: dict[str, Any] = dict(compute_metrics(rows, names=METRICS))
    scored = [r for r in rows if r.confidence is not None and not r.both_null]
    out["n"] = len(scored)
    out["n_wrong"] = sum(not r.correct for r in scored)
    out["accuracy"] = (1 - out["n_wrong"] / len(scored)) if scored else None
    return out
