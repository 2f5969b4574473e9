"""One eval run on disk: ``results.json`` (typed summary), ``samples.jsonl`` (one FieldScore
per line), ``report.html`` (self-contained report). Runs written by different versions
stay comparable: ``schema_version`` is bumped on incompatible changes, metrics are keyed
by their registered names.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from structurer.eval.metrics import REGISTRY, DocStats, compute_metrics
from structurer.eval.scoring import FieldScore

if TYPE_CHECKING:
    pass

RESULTS_SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.jsonl"
REPORT_FILE = "report.html"

TABLE_METRICS = ("by_section", "by_group", "by_kind")
CURVE_METRICS = ("reliability", "risk_coverage")


class GroupStats(BaseModel):
    """Accuracy of one section / group / kind."""

    n: int
    correct: int
    accuracy: float | None
    n_nonzero: int
    accuracy_nonzero: float | None
    n_gold_null: int
    abstention_accuracy: float | None


class DocRow(BaseModel):
    """Per-document line of the report: accuracy and cost."""

    doc: str
    n: int
    correct: int
    accuracy: float | None
    wrong_paths: list[str] = Field(default_factory=list)
    tokens_in: int | None = None
    tokens_out: int | None = None
    seconds: float | None = None
    retries: int = 0
    validation_failed: bool = False
    error: str | None = None


class DocFailure(BaseModel):
    doc: str
    error: str


class EvalResults(BaseModel):
    schema_version: int = RESULTS_SCHEMA_VERSION
    run_name: str
    created: dt.datetime
    git_commit: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)  # prompt version, model, ...
    n_docs: int
    n_fields: int
    metrics: dict[str, float | int | None] = Field(default_factory=dict)  # scalar metrics
    curves: dict[str, list[dict[str, float]] | None] = Field(default_factory=dict)
    other: dict[str, Any] = Field(default_factory=dict)  # non-scalar metrics registered later
    sections: dict[str, GroupStats] = Field(default_factory=dict)
    groups: dict[str, GroupStats] = Field(default_factory=dict)
    kinds: dict[str, GroupStats] = Field(default_factory=dict)
    docs: list[DocRow] = Field(default_factory=list)
    failures: list[DocFailure] = Field(default_factory=list)


class RunPaths(BaseModel):
    results_json: Path
    samples_jsonl: Path
    report_html: Path | None


def git_commit(cwd: str | Path | None = None) -> str | None:
    """HEAD's commit hash (suffixed ``-dirty`` with uncommitted changes), or None."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head or None


def _doc_rows(scores: Sequence[FieldScore], docs: Sequence[DocStats]) -> list[DocRow]:
    by_doc: dict[str, list[FieldScore]] = defaultdict(list)
    for s in scores:
        by_doc[s.doc].append(s)
    stats = {d.doc: d for d in docs}
    rows = []
    for doc in sorted(set(by_doc) | set(stats)):
        scored = [s for s in by_doc.get(doc, []) if not s.both_null]
        correct = sum(s.correct for s in scored)
        st = stats.get(doc)
        rows.append(
            DocRow(
                doc=doc,
                n=len(scored),
                correct=correct,
                accuracy=correct / len(scored) if scored else None,
                wrong_paths=[s.path for s in scored if not s.correct],
                **(st.model_dump(exclude={"doc"}) if st else {}),
            )
        )
    return rows


def build_results(
    run_name: str,
    scores: Sequence[FieldScore],
    docs: Sequence[DocStats] = (),
    *,
    settings: Mapping[str, Any] | None = None,
    commit: str | None = None,
    created: dt.datetime | None = None,
    metric_names: Iterable[str] | None = None,
) -> EvalResults:
    """Compute every registered metric (or ``metric_names``) and assemble the results."""
    values = compute_metrics(scores, docs, metric_names)
    known = set(TABLE_METRICS) | set(CURVE_METRICS)
    scalars = {
        k: v
        for k, v in values.items()
        if k not in known and (v is None or isinstance(v, int | float))
    }
    other = {k: v for k, v in values.items() if k not in known and k not in scalars}
    tables: dict[str, dict[str, GroupStats]] = {
        name: {k: GroupStats.model_validate(v) for k, v in (values.get(name) or {}).items()}
        for name in TABLE_METRICS
    }
    doc_names = {s.doc for s in scores} | {d.doc for d in docs}
    return EvalResults(
        run_name=run_name,
        created=created or dt.datetime.now(dt.UTC),
        git_commit=commit,
        settings=dict(settings or {}),
        n_docs=len(doc_names),
        n_fields=len(scores),
        metrics=scalars,
        curves={k: values.get(k) for k in CURVE_METRICS if k in values},
        other=other,
        sections=tables["by_section"],
        groups=tables["by_group"],
        kinds=tables["by_kind"],
        docs=_doc_rows(scores, docs),
        failures=[DocFailure(doc=d.doc, error=d.error) for d in docs if d.error is not None],
    )


def write_samples(path: str | Path, field_scores: Iterable[FieldScore]) -> Path:
    out = Path(path)
    with out.open("w", encoding="utf-8") as fh:
        for s in field_scores:
            fh.write(json.dumps(s.model_dump(mode="json"), ensure_ascii=False) + "\n")
    return out


def read_samples(path: str | Path) -> list[FieldScore]:
    with Path(path).open(encoding="utf-8") as fh:
        return [FieldScore.model_validate_json(line) for line in fh if line.strip()]


def read_results(path: str | Path) -> EvalResults:
    return EvalResults.model_validate_json(Path(path).read_text(encoding="utf-8"))


def read_run(run_dir: str | Path) -> tuple[EvalResults, list[FieldScore]]:
    directory = Path(run_dir)
    return read_results(directory / RESULTS_FILE), read_samples(directory / SAMPLES_FILE)


def read_export(path: str | Path) -> dict[str, dict[str, Any]]:
    """A batch export (JSON Lines, one ``{"doc", "record", "fields"}`` per document, see the
    spec's "Export format") as doc name -> row, ready for ``score_run``."""
    rows: dict[str, dict[str, Any]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows[str(row["doc"])] = row
    return rows


def metric_direction(name: str) -> bool | None:
    """True when higher is better, False when lower is, None when not a score / unknown."""
    spec = REGISTRY.get(name)
    return spec.higher_is_better if spec else None


__all__ = [
    "RESULTS_SCHEMA_VERSION",
    "DocFailure",
    "DocRow",
    "EvalResults",
    "GroupStats",
    "RunPaths",
    "build_results",
    "read_export",
    "git_commit",
    "metric_direction",
    "read_results",
    "read_run",
    "read_samples",
    "write_samples",
]
