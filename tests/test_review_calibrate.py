"""Corrections teach: `calibrate --from-review` on a constructed case where every field the
table reader read was corrected by a person. The refit must push the table reader's fields of
the reports nobody reviewed below the review threshold, and print metrics before and after."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from structurer.confidence.calibrate import load_current
from structurer.confidence.signals import features
from structurer.settings import Settings
from structurer.store.models import Document, Extraction, FieldValue
from structurer.store.review_models import ReviewCorrection, ReviewProject, ReviewTask
from structurer.store.session import session_scope
from tests.review_helpers import SAMPLE, copies, extract

REVIEWED = 3  # of 5 reports


def wrong_value(value: object) -> object:
    return value + 1 if isinstance(value, int) and not isinstance(value, bool) else f"{value}乙"


def review_all(settings: Settings, documents: set[str]) -> tuple[int, int]:
    """Every field of ``documents`` reviewed: the table reader's corrected, the rest confirmed,
    stored as pull stores them. Returns (reviewed, wrong)."""
    n = wrong = 0
    with session_scope(settings) as session:
        project = ReviewProject(
            server="http://ls", report_type="gov_disclosure", project_id=1, config_version="v"
        )
        session.add(project)
        session.commit()
        pairs = session.exec(
            select(Document, Extraction).where(Extraction.document_id == Document.id)
        ).all()
        for document, extraction in pairs:
            if document.name not in documents:
                continue
            for row in session.exec(
                select(FieldValue).where(FieldValue.extraction_id == extraction.id)
            ).all():
                n += 1
                table = "table" in (row.reader or "").split("+")
                task = ReviewTask(
                    review_project_id=project.id or 0,
                    task_id=extraction.id or 0,
                    field_value_id=row.id or 0,
                    extraction_id=extraction.id or 0,
                    path=row.path,
                    proposed=row.value,
                    confidence=row.confidence,
                    section=row.path.split(".")[0],
                    features=features(row.reader, row.alignment, row.signals, row.value),
                    state="corrected",
                )
                session.add(task)
                session.commit()
                value = wrong_value(row.value) if table else row.value
                wrong += table
                session.add(
                    ReviewCorrection(
                        review_task_id=task.id or 0,
                        task_id=task.task_id,
                        annotation_id=task.id or 0,
                        revision="r",
                        verdict="corrected" if table else "confirmed",
                        value=value,
                        accepted=True,
                    )
                )
                row.value, row.status, row.confidence = value, "corrected", 1.0
                session.add(row)
        session.commit()
    return n, wrong


def table_fields(settings: Settings, documents: set[str]) -> list[FieldValue]:
    with session_scope(settings) as session:
        return [
            row
            for document, extraction in session.exec(
                select(Document, Extraction).where(Extraction.document_id == Document.id)
            ).all()
            if document.name in documents
            for row in session.exec(
                select(FieldValue).where(FieldValue.extraction_id == extraction.id)
            ).all()
            if "table" in (row.reader or "").split("+")
        ]


def test_a_reader_always_corrected_goes_to_review(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from structurer.cli.main import app

    s = settings.model_copy(update={"table_reader": "both"})
    docs = copies(SAMPLE, tmp_path / "docs", 5)
    extract(s, docs)
    reviewed = {d.name for d in docs[:REVIEWED]}
    unreviewed = {d.name for d in docs[REVIEWED:]}
    before = table_fields(s, unreviewed)
    assert len(before) > 50 and all(r.status == "auto" for r in before)
    n, wrong = review_all(s, reviewed)
    assert 0 < wrong < n

    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("STRUCTURER_TABLE_READER", "both")
    out = CliRunner().invoke(app, ["calibrate", "--from-review"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert f"{n} reviewed field(s) ({wrong} wrong) of {REVIEWED} document(s)" in out.output
    assert "before (default prior) -> after (out-of-fold): AUROC " in out.output
    assert "re-routed the" in out.output

    artifact = load_current(s)
    assert artifact is not None and artifact.fitted_on["reviewed_fields"] == n
    after = table_fields(s, unreviewed)
    assert {r.id for r in after} == {r.id for r in before}
    assert all(r.status == "needs_review" for r in after)
    assert max(r.confidence or 0 for r in after) < s.review_threshold
    # before, the prior ranks the table reader's fields as the safest (AUROC near 0); the
    # refit, out of fold, as the riskiest
    auroc = {
        cells[0]: float(cells[3])
        for line in out.output.splitlines()
        if "│" in line and (cells := [c.strip() for c in line.strip("│ ").split("│")])
    }
    assert auroc["default prior"] < 0.2
    assert auroc["calibrated (out-of-fold)"] > 0.9
