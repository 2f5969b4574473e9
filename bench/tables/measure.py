"""Per converter: how many table cells the pipeline gets right, and how many wrong cells it
would auto-accept (confident errors).

    .venv/bin/python bench/tables/measure.py --corpus /tmp/corpus --converted /tmp/converted

Each converted text goes through the real pipeline (`extract_document`) with the table
reader on (`table_reader="table"`); the other parts are answered by the in-process FAKE
model (`structurer.llm.mock.MockModel`) with nulls: they hold no table cells. Confidence is `score_rows` with the default
prior (no fitted calibration), routed at the default review threshold, as a fresh install
does. Per converter:

- cells right: gold table cells (二/三/四) read with the gold value;
- non-zero right: the same over gold cells that are not 0;
- confident errors: cells read wrong (or read where gold has none) at/above the threshold;
- silent zeros: cells read 0 (at/above the threshold) whose gold is not 0;
- unread: gold cells with no reading (they go to a person: not an error, not right);
- docs read twice: documents with a table the model read again (a table with a doubted
  cell; the FAKE answers it with nothing, so the figures above are the table reader's own);
- with `--model embedded` the second readings go to the REAL embedded model (llama.cpp,
  started on demand on STRUCTURER_EMBEDDED_PORT, stopped at the end; the other parts still
  get the fake's nulls) and the time they added is reported per document read twice.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gov_disclosure import REPORT_TYPE
from structurer.confidence.route import route_rows, score_rows
from structurer.core.model import LLMResult, Model
from structurer.core.pipeline import extract_document
from structurer.core.prompts import PromptSet
from structurer.core.types import FieldRow, FieldStatus, LoadedDocument
from structurer.llm.mock import MockModel
from structurer.settings import Settings

TABLE_PREFIXES = ("proactive.", "requests.", "appeals.")
REPO = Path(__file__).resolve().parents[2]


class TablesToModel:
    """The second readings (response models `Table_*`, gov_disclosure/reread.py) go to the
    real model; every other part to the FAKE (nulls: they hold no table cells)."""

    def __init__(self, real: Model) -> None:
        self.real, self.fake = real, MockModel()
        self.model, self.mode_name = real.model, real.mode_name

    def complete(
        self, messages: list[dict[str, Any]], response_model: type[BaseModel]
    ) -> LLMResult:
        if response_model.__name__.startswith("Table_"):
            return self.real.complete(messages, response_model)
        return self.fake.complete(messages, response_model)


@dataclass
class Pipeline:
    settings: Settings
    llm: Model
    prompts: PromptSet
    last_rereads: list[Any] = field(default_factory=list)  # second-reading calls, last doc

    @classmethod
    def make(cls, data_dir: Path, model: str = "fake") -> Pipeline:
        llm: Model
        if model == "embedded":
            from structurer.batch.document import make_llm

            settings = Settings(data_dir=data_dir, table_reader="table")
            llm = TablesToModel(make_llm(settings))  # no reply cache: every call really runs
        else:
            settings = Settings(
                data_dir=data_dir,
                openai_base_url="http://fake-endpoint/v1",
                model="fake-model",
                table_reader="table",
            )
            llm = MockModel()  # FAKE: the non-table parts answered with nulls
        prompts = PromptSet(REPO / "prompts", settings.report_type, settings.prompt_version)
        return cls(settings, llm, prompts)

    def stop(self) -> None:
        if self.settings.uses_embedded_model:
            from structurer.llm.embedded.server import stop

            stop(self.settings)

    def table_rows(self, name: str, text: str, source_format: str = "txt") -> list[FieldRow]:
        """`source_format` "scan": the text is this project's OCR of page images."""
        doc = LoadedDocument(name, name, "-", text, source_format, "utf-8")
        outcome = extract_document(doc, REPORT_TYPE, self.llm, self.prompts, self.settings)
        self.last_rereads = [c for c in outcome.calls if c.part.startswith("reread:")]
        score_rows(outcome.fields, outcome.identity_breaks, artifact=None)
        route_rows(outcome.fields, self.settings.review_threshold)
        return [r for r in outcome.fields if r.path.startswith(TABLE_PREFIXES)]


# converters whose output the product itself reads as OCR (it made it from page images)
SOURCE_FORMATS = {"structurer_ocr": "scan", "structurer_scan": "scan"}


def score(rows: list[FieldRow], gold: dict[str, Any]) -> dict[str, Any]:
    pred = {r.path: r for r in rows}
    s: dict[str, Any] = defaultdict(int)
    errors: list[str] = []
    for path in sorted(set(gold) | set(pred)):
        g, row = gold.get(path), pred.get(path)
        if g is None and row is None:
            continue
        s["cells"] += int(g is not None)
        s["nonzero"] += int(g is not None and g != 0)
        if row is None:
            s["unread"] += 1
            continue
        right = g is not None and abs(float(row.value) - float(g)) < 1e-6
        s["right"] += int(right)
        s["nonzero_right"] += int(right and g != 0)
        confident = row.status == FieldStatus.auto
        if not right:
            s["wrong"] += 1
        if not right and confident:
            s["confident_errors"] += 1
            errors.append(f"{path}: read {row.value} gold {g} conf {row.confidence}")
            if row.value == 0 and g:
                s["silent_zeros"] += 1
        if right and not confident:
            s["right_to_review"] += 1
    s["errors"] = errors
    return s


def measure(
    corpus: Path,
    converted: Path,
    verbose: bool = False,
    model: str = "fake",
    only: list[str] | None = None,
    docs: int | None = None,
) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        models = Path.home() / ".local/share/structurer/models"
        if model == "embedded" and models.is_dir():
            (data_dir / "models").symlink_to(models)  # the verified weights, not a new copy
        pipe = Pipeline.make(data_dir, model)
        try:
            return _measure(pipe, corpus, converted, verbose, only, docs)
        finally:
            pipe.stop()


def model_cells(calls: list[Any], gold: dict[str, Any]) -> tuple[int, int]:
    """(cells the model's second readings gave, of them equal to gold): a reply row counts
    when it has one number per column (what reread.py keeps)."""
    from gov_disclosure.tables import APPEALS, PROACTIVE_2019, PROACTIVE_2021, REQUESTS

    specs = {r.path: r for t in (APPEALS, PROACTIVE_2019, PROACTIVE_2021, REQUESTS) for r in t.rows}
    given = right = 0
    for call in calls:
        try:
            reply = json.loads(call.response or "")
        except ValueError:
            continue
        table = call.part.split(":", 1)[1]
        for key, got in (reply if isinstance(reply, dict) else {}).items():
            spec = specs.get(f"{table}.{key}")
            if spec is None or not isinstance(got, list) or len(got) != len(spec.columns):
                continue
            for col, value in zip(spec.columns, got, strict=True):
                if value is None:
                    continue
                given += 1
                g = gold.get(f"{spec.path}.{col.key}")
                right += int(g is not None and abs(float(value) - float(g)) < 1e-6)
    return given, right


def _measure(
    pipe: Pipeline,
    corpus: Path,
    converted: Path,
    verbose: bool,
    only: list[str] | None,
    docs: int | None,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for conv in sorted(p for p in converted.iterdir() if p.is_dir()):
        if only and conv.name not in only:
            continue
        total: dict[str, Any] = defaultdict(int)
        errors: list[str] = []
        started = time.perf_counter()
        for txt in sorted(conv.glob("*.txt"))[:docs]:
            gold = json.loads((corpus / f"{txt.stem}.json").read_text(encoding="utf-8"))
            text = txt.read_text(encoding="utf-8")
            s = score(
                pipe.table_rows(txt.stem, text, SOURCE_FORMATS.get(conv.name, "txt")), gold["gold"]
            )
            given, agreed = model_cells(pipe.last_rereads, gold["gold"])
            total["model_cells"] += given
            total["model_cells_right"] += agreed
            for key, val in s.items():
                if key == "errors":
                    errors.extend(f"{txt.stem} {e}" for e in val)
                else:
                    total[key] += val
            total["docs"] += 1
            total["reread_docs"] += int(bool(pipe.last_rereads))
            total["reread_calls"] += len(pipe.last_rereads)
            total["reread_ms"] += sum(c.latency_ms for c in pipe.last_rereads)
            total["reread_failed"] += sum(1 for c in pipe.last_rereads if c.error)
            if verbose and pipe.last_rereads:
                ms = sum(c.latency_ms for c in pipe.last_rereads)
                print(
                    f"  {conv.name} {txt.stem}: {len(pipe.last_rereads)} second readings, "
                    f"{ms / 1000:.1f} s, model gave {given} cells ({agreed} right), "
                    f"right {s['right']}/{s['cells']}, "
                    f"confident errors {s['confident_errors']}",
                    file=sys.stderr,
                    flush=True,
                )
        total["seconds"] = round(time.perf_counter() - started, 1)
        total["errors"] = errors
        out[conv.name] = total
        if verbose:
            for e in total["errors"]:
                print(f"  {conv.name} {e}", file=sys.stderr)
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| converter | docs | cells right | non-zero right | confident errors | silent 0s"
        " | unread | right but sent to review | docs read twice | time added |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in results.items():
        lines.append(
            f"| {name} | {s['docs']} | {s['right']}/{s['cells']} ({s['right'] / s['cells']:.2%})"
            f" | {s['nonzero_right']}/{s['nonzero']} ({s['nonzero_right'] / s['nonzero']:.2%})"
            f" | {s['confident_errors']} | {s['silent_zeros']} | {s['unread']}"
            f" | {s['right_to_review']} | {s['reread_docs']} ({s['reread_calls']} calls)"
            f" | {_added(s)} |"
        )
    return "\n".join(lines)


def _added(s: dict[str, Any]) -> str:
    """Time the second readings added, per document read twice (model latency)."""
    if not s["reread_docs"]:
        return "–"
    failed = f", {s['reread_failed']} failed" if s["reread_failed"] else ""
    return f"{s['reread_ms'] / 1000 / s['reread_docs']:.1f} s/doc{failed}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--converted", type=Path, required=True)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument(
        "--model",
        choices=("fake", "embedded"),
        default="fake",
        help="who answers the second readings: the in-process FAKE (nothing) or the real "
        "embedded model",
    )
    ap.add_argument("--only", nargs="*", help="converter names (default: all)")
    ap.add_argument("--docs", type=int, help="only the first N documents of each converter")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every confident error")
    args = ap.parse_args()
    results = measure(args.corpus, args.converted, args.verbose, args.model, args.only, args.docs)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
