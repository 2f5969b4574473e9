"""Hook (c): the embedded model's own speed, and structurer's share of the wall time.

Runs the pipeline over real reports with the embedded llama.cpp model (or whatever endpoint the
settings name) at concurrency 1, then reports reports/hour, tokens per report, model calls
per report, and the share of wall time spent outside the endpoint
(1 - sum of call latencies / wall; exact at concurrency 1).

    .venv/bin/python bench/batch_embedded.py [--corpus ../shared/corpus] [--limit 5] [--out bench/results/embedded.json]
    .venv/bin/python bench/batch_embedded.py --from-run RUN_ID   # the same figures for a stored run

With --from-run nothing is extracted: the figures come from a run already in the database
(e.g. the extraction run of an eval), using each document's own wall time (`extractions.seconds`)
and its calls' latencies, so they are exact for any concurrency.

Slow: one report takes minutes on 2 cores. Run it alone. It refuses to start while another
embedded model server is running (`structurer model status`), unless --force is given.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlmodel import select  # noqa: E402

from structurer.batch.run import resolve_paths, run_extraction  # noqa: E402
from structurer.settings import Settings  # noqa: E402
from structurer.store.models import Extraction, LLMCall  # noqa: E402
from structurer.store.session import session_scope  # noqa: E402


def other_model_servers() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [
        line.strip() for line in out.splitlines() if "structurer.llm.embedded.serve_main" in line
    ]


def figures(
    reports: int, wall: float, calls: Sequence[LLMCall], tokens_in: int, tokens_out: int
) -> dict[str, Any]:
    """Speed, cost and the share of wall time outside the endpoint, per report."""
    in_endpoint = sum(c.latency_ms for c in calls) / 1000
    n = max(reports, 1)
    return {
        "reports": reports,
        "wall_s": round(wall, 1),
        "reports_per_hour": round(reports / wall * 3600, 2),
        "calls_per_report": round(len(calls) / n, 1),
        "tokens_in_per_report": round(tokens_in / n),
        "tokens_out_per_report": round(tokens_out / n),
        "seconds_in_endpoint": round(in_endpoint, 1),
        "seconds_outside_endpoint_per_report": round((wall - in_endpoint) / n, 2),
        "share_outside_endpoint": round(1 - in_endpoint / wall, 4),
    }


def from_run(run_id: str, settings: Settings) -> dict[str, Any]:
    with session_scope(settings) as session:
        extractions = session.exec(
            select(Extraction).where(Extraction.run_id == run_id, Extraction.status == "ok")
        ).all()
        calls = session.exec(
            select(LLMCall).where(LLMCall.run_id == run_id, LLMCall.cached == False)  # noqa: E712
        ).all()
    made = [e for e in extractions if any(c.document_id == e.document_id for c in calls)]
    if not made:
        sys.exit(f"run {run_id}: no extraction made by model calls in this run (all reused?)")
    wall = sum(e.seconds for e in made)
    tokens_in = sum(c.tokens_in for c in calls)
    tokens_out = sum(c.tokens_out for c in calls)
    return {"run": run_id, **figures(len(made), wall, calls, tokens_in, tokens_out)}


def fresh_run(corpus: Path, limit: int) -> dict[str, Any]:
    paths, _ = resolve_paths([str(corpus)])
    settings = Settings().model_copy(
        update={"data_dir": Path(tempfile.mkdtemp(prefix="bench-embedded-")), "concurrency": 1}
    )
    started = time.perf_counter()
    summary = run_extraction(
        [str(p) for p in paths[:limit]], settings, reuse=False, use_cache=False
    )
    wall = time.perf_counter() - started
    with session_scope(settings) as session:
        calls = session.exec(select(LLMCall).where(LLMCall.run_id == summary.run_id)).all()
    return {
        "model": settings.model_name,
        "endpoint": settings.extraction_settings()["endpoint"],
        "ok": summary.count("ok"),
        "failed": [(r.name, r.error) for r in summary.failed],
        **figures(len(summary.results), wall, calls, summary.tokens_in, summary.tokens_out),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument(
        "--force", action="store_true", help="run even if a model server is already running"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--from-run", default=None, help="measure this stored run; extract nothing")
    args = parser.parse_args()
    if args.from_run:
        result = from_run(args.from_run, Settings())
    else:
        running = other_model_servers()
        if running and not args.force:
            sys.exit(
                "a model server is already running (one llama.cpp server on this machine at a "
                "time):\n" + "\n".join(running)
            )
        result = fresh_run(args.corpus, args.limit)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
