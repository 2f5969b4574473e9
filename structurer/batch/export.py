"""Export records in the spec's export format (JSONL) or as one CSV row per field."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlmodel import Session

from structurer.store.models import Document, Extraction, FieldValue
from structurer.store.outcomes import field_rows, run_extractions


def export_object(
    doc: Document, extraction: Extraction, fields: list[FieldValue]
) -> dict[str, Any]:
    out_fields: dict[str, Any] = {}
    for fv in fields:
        if fv.value is None or fv.value == []:
            continue
        evidence = None
        if fv.evidence_start is not None and fv.evidence_end is not None:
            evidence = {"start": fv.evidence_start, "end": fv.evidence_end, "quote": fv.quote}
        out_fields[fv.path] = {
            "confidence": fv.confidence,
            "status": fv.status,
            "evidence": evidence,
        }
    return {"doc": doc.name, "record": extraction.record, "fields": out_fields}


def iter_exports(session: Session, run_id: str | None) -> Iterator[dict[str, Any]]:
    for doc, extraction in run_extractions(session, run_id):
        if extraction.record is None:
            continue
        yield export_object(doc, extraction, field_rows(session, extraction.id or 0))


def write_jsonl(session: Session, out: Path, run_id: str | None) -> int:
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for obj in iter_exports(session, run_id):
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_csv(session: Session, out: Path, run_id: str | None) -> int:
    from structurer.core.records import flatten

    n = 0
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "doc",
                "path",
                "value",
                "confidence",
                "status",
                "evidence_start",
                "evidence_end",
                "quote",
            ]
        )
        for obj in iter_exports(session, run_id):
            n += 1
            for path, value in flatten(obj["record"]).items():
                meta = obj["fields"].get(path) or {}
                ev = meta.get("evidence") or {}
                cell = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
                writer.writerow(
                    [
                        obj["doc"],
                        path,
                        cell,
                        meta.get("confidence"),
                        meta.get("status"),
                        ev.get("start"),
                        ev.get("end"),
                        ev.get("quote"),
                    ]
                )
    return n
