"""A gold candidate from review: the newest reviewed record of a stored document, with the
corrections applied; its notes list the fields no person confirmed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from structurer.core.records import flatten, unflatten
from structurer.core.report_type import load_report_type
from structurer.core.types import FieldStatus
from structurer.eval.gold import GoldRecord, gold_from_record
from structurer.eval.run import EvalError
from structurer.settings import Settings
from structurer.store.eval import extractions_with_record
from structurer.store.models import Document, Extraction, FieldValue
from structurer.store.outcomes import field_rows, latest_extraction
from structurer.store.session import session_scope


def person_confirmed(fv: FieldValue) -> bool:
    """A person corrected the field (status ``corrected``) or confirmed the machine's value
    (an ``auto`` field whose signals carry ``confirmed`` or ``reviewed``)."""
    if fv.status == FieldStatus.corrected:
        return True
    return fv.status == FieldStatus.auto and bool(
        fv.signals.get("confirmed") or fv.signals.get("reviewed")
    )


def _reviewed_extraction(
    session: Session, document: Document
) -> tuple[Extraction, list[FieldValue]] | None:
    for extraction in extractions_with_record(session, document.id):
        rows = field_rows(session, extraction.id or 0)
        if any(person_confirmed(fv) for fv in rows):
            return extraction, rows
    return None


def review_notes(extraction: Extraction, rows: Sequence[FieldValue], record: dict[str, Any]) -> str:
    confirmed = sorted(fv.path for fv in rows if person_confirmed(fv))
    corrected = sum(fv.status == FieldStatus.corrected for fv in rows)
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
        if fv.status == FieldStatus.corrected and fv.path in flat:
            flat[fv.path] = fv.value
    record = unflatten(flat)
    return gold_from_record(
        document.name, record, rtype.record_model, notes=review_notes(extraction, rows, record)
    )
