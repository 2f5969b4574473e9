"""Checks across reports: when the database holds the same body's report for the previous
year, the report type's cross-year checks (e.g. this year's carried-over requests equal last
year's carried-forward ones) run on the pair. A break lowers the confidence of the fields
involved on both records (`signals["cross_report"]`, capped like a doubted field, sent to
review) and is listed by `structurer check` and `structurer show`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from structurer.confidence.route import DOUBTED_CONFIDENCE
from structurer.core.report_type import ReportType
from structurer.store.marks import mark_fields
from structurer.store.models import Document, Extraction
from structurer.store.outcomes import run_extractions

SIGNAL = "cross_report"


@dataclass(frozen=True)
class CrossBreak:
    name: str
    body: str
    previous: str  # document names
    current: str
    previous_year: int
    current_year: int
    expected: Any
    actual: Any
    reason: str


def check_reports(
    session: Session, rtype: ReportType, run_id: str | None = None
) -> list[CrossBreak]:
    """Every break between consecutive years of one body among the newest extraction of
    every document (with `run_id`: only pairs with a report of that run), marked on both
    records' fields."""
    if rtype.body_and_year is None or rtype.cross_year is None:
        return []
    newest = run_extractions(session, None)
    in_run = {e.id for _, e in run_extractions(session, run_id)} if run_id else None
    by_key: dict[tuple[str, int], tuple[Document, Extraction]] = {}
    for doc, ext in newest + (run_extractions(session, run_id) if run_id else []):
        if ext.record is None:
            continue
        key = rtype.body_and_year(ext.record)
        if key is not None and (key not in by_key or (in_run and ext.id in in_run)):
            by_key[key] = (doc, ext)
    out: list[CrossBreak] = []
    for (body, year), (doc, ext) in sorted(by_key.items()):
        prev = by_key.get((body, year - 1))
        if prev is None:
            continue
        pdoc, pext = prev
        if in_run is not None and ext.id not in in_run and pext.id not in in_run:
            continue
        assert ext.record is not None and pext.record is not None
        for brk in rtype.cross_year(pext.record, ext.record):
            reason = f"{brk['reason']} ({pdoc.name}, {year - 1})"
            mark_fields(
                session, ext.id or 0, brk["current_paths"], SIGNAL, reason, DOUBTED_CONFIDENCE
            )
            mark_fields(
                session,
                pext.id or 0,
                brk["previous_paths"],
                SIGNAL,
                f"{brk['reason']} ({doc.name}, {year})",
                DOUBTED_CONFIDENCE,
            )
            out.append(
                CrossBreak(
                    brk["name"],
                    body,
                    pdoc.name,
                    doc.name,
                    year - 1,
                    year,
                    brk["expected"],
                    brk["actual"],
                    brk["reason"],
                )
            )
    session.commit()
    return out
