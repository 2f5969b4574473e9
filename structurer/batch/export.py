"""Export records: JSONL in the spec's export format, a long CSV (one row per field), and a
wide table (one row per report, one column per field path) as CSV or Parquet.

Every document carries its `status` and `error`; a failed document (its nulls do not mean
"not stated") is written only when asked for (`include_failed`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlmodel import Session

from structurer.store.models import Document, Extraction, FieldValue
from structurer.store.outcomes import field_rows, run_extractions

FORMATS = ("jsonl", "csv", "wide-csv", "parquet")
WIDE_FIRST = ("doc", "status", "error", "lowest_confidence")


class ExportError(ValueError):
    """The output cannot be written there; the message is one line naming the path."""


def check_output(out: Path) -> None:
    """Refuse before any database work: a directory, a missing directory, no permission."""
    if out.is_dir():
        raise ExportError(f"{out} is a directory: give a file path, e.g. {out / 'records.jsonl'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"cannot write {out}: directory {parent} does not exist")
    existed = out.exists()
    try:
        with out.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    if not existed:
        out.unlink(missing_ok=True)


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
    return {
        "doc": doc.name,
        "status": extraction.status,
        "error": extraction.error,
        "record": extraction.record,
        "fields": out_fields,
    }


def iter_exports(
    session: Session, run_id: str | None, include_failed: bool = False
) -> Iterator[dict[str, Any]]:
    for doc, extraction in run_extractions(session, run_id):
        if extraction.status != "ok" and not include_failed:
            continue
        yield export_object(doc, extraction, field_rows(session, extraction.id or 0))


def write_jsonl(
    session: Session, out: Path, run_id: str | None, include_failed: bool = False
) -> int:
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for obj in iter_exports(session, run_id, include_failed):
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_csv(session: Session, out: Path, run_id: str | None, include_failed: bool = False) -> int:
    from structurer.core.records import flatten

    n = 0
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "doc",
                "doc_status",
                "path",
                "value",
                "confidence",
                "status",
                "evidence_start",
                "evidence_end",
                "quote",
            ]
        )
        for obj in iter_exports(session, run_id, include_failed):
            n += 1
            if obj["record"] is None:  # failed before a record existed: one row with the error
                writer.writerow([obj["doc"], obj["status"], "", obj["error"], "", "", "", "", ""])
                continue
            for path, value in flatten(obj["record"]).items():
                meta = obj["fields"].get(path) or {}
                ev = meta.get("evidence") or {}
                writer.writerow(
                    [
                        obj["doc"],
                        obj["status"],
                        path,
                        _cell(value),
                        meta.get("confidence"),
                        meta.get("status"),
                        ev.get("start"),
                        ev.get("end"),
                        ev.get("quote"),
                    ]
                )
    return n


def wide_rows(
    session: Session, run_id: str | None, paths: list[str], include_failed: bool = False
) -> Iterator[dict[str, Any]]:
    """One dict per report: doc, status, error, lowest_confidence, then every field path."""
    from structurer.core.records import flatten

    for obj in iter_exports(session, run_id, include_failed):
        flat = flatten(obj["record"]) if obj["record"] is not None else {}
        confidences = [
            m["confidence"] for m in obj["fields"].values() if m.get("confidence") is not None
        ]
        row: dict[str, Any] = {
            "doc": obj["doc"],
            "status": obj["status"],
            "error": obj["error"],
            "lowest_confidence": min(confidences) if confidences else None,
        }
        for path in paths:
            value = flat.get(path)
            row[path] = None if value == [] else value
        yield row


def write_wide_csv(
    session: Session, out: Path, run_id: str | None, paths: list[str], include_failed: bool = False
) -> int:
    n = 0
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*WIDE_FIRST, *paths])
        for row in wide_rows(session, run_id, paths, include_failed):
            writer.writerow([_cell(v) for v in row.values()])
            n += 1
    return n


def write_parquet(
    session: Session, out: Path, run_id: str | None, paths: list[str], include_failed: bool = False
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(wide_rows(session, run_id, paths, include_failed))
    columns: dict[str, Any] = {}
    for name in (*WIDE_FIRST, *paths):
        values = [r[name] for r in rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds in one column: as text
            columns[name] = pa.array([None if v is None else _cell(v) for v in values])
    pq.write_table(pa.table(columns), out)
    return len(rows)


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value
