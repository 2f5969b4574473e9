"""The naive baseline: ONE instructor call per report with the whole text and the whole record
schema, the same model and endpoint as the pipeline; accuracy and tokens side by side with the
pipeline (one small call per part + the table reader), both scored by the eval harness
(`structurer.eval`: same scoring rules, same metrics, same per-run files).

    .venv/bin/python bench/naive_baseline.py [--corpus ../shared/corpus] [--gold ../shared/gold]
        [--limit N] [--max-chars 12000] [--max-tokens 4096] [--out-dir bench/results/naive]
        [--schema required|as-is]

`--schema as-is` sends the record model exactly as the schema declares it: every field has a
default, so the JSON schema marks none of them required, and a constrained decoder (llama.cpp's
grammar) lets the model stop after a few keys. `--schema required` (the default) marks every
field required (values stay nullable), so the model must answer each of the 245 leaves: the
fair version of "one call, whole schema".

The endpoint comes from the settings as for `structurer extract` (OPENAI_BASE_URL /
STRUCTURER_MODEL, or the embedded model when unset); so does the database. The pipeline row is
`structurer eval run` itself: it reuses stored extractions of the same documents, prompt, model
and settings (their tokens and seconds are those recorded when they were made) and extracts
the rest. The naive prompt is the template version `prompts/<type>/naive/`. With the embedded
model this is slow: run it alone (check `structurer model status` first).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Queue
from typing import Any, Literal

from pydantic import BaseModel, create_model

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from structurer.batch.document import make_llm  # noqa: E402
from structurer.core.prompts import PromptSet  # noqa: E402
from structurer.core.report_type import load_report_type  # noqa: E402
from structurer.documents.reader import read_document  # noqa: E402
from structurer.eval.gold import GoldRecord, load_gold_dir  # noqa: E402
from structurer.eval.metrics import DocStats  # noqa: E402
from structurer.eval.results import EvalResults  # noqa: E402
from structurer.eval.run import run_eval  # noqa: E402
from structurer.eval.writer import evaluate  # noqa: E402
from structurer.llm.client import LLMClient  # noqa: E402
from structurer.settings import Settings  # noqa: E402

NAIVE_PROMPT = "naive"


def every_field_required(model: type[BaseModel]) -> type[BaseModel]:
    """The same model with no defaults: every field (nested ones too) must be present."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = every_field_required(annotation)
        fields[name] = (annotation, ...)
    return create_model(model.__name__, **fields)  # type: ignore[call-overload, no-any-return]


def as_record(parsed: BaseModel | None, record_model: type[BaseModel]) -> dict[str, Any] | None:
    """The reply as a record of the real schema (validated; what the pipeline would store)."""
    if parsed is None:
        return None
    return record_model.model_validate(parsed.model_dump(mode="json")).model_dump(mode="json")


def naive(
    docs: list[tuple[GoldRecord, Path]],
    settings: Settings,
    max_chars: int,
    out_dir: Path,
    schema: Literal["required", "as-is"],
    ports: list[int],
) -> EvalResults:
    rtype = load_report_type(settings.report_type)
    response_model = (
        every_field_required(rtype.record_model) if schema == "required" else rtype.record_model
    )
    prompts = PromptSet(settings.prompts_dir, rtype.name, NAIVE_PROMPT)
    # One client per embedded server port; documents are spread over them, one call each.
    free: Queue[LLMClient] = Queue()
    for port in ports:
        free.put(make_llm(settings.model_copy(update={"embedded_port": port})))

    def one(item: tuple[GoldRecord, Path]) -> tuple[str, Any, DocStats]:
        gold, path = item
        doc = read_document(path)
        messages = [
            {"role": "system", "content": prompts.render("system.j2")},
            {
                "role": "user",
                "content": prompts.render("user.j2", doc_name=doc.name, text=doc.text[:max_chars]),
            },
        ]
        llm = free.get()
        started = time.perf_counter()
        try:
            result = llm.complete(messages, response_model)
        finally:
            free.put(llm)
        stat = DocStats(
            doc=gold.doc,
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            seconds=round(time.perf_counter() - started, 1),
            retries=result.retries,
            validation_failed=result.parsed is None,
            error=result.error,
        )
        row = stat.model_dump() | {"truncated": len(doc.text) > max_chars}
        print(json.dumps({"naive": row}, ensure_ascii=False), flush=True)
        return gold.doc, as_record(result.parsed, rtype.record_model), stat

    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        answers = list(pool.map(one, docs))
    predictions = {name: record for name, record, _ in answers}
    stats = [stat for _, _, stat in answers]
    results, _ = evaluate(
        predictions,
        [g for g, _ in docs],
        rtype.record_model,
        run_name=f"naive-{schema}",
        docs=stats,
        settings={
            **settings.extraction_settings(),
            "approach": "naive",
            "schema": schema,
            "prompt_version": NAIVE_PROMPT,
            "prompt": prompts.fingerprint,
        },
        out_dir=out_dir / f"naive-{schema}",
    )
    return results


def pipeline(gold_dir: Path, corpus: Path, settings: Settings, out_dir: Path) -> EvalResults:
    outcome = run_eval(
        gold_dir, corpus, settings, name="bench-pipeline", out_dir=out_dir / "pipeline"
    )
    for d in outcome.results.docs:
        print(json.dumps({"pipeline": d.model_dump()}, ensure_ascii=False, default=str), flush=True)
    print(json.dumps({"pipeline_reused_docs": outcome.reused}, ensure_ascii=False), flush=True)
    return outcome.results


def row(name: str, results: EvalResults) -> dict[str, Any]:
    m = results.metrics
    return {
        "approach": name,
        "docs": results.n_docs,
        "failed": m.get("doc_failures"),
        "accuracy": m.get("accuracy"),
        "accuracy_nonzero": m.get("accuracy_nonzero"),
        "abstention_accuracy": m.get("abstention_accuracy"),
        "list_f1_micro": m.get("list_f1_micro"),
        "fields_scored": m.get("n_scored"),
        "tokens_in_per_doc": m.get("tokens_in_per_doc"),
        "tokens_out_per_doc": m.get("tokens_out_per_doc"),
        "seconds_per_doc": m.get("seconds_per_doc"),
        "sections": {k: v.accuracy for k, v in results.sections.items()},
    }


def _pct(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x: Any) -> str:
    return "–" if x is None else f"{x:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--gold", type=Path, default=REPO.parent / "shared" / "gold")
    parser.add_argument("--limit", type=int, default=None, help="only the first N gold documents")
    parser.add_argument(
        "--max-chars", type=int, default=12000, help="the naive call's text is cut here (context)"
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=4096,
        help="output budget of the naive call (whole record)",
    )
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "results" / "naive")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds for one naive call (a long answer)"
    )
    parser.add_argument("--schema", choices=["required", "as-is"], default="required")
    parser.add_argument(
        "--ports",
        type=int,
        nargs="+",
        default=None,
        help="embedded model servers to spread the naive calls over (default: the configured one)",
    )
    args = parser.parse_args()
    golds = load_gold_dir(args.gold)
    docs = [(g, args.corpus / g.doc) for g in golds if (args.corpus / g.doc).exists()]
    if args.limit:
        docs = docs[: args.limit]
    if not docs:
        sys.exit(f"no gold documents found in {args.corpus}")
    gold_dir = Path(tempfile.mkdtemp(prefix="bench-naive-gold-"))
    for g, _ in docs:
        shutil.copy(args.gold / f"{Path(g.doc).stem}.json", gold_dir)
    settings = Settings()
    rows = [row("structurer pipeline", pipeline(gold_dir, args.corpus, settings, args.out_dir))]
    naive_settings = settings.model_copy(
        update={"max_tokens": args.max_tokens, "timeout": args.timeout}
    )
    rows.insert(
        0,
        row(
            f"naive: one call, whole text, whole schema ({args.schema})",
            naive(
                docs,
                naive_settings,
                args.max_chars,
                args.out_dir,
                args.schema,
                args.ports or [settings.embedded_port],
            ),
        ),
    )
    print(
        "\n| approach | docs | failed | accuracy | accuracy (non-zero) | abstention | list F1 "
        "| tokens in/doc | tokens out/doc | s/doc |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['approach']} | {r['docs']} | {r['failed']} | {_pct(r['accuracy'])} | "
            f"{_pct(r['accuracy_nonzero'])} | {_pct(r['abstention_accuracy'])} | "
            f"{_pct(r['list_f1_micro'])} | {_num(r['tokens_in_per_doc'])} | "
            f"{_num(r['tokens_out_per_doc'])} | {_num(r['seconds_per_doc'])} |"
        )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "summary.json").write_text(
        json.dumps({"model": settings.model_name, "rows": rows}, ensure_ascii=False, indent=2)
    )


if __name__ == "__main__":
    main()
