"""Gold files: load, check, create.

A gold file (``gold/<stem>.json`` for the report ``<stem>.txt``) holds
``{"doc", "record", "alternatives", "notes"}``; see ``shared/spec/report-schema.md``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from structurer.core.records import empty_record, flatten, leaf_paths, unflatten
from structurer.core.report_type import ReportType

GOLD_KEYS = frozenset({"doc", "record", "alternatives", "notes"})


class GoldRecord(BaseModel):
    """One annotated report: the full nested record, per-path alternatives, notes."""

    model_config = ConfigDict(frozen=True)

    doc: str
    record: dict[str, Any]
    alternatives: dict[str, list[Any]] = Field(default_factory=dict)
    notes: str = ""


class GoldProblem(BaseModel):
    """One thing wrong (or worth a look) in a gold file."""

    file: str
    message: str
    path: str | None = None
    severity: str = "error"  # "error" | "identity"

    def __str__(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        tag = "identity break" if self.severity == "identity" else "error"
        return f"{self.file}:{where} {tag}: {self.message}"


def load_gold(path: str | Path) -> GoldRecord:
    return GoldRecord.model_validate_json(Path(path).read_text(encoding="utf-8"))


def load_gold_dir(directory: str | Path) -> list[GoldRecord]:
    """Every ``*.json`` in ``directory``, sorted by file name."""
    return [load_gold(p) for p in sorted(Path(directory).glob("*.json"))]


def gold_to_json(gold: GoldRecord) -> str:
    return json.dumps(gold.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"


def write_gold(path: str | Path, gold: GoldRecord) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(gold_to_json(gold), encoding="utf-8")
    return out


def skeleton(doc_name: str, record_model: type[BaseModel]) -> dict[str, Any]:
    """A blank gold file for ``gold new``: every path null (lists empty)."""
    return {"doc": doc_name, "record": empty_record(record_model), "alternatives": {}, "notes": ""}


def gold_from_record(
    doc_name: str,
    record: Mapping[str, Any],
    record_model: type[BaseModel],
    *,
    alternatives: Mapping[str, list[Any]] | None = None,
    notes: str = "",
) -> GoldRecord:
    """A gold record from a (reviewed) record, e.g. for ``gold from-review``.

    The record is validated and dumped through the model so paths and types are canonical.
    """
    canonical = record_model.model_validate(dict(record)).model_dump(mode="json")
    return GoldRecord(
        doc=doc_name, record=canonical, alternatives=dict(alternatives or {}), notes=notes
    )


def _validation_problems(
    file: str, record: dict[str, Any], record_model: type[BaseModel], what: str = ""
) -> list[GoldProblem]:
    try:
        # Strict JSON-mode validation: "48" is not an int; ISO date strings are dates.
        record_model.model_validate_json(json.dumps(record, ensure_ascii=False), strict=True)
    except ValidationError as exc:
        return [
            GoldProblem(
                file=file,
                path=".".join(str(x) for x in err["loc"]),
                message=f"{what}{err['msg']} (got {err.get('input')!r})",
            )
            for err in exc.errors()
        ]
    return []


def check_gold(
    file: str | Path,
    corpus_dir: str | Path | None,
    rtype: ReportType,
) -> list[GoldProblem]:
    """Check one gold file; see ``check_gold_dir``."""
    record_model = rtype.record_model
    path = Path(file)
    name = path.name
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return [GoldProblem(file=name, message=f"cannot read JSON: {exc}")]
    if not isinstance(raw, dict):
        return [GoldProblem(file=name, message="top level is not an object")]
    problems: list[GoldProblem] = []
    keys = set(raw)
    if keys != GOLD_KEYS:
        missing, extra = sorted(GOLD_KEYS - keys), sorted(keys - GOLD_KEYS)
        problems.append(
            GoldProblem(file=name, message=f"keys: missing {missing}, unexpected {extra}")
        )
    doc = raw.get("doc")
    if not isinstance(doc, str) or not doc:
        problems.append(GoldProblem(file=name, message="'doc' is not a file name"))
    else:
        if Path(doc).stem != path.stem:
            problems.append(GoldProblem(file=name, message=f"file is not named after doc {doc!r}"))
        if corpus_dir is not None and not (Path(corpus_dir) / doc).is_file():
            problems.append(
                GoldProblem(file=name, message=f"report {doc!r} not in corpus {corpus_dir}")
            )
    if not isinstance(raw.get("notes", ""), str):
        problems.append(GoldProblem(file=name, message="'notes' is not a string"))

    record = raw.get("record")
    if not isinstance(record, dict):
        problems.append(GoldProblem(file=name, message="'record' is not an object"))
        return problems
    expected = leaf_paths(record_model)
    flat = flatten(record)
    for missing_path in [p for p in expected if p not in flat]:
        problems.append(GoldProblem(file=name, path=missing_path, message="path missing"))
    known = set(expected)
    for extra_path in [p for p in flat if p not in known]:
        problems.append(GoldProblem(file=name, path=extra_path, message="not a path of the schema"))
    problems.extend(_validation_problems(name, record, record_model))

    alternatives = raw.get("alternatives", {})
    if not isinstance(alternatives, dict):
        problems.append(GoldProblem(file=name, message="'alternatives' is not an object"))
        alternatives = {}
    for alt_path, values in alternatives.items():
        if alt_path not in known:
            problems.append(
                GoldProblem(file=name, path=alt_path, message="alternative names no path")
            )
            continue
        if not isinstance(values, list):
            problems.append(
                GoldProblem(file=name, path=alt_path, message="alternatives is not a list")
            )
            continue
        for value in values:
            trial = copy.deepcopy(flat)
            trial[alt_path] = value
            for problem in _validation_problems(
                name, unflatten(trial), record_model, what=f"alternative {value!r}: "
            ):
                if problem.path == alt_path:
                    problems.append(problem)
            if value == flat.get(alt_path):
                problems.append(
                    GoldProblem(
                        file=name, path=alt_path, message=f"alternative {value!r} equals gold"
                    )
                )

    if not any(p.severity == "error" and p.path for p in problems):
        try:
            _, breaks = rtype.validate(record)
        except ValidationError:
            return problems
        for brk in breaks:
            problems.append(
                GoldProblem(
                    file=name,
                    path=brk.get("name"),
                    severity="identity",
                    message=(
                        f"expected {brk.get('expected', '?')}, actual {brk.get('actual', '?')}"
                        f" over {', '.join(brk.get('paths', []))} (fine if printed so; say so in notes)"
                    ),
                )
            )
    return problems


def check_gold_dir(
    directory: str | Path,
    corpus_dir: str | Path | None,
    rtype: ReportType,
) -> list[str]:
    """Problems in every ``*.json`` of ``directory``, one human-readable line each.

    Checks: JSON readable with exactly the keys doc/record/alternatives/notes; the file is
    named after its doc and the doc exists in ``corpus_dir``; the record has exactly the
    model's leaf paths, each typed as the model says (strict validation); alternatives name
    real paths and are typed too; table identity breaks are listed (severity "identity").
    An empty list means all good.
    """
    problems: list[str] = []
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        return [f"{directory}: no gold files"]
    for file in files:
        problems.extend(str(p) for p in check_gold(file, corpus_dir, rtype))
    return problems


__all__ = [
    "GoldProblem",
    "GoldRecord",
    "check_gold",
    "check_gold_dir",
    "gold_from_record",
    "gold_to_json",
    "load_gold",
    "load_gold_dir",
    "skeleton",
    "write_gold",
]
