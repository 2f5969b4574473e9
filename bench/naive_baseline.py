"""The naive baseline: ONE instructor call per report with the whole text and the whole record
schema, the same model and endpoint as the pipeline; accuracy (the eval harness's scoring and
metrics) and tokens side by side with the pipeline (one small call per part + the table reader).

    .venv/bin/python bench/naive_baseline.py [--corpus ../shared/corpus] [--gold ../shared/gold]
        [--limit 5] [--max-chars 12000] [--out bench/results/naive_baseline.json] [--skip-pipeline]

The endpoint comes from the settings as for `structurer extract` (OPENAI_BASE_URL /
STRUCTURER_MODEL, or the embedded model when unset). With the embedded model this is slow:
run it alone (check `structurer model status` first).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from structurer.db.session import session_scope  # noqa: E402
from structurer.documents.reader import read_document  # noqa: E402
from structurer.eval.gold import GoldRecord, load_gold_dir  # noqa: E402
from structurer.eval.metrics import compute_metrics  # noqa: E402
from structurer.eval.scoring import field_kinds, score_run  # noqa: E402
from structurer.extract.runner import make_llm, run_extraction  # noqa: E402
from structurer.report_types import load_report_type  # noqa: E402
from structurer.settings import Settings  # noqa: E402
from structurer.store import run_extractions  # noqa: E402

SYSTEM = (
    "你是信息抽取助手。阅读下面的政府信息公开工作年度报告全文，按给定的 JSON 模式输出整份记录。"
    "只填写报告中明确写出的内容；报告中没有的字段填 null，列表填 []。数字按报告原文。"
)


def naive(
    docs: list[tuple[GoldRecord, Path]], settings: Settings, max_chars: int
) -> dict[str, Any]:
    rtype = load_report_type(settings.report_type)
    llm = make_llm(settings)
    predictions: dict[str, Any] = {}
    per_doc = []
    for gold, path in docs:
        doc = read_document(path)
        text = doc.text[:max_chars]
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"《{doc.name}》\n\n{text}"},
        ]
        started = time.perf_counter()
        result = llm.complete(messages, rtype.record_model)
        seconds = time.perf_counter() - started
        predictions[gold.doc] = (
            result.parsed.model_dump(mode="json") if result.parsed is not None else None
        )
        per_doc.append(
            {
                "doc": gold.doc,
                "ok": result.parsed is not None,
                "error": result.error,
                "tokens_in": result.tokens_in,
                "tokens_out": result.tokens_out,
                "seconds": round(seconds, 1),
                "truncated": len(doc.text) > max_chars,
            }
        )
        print(json.dumps({"naive": per_doc[-1]}, ensure_ascii=False), flush=True)
    return {"predictions": predictions, "docs": per_doc}


def pipeline(docs: list[tuple[GoldRecord, Path]], settings: Settings) -> dict[str, Any]:
    summary = run_extraction(
        [str(p) for _, p in docs], settings, name="bench-pipeline", reuse=False, use_cache=False
    )
    by_name = {gold.doc: gold for gold, _ in docs}
    predictions: dict[str, Any] = {}
    with session_scope(settings) as session:
        for doc, extraction in run_extractions(session, summary.run_id):
            if doc.name in by_name:
                predictions[doc.name] = extraction.record
    per_doc = [
        {
            "doc": r.name,
            "ok": r.status == "ok",
            "error": r.error,
            "tokens_in": r.tokens_in,
            "tokens_out": r.tokens_out,
            "seconds": round(r.seconds, 1),
            "calls": r.calls,
        }
        for r in summary.results
    ]
    for row in per_doc:
        print(json.dumps({"pipeline": row}, ensure_ascii=False), flush=True)
    return {"predictions": predictions, "docs": per_doc}


def summarise(
    name: str, run: dict[str, Any], golds: list[GoldRecord], record_model: Any
) -> dict[str, Any]:
    scores = score_run(run["predictions"], golds, field_kinds(record_model))
    metrics = compute_metrics(scores, names=["accuracy", "n_scored", "accuracy_nonzero"])
    docs = run["docs"]
    n = max(len(docs), 1)
    return {
        "approach": name,
        "docs": len(docs),
        "failed": sum(1 for d in docs if not d["ok"]),
        "accuracy": metrics["accuracy"],
        "accuracy_nonzero": metrics["accuracy_nonzero"],
        "fields_scored": metrics["n_scored"],
        "tokens_in_per_doc": round(sum(d["tokens_in"] for d in docs) / n),
        "tokens_out_per_doc": round(sum(d["tokens_out"] for d in docs) / n),
        "seconds_per_doc": round(sum(d["seconds"] for d in docs) / n, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--gold", type=Path, default=REPO.parent / "shared" / "gold")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--max-chars", type=int, default=12000, help="the naive call's text is cut here (context)"
    )
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    golds = load_gold_dir(args.gold)
    docs = [(g, args.corpus / g.doc) for g in golds if (args.corpus / g.doc).exists()]
    if args.limit:
        docs = docs[: args.limit]
    golds = [g for g, _ in docs]
    if not docs:
        sys.exit(f"no gold documents found in {args.corpus}")
    base = Settings()
    settings = base.model_copy(
        update={"data_dir": Path(tempfile.mkdtemp(prefix="bench-naive-")), "database_url": None}
    )
    record_model = load_report_type(settings.report_type).record_model
    rows = [
        summarise(
            "naive: one call, whole text, whole schema",
            naive(docs, settings, args.max_chars),
            golds,
            record_model,
        )
    ]
    if not args.skip_pipeline:
        rows.append(summarise("structurer pipeline", pipeline(docs, settings), golds, record_model))
    print(
        "\n| approach | docs | failed | accuracy | accuracy (non-zero) | tokens in/doc | tokens out/doc | s/doc |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        acc = "–" if r["accuracy"] is None else f"{r['accuracy']:.3f}"
        acc_nz = "–" if r["accuracy_nonzero"] is None else f"{r['accuracy_nonzero']:.3f}"
        print(
            f"| {r['approach']} | {r['docs']} | {r['failed']} | {acc} | {acc_nz} | {r['tokens_in_per_doc']} | "
            f"{r['tokens_out_per_doc']} | {r['seconds_per_doc']} |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"model": settings.model_name, "rows": rows}, ensure_ascii=False, indent=2)
        )


if __name__ == "__main__":
    main()
