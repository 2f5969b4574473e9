"""Benchmark (b): memory stays flat as the batch grows.

N small synthetic reports (default 10,000) through the threads engine against the FAKE
OpenAI-compatible server (its own process, instant replies). This process's RSS is sampled
every second, and at every 5% of documents done; the figure is RSS at 10% vs at 100%.

    .venv/bin/python bench/batch_memory.py [--docs 10000] [--concurrency 8] [--out bench/results/memory.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from batch_common import RssSampler, fake_server, make_corpus, record_replies, rss_mb

from structurer.batch.run import DocResult, run_extraction
from structurer.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    corpus = make_corpus(tmp / "corpus", args.docs)
    recorded = record_replies(tmp / "replies.json")
    marks: list[dict[str, float]] = []
    done = [0]
    started = time.perf_counter()
    step = max(1, args.docs // 20)

    def on_result(result: DocResult) -> None:
        done[0] += 1
        if done[0] % step == 0 or done[0] == args.docs:
            row = {
                "docs": done[0],
                "rss_mb": round(rss_mb(), 1),
                "seconds": round(time.perf_counter() - started, 1),
            }
            marks.append(row)
            print(json.dumps(row), flush=True)

    with fake_server(recorded) as url:
        settings = Settings(
            data_dir=tmp / "data",
            openai_base_url=url,
            model="fake-model",
            concurrency=args.concurrency,
        )
        with RssSampler(1.0) as sampler:
            summary = run_extraction([str(corpus)], settings, on_result=on_result)
    peak = max(mb for _, mb in sampler.samples)
    at = {m["docs"]: m["rss_mb"] for m in marks}
    first = next(m for m in marks if m["docs"] >= args.docs // 10)
    result = {
        "docs": args.docs,
        "ok": summary.count("ok"),
        "failed": len(summary.failed),
        "concurrency": args.concurrency,
        "wall_s": round(time.perf_counter() - started, 1),
        "rss_mb_at_10pct": first["rss_mb"],
        "rss_mb_at_100pct": at.get(args.docs, marks[-1]["rss_mb"]),
        "peak_rss_mb": round(peak, 1),
        "marks": marks,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "marks"}), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
