"""Benchmark (a): what the batch costs outside the model.

The FAKE OpenAI-compatible server (its own process) answers every call instantly from recorded
replies, so the wall time is all structurer: documents per second at concurrency 1, 8, 32.
Then the same batch against a server that takes --delay seconds per call (a stand-in for the
model's own speed): the share of wall time spent outside the endpoint is
1 - (calls x delay / concurrency) / wall.

    .venv/bin/python bench/batch_overhead.py [--docs 1000] [--concurrency 1 8 32]
        [--delay 0.5 --delay-docs 200 --delay-concurrency 8] [--table-reader table|llm] [--no-logprobs]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from batch_common import fake_server, make_corpus, record_replies

from structurer.batch.run import run_extraction
from structurer.settings import Settings
from structurer.store.session import dispose_engines


def one_batch(
    corpus: Path, url: str, data: Path, concurrency: int, args: argparse.Namespace
) -> dict[str, float]:
    settings = Settings(
        data_dir=data,
        openai_base_url=url,
        model="fake-model",
        concurrency=concurrency,
        table_reader=args.table_reader,
        logprobs=not args.no_logprobs,
    )
    run_extraction(
        [str(corpus / "report_000000.txt")], settings
    )  # migrate + warm imports, not timed
    started = time.perf_counter()
    summary = run_extraction([str(corpus)], settings, use_cache=False, reuse=False)
    wall = time.perf_counter() - started
    dispose_engines()
    for r in summary.results:
        if r.status not in ("ok", "skipped"):
            print(f"# {r.status}: {r.name}: {r.error}", flush=True)
    n = len(summary.results)
    calls = sum(r.calls for r in summary.results)
    ok = summary.count("ok") + summary.count("skipped")
    return {
        "concurrency": concurrency,
        "docs": n,
        "ok": ok,
        "calls": calls,
        "wall_s": round(wall, 2),
        "docs_per_s": round(n / wall, 2),
        "ms_per_doc": round(wall / n * 1000, 1),
    }


def memoize_response_models() -> None:
    """What-if: the pipeline builds a new pydantic class per call today; build it once per part."""
    import structurer.core.pipeline as pipeline

    original = pipeline.build_response_model
    built: dict[tuple[int, str], type] = {}

    def once(rtype, part):  # type: ignore[no-untyped-def]
        key = (id(rtype), part.name)
        if key not in built:
            built[key] = original(rtype, part)
        return built[key]

    pipeline.build_response_model = once  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--delay-docs", type=int, default=200)
    parser.add_argument("--delay-concurrency", type=int, default=8)
    parser.add_argument("--table-reader", default="table", choices=["table", "llm", "both"])
    parser.add_argument("--no-logprobs", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="append the results as JSON lines")
    parser.add_argument(
        "--memoize-response-models",
        action="store_true",
        help="build each part's response model once (what-if for structurer/core/response_models.py)",
    )
    args = parser.parse_args()
    if args.memoize_response_models:
        memoize_response_models()
    tmp = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    corpus = make_corpus(tmp / "corpus", args.docs)
    recorded = record_replies(tmp / "replies.json")
    results = []
    with fake_server(recorded) as url:
        for c in args.concurrency:
            row = one_batch(corpus, url, tmp / f"data-c{c}", c, args) | {"endpoint": "instant"}
            print(json.dumps(row), flush=True)
            results.append(row)
    if args.delay > 0 and args.delay_docs > 0:
        small = make_corpus(tmp / "corpus-delay", args.delay_docs)
        with fake_server(recorded, args.delay) as url:
            row = one_batch(small, url, tmp / "data-delay", args.delay_concurrency, args)
            ideal = row["calls"] * args.delay / args.delay_concurrency
            row |= {
                "endpoint": f"{args.delay}s per call",
                "ideal_wall_s": round(ideal, 2),
                "share_outside_endpoint": round(1 - ideal / row["wall_s"], 4),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            for row in results:
                fh.write(
                    json.dumps(
                        row
                        | {
                            "table_reader": args.table_reader,
                            "logprobs": not args.no_logprobs,
                            "memoized": args.memoize_response_models,
                        }
                    )
                    + "\n"
                )


if __name__ == "__main__":
    main()
